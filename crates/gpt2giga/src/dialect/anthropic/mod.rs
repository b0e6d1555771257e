//! Anthropic dialect: Messages (with streaming) and count_tokens.
//!
//! * [`request`] — wire types and `decode` → `ir::ChatRequest`;
//! * [`response`] — the `message` fold and the SSE event-grammar encoder;
//! * [`error`] — the `{"type":"error",…}` envelope;
//! * [`handlers`] — axum handlers.

pub mod error;
pub mod handlers;
pub mod request;
pub mod response;
