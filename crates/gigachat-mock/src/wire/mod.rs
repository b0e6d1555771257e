//! The emulator's own GigaChat wire types, written from `docs/gigachat-api.md` and the
//! recorded cassettes.
//!
//! They are deliberately independent of the `gigachat` client crate: an emulator that
//! decoded requests and encoded answers with the client's types would accept every
//! mistake in them. Here the two sides are written separately and meet only in the
//! cassette replay test (`tests/cassettes.rs`), which checks both against recorded
//! traffic.
//!
//! Shape of the module:
//!
//! * requests are `Deserialize` only and owned; a field the emulator does not act on is
//!   still declared (with a `_` name) so that a value of the wrong type is a 400, as on
//!   the real API, and JSON `null` members are stripped before parsing (§2);
//! * answers are `Serialize` only and borrow from the planned answer (they are rendered
//!   once); their fields are declared in the order the recordings show, which is the
//!   order they are written in;
//! * [`common`] holds everything outside chat (auth, errors, models, tokens/count,
//!   embeddings, files, balance) and the function description both chat contracts share;
//!   [`v1`] and [`v2`] the two chat contracts.

pub(crate) mod common;
pub(crate) mod v1;
pub(crate) mod v2;
