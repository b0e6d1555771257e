//! Gemini dialect (`generativelanguage` REST shapes, `v1beta` and `v1`):
//! generateContent (JSON, SSE with `?alt=sse`, or a JSON-array stream), countTokens,
//! embedContent / batchEmbedContents, and the model list.
//!
//! * [`request`] — wire types and `decode` → `ir::ChatRequest` (contents, tools,
//!   toolConfig, generationConfig);
//! * [`response`] — the answer encoder: `GenerateContentResponse` frames and the object
//!   they add up to;
//! * [`embed`] — embeddings and the model list in Gemini's shapes;
//! * [`error`] — the `{"error":{"code","message","status"}}` envelope;
//! * [`handlers`] — axum handlers (one per action; `{model}:action` is parsed here).

pub mod embed;
pub mod error;
pub mod handlers;
pub mod request;
pub mod response;
