//! Proxy API-key check (`--proxy.enable-api-key-auth`, always on in PROD).
//!
//! The key is accepted as `x-api-key`, as `Authorization: Bearer <key>`, or as the
//! `x-api-key` query parameter, and compared in constant time. Probes (`/`, `/health`,
//! `/ping`) stay open. A missing or wrong key is a 401 in the caller's dialect.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::error::ProxyError;

/// Paths that never need a key.
const OPEN: &[&str] = &["/", "/health", "/ping"];

pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let keys = state.api_keys();
    if keys.is_empty() || OPEN.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let presented = presented_keys(&request);
    let ok = presented.iter().any(|p| {
        keys.iter()
            .any(|k| constant_time_eq(p.as_bytes(), k.as_bytes()))
    });
    if ok {
        return next.run(request).await;
    }
    let message = if presented.is_empty() {
        "missing API key: send it as x-api-key or Authorization: Bearer"
    } else {
        "invalid API key"
    };
    crate::dialect::error_response(
        request.uri().path(),
        &ProxyError::Unauthorized(message.into()),
    )
}

fn presented_keys(request: &Request) -> Vec<String> {
    let mut out = Vec::new();
    let h = request.headers();
    if let Some(v) = h.get("x-api-key").and_then(|v| v.to_str().ok()) {
        out.push(v.trim().to_string());
    }
    if let Some(v) = h
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(token) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    {
        out.push(token.trim().to_string());
    }
    if let Some(q) = request.uri().query() {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k == "x-api-key" {
                out.push(v.into_owned());
            }
        }
    }
    out
}

/// Constant-time comparison (only the length may leak).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret1"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
