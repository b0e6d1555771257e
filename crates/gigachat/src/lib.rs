//! # gigachat — the upstream side of gpt2giga
//!
//! A map of the crate:
//!
//! * [`types`] — GigaChat wire types: v1 chat ([`types::v1`]), v2 chat ([`types::v2`]),
//!   embeddings, models, tokens/count, balance, files, error bodies, token responses.
//!   Pure data. The `gigachat-mock` emulator deliberately has its own; the recorded
//!   cassettes check both (`crates/gigachat-mock/tests/cassettes.rs`).
//! * [`sse`] — a byte-level server-sent-events decoder for both stream framings
//!   (v1 `data:` lines ending in `[DONE]`, v2 named events).
//! * [`Client`] — the async client: four ways to authenticate, a token cache with
//!   single-flight refresh, one re-auth on 401, retries with backoff before the first
//!   response byte, connection cap, timeouts and request-id propagation.
//! * [`Error`] — typed errors carrying the upstream status, message, `Retry-After` and
//!   request id; never a URL or a secret.
//!
//! The crate knows nothing of OpenAI or Anthropic.

mod auth;
mod client;
mod config;
mod error;
mod secret;
pub mod sse;
mod tls;
pub mod types;

pub use client::{ChatStream, ChatStreamV2, Client, Credentials, FileUpload, RequestContext};
pub use config::{ClientConfig, DEFAULT_AUTH_URL, DEFAULT_BASE_URL, DEFAULT_SCOPE};
pub use error::{Error, ErrorKind};
pub use secret::Secret;
