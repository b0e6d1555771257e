//! Anthropic dialect: Messages (with streaming) and count_tokens.
//!
//! * [`request`] — wire types and `decode` → `ir::ChatRequest`;
//! * [`response`] — the answer encoder: the SSE event grammar and the `message` object
//!   it adds up to;
//! * [`error`] — the `{"type":"error",…}` envelope;
//! * [`handlers`] — axum handlers.

pub mod error;
pub mod files;
pub mod handlers;
pub mod request;
pub mod response;
