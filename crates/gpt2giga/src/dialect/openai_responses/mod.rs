//! OpenAI Responses dialect (Codex CLI, the Agents SDK).
//!
//! * [`request`] — request decoding: input items, tools (function, custom, namespace),
//!   text format, reasoning, the echo of request fields;
//! * [`response`] — the response object, output items and the streaming event grammar;
//! * [`handlers`] — create / retrieve / delete / input items, with state in
//!   [`crate::state`].

pub mod handlers;
pub mod request;
pub mod response;
