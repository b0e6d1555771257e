//! API documentation (DEV mode only; absent in PROD):
//!
//! * `GET /openapi.json` — an OpenAPI 3.1 document of every endpoint (behind the API
//!   key when it is on), derived with `utoipa` from the handlers' `#[utoipa::path]`
//!   attributes and from the types the proxy really decodes (request bodies) or encodes
//!   (model lists, embeddings, error envelopes), so a decoder's defaults and the
//!   documented `required` fields cannot drift apart. Answers built by the stream
//!   encoders or as JSON values are described by documentation types in
//!   [`crate::dialect::schemas`].
//!   The `/v1` twins of the API routes, the error responses and the API-key schemes are
//!   added by [`Conventions`], one rule each;
//! * `GET /docs` and `GET /redoc` — a self-contained reference page that renders that
//!   document in the browser. Swagger UI and ReDoc load their scripts from a CDN, which
//!   offline and locked-down installations cannot reach, so the proxy ships its own small
//!   renderer instead (no external resources; the content-security policy forbids them).
//!   The document itself works with any external Swagger UI or ReDoc.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::app::AppState;

const VIEWER: &str = include_str!("../../assets/docs.html");

/// `/openapi.json` (behind the API key when it is on).
pub(crate) fn data_routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi))
}

/// `/docs` and `/redoc`: the viewer page, which holds no data.
pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/docs", get(docs_page))
        .route("/redoc", get(redoc_page))
}

static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| document().to_pretty_json().unwrap_or_default());

#[utoipa::path(get, path = "/openapi.json", tag = "Docs (DEV)", operation_id = "openapi",
    summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", body = Object))
)]
async fn openapi() -> Response {
    let mut r = DOCUMENT.as_str().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

#[utoipa::path(get, path = "/docs", tag = "Docs (DEV)", operation_id = "docs",
    summary = "API reference page", security(()),
    responses((status = 200, description = "The page", body = String, content_type = "text/html"))
)]
async fn docs_page() -> Response {
    super::logs::page(VIEWER)
}

#[utoipa::path(get, path = "/redoc", tag = "Docs (DEV)", operation_id = "redoc",
    summary = "API reference page (the same page as /docs)", security(()),
    responses((status = 200, description = "The page", body = String, content_type = "text/html"))
)]
async fn redoc_page() -> Response {
    super::logs::page(VIEWER)
}

// ---- the document -------------------------------------------------------------------------

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gpt2giga",
        description = "OpenAI-, Anthropic- and Gemini-compatible proxy for GigaChat. Every OpenAI and Anthropic path also works under `/v1`, Gemini's live under `/v1beta` (model methods also under `/v1/models/{model}:method`), and any prefix before a known root is stripped (`/api/v1/chat/completions`). When the proxy API key is on (`--proxy.enable-api-key-auth`, always in PROD) send it as `x-api-key`, `Authorization: Bearer`, `?x-api-key=`, or as Gemini clients do, `x-goog-api-key` or `?key=`; probes and the two viewer pages are open. Errors use OpenAI's envelope, Anthropic's under `/messages`, Google's under `/v1beta`, Anthropic's under `/files` with `anthropic-version`. `/docs`, `/redoc`, `/openapi.json` and `/logs*` exist in DEV mode only.",
        license(name = "MIT", identifier = "MIT"),
    ),
    servers((url = "/")),
    paths(
        crate::dialect::openai::handlers::chat_completions,
        crate::dialect::openai::handlers::list_models,
        crate::dialect::openai::handlers::get_model,
        crate::dialect::openai::handlers::model_info,
        crate::dialect::openai::handlers::embeddings,
        crate::dialect::openai_responses::handlers::create,
        crate::dialect::openai_responses::handlers::retrieve,
        crate::dialect::openai_responses::handlers::delete,
        crate::dialect::openai_responses::handlers::input_items,
        crate::dialect::anthropic::handlers::messages,
        crate::dialect::anthropic::handlers::count_tokens,
        crate::dialect::files::create,
        crate::dialect::files::list,
        crate::dialect::files::retrieve,
        crate::dialect::files::delete,
        crate::dialect::files::content,
        crate::dialect::gemini::handlers::generate_content,
        crate::dialect::gemini::handlers::stream_generate_content,
        crate::dialect::gemini::handlers::count_tokens,
        crate::dialect::gemini::handlers::embed_content,
        crate::dialect::gemini::handlers::batch_embed_contents,
        crate::dialect::gemini::handlers::list_models,
        crate::dialect::gemini::handlers::get_model,
        super::system::root,
        super::system::health,
        super::system::ready,
        super::system::ping,
        super::metrics::scrape,
        super::logs::tail,
        super::logs::tail_query,
        super::logs::stream,
        super::logs::html,
        super::traffic::list,
        super::traffic::one,
        super::traffic::purge,
        super::traffic::export,
        super::traffic::stream,
        super::traffic::replay,
        super::traffic::console,
        openapi,
        docs_page,
        redoc_page,
    ),
    components(schemas(
        crate::dialect::openai::error::Envelope,
        crate::dialect::anthropic::error::Envelope,
        crate::dialect::gemini::error::Envelope,
    )),
    tags(
        (name = "OpenAI", description = "Chat Completions, Models, Embeddings"),
        (name = "OpenAI Responses", description = "Responses API with a response store"),
        (name = "Anthropic", description = "Messages API"),
        (name = "Files", description = "OpenAI and Anthropic Files APIs over GigaChat's file store; the `anthropic-version` header selects Anthropic's shapes"),
        (name = "Gemini", description = "Gemini API (v1beta; model methods also under /v1/models)"),
        (name = "System", description = "Probes and metrics"),
        (name = "Logs (DEV)", description = "Log file and live log"),
        (name = "Traffic log", description = "The traffic log's admin API (when --proxy.traffic-log-url is set; PROD needs --proxy.enable-traffic-admin)"),
        (name = "Docs (DEV)", description = "This documentation"),
    ),
    security(("ApiKeyHeader" = []), ("BearerAuth" = []), ("ApiKeyQuery" = []),
        ("GoogApiKeyHeader" = []), ("GoogApiKeyQuery" = [])),
    modifiers(&Conventions),
)]
struct ApiDoc;

