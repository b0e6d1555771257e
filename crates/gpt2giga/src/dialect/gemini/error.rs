//! Gemini's (Google API) error envelope: `{"error":{"code","message","status"}}`, with
//! the canonical status name matching the HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use crate::error::ProxyError;

/// Google's error envelope (the `GeminiError` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GeminiError)]
pub(crate) struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GeminiErrorBody)]
struct Body<'a> {
    /// The HTTP status.
    code: u16,
    message: &'a str,
    /// The canonical Google status name (`INVALID_ARGUMENT`, `NOT_FOUND`, …).
    status: &'static str,
}

/// The canonical status name Google's APIs pair with an HTTP status.
pub(crate) fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        402 => "FAILED_PRECONDITION",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        502 | 503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

/// The message, with the offending field in front when the message does not name it
/// (`generationConfig.candidateCount: …`).
fn message(e: &ProxyError) -> String {
    let message = e.client_message();
    match e.param().filter(|p| !p.is_empty() && !message.contains(*p)) {
        Some(param) => format!("{param}: {message}"),
        None => message,
    }
}

pub fn body(e: &ProxyError) -> Bytes {
    let status = e.status();
    let message = message(e);
    let env = Envelope {
        error: Body {
            code: status.as_u16(),
            message: &message,
            status: status_name(status),
        },
    };
    Bytes::from(serde_json::to_vec(&env).unwrap_or_default())
}

pub fn response(e: &ProxyError) -> Response {
    crate::dialect::respond::error(e.status(), body(e), e)
}

pub struct GeminiError(pub ProxyError);

impl<E: Into<ProxyError>> From<E> for GeminiError {
    fn from(e: E) -> Self {
        GeminiError(e.into())
    }
}

impl IntoResponse for GeminiError {
    fn into_response(self) -> Response {
        response(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;
    use std::time::Duration;

    fn api(status: u16) -> ProxyError {
        ProxyError::Upstream(gigachat::Error::Api {
            status,
            message: "m".into(),
            code: None,
            retry_after: Some(Duration::from_secs(7)),
            request_id: None,
        })
    }

    #[test]
    fn envelope_and_statuses() {
        let e = ProxyError::invalid_param("must be 1", "generationConfig.candidateCount");
        let v: serde_json::Value = serde_json::from_slice(&body(&e)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error":{"code":400,"message":"generationConfig.candidateCount: must be 1","status":"INVALID_ARGUMENT"}})
        );
        for (e, code, status) in [
            (ProxyError::Unauthorized("x".into()), 401, "UNAUTHENTICATED"),
            (ProxyError::NotFound("x".into()), 404, "NOT_FOUND"),
            (api(429), 429, "RESOURCE_EXHAUSTED"),
            (api(402), 402, "FAILED_PRECONDITION"),
            (api(403), 403, "PERMISSION_DENIED"),
            (api(500), 502, "UNAVAILABLE"),
            (api(503), 503, "UNAVAILABLE"),
            (ProxyError::Internal("x".into()), 500, "INTERNAL"),
        ] {
            let r = response(&e);
            assert_eq!(r.status().as_u16(), code);
            let v: serde_json::Value = serde_json::from_slice(&body(&e)).unwrap();
            assert_eq!(v["error"]["status"], status, "{e}");
            assert_eq!(v["error"]["code"], code);
        }
        let r = response(&api(429));
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
    }
}
