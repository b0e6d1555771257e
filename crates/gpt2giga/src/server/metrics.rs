//! `GET /metrics` and the middleware that measures every request; the metrics
//! themselves live in [`crate::telemetry::metrics`].

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use std::sync::Arc;

use axum::body::Body;
use futures::StreamExt;

use crate::app::AppState;
use crate::telemetry::RequestId;
use crate::telemetry::metrics::{CONTENT_TYPE, Observers, measure};
use crate::telemetry::traffic::Capture;

/// Route template and dialect of a (normalised) path. Bounded: unknown paths are
/// `unmatched`.
pub(crate) fn classify(path: &str) -> (&'static str, &'static str) {
    if let Some(route) = gemini_route(path) {
        return (route, "gemini");
    }
    let p = match path.strip_prefix("/v1") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    };
    let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["chat", "completions"] => ("/chat/completions", "openai"),
        ["models"] => ("/models", "openai"),
        ["models", _] => ("/models/{id}", "openai"),
        ["embeddings"] => ("/embeddings", "openai"),
        // OpenAI's and Anthropic's Files APIs share these paths.
        ["files"] => ("/files", "files"),
        ["files", _] => ("/files/{id}", "files"),
        ["files", _, "content"] => ("/files/{id}/content", "files"),
        ["responses"] => ("/responses", "responses"),
        ["responses", _] => ("/responses/{id}", "responses"),
        ["responses", _, "input_items"] => ("/responses/{id}/input_items", "responses"),
        ["messages"] => ("/messages", "anthropic"),
        ["messages", "count_tokens"] => ("/messages/count_tokens", "anthropic"),
        [""] => ("/", "system"),
        ["health"] => ("/health", "system"),
        ["ping"] => ("/ping", "system"),
        ["metrics"] => ("/metrics", "system"),
        ["logs"] => ("/logs", "system"),
        ["logs", "stream"] => ("/logs/stream", "system"),
        ["logs", "html"] => ("/logs/html", "system"),
        ["logs", _] => ("/logs/{n}", "system"),
        ["openapi.json"] => ("/openapi.json", "system"),
        ["docs"] => ("/docs", "system"),
        ["redoc"] => ("/redoc", "system"),
        ["console"] => ("/console", "system"),
        ["admin", "traffic", ..] => ("/admin/traffic", "system"),
        _ if crate::dialect::is_anthropic_path(path) => ("unmatched", "anthropic"),
        _ if crate::dialect::is_gemini_path(path) => ("unmatched", "gemini"),
        _ => ("unmatched", "other"),
    }
}

/// The route template of a Gemini path (`/v1beta/models/{model}:generateContent`, and
/// the `/v1` twins of the model methods); `None` for other paths and unknown methods.
fn gemini_route(path: &str) -> Option<&'static str> {
    use crate::dialect::gemini::handlers::Method;
    if path == "/v1beta/models" {
        return Some("/v1beta/models");
    }
    let (v1beta, rest) = match path.strip_prefix("/v1beta/") {
        Some(rest) => (true, rest),
        None => (
            false,
            path.strip_prefix("/v1/")
                .unwrap_or(path.trim_start_matches('/')),
        ),
    };
    let rest = rest
        .strip_prefix("models/")
        .or_else(|| rest.strip_prefix("tunedModels/"))?;
    let method = match rest.rsplit_once(':').map(|(_, m)| Method::parse(m)) {
        Some(Some(m)) => m,
        // `/v1beta/models/{model}` (GET); under `/v1` that is OpenAI's route.
        None if v1beta => return Some("/v1beta/models/{model}"),
        _ => return None,
    };
    Some(match (v1beta, method) {
        (true, Method::GenerateContent) => "/v1beta/models/{model}:generateContent",
        (true, Method::StreamGenerateContent) => "/v1beta/models/{model}:streamGenerateContent",
        (true, Method::CountTokens) => "/v1beta/models/{model}:countTokens",
        (true, Method::EmbedContent) => "/v1beta/models/{model}:embedContent",
        (true, Method::BatchEmbedContents) => "/v1beta/models/{model}:batchEmbedContents",
        (false, Method::GenerateContent) => "/v1/models/{model}:generateContent",
        (false, Method::StreamGenerateContent) => "/v1/models/{model}:streamGenerateContent",
        (false, Method::CountTokens) => "/v1/models/{model}:countTokens",
        (false, Method::EmbedContent) => "/v1/models/{model}:embedContent",
        (false, Method::BatchEmbedContents) => "/v1/models/{model}:batchEmbedContents",
    })
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Measures every request (see [`crate::telemetry::metrics`]). Sits just inside the
/// request-context layer, so it sees auth and body-limit refusals too.
/// With the traffic log on, API requests (not the proxy's own pages) are captured: the
/// request body copied as the handler reads it (up to the cap, `bodies` level only).
/// With traces on, they get a server span whose parent is the client's `traceparent`.
pub(crate) async fn track(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let (route, dialect) = classify(request.uri().path());
    let method = method_label(request.method());
    let trace = match state.traces() {
        Some(t) if dialect != "system" => {
            Some(t.request(request.headers(), method, route, request.uri().path()))
        }
        _ => None,
    };
    let capture = match state.traffic() {
        Some(log) if dialect != "system" => {
            let id = request
                .extensions()
                .get::<RequestId>()
                .map_or("", |r| r.0.as_str());
            let path = request
                .uri()
                .path_and_query()
                .map_or_else(|| request.uri().path(), |pq| pq.as_str());
            let capture = Capture::new(log.tap(), id, method, path, route, dialect);
            if capture.bodies() {
                request = tee_body(request, capture.clone());
            }
            Some(capture)
        }
        _ => None,
    };
    measure(
        state.metrics(),
        route,
        dialect,
        method,
        Observers { capture, trace },
        next.run(request),
    )
    .await
}

