//! OpenAI dialect: Chat Completions, Models and Embeddings.
//!
//! * [`chat_request`] — request wire types and `decode` → `ir::ChatRequest`;
//! * [`chat_response`] — the answer encoder: `chat.completion.chunk` frames and the
//!   `chat.completion` object they add up to;
//! * [`error`] — the `{"error":{…}}` envelope;
//! * [`handlers`] — the axum handlers wiring these to `upstream`.

pub mod chat_request;
pub mod chat_response;
pub mod embeddings;
pub mod error;
pub mod files;
pub mod handlers;
pub mod models;
