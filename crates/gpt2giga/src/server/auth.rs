//! Proxy API-key check (`--proxy.enable-api-key-auth`, always on in PROD), and the
//! extractor that gives a handler its GigaChat side ([`Upstream`]).
//!
//! # API keys
//!
//! Accepted keys are `--proxy.api-key` plus `--proxy.api-keys` (several keys for a
//! rotation: add the new key, move the clients over, drop the old one). A key is
//! accepted as `x-api-key`, as `Authorization: Bearer <key>`, or as the `x-api-key`
//! query parameter — and, as the Gemini clients send it, as `x-goog-api-key` or the
//! `key` query parameter — and compared in constant time against every configured key.
//! Probes (`/`, `/health`, `/ready`, `/ping`) stay open. A missing or wrong key is a 401 in the
//! caller's dialect.
//!
//! # With `--proxy.pass-token`
//!
//! A `giga-…` value is a GigaChat identity, never a proxy key: the check ignores it, so
//! the proxy key travels in `x-api-key` (or `?x-api-key=`) while `Authorization: Bearer
//! giga-…` names the GigaChat account — or the other way round for Anthropic clients
//! (`x-api-key: giga-…`, `Authorization: Bearer <proxy key>`), and for Gemini clients
//! `x-goog-api-key: giga-…` (the proxy key then in `?key=` or `x-api-key`). See
//! [`crate::upstream::pool`] for how the identity is chosen.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::error::ProxyError;
use crate::upstream::Upstream;
use crate::upstream::pool::{FORMS, PREFIX, PassToken};

/// Paths that never need a key.
const OPEN: &[&str] = &["/", "/health", "/ready", "/ping"];

pub(crate) async fn require_api_key(
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
    let gemini = crate::dialect::is_gemini_path(request.uri().path());
    let message = match (presented.is_empty(), pass_token, gemini) {
        (true, false, false) => "missing API key: send it as x-api-key or Authorization: Bearer",
        (true, true, false) => {
            "missing API key: send it as x-api-key or Authorization: Bearer (with --proxy.pass-token a giga-* value is the GigaChat identity, not the proxy key)"
        }
        (true, false, true) => "missing API key: send it as x-goog-api-key or ?key=",
        (true, true, true) => {
            "missing API key: send it as x-goog-api-key or ?key= (with --proxy.pass-token a giga-* value is the GigaChat identity, not the proxy key)"
        }
        (false, _, _) => "invalid API key",
    };
    crate::dialect::error_response_for(
        request.uri().path(),
        request.headers(),
        &ProxyError::Unauthorized(message.into()),
    )
}

