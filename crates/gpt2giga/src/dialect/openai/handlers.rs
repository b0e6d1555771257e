//! HTTP handlers of the OpenAI dialect.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::chat_request::{self, ChatCompletionRequest};
use super::chat_response::{ChunkEncoder, completion};
use super::error::OpenAiError;
use crate::app::AppState;
use crate::dialect::parse_json;
use crate::error::ProxyError;
use crate::ir::Answer;
use crate::server::middleware::RequestId;
use crate::upstream;

/// `POST /chat/completions`
pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let wire: ChatCompletionRequest = parse_json(&body)?;
    let (req, enc) = chat_request::decode(wire)?;
    let options = state.chat_options(&req.model);
    let call = upstream::ChatCall {
        client: state.gigachat(),
        attachments: state.attachments(),
        options: &options,
        ctx: state.request_context(&rid, &headers),
    };
    let mut events = upstream::chat(call, &req).await?;
    if !req.stream {
        let mut answer = Answer::default();
        while let Some(e) = events.next().await {
            answer.apply(e?);
        }
        return Ok(json_response(completion(&answer, &enc)));
    }
    let mut encoder = ChunkEncoder::new(enc);
    let mut done = false;
    let body = futures::stream::poll_fn(move |cx| {
        if done {
            return std::task::Poll::Ready(None);
        }
        let mut out = BytesMut::new();
        loop {
            match events.poll_next_unpin(cx) {
                std::task::Poll::Ready(Some(Ok(e))) => encoder.event(&e, &mut out),
                std::task::Poll::Ready(Some(Err(e))) => {
                    encoder.error(&e, &mut out);
                    done = true;
                    break;
                }
                std::task::Poll::Ready(None) => {
                    encoder.end(&mut out);
                    done = true;
                    break;
                }
                std::task::Poll::Pending => {
                    if out.is_empty() {
                        return std::task::Poll::Pending;
                    }
                    break;
                }
            }
        }
        std::task::Poll::Ready(Some(Ok::<Bytes, std::convert::Infallible>(out.freeze())))
    });
    Ok(sse_response(Body::from_stream(body)))
}

pub fn json_response(body: Bytes) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn sse_response(body: Body) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// `GET /models`
pub async fn list_models(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
) -> Result<Response, OpenAiError> {
    let list = state.models(&state.request_context(&rid, &headers)).await?;
    if headers.contains_key("anthropic-version") {
        return Ok(json_response(super::models::anthropic_list(&list)));
    }
    Ok(json_response(super::models::list(&list)))
}

/// `GET /models/{id}`
pub async fn get_model(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, OpenAiError> {
    let list = state.models(&state.request_context(&rid, &headers)).await?;
    match list.data.iter().find(|m| m.id == id) {
        Some(m) if headers.contains_key("anthropic-version") => {
            Ok(json_response(super::models::anthropic_one(m)))
        }
        Some(m) => Ok(json_response(super::models::one(m))),
        None => Err(ProxyError::NotFound(format!("The model '{id}' does not exist")).into()),
    }
}

/// `POST /embeddings`
pub async fn embeddings(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    use super::embeddings as emb;
    let req: emb::EmbeddingsRequest = parse_json(&body)?;
    let (texts, encoding) = emb::decode(&req)?;
    let ctx = state.request_context(&rid, &headers);
    let model = state.config().proxy.embeddings.clone();
    let client = state.gigachat();
    let results: Vec<Result<gigachat::types::EmbeddingsResponse, gigachat::Error>> =
        futures::stream::iter(emb::batches(texts))
            .map(|input| {
                let request = gigachat::types::EmbeddingsRequest {
                    input,
                    model: model.clone(),
                };
                let ctx = ctx.clone();
                async move { client.embeddings(&request, &ctx).await }
            })
            .buffered(4)
            .collect()
            .await;
    let mut vectors = Vec::new();
    let mut tokens = 0u64;
    for r in results {
        let mut r = r?;
        r.data.sort_by_key(|d| d.index);
        for d in r.data {
            tokens += d.usage.map_or(0, |u| u.prompt_tokens);
            vectors.push(d.embedding);
        }
    }
    let requested = if req.model.is_empty() {
        model.as_str()
    } else {
        req.model.as_str()
    };
    Ok(json_response(emb::encode(
        vectors,
        tokens,
        requested,
        encoding,
        req.dimensions,
    )?))
}
