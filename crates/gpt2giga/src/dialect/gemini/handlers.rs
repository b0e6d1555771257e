//! HTTP handlers of the Gemini dialect.
//!
//! Gemini's methods are custom verbs on the model resource
//! (`/v1beta/models/{model}:generateContent`), which a router cannot split: the routes
//! capture the rest of the path and [`target`] separates the model from the method.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;

use super::embed::{self, BatchEmbedContentsRequest, EmbedContentRequest};
use super::error::GeminiError;
use super::request::{self, GenerateContentRequest};
use super::response::{ContentEncoder, Framing};
use crate::app::AppState;
use crate::dialect::{encoder, parse_json, respond, sse};
use crate::error::ProxyError;
use crate::telemetry::RequestId;
use crate::telemetry::metrics;
use crate::upstream::{Upstream, catalog};

/// The methods of a model resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    GenerateContent,
    StreamGenerateContent,
    CountTokens,
    EmbedContent,
    BatchEmbedContents,
}

impl Method {
    pub(crate) const ALL: &[(&str, Method)] = &[
        ("generateContent", Method::GenerateContent),
        ("streamGenerateContent", Method::StreamGenerateContent),
        ("countTokens", Method::CountTokens),
        ("embedContent", Method::EmbedContent),
        ("batchEmbedContents", Method::BatchEmbedContents),
    ];

    pub(crate) fn parse(s: &str) -> Option<Method> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, m)| *m)
    }
}

/// The model and the method of a captured path rest (`gemini-2.5-flash:generateContent`,
/// `models/x`, `tunedModels/x:countTokens`; already percent-decoded). The `models/` and
/// `tunedModels/` prefixes are dropped; a suffix that is no known method stays part of
/// the model name and yields `Err(method)`.
pub(crate) fn target(rest: &str) -> (String, Result<Option<Method>, String>) {
    let mut rest = rest.trim_start_matches('/');
    while let Some(r) = rest
        .strip_prefix("models/")
        .or_else(|| rest.strip_prefix("tunedModels/"))
    {
        rest = r;
    }
    match rest.rsplit_once(':') {
        Some((model, method)) => match Method::parse(method) {
            Some(m) => (model.to_string(), Ok(Some(m))),
            None => (model.to_string(), Err(method.to_string())),
        },
        None => (rest.to_string(), Ok(None)),
    }
}

fn query(uri: &Uri, key: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn not_found(what: &str) -> GeminiError {
    GeminiError(ProxyError::NotFound(what.to_string()))
}

/// `POST /v1beta/models/{model}:{method}` (also `tunedModels/…`, and under `/v1`).
pub(crate) async fn model_post(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GeminiError> {
    let (model, method) = target(&rest);
    let cx = Call {
        state: &state,
        rid: &rid,
        gigachat: &gigachat,
        headers: &headers,
        model: &model,
    };
    match method {
        Ok(Some(Method::GenerateContent)) => generate_content(cx, body).await,
        Ok(Some(Method::StreamGenerateContent)) => {
            let framing = if query(&uri, "alt").as_deref() == Some("sse") {
                Framing::Sse
            } else {
                Framing::JsonArray
            };
            stream_generate_content(cx, body, framing).await
        }
        Ok(Some(Method::CountTokens)) => count_tokens(cx, body).await,
        Ok(Some(Method::EmbedContent)) => embed_content(cx, body).await,
        Ok(Some(Method::BatchEmbedContents)) => batch_embed_contents(cx, body).await,
        Ok(None) => Err(not_found(&format!(
            "no route for POST {}: name a method, models/{model}:generateContent, :streamGenerateContent, :countTokens, :embedContent or :batchEmbedContents",
            uri.path()
        ))),
        Err(m) => Err(not_found(&format!(
            "unknown method {m:?} on models/{model} (supported: generateContent, streamGenerateContent, countTokens, embedContent, batchEmbedContents)"
        ))),
    }
}

/// What every method needs.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    state: &'a AppState,
    rid: &'a RequestId,
    gigachat: &'a Upstream,
    headers: &'a HeaderMap,
    model: &'a str,
}

impl Call<'_> {
    fn ctx(&self) -> gigachat::RequestContext {
        self.state.request_context(self.rid, self.headers)
    }
}