fn presented_keys(request: &Request) -> Vec<String> {
    let mut out = Vec::new();
    let h = request.headers();
    for name in ["x-api-key", "x-goog-api-key"] {
        if let Some(v) = h.get(name).and_then(|v| v.to_str().ok()) {
            out.push(v.trim().to_string());
        }
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
            if k == "x-api-key" || k == "key" {
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
pub(crate) fn matches_any(presented: &str, keys: &[String]) -> bool {
    keys.iter().fold(false, |found, k| {
        found | constant_time_eq(presented.as_bytes(), k.as_bytes())
    })
}

/// Constant-time comparison (only the length may leak).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// The GigaChat side of a request with these headers: the proxy's own account, or
/// with `--proxy.pass-token` the caller's (see [`crate::upstream::pool`] for the
/// rules). A malformed or unexpected identity is a 401, never a fall-back.
pub fn upstream_of(state: &AppState, headers: &HeaderMap) -> Result<Upstream, ProxyError> {
    let token = if state.pass_token() {
        resolve(headers, state.api_keys())?
    } else {
        None
    };
    state.upstream(token.as_ref())
}

/// Where a request's GigaChat identity comes from (see the module docs). `Ok(None)`:
/// the proxy's own credentials.
fn resolve(headers: &HeaderMap, api_keys: &[String]) -> Result<Option<PassToken>, ProxyError> {
    let authorization = headers.get(header::AUTHORIZATION);
    let bearer = authorization.map(|v| v.to_str().ok().and_then(bearer).map(str::trim));
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| k.starts_with(PREFIX))
    };
    // Anthropic clients send their key as `x-api-key`, Gemini clients as `x-goog-api-key`.
    let identity = match bearer {
        Some(Some(b)) if b.starts_with(PREFIX) => Some(b),
        _ => header("x-api-key").or_else(|| header("x-goog-api-key")),
    };
    if let Some(value) = identity {
        return match PassToken::parse(value) {
            Some(Ok(t)) => Ok(Some(t)),
            Some(Err(why)) => Err(ProxyError::Unauthorized(format!(
                "malformed GigaChat identity: {why}"
            ))),
            None => Err(ProxyError::Unauthorized(format!(
                "malformed GigaChat identity: expected {FORMS}"
            ))),
        };
    }
    match bearer {
        None => Ok(None),
        Some(Some(b)) if matches_any(b, api_keys) => Ok(None),
        Some(_) => Err(ProxyError::Unauthorized(format!(
            "with --proxy.pass-token the Authorization header must carry a GigaChat identity \
             (Bearer {FORMS}) or the proxy's API key; omit it to use the proxy's own GigaChat account"
        ))),
    }
}

/// A handler's GigaChat side, chosen from the request's headers; a bad identity is a
/// 401 in the caller's dialect.
impl FromRequestParts<AppState> for Upstream {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match upstream_of(state, &parts.headers) {
            Ok(u) => {
                tracing::debug!(identity = %u.owner(), "GigaChat identity");
                Ok(u)
            }
            Err(e) => {
                tracing::info!(error = %e, "refused the request's GigaChat identity");
                // Nested routers (`/v1beta`) see the path without their prefix.
                let path = parts
                    .extensions
                    .get::<axum::extract::OriginalUri>()
                    .map_or(parts.uri.path(), |u| u.0.path());
                Err(crate::dialect::error_response_for(path, &parts.headers, &e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn resolve_follows_the_documented_rules() {
        let keys = vec!["proxy-key".to_string()];
        let r = |pairs: &[(&str, &str)]| resolve(&headers(pairs), &keys);
        // No Authorization: the server's account.
        assert_eq!(r(&[]).unwrap(), None);
        assert_eq!(r(&[("x-api-key", "proxy-key")]).unwrap(), None);
        // The proxy key as the bearer: the server's account.
        assert_eq!(r(&[("authorization", "Bearer proxy-key")]).unwrap(), None);
        // A giga-* bearer: the caller's identity.
        assert!(matches!(
            r(&[("authorization", "Bearer giga-auth-T")]).unwrap(),
            Some(PassToken::AccessToken(_))
        ));
        assert!(matches!(
            r(&[
                ("authorization", "bearer giga-auth-T"),
                ("x-api-key", "proxy-key")
            ])
            .unwrap(),
            Some(PassToken::AccessToken(_))
        ));
        // Anthropic style: the identity in x-api-key.
        assert!(matches!(
            r(&[("x-api-key", "giga-cred-K")]).unwrap(),
            Some(PassToken::Credentials { .. })
        ));
        assert!(matches!(
            r(&[
                ("authorization", "Bearer proxy-key"),
                ("x-api-key", "giga-user-u:p")
            ])
            .unwrap(),
            Some(PassToken::UserPassword { .. })
        ));
        // Gemini style: the identity in x-goog-api-key.
        assert!(matches!(
            r(&[("x-goog-api-key", "giga-auth-T")]).unwrap(),
            Some(PassToken::AccessToken(_))
        ));
        assert_eq!(r(&[("x-goog-api-key", "proxy-key")]).unwrap(), None);
        // Authorization wins over x-api-key.
        assert!(matches!(
            r(&[
                ("authorization", "Bearer giga-auth-T"),
                ("x-api-key", "giga-cred-K")
            ])
            .unwrap(),
            Some(PassToken::AccessToken(_))
        ));
        // Never a silent fall-back.
        for bad in [
            &[("authorization", "Bearer giga-cred-")][..],
            &[("authorization", "Bearer giga-nope-x")],
            &[("authorization", "Bearer sk-unused")],
            &[("authorization", "Basic dXNlcjpwdw==")],
            &[("authorization", "Bearer")],
            &[("x-api-key", "giga-user-nopassword")],
            &[("x-goog-api-key", "giga-cred-")],
            &[
                ("authorization", "Bearer sk-unused"),
                ("x-api-key", "proxy-key"),
            ],
        ] {
            let e = r(bad).unwrap_err();
            assert_eq!(e.status(), 401, "{bad:?}");
        }
    }

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
