//! Proxy API-key check (`--proxy.enable-api-key-auth`, always on in PROD), and the
//! extractor that gives a handler its GigaChat side ([`Upstream`]).
//!
//! # API keys
//!
//! Accepted keys are `--proxy.api-key` plus `--proxy.api-keys` (several keys for a
//! rotation: add the new key, move the clients over, drop the old one). A key is
//! accepted as `x-api-key`, as `Authorization: Bearer <key>`, or as the `x-api-key`
//! query parameter, and compared in constant time against every configured key.
//! Probes (`/`, `/health`, `/ready`, `/ping`) stay open. A missing or wrong key is a 401 in the
//! caller's dialect.
//!
//! # With `--proxy.pass-token`
//!
//! A `giga-…` value is a GigaChat identity, never a proxy key: the check ignores it, so
//! the proxy key travels in `x-api-key` (or `?x-api-key=`) while `Authorization: Bearer
//! giga-…` names the GigaChat account — or the other way round for Anthropic clients
//! (`x-api-key: giga-…`, `Authorization: Bearer <proxy key>`). See
//! [`crate::upstream::pool`] for how the identity is chosen.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::error::ProxyError;
use crate::upstream::Upstream;
use crate::upstream::pool::PREFIX;

/// Paths that never need a key.
const OPEN: &[&str] = &["/", "/health", "/ready", "/ping"];

pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let keys = state.api_keys();
    if keys.is_empty() || OPEN.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let pass_token = state.config().proxy.pass_token;
    let presented: Vec<String> = presented_keys(&request)
        .into_iter()
        .filter(|k| !(pass_token && k.starts_with(PREFIX)))
        .collect();
    if presented.iter().any(|p| matches_any(p, keys)) {
        return next.run(request).await;
    }
    let message = match (presented.is_empty(), pass_token) {
        (true, false) => "missing API key: send it as x-api-key or Authorization: Bearer",
        (true, true) => {
            "missing API key: send it as x-api-key or Authorization: Bearer (with --proxy.pass-token a giga-* value is the GigaChat identity, not the proxy key)"
        }
        (false, _) => "invalid API key",
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
    if let Some(token) = h
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
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

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// Whether `presented` equals one of `keys`. Every key is compared, each in constant
/// time, so neither the match nor its position shows in the timing (only lengths may).
pub fn matches_any(presented: &str, keys: &[String]) -> bool {
    keys.iter().fold(false, |found, k| {
        found | constant_time_eq(presented.as_bytes(), k.as_bytes())
    })
}

/// Constant-time comparison (only the length may leak).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// A handler's GigaChat side, chosen from the request's headers; a bad identity is a
/// 401 in the caller's dialect.
impl FromRequestParts<AppState> for Upstream {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match state.upstream(&parts.headers) {
            Ok(u) => {
                tracing::debug!(identity = %u.owner(), "GigaChat identity");
                Ok(u)
            }
            Err(e) => {
                tracing::info!(error = %e, "refused the request's GigaChat identity");
                Err(crate::dialect::error_response(parts.uri.path(), &e))
            }
        }
    }
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

    #[test]
    fn any_of_several_keys() {
        let keys = vec!["old".to_string(), "new".to_string()];
        assert!(matches_any("old", &keys));
        assert!(matches_any("new", &keys));
        assert!(!matches_any("neww", &keys));
        assert!(!matches_any("", &keys));
        assert!(!matches_any("old", &[]));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearerabc"), None);
    }
}