/// `POST /v1beta/models/{model}:generateContent`
#[utoipa::path(post, path = "/v1beta/models/{model}:generateContent", tag = "Gemini",
    operation_id = "generateContent",
    summary = "Generate content (Gemini API)",
    description = "Translated to GigaChat's v1 chat. The model may carry a `models/` or `tunedModels/` prefix; it is chosen as for the other dialects (`--proxy.pass-model`). Also under `/v1/models/…`.",
    params(("model" = String, Path, description = "The model, e.g. `gemini-2.5-flash`")),
    request_body = GenerateContentRequest,
    responses((status = 200, description = "The response", body = crate::dialect::schemas::GenerateContentResponse))
)]
pub(crate) async fn generate_content(cx: Call<'_>, body: Bytes) -> Result<Response, GeminiError> {
    let wire: GenerateContentRequest = parse_json(&body)?;
    let (req, enc) = request::decode(wire, cx.model, false)?;
    let events = cx.state.chat(cx.gigachat, cx.ctx(), &req).await?;
    Ok(encoder::answer(events, ContentEncoder::new(enc, Framing::Sse)).await?)
}

/// `POST /v1beta/models/{model}:streamGenerateContent`
#[utoipa::path(post, path = "/v1beta/models/{model}:streamGenerateContent", tag = "Gemini",
    operation_id = "streamGenerateContent",
    summary = "Stream generated content (Gemini API)",
    description = "Each frame is a full `GenerateContentResponse` with the next part; the last one carries `finishReason` and `usageMetadata`. With `?alt=sse` Server-Sent Events (`data: {…}`), otherwise one JSON array written element by element.",
    params(
        ("model" = String, Path, description = "The model"),
        ("alt" = Option<String>, Query, description = "`sse` for Server-Sent Events"),
    ),
    request_body = GenerateContentRequest,
    responses((status = 200, description = "The stream", content(
        (String = "text/event-stream"),
        (Vec<crate::dialect::schemas::GenerateContentResponse> = "application/json"))))
)]
pub(crate) async fn stream_generate_content(
    cx: Call<'_>,
    body: Bytes,
    framing: Framing,
) -> Result<Response, GeminiError> {
    let wire: GenerateContentRequest = parse_json(&body)?;
    let (req, enc) = request::decode(wire, cx.model, true)?;
    let events = cx.state.chat(cx.gigachat, cx.ctx(), &req).await?;
    let mut r = sse::response(events, ContentEncoder::new(enc, framing), None);
    if framing == Framing::JsonArray {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    Ok(r)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CountTokensRequest)]
pub(crate) struct CountTokensRequest {
    #[serde(default)]
    #[schema(value_type = Option<Vec<super::request::Content>>)]
    contents: Option<Vec<super::request::Content>>,
    #[serde(default, alias = "generate_content_request")]
    #[schema(value_type = Option<GenerateContentRequest>)]
    generate_content_request: Option<GenerateContentRequest>,
}

/// `POST /v1beta/models/{model}:countTokens`
#[utoipa::path(post, path = "/v1beta/models/{model}:countTokens", tag = "Gemini",
    operation_id = "countTokens",
    summary = "Count tokens (Gemini API)",
    description = "`contents`, or a whole `generateContentRequest` (system instruction and tools counted too), counted by GigaChat's own tokenizer on the translated request; an error when it cannot count.",
    params(("model" = String, Path, description = "The model")),
    request_body = CountTokensRequest,
    responses((status = 200, description = "The count", body = crate::dialect::schemas::GeminiCountTokensResponse))
)]
pub(crate) async fn count_tokens(cx: Call<'_>, body: Bytes) -> Result<Response, GeminiError> {
    let wire: CountTokensRequest = parse_json(&body)?;
    let inner = match (wire.generate_content_request, wire.contents) {
        (Some(g), None) => g,
        (None, Some(contents)) => GenerateContentRequest {
            contents,
            ..Default::default()
        },
        (Some(_), Some(_)) => {
            return Err(GeminiError(ProxyError::invalid(
                "send either contents or generateContentRequest, not both",
            )));
        }
        (None, None) => {
            return Err(GeminiError(ProxyError::invalid_param(
                "contents: Field required",
                "contents",
            )));
        }
    };
    let (req, _) = request::decode(inner, cx.model, false)?;
    metrics::note_model(&req.model);
    let options = cx.state.chat_options(&req.model);
    let tokens = crate::upstream::tokens::count(
        cx.gigachat,
        cx.state.token_counts(),
        &req,
        &options,
        &cx.ctx(),
    )
    .await?;
    Ok(respond::json(Bytes::from(
        serde_json::json!({ "totalTokens": tokens }).to_string(),
    )))
}

/// Embeds `texts` with the GigaChat embeddings model that serves the requested name
/// (an alias's `embeddings_model`, else `--proxy.embeddings`), in order.
async fn embed_texts(
    cx: Call<'_>,
    texts: Vec<String>,
) -> Result<Vec<gigachat::types::Vector>, ProxyError> {
    metrics::note_model(cx.model);
    let model = cx.state.embeddings_model(cx.model).to_string();
    let done = crate::upstream::embeddings::embed(cx.gigachat, &model, texts, &cx.ctx()).await?;
    Ok(done.vectors)
}