/// The OpenAPI 3.1 document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The rules the per-operation attributes leave out: API-key schemes, the error
/// responses in each dialect's envelope, `/v1` twins of the API paths, and distinct
/// operation ids for paths served with several methods.
struct Conventions;

/// Tags of the dialect endpoints (served under `/v1` too, errors in their envelope).
const API_TAGS: &[&str] = &["OpenAI", "OpenAI Responses", "Anthropic", "Files"];

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "ApiKeyHeader",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            "BearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The proxy API key as a bearer token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "ApiKeyQuery",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            "GoogApiKeyHeader",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-goog-api-key"))),
        );
        components.add_security_scheme(
            "GoogApiKeyQuery",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("key"))),
        );
        for (name, description) in [
            ("OpenAIError", "An error in OpenAI's envelope"),
            ("AnthropicError", "An error in Anthropic's envelope"),
            ("GeminiError", "An error in Google's envelope"),
        ] {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(name)))
                .build();
            components.responses.insert(
                name.to_string(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content("application/json", content)
                        .build(),
                ),
            );
        }

        let mut twins = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        for (path, item) in doc.paths.paths.iter_mut() {
            let mut api = false;
            for (method, op) in operations(item) {
                if !seen.insert(op.operation_id.clone()) {
                    op.operation_id = op.operation_id.take().map(|id| format!("{id}{method}"));
                }
                let tagged = |t: &str| op.tags.iter().flatten().any(|x| x == t);
                if tagged("Gemini") {
                    add_errors(op, Envelope::Gemini);
                } else if API_TAGS.iter().any(|t| tagged(t)) {
                    api = true;
                    add_errors(
                        op,
                        if tagged("Anthropic") {
                            Envelope::Anthropic
                        } else {
                            Envelope::OpenAi
                        },
                    );
                } else if op.security.is_none() {
                    add(op, "401", "OpenAIError");
                }
            }
            // Gemini's model methods are also served under `/v1` (the Python SDK's
            // default API version).
            if let Some(method) = path.strip_prefix("/v1beta/models/{model}:") {
                let mut twin = item.clone();
                for (_, op) in operations(&mut twin) {
                    op.operation_id = op.operation_id.take().map(|id| format!("{id}V1"));
                }
                twins.insert(format!("/v1/models/{{model}}:{method}"), twin);
            }
            if api {
                let mut twin = item.clone();
                for (_, op) in operations(&mut twin) {
                    op.operation_id = op.operation_id.take().map(|id| format!("{id}V1"));
                }
                twins.insert(format!("/v1{path}"), twin);
            }
        }
        doc.paths.paths.extend(twins);
    }
}

/// The operations of a path item, with a method name for operation ids.
fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("Get", &mut item.get),
        ("Post", &mut item.post),
        ("Put", &mut item.put),
        ("Delete", &mut item.delete),
        ("Head", &mut item.head),
        ("Patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
    .collect()
}

