//! Fault injection: canned error responses ([`Fault`]) and broken streams ([`StreamFault`]).
//!
//! JSON forms (for `/__mock/faults` and `/__mock/stream-fault`):
//!
//! ```json
//! {"status":429,"retry_after":"2","times":1,"path_suffix":"/chat/completions"}
//! {"status":503,"body":{"raw":{"content_type":"text/html","body":"<html>down</html>"}}}
//! {"status":402,"body":{"json":{"status":402,"message":"Payment Required"}}}
//! {"kind":"disconnect","after_chunks":1,"times":1}
//! {"kind":"stall","after_chunks":0}
//! {"kind":"truncate_final"}
//! {"kind":"wrong_content_type"}
//! ```

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::{CONTENT_TYPE_JSON, error_json};

/// Body of an injected error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultBody {
    /// Any JSON value, sent compact with `application/json; charset=utf-8`.
    Json(Value),
    /// Raw text (e.g. an nginx HTML page) with the given content type.
    Raw { content_type: String, body: String },
}

/// An injected error response for the next `times` requests whose path ends with
/// `path_suffix` (any path when `None`). Without a `body`, the GigaChat-style
/// `{"status":N,"message":"<reason>"}` is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub status: u16,
    #[serde(default)]
    pub body: Option<FaultBody>,
    /// `Retry-After` header value (e.g. `"2"`).
    #[serde(default)]
    pub retry_after: Option<String>,
    #[serde(default = "one")]
    pub times: u32,
    #[serde(default)]
    pub path_suffix: Option<String>,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault answering `status` once, on any path, with the default body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: None,
            retry_after: None,
            times: 1,
            path_suffix: None,
        }
    }

    /// Fire for the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    /// Only match paths ending with `suffix` (e.g. `/chat/completions`).
    pub fn path_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.path_suffix = Some(suffix.into());
        self
    }

    /// Add a `Retry-After` header.
    pub fn retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// Send this JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(FaultBody::Json(body));
        self
    }

    /// Send this raw body with the given content type.
    pub fn raw(mut self, content_type: impl Into<String>, body: impl Into<String>) -> Self {
        self.body = Some(FaultBody::Raw {
            content_type: content_type.into(),
            body: body.into(),
        });
        self
    }

    pub(crate) fn matches(&self, path: &str) -> bool {
        self.times > 0
            && self
                .path_suffix
                .as_deref()
                .is_none_or(|suffix| path.ends_with(suffix))
    }

    pub(crate) fn to_response(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = match &self.body {
            None => error_json(status, default_message(status)),
            Some(FaultBody::Json(v)) => {
                let body = serde_json::to_vec(v).unwrap_or_default();
                (
                    status,
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(CONTENT_TYPE_JSON),
                    )],
                    Bytes::from(body),
                )
                    .into_response()
            }
            Some(FaultBody::Raw { content_type, body }) => {
                let ct = HeaderValue::from_str(content_type)
                    .unwrap_or(HeaderValue::from_static("text/plain"));
                (status, [(header::CONTENT_TYPE, ct)], body.clone()).into_response()
            }
        };
        if let Some(ra) = self
            .retry_after
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, ra);
        }
        resp
    }
}

/// GigaChat-style message for a status (§8).
pub(crate) fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Permission denied",
        404 => "Not Found",
        413 => "Payload too large",
        422 => "Invalid params",
        429 => "Too many requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

/// How a stream breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreamFaultKind {
    /// Send `after_chunks` frames, then abort the connection (no final chunk, no
    /// `[DONE]`, no clean end of the chunked body): the client sees a body error.
    Disconnect { after_chunks: usize },
    /// Send everything but cut the final frame in half (and drop v1's `[DONE]`), then
    /// end the body cleanly.
    TruncateFinal,
    /// Send a normal stream labelled `Content-Type: application/json`.
    WrongContentType,
    /// Send `after_chunks` frames, then send nothing more while holding the connection
    /// open (until the client gives up or the server shuts down).
    Stall { after_chunks: usize },
}

/// A stream fault for the next `times` streaming chat responses (`None`: until cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamFault {
    #[serde(flatten)]
    pub kind: StreamFaultKind,
    #[serde(default)]
    pub times: Option<u32>,
}

impl StreamFault {
    /// A fault that applies to every stream until cleared.
    pub fn always(kind: StreamFaultKind) -> Self {
        Self { kind, times: None }
    }

    /// A fault for the next `n` streams.
    pub fn times(kind: StreamFaultKind, n: u32) -> Self {
        Self {
            kind,
            times: Some(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fault_json_defaults() {
        let f: Fault = serde_json::from_value(json!({"status": 429, "retry_after": "2"})).unwrap();
        assert_eq!(f, Fault::status(429).retry_after("2"));
        assert!(f.matches("/api/v1/chat/completions"));
        let f = Fault::status(500).path_suffix("/embeddings");
        assert!(!f.matches("/api/v1/chat/completions"));
        assert!(f.matches("/api/v1/embeddings"));
    }

    #[test]
    fn stream_fault_json() {
        let f: StreamFault =
            serde_json::from_value(json!({"kind":"disconnect","after_chunks":2,"times":1}))
                .unwrap();
        assert_eq!(
            f,
            StreamFault::times(StreamFaultKind::Disconnect { after_chunks: 2 }, 1)
        );
        let f: StreamFault = serde_json::from_value(json!({"kind":"truncate_final"})).unwrap();
        assert_eq!(f, StreamFault::always(StreamFaultKind::TruncateFinal));
    }
}