/// `POST /v1beta/models/{model}:embedContent`
#[utoipa::path(post, path = "/v1beta/models/{model}:embedContent", tag = "Gemini",
    operation_id = "embedContent",
    summary = "Embed content (Gemini API)",
    description = "Computed by the GigaChat embeddings model serving the name (an alias's `embeddings_model`, else `--proxy.embeddings`). Text parts only; `outputDimensionality` shortens and re-normalises the vector; `taskType` and `title` are ignored.",
    params(("model" = String, Path, description = "The model")),
    request_body = EmbedContentRequest,
    responses((status = 200, description = "The vector", body = embed::EmbedOut))
)]
pub(crate) async fn embed_content(cx: Call<'_>, body: Bytes) -> Result<Response, GeminiError> {
    let req: EmbedContentRequest = parse_json(&body)?;
    let text = embed::text_of(&req, "")?;
    let mut vectors = embed_texts(cx, vec![text]).await?;
    let Some(v) = vectors.pop() else {
        return Err(GeminiError(ProxyError::Upstream(gigachat::Error::Decode(
            "GigaChat returned no embedding".into(),
        ))));
    };
    json(&embed::one(v, req.output_dimensionality)?)
}

/// `POST /v1beta/models/{model}:batchEmbedContents`
#[utoipa::path(post, path = "/v1beta/models/{model}:batchEmbedContents", tag = "Gemini",
    operation_id = "batchEmbedContents",
    summary = "Embed several contents (Gemini API)",
    description = "As `embedContent`, for up to 250 requests at once; the vectors come back in order.",
    params(("model" = String, Path, description = "The model")),
    request_body = BatchEmbedContentsRequest,
    responses((status = 200, description = "The vectors", body = embed::BatchOut))
)]
pub(crate) async fn batch_embed_contents(
    cx: Call<'_>,
    body: Bytes,
) -> Result<Response, GeminiError> {
    let req: BatchEmbedContentsRequest = parse_json(&body)?;
    if req.requests.is_empty() {
        return Err(GeminiError(ProxyError::invalid_param(
            "requests must not be empty",
            "requests",
        )));
    }
    if req.requests.len() > embed::MAX_BATCH {
        return Err(GeminiError(ProxyError::invalid_param(
            format!(
                "{} requests; at most {} are allowed per batch",
                req.requests.len(),
                embed::MAX_BATCH
            ),
            "requests",
        )));
    }
    let texts = req
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| embed::text_of(r, &format!("requests[{i}].")))
        .collect::<Result<Vec<_>, _>>()?;
    let vectors = embed_texts(cx, texts).await?;
    if vectors.len() != req.requests.len() {
        return Err(GeminiError(ProxyError::Upstream(gigachat::Error::Decode(
            format!(
                "GigaChat returned {} embeddings for {} inputs",
                vectors.len(),
                req.requests.len()
            ),
        ))));
    }
    let dims = req.requests.iter().map(|r| r.output_dimensionality);
    json(&embed::batch(vectors.into_iter().zip(dims).collect())?)
}

fn json<T: serde::Serialize>(v: &T) -> Result<Response, GeminiError> {
    let body = serde_json::to_vec(v)
        .map_err(|e| ProxyError::Internal(format!("cannot serialise the answer: {e}")))?;
    Ok(respond::json(Bytes::from(body)))
}