/// The error envelope of a dialect.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Envelope {
    OpenAi,
    Anthropic,
    Gemini,
}

/// Statuses a dialect endpoint can answer with an error: the API key, unknown ids,
/// the concurrency cap, GigaChat's failures; with a body also invalid and too-large
/// requests. Anthropic's overload status is 529 (GigaChat's 503).
fn add_errors(op: &mut Operation, dialect: Envelope) {
    let envelope = match dialect {
        Envelope::OpenAi => "OpenAIError",
        Envelope::Anthropic => "AnthropicError",
        Envelope::Gemini => "GeminiError",
    };
    let mut codes = vec!["401", "404", "429", "500", "502", "504"];
    codes.push(if dialect == Envelope::Anthropic {
        "529"
    } else {
        "503"
    });
    if op.request_body.is_some() {
        codes.extend(["400", "413"]);
    }
    for code in codes {
        add(op, code, envelope);
    }
}

fn add(op: &mut Operation, code: &str, envelope: &str) {
    op.responses
        .responses
        .entry(code.to_string())
        .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{envelope}"))));
}
#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn doc() -> Value {
        serde_json::to_value(document()).unwrap_or_default()
    }

    /// Every `$ref` points at something that exists.
    #[test]
    fn references_resolve() {
        let doc = doc();
        let text = doc.to_string();
        let mut rest = text.as_str();
        let mut seen = 0;
        while let Some(i) = rest.find("\"$ref\":\"#/") {
            let tail = &rest[i + 9..];
            let end = tail.find('"').unwrap_or(0);
            let pointer = &tail[..end];
            assert!(
                doc.pointer(pointer).is_some(),
                "dangling reference #/{pointer}"
            );
            seen += 1;
            rest = &tail[end..];
        }
        assert!(seen > 20);
    }

    #[test]
    fn api_routes_have_v1_twins() {
        let doc = doc();
        let paths = doc["paths"].as_object().map(|p| p.len()).unwrap_or(0);
        assert!(paths > 20);
        assert!(doc.pointer("/paths/~1v1~1chat~1completions/post").is_some());
        assert!(doc.pointer("/paths/~1chat~1completions/post").is_some());
        assert!(doc.pointer("/paths/~1v1~1health").is_none());
        assert_eq!(
            doc.pointer("/paths/~1health/get/security"),
            Some(&json!([{}]))
        );
        let mut ids = std::collections::HashSet::new();
        for item in doc["paths"].as_object().into_iter().flatten() {
            for op in item.1.as_object().into_iter().flatten() {
                let id = op.1["operationId"].as_str().unwrap_or_default().to_string();
                assert!(ids.insert(id.clone()), "duplicate operationId {id}");
            }
        }
    }

    #[test]
    fn gemini_paths_use_googles_envelope() {
        let doc = doc();
        let op = doc
            .pointer("/paths/~1v1beta~1models~1{model}:generateContent/post")
            .expect("generateContent is documented");
        assert_eq!(
            op["responses"]["400"]["$ref"],
            "#/components/responses/GeminiError"
        );
        assert!(doc.pointer("/paths/~1v1beta~1models/get").is_some());
        assert!(
            doc.pointer("/components/securitySchemes/GoogApiKeyHeader")
                .is_some()
        );
        // No `/v1` twin of a `/v1beta` path.
        assert!(doc.pointer("/paths/~1v1~1v1beta~1models/get").is_none());
    }

    /// The documented request bodies are the decoders' own types: a field the decoder
    /// fills in when it is absent is not `required`.
    #[test]
    fn defaulted_fields_are_not_required() {
        let doc = doc();
        let required = |schema: &str| -> Vec<String> {
            doc.pointer(&format!("/components/schemas/{schema}/required"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        for schema in [
            "ChatCompletionRequest",
            "MessagesRequest",
            "ResponsesRequest",
            "EmbeddingsRequest",
        ] {
            assert!(
                doc.pointer(&format!("/components/schemas/{schema}/properties/model"))
                    .is_some(),
                "{schema}"
            );
            assert!(
                !required(schema).contains(&"model".to_string()),
                "{schema}: model is defaulted"
            );
        }
        assert_eq!(required("ChatCompletionRequest"), ["messages"]);
        assert_eq!(required("EmbeddingsRequest"), ["input"]);
        assert!(required("GenerateContentRequest").is_empty());
        assert_eq!(required("EmbedContentRequest"), ["content"]);
        // Unknown fields are accepted (and ignored or refused by name).
        assert!(
            doc.pointer("/components/schemas/ChatCompletionRequest/additionalProperties")
                .is_some()
        );
    }
}
