//! HTTP handlers of the Responses dialect.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::request::{self, ResponsesRequest};
use super::response::{ResponseEncoder, Shape, to_bytes};
use crate::app::AppState;
use crate::dialect::encoder::{self, Commit, Encoder};
use crate::dialect::openai::error::OpenAiError;
use crate::dialect::openai::handlers::json_response;
use crate::dialect::{parse_json, sse};
use crate::error::ProxyError;
use crate::ir;
use crate::state::{Chain, MAX_CHAIN, Store, StoredResponse};
use crate::telemetry::RequestId;
use crate::upstream::Upstream;

/// `POST /responses`
#[utoipa::path(post, path = "/responses", tag = "OpenAI Responses", operation_id = "createResponse",
    summary = "Create a response (OpenAI Responses)",
    description = "With `\"stream\": true` the answer is the Responses event stream (`response.created` … `response.completed`, with increasing `sequence_number`).",
    request_body = ResponsesRequest,
    responses((status = 200, description = "The response, or its event stream", content(
        (crate::dialect::schemas::Response = "application/json"),
        (String = "text/event-stream"))))
)]
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
    let owner = gigachat.owner().key();
    let store = state.responses_handle();
    // The conversation so far, oldest first, then this turn's own messages.
    if let Some(prev_id) = &echo.previous_response_id {
        let (messages, system) = history(&store, prev_id, &owner).await?;
        let turn = std::mem::replace(&mut req.messages, messages);
        req.messages.extend(turn);
        let current = std::mem::replace(&mut req.system, system);
        req.system.extend(current);
    } else if echo.store {
        // Refuse before GigaChat is called if the answer could not be stored.
        store.check().await?;
    }

    let events = state
        .chat(&gigachat, state.request_context(&rid, &headers), &req)
        .await?;
    let shape = Shape::new(echo);
    let pending = shape.echo.store.then(|| Pending {
        store,
        id: shape.id.clone(),
        previous: shape.echo.previous_response_id.clone(),
        input_items: Bytes::from(serde_json::to_vec(&input_items).unwrap_or_default()),
        owner,
    });

    let encoder = StoringEncoder {
        inner: ResponseEncoder::new(shape),
        pending,
        commit: None,
    };
    if !req.stream {
        return Ok(encoder::answer(events, encoder).await?);
    }
    Ok(sse::response(events, encoder, None))
}

/// The conversation ending with `prev_id` (messages and system texts), read from the
/// store; a missing link is a 404 naming it.
async fn history(
    store: &Store,
    prev_id: &str,
    owner: &str,
) -> Result<(Vec<ir::Message>, Vec<String>), ProxyError> {
    let links = match store.chain(prev_id, owner).await? {
        Chain::Found(links) => links,
        Chain::Missing(id) if id == prev_id => {
            return Err(ProxyError::NotFound(format!(
                "Previous response with id '{prev_id}' not found."
            )));
        }
        Chain::Missing(id) => {
            return Err(ProxyError::NotFound(format!(
                "Previous response with id '{prev_id}' cannot be continued: the earlier \
                 response '{id}' of its conversation has expired or was evicted from the \
                 proxy's store."
            )));
        }
        Chain::TooLong => {
            return Err(ProxyError::invalid_param(
                format!(
                    "the conversation behind previous_response_id is longer than {MAX_CHAIN} responses"
                ),
                "previous_response_id",
            ));
        }
    };
    let mut messages = Vec::new();
    let mut system = Vec::new();
    for link in links {
        let unreadable = |e: String| {
            ProxyError::Internal(format!("stored response {} is unreadable: {e}", link.id))
        };
        let items: Vec<Value> =
            serde_json::from_slice(&link.input_items).map_err(|e| unreadable(e.to_string()))?;
        request::decode_history(&items, &mut messages, &mut system)?;
        let reply: StoredReply =
            serde_json::from_slice(&link.reply).map_err(|e| unreadable(e.to_string()))?;
        messages.push(reply.into_message());
    }
    Ok((messages, system))
}

/// The answer as the conversation remembers it.
#[derive(Serialize, Deserialize)]
struct StoredReply {
    #[serde(default)]
    text: String,
    #[serde(default)]
    tool_calls: Vec<StoredCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reasoning: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredCall {
    id: String,
    name: String,
    arguments: String,
}

impl StoredReply {
    /// `turn`: the answer as the encoder has it ([`ResponseEncoder::turn`]).
    fn of(turn: ir::Message) -> Self {
        Self {
            text: turn.joined_text(),
            tool_calls: turn
                .tool_calls
                .into_iter()
                .map(|c| StoredCall {
                    id: c.id,
                    name: c.name,
                    arguments: c.arguments,
                })
                .collect(),
            reasoning: turn.reasoning,
        }
    }