/// `GET /v1beta/models`
#[utoipa::path(get, path = "/v1beta/models", tag = "Gemini", operation_id = "geminiListModels",
    summary = "List models (Gemini API)",
    description = "GigaChat's models in Gemini's shape (`name: \"models/…\"`, `supportedGenerationMethods`), paged with `pageSize` (default 50, at most 1000) and `pageToken`.",
    params(
        ("pageSize" = Option<u32>, Query),
        ("pageToken" = Option<String>, Query),
    ),
    responses((status = 200, description = "A page of models", body = embed::ListOut))
)]
pub(crate) async fn list_models(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, GeminiError> {
    let page_size = query(&uri, "pageSize");
    let page_token = query(&uri, "pageToken");
    let list = state
        .models(&gigachat, &state.request_context(&rid, &headers))
        .await?;
    let aliases = catalog::listed_aliases(&state.config().proxy.model_aliases);
    json(&embed::page(
        embed::catalogue(&list, &aliases),
        page_size.as_deref(),
        page_token.as_deref(),
    )?)
}

/// `GET /v1beta/models/{model}`
#[utoipa::path(get, path = "/v1beta/models/{model}", tag = "Gemini", operation_id = "geminiGetModel",
    summary = "One model (Gemini API)",
    description = "An alias (`--proxy.model-aliases`, also a name a pattern matches) or a GigaChat model; without `--proxy.pass-model` any other name too, answered as served by the configured GigaChat model (named in `displayName`).",
    params(("model" = String, Path, description = "The model, with or without `models/`")),
    responses((status = 200, description = "The model", body = embed::ModelOut))
)]
pub(crate) async fn get_model(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Result<Response, GeminiError> {
    let (id, method) = target(&rest);
    if !matches!(method, Ok(None)) {
        return Err(not_found(&format!(
            "no route for GET models/{rest}: model methods are POST"
        )));
    }
    // An alias decides even when GigaChat has a model of that name.
    if let Some(served) = state.alias(&id).and_then(|a| catalog::served_as(&id, a)) {
        return json(&embed::served(served));
    }
    let list = state
        .models(&gigachat, &state.request_context(&rid, &headers))
        .await?;
    match list.data.iter().find(|m| m.id == id) {
        Some(m) => json(&embed::model_out(m)),
        // Without --proxy.pass-model every name is served by the configured model.
        None if !state.config().proxy.pass_model => json(&embed::served(catalog::Served {
            id: &id,
            served_by: state.chat_model(&id),
            embedding: false,
            max_tokens: None,
        })),
        None => Err(not_found(&format!("models/{id} is not found"))),
    }
}

/// A request from a Gemini client (its SDKs send `x-goog-api-key` or `?key=`, and
/// `x-goog-api-client`): `GET /v1/models…` is then answered in Gemini's shape.
pub(crate) fn is_gemini_client(headers: &HeaderMap, uri: &Uri) -> bool {
    headers.contains_key("x-goog-api-key")
        || headers.contains_key("x-goog-api-client")
        || query(uri, "key").is_some()
}

/// `GET /v1/models`: OpenAI's list (Anthropic's with `anthropic-version`), or
/// Gemini's for a Gemini client (the Python SDK lists models under `/v1`).
pub(crate) async fn v1_list_models(
    state: State<AppState>,
    rid: Extension<RequestId>,
    gigachat: Upstream,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    use axum::response::IntoResponse;
    if is_gemini_client(&headers, &uri) {
        list_models(state, rid, gigachat, uri, headers)
            .await
            .into_response()
    } else {
        crate::dialect::openai::handlers::list_models(state, rid, gigachat, headers)
            .await
            .into_response()
    }
}

/// `GET /v1/models/{id}`: OpenAI's (or Anthropic's) model, or Gemini's for a Gemini
/// client.
pub(crate) async fn v1_get_model(
    state: State<AppState>,
    rid: Extension<RequestId>,
    gigachat: Upstream,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    use axum::response::IntoResponse;
    if matches!(target(&id).1, Ok(Some(_))) {
        // A Gemini model method is POST only.
        return not_found(&format!("no route for GET {}", uri.path())).into_response();
    }
    if is_gemini_client(&headers, &uri) {
        get_model(state, rid, gigachat, Path(id), headers)
            .await
            .into_response()
    } else {
        crate::dialect::openai::handlers::get_model(state, rid, gigachat, Path(id), headers)
            .await
            .into_response()
    }
}

/// Any other method on a route that has Gemini methods: a 404 in the path's dialect
/// (never an empty 405).
pub(crate) async fn no_such_method(
    method: axum::http::Method,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> Response {
    crate::dialect::error_response(
        uri.path(),
        &ProxyError::NotFound(format!("no route for {method} {}", uri.path())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = |s: &str| target(s);
        assert_eq!(
            t("gemini-2.5-flash:generateContent"),
            ("gemini-2.5-flash".into(), Ok(Some(Method::GenerateContent)))
        );
        assert_eq!(
            t("models/gemini-2.5-pro:streamGenerateContent"),
            (
                "gemini-2.5-pro".into(),
                Ok(Some(Method::StreamGenerateContent))
            )
        );
        assert_eq!(
            t("tunedModels/my-model:countTokens"),
            ("my-model".into(), Ok(Some(Method::CountTokens)))
        );
        assert_eq!(t("GigaChat-2-Max"), ("GigaChat-2-Max".into(), Ok(None)));
        assert_eq!(t("x:predict"), ("x".into(), Err("predict".into())));
        assert_eq!(
            t("ns/name:latest:embedContent"),
            ("ns/name:latest".into(), Ok(Some(Method::EmbedContent)))
        );
    }
}
