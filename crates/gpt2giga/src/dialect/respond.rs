//! The plain HTTP answers every dialect sends: a JSON body, or an error with its status
//! and `Retry-After`.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::error::ProxyError;

/// A `200 application/json` response.
pub fn json(body: Bytes) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// An error response: status, JSON body, and `Retry-After` (always present on 429).
pub fn error(status: StatusCode, body: Bytes, e: &ProxyError) -> Response {
    if matches!(e, ProxyError::UpstreamCredentials(_)) {
        // Logged at error once per token refresh by the GigaChat client.
        tracing::debug!(status = status.as_u16(), error = %e, "request failed");
    } else if status.is_server_error() {
        tracing::warn!(status = status.as_u16(), error = %e, "request failed");
    } else {
        tracing::debug!(status = status.as_u16(), error = %e, "request refused");
    }
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let after = e
        .retry_after()
        .or((status == StatusCode::TOO_MANY_REQUESTS).then_some(Duration::from_secs(1)));
    if let Some(after) = after
        && let Ok(v) = HeaderValue::from_str(&(after.as_secs_f64().ceil() as u64).to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}
