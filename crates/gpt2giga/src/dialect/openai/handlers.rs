//! HTTP handlers of the OpenAI dialect.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;

use super::chat_request::{self, ChatCompletionRequest};
use super::chat_response::CompletionEncoder;
use super::error::OpenAiError;
use crate::app::AppState;
use crate::dialect::{encoder, parse_json, sse};
use crate::error::ProxyError;
use crate::telemetry::RequestId;
use crate::telemetry::metrics;
use crate::upstream::Upstream;

/// `POST /chat/completions`
#[utoipa::path(post, path = "/chat/completions", tag = "OpenAI",
    operation_id = "createChatCompletion",
    summary = "Chat completion (OpenAI Chat Completions)",
    description = "Translated to GigaChat's v1 chat. With `\"stream\": true` the answer is Server-Sent Events of `chat.completion.chunk` objects ending with `data: [DONE]`.",
    request_body = ChatCompletionRequest,
    responses((status = 200, description = "The completion, or its stream", content(
        (crate::dialect::schemas::ChatCompletion = "application/json"),
        (String = "text/event-stream"))))
)]
pub(crate) async fn chat_completions(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    let wire: ChatCompletionRequest = parse_json(&body)?;
    let (req, enc) = chat_request::decode(wire)?;
    let events = state
        .chat(&gigachat, state.request_context(&rid, &headers), &req)
        .await?;
    let encoder = CompletionEncoder::new(enc);
    if !req.stream {
        return Ok(encoder::answer(events, encoder).await?);
    }
    Ok(sse::response(events, encoder, None))
}

pub(crate) fn json_response(body: Bytes) -> Response {
    crate::dialect::respond::json(body)
}

/// `GET /models`
#[utoipa::path(get, path = "/models", tag = "OpenAI", operation_id = "listModels",
    summary = "List GigaChat's models and the model aliases",
    description = "GigaChat's models (cached for 60 s), then the exact-name aliases of `--proxy.model-aliases`, each naming its GigaChat model in `owned_by` (glob patterns are not listed: see `/model/info`). OpenAI's list shape; Anthropic's when the request carries `anthropic-version`.",
    responses((status = 200, description = "The models", body = super::models::ListOut))
)]
pub(crate) async fn list_models(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    headers: HeaderMap,
) -> Result<Response, OpenAiError> {
    let list = state
        .models(&gigachat, &state.request_context(&rid, &headers))
        .await?;
    let aliases = crate::upstream::catalog::listed_aliases(&state.config().proxy.model_aliases);
    if headers.contains_key("anthropic-version") {
        return Ok(json_response(super::models::anthropic_list(
            &list, &aliases,
        )));
    }
    Ok(json_response(super::models::list(&list, &aliases)))
}

/// `GET /model/info`
#[utoipa::path(get, path = "/model/info", tag = "OpenAI", operation_id = "modelInfo",
    summary = "Model details in LiteLLM's shape",
    description = "LiteLLM's `/model/info` (read by Kilo Code and other LiteLLM-aware clients): one entry per alias of `--proxy.model-aliases` (glob patterns included, as LiteLLM lists wildcard routes) and per GigaChat chat or embeddings model. `max_input_tokens` comes from the proxy's table of known GigaChat context sizes (`null` when unknown); `max_output_tokens` is an alias's `max_tokens` (`null` otherwise).",
    responses((status = 200, description = "The models", body = super::models::ModelInfoList))
)]
pub(crate) async fn model_info(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    headers: HeaderMap,
) -> Result<Response, OpenAiError> {
    let list = state
        .models(&gigachat, &state.request_context(&rid, &headers))
        .await?;
    Ok(json_response(super::models::model_info(
        &list,
        &state.config().proxy.model_aliases,
    )))
}

/// `GET /models/{id}`
#[utoipa::path(get, path = "/models/{id}", tag = "OpenAI", operation_id = "retrieveModel",
    summary = "One model",
    description = "An alias of `--proxy.model-aliases` (an exact name or any name a glob matches), answered as served by its GigaChat model (named in `owned_by`, or Anthropic's `display_name`); a GigaChat model; without `--proxy.pass-model` any other name too, served by the configured GigaChat model.",
    params(("id" = String, Path, description = "The model id, e.g. `GigaChat-2-Max`")),
    responses((status = 200, description = "The model", body = super::models::ModelOut))
)]
pub(crate) async fn get_model(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, OpenAiError> {
    let anthropic = headers.contains_key("anthropic-version");
    let served = |served_by: &str| {
        json_response(if anthropic {
            super::models::anthropic_served(&id, served_by)
        } else {
            super::models::served(&id, served_by)
        })
    };
    // An alias decides even when GigaChat has a model of that name.
    if let Some(served_by) = state.alias(&id).and_then(|a| a.settings.served_by()) {
        return Ok(served(served_by));
    }
    let list = state
        .models(&gigachat, &state.request_context(&rid, &headers))
        .await?;
    match list.data.iter().find(|m| m.id == id) {
        Some(m) if anthropic => Ok(json_response(super::models::anthropic_one(m))),
        Some(m) => Ok(json_response(super::models::one(m))),
        // Without --proxy.pass-model every name is served by the configured model, so
        // a client checking its model at start-up must find it.
        None if !state.config().proxy.pass_model => Ok(served(state.chat_model(&id))),
        None => Err(ProxyError::NotFound(format!("The model '{id}' does not exist")).into()),
    }
}

/// `POST /embeddings`
#[utoipa::path(post, path = "/embeddings", tag = "OpenAI", operation_id = "createEmbeddings",
    summary = "Embeddings (OpenAI Embeddings)",
    description = "Computed by the configured GigaChat embeddings model (`--proxy.embeddings`).",
    request_body = super::embeddings::EmbeddingsRequest,
    responses((status = 200, description = "The vectors", body = super::embeddings::ListOut))
)]
pub async fn embeddings(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenAiError> {
    use super::embeddings as emb;
    let req: emb::EmbeddingsRequest = parse_json(&body)?;
    let (texts, encoding) = emb::decode(&req)?;
    metrics::note_model(&req.model);
    let ctx = state.request_context(&rid, &headers);
    let model = state.embeddings_model(&req.model).to_string();
    let crate::upstream::embeddings::Embedded { vectors, tokens } =
        crate::upstream::embeddings::embed(&gigachat, &model, texts, &ctx).await?;
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
