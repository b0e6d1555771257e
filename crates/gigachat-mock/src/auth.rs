//! Authentication: the OAuth endpoint (§1.1), the user/password `/token` endpoint (§1.3)
//! and the bearer-token check in front of every API route (§1.2).
//!
//! The OAuth host answers `Content-Type: application/json` without a charset (recorded,
//! e.g. `test_chat_simple.yaml`); `/token` lives on the API host and answers like it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::Serialize;

use crate::config::TokenShape;
use crate::control::MockControl;
use crate::http::{error_json, header_str, hold_while_sending, json_response, unix_millis};
use crate::state::{Shared, TokenRecord};
use crate::wire::common::{IssuedToken, OAuthErrorBody};

const SCOPES: [&str; 3] = ["GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP"];

/// `Content-Type` of the OAuth host.
const OAUTH_CONTENT_TYPE: &str = "application/json";

/// A compact JSON answer of the OAuth host.
fn oauth_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut resp = json_response(status, body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(OAUTH_CONTENT_TYPE),
    );
    resp
}

/// OAuth-host error body: `{"code":N,"message":"…"}`.
fn oauth_error(status: StatusCode, code: Option<u8>, message: &str) -> Response {
    oauth_json(status, &OAuthErrorBody { code, message })
}

/// The value after `Basic `/`Bearer ` in an `Authorization` header.
fn auth_value<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Option<&'a str> {
    let raw = header_str(headers, header::AUTHORIZATION.as_str())?.trim();
    let (scheme, value) = raw.split_once(' ')?;
    schemes
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
        .then(|| value.trim())
        .filter(|v| !v.is_empty())
}

/// The bearer token of a request.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    auth_value(headers, &["Bearer"])
}

fn decode_b64(value: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(value)
        .or_else(|_| URL_SAFE.decode(value))
        .or_else(|_| URL_SAFE_NO_PAD.decode(value))
        .ok()
}

/// Minimal `application/x-www-form-urlencoded` lookup.
pub(crate) fn form_value(body: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_rquid(v: &str) -> bool {
    v.len() == 36 && v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// A fresh opaque token (dot-separated base64url segments, JWE-looking, ~200 chars).
fn new_token() -> String {
    let seg = |n: usize| {
        let bytes: Vec<u8> = (0..n)
            .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
            .collect();
        URL_SAFE_NO_PAD.encode(bytes)
    };
    format!("eyJtb2NrIjp0cnVlfQ.{}.{}.{}", seg(2), seg(4), seg(1))
}

impl Shared {
    /// Registers a token valid for `ttl` (`None`: forever) and returns its expiry.
    pub(crate) fn register_token(&self, token: &str, ttl: Option<Duration>) {
        let record = TokenRecord {
            expires_at: ttl.map(|t| Instant::now() + t),
        };
        if let Ok(mut map) = self.tokens.write() {
            map.insert(token.to_string(), record);
        }
    }

    /// Issues a new token with the configured TTL; returns it with its expiry in unix ms.
    fn issue_token(&self) -> (String, i64) {
        let ttl = self.snapshot().cfg.token_ttl;
        let token = new_token();
        self.register_token(&token, Some(ttl));
        (token, expiry_millis(Some(ttl)).unwrap_or(i64::MAX))
    }
}

/// `POST /api/v2/oauth`.
pub(crate) async fn oauth(
    State(ctl): State<MockControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let shared = ctl.shared();
    let cfg = shared.snapshot();
    let cfg = &cfg.cfg;
    let Some(key) = auth_value(&headers, &["Basic", "Bearer"]) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            Some(4),
            "Can't decode 'Authorization' header",
        );
    };
    if decode_b64(key).is_none() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            Some(4),
            "Can't decode 'Authorization' header",
        );
    }
    if !header_str(&headers, "rquid").is_some_and(is_rquid) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            None,
            "RqUID header is missing or invalid",
        );
    }
    let scope = form_value(&body, "scope").unwrap_or_default();
    if scope.trim().is_empty() {
        return oauth_error(StatusCode::BAD_REQUEST, Some(5), "scope is empty");
    }
    if !SCOPES.contains(&scope.trim()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            Some(1),
            "scope data format invalid",
        );
    }
    if cfg.credentials.as_deref().is_some_and(|c| c != key) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            Some(6),
            "credentials doesn't match db data",
        );
    }
    if cfg.scope.as_deref().is_some_and(|s| s != scope.trim()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            Some(7),
            "scope from db not fully includes consumed scope",
        );
    }
    let (token, expires_ms) = shared.issue_token();
    shared.counters.oauth_tokens.fetch_add(1, Ordering::Relaxed);
    let body = match cfg.token_shape {
        TokenShape::AccessToken => IssuedToken::Oauth {
            access_token: &token,
            expires_at: expires_ms,
        },
        TokenShape::Tok => IssuedToken::Short {
            tok: &token,
            exp: expires_ms / 1000,
        },
    };
    oauth_json(StatusCode::OK, &body)
}

