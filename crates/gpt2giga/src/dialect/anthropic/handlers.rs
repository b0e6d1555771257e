//! HTTP handlers of the Anthropic dialect.

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::error::AnthropicError;
use super::request::{self, MessagesRequest};
use super::response::MessageEncoder;
use crate::app::AppState;
use crate::dialect::openai::handlers::json_response;
use crate::dialect::{encoder, parse_json, sse};
use crate::telemetry::RequestId;
use crate::upstream::{self, Upstream};

/// Silence after which a `ping` event keeps the stream alive.
pub(crate) const PING_AFTER: Duration = Duration::from_secs(10);

/// `POST /v1/messages`
#[utoipa::path(post, path = "/messages", tag = "Anthropic", operation_id = "createMessage",
    summary = "Create a message (Anthropic Messages)",
    description = "`?beta=true` is accepted. `max_tokens` is required here (not by `count_tokens`). With `\"stream\": true` the answer follows Anthropic's event grammar (`message_start` … `message_stop`, `ping` keep-alives).",
    params(
        ("anthropic-version" = Option<String>, Header, description = "Accepted, not required"),
        ("beta" = Option<bool>, Query),
    ),
    request_body = MessagesRequest,
    responses((status = 200, description = "The message, or its event stream", content(
        (crate::dialect::schemas::Message = "application/json"),
        (String = "text/event-stream"))))
)]
pub async fn messages(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AnthropicError> {
    let wire: MessagesRequest = parse_json(&body)?;
    let (req, enc) = request::decode(wire)?;
    let ctx = state.request_context(&rid, &headers);
    if !req.stream {
        let events = state.chat(&gigachat, ctx, &req).await?;
        return Ok(encoder::answer(events, MessageEncoder::new(enc, 0)).await?);
    }
    // The prompt size for `message_start` is counted alongside the answer's first chunk;
    // if counting fails the final `message_delta` still carries GigaChat's real usage.
    let options = state.chat_options(&req.model);
    let (events, counted) = tokio::join!(
        state.chat(&gigachat, ctx.clone(), &req),
        upstream::tokens::count(&gigachat, state.token_counts(), &req, &options, &ctx)
    );
    let events = events?;
    let input_tokens = counted.unwrap_or_else(|e| {
        tracing::debug!(error = %e, "could not count prompt tokens for message_start");
        0
    });
    Ok(sse::response(
        events,
        MessageEncoder::new(enc, input_tokens),
        Some(PING_AFTER),
    ))
}

/// `POST /v1/messages/count_tokens`
#[utoipa::path(post, path = "/messages/count_tokens", tag = "Anthropic",
    operation_id = "countMessageTokens",
    summary = "Count the tokens of a message request",
    description = "Counted by GigaChat's own tokenizer on the translated request; an error when it cannot count (never a guess). `max_tokens` and `stream` are ignored.",
    request_body = MessagesRequest,
    responses((status = 200, description = "The count", body = crate::dialect::schemas::CountTokensResponse))
)]
pub async fn count_tokens(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AnthropicError> {
    let mut wire: MessagesRequest = parse_json(&body)?;
    // count_tokens takes no max_tokens (decode needs one; it does not change the count).
    wire.max_tokens.get_or_insert(1);
    wire.stream = None;
    let (req, _) = request::decode(wire)?;
    crate::telemetry::metrics::note_model(&req.model);
    let options = state.chat_options(&req.model);
    let ctx = state.request_context(&rid, &headers);
    let tokens =
        upstream::tokens::count(&gigachat, state.token_counts(), &req, &options, &ctx).await?;
    Ok(json_response(Bytes::from(
        json!({ "input_tokens": tokens }).to_string(),
    )))
}
