//! HTTP conventions shared by every handler: compact UTF-8 JSON bodies with
//! `application/json; charset=utf-8`, GigaChat error bodies, unix time.
//!
//! API-host error bodies end with a newline: the recorded 404s declare
//! `Content-Length: 41` for the 40-byte compact `{"status":404,"message":"No such model"}`
//! (`test_chat_model_not_found.yaml`, `test_get_model_not_found.yaml`), while every
//! successful JSON answer is exactly its compact text.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::wire::common::ApiErrorBody;

pub(crate) const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";
pub(crate) const CONTENT_TYPE_SSE: &str = "text/event-stream";

/// Message of the 400 GigaChat sends for schema-shape violations (§8).
pub(crate) const INVALID_JSON: &str = "Your request contains invalid JSON syntax.";

/// Serialises `value` compactly (UTF-8, no escaping of Cyrillic) with the given status.
pub(crate) fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => json_bytes(status, Bytes::from(body)),
        Err(_) => error_json(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

/// A pre-serialised JSON body.
pub(crate) fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(CONTENT_TYPE_JSON),
        )],
        body,
    )
        .into_response()
}

/// API-host error body: `{"status":N,"message":"…"}` and a newline.
pub(crate) fn error_json(status: StatusCode, message: &str) -> Response {
    json_bytes(status, error_body(status.as_u16(), message))
}

fn error_body(status: u16, message: &str) -> Bytes {
    let mut body = serde_json::to_vec(&ApiErrorBody { status, message }).unwrap_or_default();
    body.push(b'\n');
    Bytes::from(body)
}

/// An error a handler returns; renders as [`error_json`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn invalid_json() -> Self {
        Self::bad_request(INVALID_JSON)
    }

    /// 422 with the `Invalid params: ` prefix.
    pub fn invalid_params(detail: impl AsRef<str>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Invalid params: {}", detail.as_ref()),
        )
    }

    pub fn no_such_model() -> Self {
        Self::new(StatusCode::NOT_FOUND, "No such model")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_json(self.status, &self.message)
    }
}

/// `resp` with `guard` kept alive until its body has been sent in full or dropped (the
/// client went away). The body keeps its size hint, so a JSON answer keeps its
/// `Content-Length`.
pub(crate) fn hold_while_sending<G: Send + 'static>(resp: Response, guard: G) -> Response {
    let (parts, body) = resp.into_parts();
    let body = body.map_err(move |e| {
        let _held = &guard;
        e
    });
    Response::from_parts(parts, Body::new(body))
}

/// Unix time in seconds.
pub(crate) fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Unix time in milliseconds.
pub(crate) fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A header as UTF-8 text.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Parses a JSON request body, treating `null` object members as absent (the SDK never
/// sends `null`; GigaChat ignores them). Members under opaque keys (function arguments,
/// results, schemas) are kept verbatim.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    let mut v: Value = serde_json::from_slice(body).map_err(|_| ApiError::invalid_json())?;
    strip_nulls(&mut v);
    Ok(v)
}

const OPAQUE_KEYS: [&str; 7] = [
    "arguments",
    "partial_arguments",
    "result",
    "parameters",
    "return_parameters",
    "schema",
    "metadata",
];

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => strip_object(map),
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn strip_object(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    for (k, v) in map.iter_mut() {
        if !OPAQUE_KEYS.contains(&k.as_str()) {
            strip_nulls(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_are_absent_except_in_opaque_values() {
        let v = parse_body(
            br#"{"model":"GigaChat","temperature":null,"messages":[{"role":"user","content":"x","name":null,"function_call":{"name":"f","arguments":{"a":null}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"model":"GigaChat","messages":[{"role":"user","content":"x","function_call":{"name":"f","arguments":{"a":null}}}]})
        );
    }

    #[test]
    fn error_body_is_compact_with_a_newline() {
        assert_eq!(
            &error_body(404, "No such model")[..],
            b"{\"status\":404,\"message\":\"No such model\"}\n"
        );
    }
}
