//! Request-context middleware: request id in, request id out, one access-log line.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::telemetry::RequestId;

pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// Accepts the client's `X-Request-ID` when it is sane (≤ 128 visible ASCII characters),
/// otherwise makes a UUIDv4; exposes it to handlers, returns it on the response, and
/// writes one access-log line per request.
pub(crate) async fn request_context(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let status = response.status().as_u16();
    tracing::info!(
        target: "gpt2giga::access",
        request_id = %id,
        %method,
        path = %path,
        status,
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

fn is_sane_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_checked() {
        assert!(is_sane_id("abc-123"));
        assert!(!is_sane_id(""));
        assert!(!is_sane_id("has space"));
        assert!(!is_sane_id(&"x".repeat(129)));
    }
}

/// Path segments that start a known API route.
const ROOTS: &[&str] = &[
    "v1",
    "v1beta",
    "chat",
    "models",
    "embeddings",
    "responses",
    "messages",
    "files",
    "model",
];

/// Rewrites `/<any prefix>/<root>/…` to `/<root>/…` in place (never a redirect, which
/// some clients would re-send without the body): `/api/v1/chat/completions` →
/// `/v1/chat/completions`, `/openai/v1/models` → `/v1/models`.
pub(crate) async fn normalize_path(mut request: Request, next: Next) -> Response {
    if let Some(new) = normalized(request.uri().path()) {
        let mut parts = request.uri().clone().into_parts();
        let pq = match request.uri().query() {
            Some(q) => format!("{new}?{q}"),
            None => new,
        };
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    next.run(request).await
}

fn normalized(path: &str) -> Option<String> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    if ROOTS.contains(&first) {
        return None;
    }
    let mut offset = 0;
    for seg in path.split('/') {
        if !seg.is_empty() && ROOTS.contains(&seg) {
            return Some(path[offset - 1..].to_string());
        }
        offset += seg.len() + 1;
    }
    None
}

#[cfg(test)]
mod path_tests {
    use super::normalized;

    #[test]
    fn prefixes_are_stripped() {
        assert_eq!(
            normalized("/api/v1/chat/completions").as_deref(),
            Some("/v1/chat/completions")
        );
        assert_eq!(
            normalized("/openai/v1/models").as_deref(),
            Some("/v1/models")
        );
        assert_eq!(normalized("/a/b/messages").as_deref(), Some("/messages"));
        assert_eq!(normalized("/openai/files/f1").as_deref(), Some("/files/f1"));
        assert_eq!(
            normalized("/litellm/model/info").as_deref(),
            Some("/model/info")
        );
        assert_eq!(normalized("/v1beta/models/m:generateContent"), None);
        assert_eq!(
            normalized("/gemini/v1beta/models/x:generateContent").as_deref(),
            Some("/v1beta/models/x:generateContent")
        );
        assert_eq!(normalized("/v1beta/models/x:generateContent"), None);
        assert_eq!(normalized("/v1/models/chat"), None);
        assert_eq!(normalized("/chat/completions"), None);
        assert_eq!(normalized("/health"), None);
        assert_eq!(normalized("/"), None);
        assert_eq!(normalized("/x/chatty"), None);
    }
}