    fn into_message(self) -> ir::Message {
        let mut m = ir::Message::text(ir::Role::Assistant, self.text);
        m.tool_calls = self
            .tool_calls
            .into_iter()
            .map(|c| ir::ToolCall {
                id: c.id,
                name: c.name,
                arguments: c.arguments,
            })
            .collect();
        m.reasoning = self.reasoning;
        m
    }
}

/// The Responses encoder, storing the finished response when `store` is on (before a
/// stream's closing frames, before a JSON answer's body).
struct StoringEncoder {
    inner: ResponseEncoder,
    pending: Option<Pending>,
    commit: Option<Commit>,
}

/// A response to store once it is complete.
struct Pending {
    store: Arc<Store>,
    id: String,
    previous: Option<String>,
    input_items: Bytes,
    owner: String,
}

impl Pending {
    /// Stores the finished response: its own turn and a link to its predecessor.
    async fn save(self, response: Bytes, reply: StoredReply) -> Result<(), ProxyError> {
        let reply = Bytes::from(serde_json::to_vec(&reply).unwrap_or_default());
        self.store
            .put(
                self.id,
                StoredResponse {
                    response,
                    input_items: self.input_items,
                    reply,
                    previous: self.previous,
                    owner: self.owner,
                },
            )
            .await
    }
}

impl Encoder for StoringEncoder {
    type Object = Value;

    fn start(&mut self, out: Option<&mut BytesMut>) {
        self.inner.start(out);
    }

    fn event(&mut self, event: ir::Event, out: Option<&mut BytesMut>) {
        self.inner.event(event, out);
    }

    fn end(&mut self, out: Option<&mut BytesMut>) {
        self.inner.end(out);
        if let Some(p) = self.pending.take()
            && let Some(obj) = self.inner.object()
        {
            let bytes = to_bytes(obj);
            let reply = StoredReply::of(self.inner.turn());
            self.commit = Some(Box::pin(async move { p.save(bytes, reply).await }));
        }
    }

    fn commit(&mut self) -> Option<Commit> {
        self.commit.take()
    }

    fn fail(&mut self, error: &ProxyError, out: &mut BytesMut) {
        self.inner.fail(error, out);
    }

    fn finish(self) -> Value {
        self.inner.finish()
    }
}

/// A stored response, if it exists and belongs to the caller's GigaChat identity
/// (someone else's is reported as not found).
async fn owned(
    state: &AppState,
    id: &str,
    caller: &Upstream,
) -> Result<Option<Arc<StoredResponse>>, ProxyError> {
    state.responses().get(id, &caller.owner().key()).await
}

fn not_found(id: &str) -> OpenAiError {
    ProxyError::NotFound(format!("No response found with id '{id}'.")).into()
}

/// `GET /responses/{id}`
#[utoipa::path(get, path = "/responses/{id}", tag = "OpenAI Responses",
    operation_id = "retrieveResponse", summary = "A stored response",
    params(("id" = String, Path, description = "The response id (`resp_…`)")),
    responses((status = 200, description = "The stored response", body = crate::dialect::schemas::Response))
)]
pub async fn retrieve(
    State(state): State<AppState>,
    gigachat: Upstream,
    Path(id): Path<String>,
) -> Result<Response, OpenAiError> {
    match owned(&state, &id, &gigachat).await? {
        Some(r) => Ok(json_response(r.response.clone())),
        None => Err(not_found(&id)),
    }
}

/// `DELETE /responses/{id}`
#[utoipa::path(delete, path = "/responses/{id}", tag = "OpenAI Responses",
    operation_id = "deleteResponse", summary = "Delete a stored response",
    params(("id" = String, Path, description = "The response id (`resp_…`)")),
    responses((status = 200, description = "Deleted", body = crate::dialect::schemas::ResponseDeleted))
)]
pub async fn delete(
    State(state): State<AppState>,
    gigachat: Upstream,
    Path(id): Path<String>,
) -> Result<Response, OpenAiError> {
    if state
        .responses()
        .delete(&id, &gigachat.owner().key())
        .await?
    {
        Ok(json_response(Bytes::from(
            json!({"id": id, "object": "response", "deleted": true}).to_string(),
        )))
    } else {
        Err(not_found(&id))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `asc` or `desc` (the default).
    #[serde(default)]
    pub order: Option<String>,
    /// 1 to 100, default 20.
    #[serde(default)]
    pub limit: Option<usize>,
    /// The item id to start after.
    #[serde(default)]
    pub after: Option<String>,
}

/// `GET /responses/{id}/input_items`
#[utoipa::path(get, path = "/responses/{id}/input_items", tag = "OpenAI Responses",
    operation_id = "listResponseInputItems", summary = "The input items of a stored response",
    params(("id" = String, Path, description = "The response id (`resp_…`)"), ListQuery),
    responses((status = 200, description = "The items", body = crate::dialect::schemas::ResponseItemList))
)]
pub async fn input_items(
    State(state): State<AppState>,
    gigachat: Upstream,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, OpenAiError> {
    let Some(r) = owned(&state, &id, &gigachat).await? else {
        return Err(not_found(&id));
    };
    let stored: Vec<Value> = serde_json::from_slice(&r.input_items)
        .map_err(|e| ProxyError::Internal(format!("stored response {id} is unreadable: {e}")))?;
    let mut items: Vec<&Value> = stored.iter().collect();
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