/// `POST {prefix}/token` with `Authorization: Basic base64(user:password)`.
pub(crate) async fn password_token(State(ctl): State<MockControl>, headers: HeaderMap) -> Response {
    let shared = ctl.shared();
    let cfg = shared.snapshot();
    let cfg = &cfg.cfg;
    let creds = auth_value(&headers, &["Basic"])
        .and_then(decode_b64)
        .and_then(|b| String::from_utf8(b).ok());
    let Some((user, password)) = creds.as_deref().and_then(|c| c.split_once(':')) else {
        return error_json(StatusCode::UNAUTHORIZED, "Unauthorized");
    };
    let user_ok = cfg.user.as_deref().is_none_or(|u| u == user);
    let password_ok = cfg.password.as_deref().is_none_or(|p| p == password);
    if !user_ok || !password_ok {
        return error_json(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let (token, expires_ms) = shared.issue_token();
    shared
        .counters
        .password_tokens
        .fetch_add(1, Ordering::Relaxed);
    let body = IssuedToken::Short {
        tok: &token,
        exp: expires_ms / 1000,
    };
    json_response(StatusCode::OK, &body)
}

/// Decrements the token's in-flight counter when the response body is dropped.
struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Middleware in front of every API route: "fail next N with 401", bearer-token
/// validation and the per-token concurrency limit.
pub(crate) async fn require_token(
    State(ctl): State<MockControl>,
    req: Request,
    next: Next,
) -> Response {
    let shared = ctl.shared();
    if shared.take_fail_401() {
        return error_json(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let snap = shared.snapshot();
    let Some(token) = auth_value(req.headers(), &["Bearer"]).map(str::to_owned) else {
        return error_json(StatusCode::UNAUTHORIZED, "Unauthorized");
    };
    if !snap.cfg.accept_any_token {
        let record = shared
            .tokens
            .read()
            .ok()
            .and_then(|m| m.get(&token).copied());
        match record {
            None => return error_json(StatusCode::UNAUTHORIZED, "Unauthorized"),
            Some(TokenRecord {
                expires_at: Some(at),
            }) if Instant::now() >= at => {
                return error_json(StatusCode::UNAUTHORIZED, "Token has expired");
            }
            Some(_) => {}
        }
    }
    let Some(limit) = snap.cfg.concurrency_limit else {
        return next.run(req).await;
    };
    drop(snap);
    let counter = shared.in_flight_counter(&token);
    let admitted = counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        })
        .is_ok();
    if !admitted {
        shared.counters.rejected_429.fetch_add(1, Ordering::Relaxed);
        return error_json(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
    }
    let guard = InFlightGuard(counter);
    hold_while_sending(next.run(req).await, guard)
}

/// Expiry in unix milliseconds for a TTL from now (`None`: never).
pub(crate) fn expiry_millis(ttl: Option<Duration>) -> Option<i64> {
    ttl.map(|t| unix_millis().saturating_add(i64::try_from(t.as_millis()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_parsing() {
        assert_eq!(
            form_value(b"scope=GIGACHAT_API_PERS", "scope").as_deref(),
            Some("GIGACHAT_API_PERS")
        );
        assert_eq!(
            form_value(b"a=1&scope=x%20y+z", "scope").as_deref(),
            Some("x y z")
        );
        assert_eq!(form_value(b"", "scope"), None);
        assert_eq!(form_value(b"scope=%", "scope").as_deref(), Some("%"));
    }

    #[test]
    fn rquid_shape() {
        assert!(is_rquid("8da54264-2463-42be-9aa7-c844d5e45180"));
        assert!(!is_rquid("nope"));
    }

    #[test]
    fn tokens_are_opaque_and_unique() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.len() > 100);
    }
}
