//! HTTP handlers of the Responses dialect.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{self, ResponsesRequest};
use super::response::{Shape, StreamEncoder, fold, to_bytes};
use crate::app::AppState;
use crate::dialect::openai::error::OpenAiError;
use crate::dialect::openai::handlers::json_response;
use crate::dialect::{parse_json, sse};
use crate::error::ProxyError;
use crate::ir::{self, Answer};
use crate::server::middleware::RequestId;
use crate::state::{ResponseStore, StoredResponse};
use crate::upstream::{self, Upstream};

/// `POST /responses`
pub async fn create(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let wire: ResponsesRequest = parse_json(&body)?;
    let request::Decoded {
        request: mut req,
        input_items,
        echo,
    } = request::decode(wire)?;
    let mut history = Vec::new();
    if let Some(prev_id) = &echo.previous_response_id {
        let Some(prev) = owned(&state, prev_id, &gigachat) else {
            return Err(ProxyError::NotFound(format!(
                "Previous response with id '{prev_id}' not found."
            ))
            .into());
        };
        history = prev.history.clone();
    }
    // The turn's own messages, for storage; then the full conversation for GigaChat.
    let turn = std::mem::take(&mut req.messages);
    history.extend(turn);
    req.messages = history;

    let events = state
        .chat(&gigachat, state.request_context(&rid, &headers), &req)
        .await?;
    let shape = Shape::new(echo);
    let store = shape.echo.store;
    let id = shape.id.clone();
    let store_handle = state.responses_handle();
    let owner = gigachat.owner().key();

    if !req.stream {
        let answer = upstream::fold(events).await?;
        let obj = fold(&shape, &answer);
        let bytes = to_bytes(&obj);
        if store {
            save(
                &store_handle,
                id,
                bytes.clone(),
                input_items,
                req.messages,
                &answer,
                owner,
            );
        }
        return Ok(json_response(bytes));
    }

    let encoder = StoringEncoder {
        inner: StreamEncoder::new(shape),
        pending: store.then_some(Pending {
            store: store_handle,
            id,
            input_items,
            history: req.messages,
            owner,
        }),
    };
    Ok(sse::response(events, encoder, None))
}

/// The Responses stream encoder, storing the finished response when `store` is on.
struct StoringEncoder {
    inner: StreamEncoder,
    pending: Option<Pending>,
}

/// A response to store once it is complete.
struct Pending {
    store: Arc<dyn ResponseStore>,
    id: String,
    input_items: Vec<Value>,
    history: Vec<ir::Message>,
    owner: String,
}

impl sse::SseEncoder for StoringEncoder {
    fn start(&mut self, out: &mut BytesMut) {
        self.inner.start(out);
    }

    fn event(&mut self, event: ir::Event, out: &mut BytesMut) {
        self.inner.event(event, out);
    }

    fn end(&mut self, out: &mut BytesMut) {
        let (obj, answer) = self.inner.end(out);
        if let Some(p) = self.pending.take() {
            save(
                &p.store,
                p.id,
                to_bytes(&obj),
                p.input_items,
                p.history,
                &answer,
                p.owner,
            );
        }
    }

    fn fail(&mut self, error: &ProxyError, out: &mut BytesMut) {
        self.inner.fail(error, out);
    }
}

/// Stores a finished response with the conversation it completes.
fn save(
    store: &Arc<dyn ResponseStore>,
    id: String,
    response: Bytes,
    input_items: Vec<Value>,
    mut history: Vec<ir::Message>,
    answer: &Answer,
    owner: String,
) {
    let mut reply = ir::Message::text(ir::Role::Assistant, answer.text.clone());
    reply.tool_calls = answer.tool_calls.clone();
    reply.reasoning = (!answer.reasoning.is_empty()).then(|| answer.reasoning.clone());
    history.push(reply);
    store.put(
        id,
        StoredResponse {
            response,
            input_items,
            history,
            owner,
        },
    );
}

/// A stored response, if it exists and belongs to the caller's GigaChat identity
/// (someone else's is reported as not found).
fn owned(state: &AppState, id: &str, caller: &Upstream) -> Option<Arc<StoredResponse>> {
    state
        .responses()
        .get(id)
        .filter(|r| r.owner == caller.owner().key())
}

fn not_found(id: &str) -> OpenAiError {
    ProxyError::NotFound(format!("No response found with id '{id}'.")).into()
}

/// `GET /responses/{id}`
pub async fn retrieve(
    State(state): State<AppState>,
    gigachat: Upstream,
    Path(id): Path<String>,
) -> Result<Response, OpenAiError> {
    match owned(&state, &id, &gigachat) {
        Some(r) => Ok(json_response(r.response.clone())),
        None => Err(not_found(&id)),
    }
}

/// `DELETE /responses/{id}`
pub async fn delete(
    State(state): State<AppState>,
    gigachat: Upstream,
    Path(id): Path<String>,
) -> Result<Response, OpenAiError> {
    if owned(&state, &id, &gigachat).is_some() && state.responses().delete(&id) {
        Ok(json_response(Bytes::from(
            json!({"id": id, "object": "response", "deleted": true}).to_string(),
        )))
    } else {
        Err(not_found(&id))
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub after: Option<String>,
}

/// `GET /responses/{id}/input_items`
pub async fn input_items(
    State(state): State<AppState>,
    gigachat: Upstream,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, OpenAiError> {
    let Some(r) = owned(&state, &id, &gigachat) else {
        return Err(not_found(&id));
    };
    let mut items: Vec<&Value> = r.input_items.iter().collect();
    match q.order.as_deref() {
        None | Some("desc") => items.reverse(),
        Some("asc") => {}
        Some(other) => {
            return Err(ProxyError::invalid_param(
                format!("order must be asc or desc, not {other:?}"),
                "order",
            )
            .into());
        }
    }
    if let Some(after) = &q.after {
        match items
            .iter()
            .position(|i| i.get("id").and_then(Value::as_str) == Some(after))
        {
            Some(pos) => {
                items.drain(..=pos);
            }
            None => items.clear(),
        }
    }
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let has_more = items.len() > limit;
    items.truncate(limit);
    let first = items.first().and_then(|i| i.get("id")).cloned();
    let last = items.last().and_then(|i| i.get("id")).cloned();
    Ok(json_response(Bytes::from(
        json!({"object": "list", "data": items, "first_id": first, "last_id": last, "has_more": has_more})
            .to_string(),
    )))
}