/// The request with its body copied into `capture` as it is read.
fn tee_body(request: Request, capture: Arc<Capture>) -> Request {
    let (parts, body) = request.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        if let Ok(bytes) = &chunk {
            capture.client_request_chunk(bytes);
        }
        chunk
    });
    Request::from_parts(parts, Body::from_stream(body))
}

/// `GET /metrics`: the Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "System", operation_id = "metrics",
    summary = "Prometheus metrics",
    description = "Prometheus text format 0.0.4: requests by route/dialect/method/status/model, latency histograms, upstream latency and errors, proxy overhead, time to first token, active streams, tokens, token fetches, retries. Available in DEV and PROD; behind the API key when it is on.",
    responses((status = 200, description = "The exposition", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub async fn scrape(State(state): State<AppState>) -> Response {
    let mut r = state.metrics().render().into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_templates() {
        assert_eq!(
            classify("/v1/chat/completions"),
            ("/chat/completions", "openai")
        );
        assert_eq!(
            classify("/chat/completions"),
            ("/chat/completions", "openai")
        );
        assert_eq!(
            classify("/v1/models/GigaChat-2"),
            ("/models/{id}", "openai")
        );
        assert_eq!(
            classify("/v1/responses/resp_1/input_items"),
            ("/responses/{id}/input_items", "responses")
        );
        assert_eq!(classify("/v1/messages"), ("/messages", "anthropic"));
        assert_eq!(
            classify("/v1/files/f-1/content"),
            ("/files/{id}/content", "files")
        );
        assert_eq!(classify("/files"), ("/files", "files"));
        assert_eq!(classify("/logs/25"), ("/logs/{n}", "system"));
        assert_eq!(classify("/logs/stream"), ("/logs/stream", "system"));
        assert_eq!(classify("/"), ("/", "system"));
        assert_eq!(classify("/v1x/foo"), ("unmatched", "other"));
        assert_eq!(classify("/v1/messages/x/y"), ("unmatched", "anthropic"));
        assert_eq!(
            classify("/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
            ("/v1beta/models/{model}:streamGenerateContent", "gemini")
        );
        assert_eq!(
            classify("/v1beta/tunedModels/t:countTokens"),
            ("/v1beta/models/{model}:countTokens", "gemini")
        );
        assert_eq!(classify("/v1beta/models"), ("/v1beta/models", "gemini"));
        assert_eq!(
            classify("/v1beta/models/gemini-2.5-pro"),
            ("/v1beta/models/{model}", "gemini")
        );
        assert_eq!(
            classify("/v1/models/x:generateContent"),
            ("/v1/models/{model}:generateContent", "gemini")
        );
        assert_eq!(classify("/v1/models/GigaChat"), ("/models/{id}", "openai"));
        assert_eq!(classify("/v1beta/files"), ("unmatched", "gemini"));
        assert_eq!(
            classify("/v1beta/models/x:predict"),
            ("unmatched", "gemini")
        );
    }
}
