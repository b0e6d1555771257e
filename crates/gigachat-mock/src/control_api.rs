//! The out-of-process control API under `/__mock/` (JSON), mirroring [`MockControl`].
//! Control requests are not recorded, not delayed, not faulted and need no token.
//!
//! | Method | Path | Body / query | Effect |
//! |---|---|---|---|
//! | GET | `/__mock/health` | — | `{"status":"ok"}` |
//! | POST | `/__mock/replies` | a [`Reply`] or an array | queue replies |
//! | DELETE | `/__mock/replies` | — | clear queue and rules |
//! | POST | `/__mock/rules` | a [`Rule`] or an array | add rules |
//! | POST | `/__mock/faults` | a [`Fault`] or an array | arm faults |
//! | DELETE | `/__mock/faults` | — | disarm faults |
//! | POST | `/__mock/stream-fault` | a [`StreamFault`] or `null` | set/clear the stream fault |
//! | POST | `/__mock/fail-401` | `{"count": n}` | fail the next n API calls with 401 |
//! | GET | `/__mock/config` | — | the current [`MockConfig`] |
//! | POST | `/__mock/config` | partial config object | merge and apply; answers the new config |
//! | POST | `/__mock/tokens` | `{"token"?: str, "ttl_secs"?: n}` | register a token (default: never expires) |
//! | DELETE | `/__mock/tokens` | — | revoke every token |
//! | GET | `/__mock/requests` | `?path_suffix=…&limit=n` | recorded requests (newest last) |
//! | DELETE | `/__mock/requests` | — | clear recordings |
//! | GET | `/__mock/stats` | — | [`crate::MockStats`] |
//! | POST | `/__mock/max-in-flight/reset` | — | [`MockControl::reset_max_in_flight`]; `{"in_flight","max_in_flight"}` |
//! | POST | `/__mock/reset` | — | [`MockControl::reset`] |
//!
//! Malformed control bodies answer 400 `{"error": "…"}`.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::MockConfig;
use crate::control::MockControl;
use crate::faults::{Fault, StreamFault};
use crate::http::json_response;
use crate::script::{Reply, Rule};

fn bad(message: impl std::fmt::Display) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "error": message.to_string() }),
    )
}

fn ok(value: Value) -> Response {
    json_response(StatusCode::OK, &value)
}

/// Parses a body holding one `T` or an array of them.
fn one_or_many<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let parse = |v: Value| serde_json::from_value::<T>(v).map_err(|e| e.to_string());
    match value {
        Value::Array(items) => items.into_iter().map(parse).collect(),
        single => Ok(vec![parse(single)?]),
    }
}

async fn health() -> Response {
    ok(json!({"status": "ok"}))
}

async fn push_replies(State(ctl): State<MockControl>, body: Bytes) -> Response {
    match one_or_many::<Reply>(&body) {
        Ok(replies) => {
            let n = replies.len();
            ctl.push_replies(replies);
            ok(json!({"queued": n, "pending": ctl.pending_replies()}))
        }
        Err(e) => bad(e),
    }
}

async fn clear_replies(State(ctl): State<MockControl>) -> Response {
    ctl.clear_script();
    ok(json!({"cleared": true}))
}

async fn add_rules(State(ctl): State<MockControl>, body: Bytes) -> Response {
    match one_or_many::<Rule>(&body) {
        Ok(rules) => {
            let n = rules.len();
            rules.into_iter().for_each(|r| ctl.add_rule(r));
            ok(json!({"added": n}))
        }
        Err(e) => bad(e),
    }
}

async fn inject_faults(State(ctl): State<MockControl>, body: Bytes) -> Response {
    match one_or_many::<Fault>(&body) {
        Ok(faults) => {
            let n = faults.len();
            faults.into_iter().for_each(|f| ctl.inject_fault(f));
            ok(json!({"armed": n}))
        }
        Err(e) => bad(e),
    }
}

async fn clear_faults(State(ctl): State<MockControl>) -> Response {
    ctl.clear_faults();
    ok(json!({"cleared": true}))
}

async fn stream_fault(State(ctl): State<MockControl>, body: Bytes) -> Response {
    match serde_json::from_slice::<Option<StreamFault>>(&body) {
        Ok(fault) => {
            ctl.set_stream_fault(fault);
            ok(json!({"stream_fault": fault}))
        }
        Err(e) => bad(e),
    }
}

#[derive(Deserialize)]
struct Count {
    count: u32,
}

async fn fail_401(State(ctl): State<MockControl>, body: Bytes) -> Response {
    match serde_json::from_slice::<Count>(&body) {
        Ok(Count { count }) => {
            ctl.fail_next_401(count);
            ok(json!({"fail_next_401": count}))
        }
        Err(e) => bad(e),
    }
}

async fn get_config(State(ctl): State<MockControl>) -> Response {
    json_response(StatusCode::OK, &ctl.config())
}

/// Merges a partial config object over the current config.
fn merge_config(current: &MockConfig, patch: Value) -> Result<MockConfig, String> {
    let Value::Object(patch) = patch else {
        return Err("config patch must be a JSON object".into());
    };
    let mut merged = serde_json::to_value(current).map_err(|e| e.to_string())?;
    if let Value::Object(base) = &mut merged {
        base.extend(patch);
    }
    serde_json::from_value(merged).map_err(|e| e.to_string())
}

async fn patch_config(State(ctl): State<MockControl>, body: Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    match merge_config(&ctl.config(), patch) {
        Ok(cfg) => {
            ctl.set_config(cfg);
            json_response(StatusCode::OK, &ctl.config())
        }
        Err(e) => bad(e),
    }
}

#[derive(Deserialize, Default)]
struct TokenRequest {
    token: Option<String>,
    ttl_secs: Option<u64>,
}

async fn register_token(State(ctl): State<MockControl>, body: Bytes) -> Response {
    let req: TokenRequest = if body.is_empty() {
        TokenRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return bad(e),
        }
    };
    let ttl = req.ttl_secs.map(Duration::from_secs);
    let token = match req.token {
        Some(t) => {
            ctl.register_token(&t, ttl);
            t
        }
        None if ttl.is_none() => ctl.issue_static_token(),
        None => {
            let t = format!("static-{}", uuid::Uuid::new_v4().simple());
            ctl.register_token(&t, ttl);
            t
        }
    };
    ok(json!({"access_token": token, "expires_at": crate::auth::expiry_millis(ttl)}))
}

async fn revoke_tokens(State(ctl): State<MockControl>) -> Response {
    ctl.revoke_all_tokens();
    ok(json!({"revoked": true}))
}

async fn list_requests(
    State(ctl): State<MockControl>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut reqs = ctl.requests();
    if let Some(suffix) = q.get("path_suffix") {
        reqs.retain(|r| r.path.ends_with(suffix.as_str()));
    }
    if let Some(limit) = q.get("limit").and_then(|l| l.parse::<usize>().ok()) {
        let skip = reqs.len().saturating_sub(limit);
        reqs.drain(..skip);
    }
    let views: Vec<_> = reqs.iter().map(|r| r.to_view()).collect();
    json_response(StatusCode::OK, &views)
}

async fn clear_requests(State(ctl): State<MockControl>) -> Response {
    ctl.clear_requests();
    ok(json!({"cleared": true}))
}

async fn stats(State(ctl): State<MockControl>) -> Response {
    json_response(StatusCode::OK, &ctl.stats())
}

async fn reset_max_in_flight(State(ctl): State<MockControl>) -> Response {
    ctl.reset_max_in_flight();
    ok(json!({"in_flight": ctl.in_flight(), "max_in_flight": ctl.max_in_flight()}))
}

async fn reset(State(ctl): State<MockControl>) -> Response {
    ctl.reset();
    ok(json!({"reset": true}))
}

/// The `/__mock` routes.
pub(crate) fn routes() -> Router<MockControl> {
    Router::new()
        .route("/__mock/health", get(health))
        .route("/__mock/replies", post(push_replies).delete(clear_replies))
        .route("/__mock/rules", post(add_rules))
        .route("/__mock/faults", post(inject_faults).delete(clear_faults))
        .route("/__mock/stream-fault", post(stream_fault))
        .route("/__mock/fail-401", post(fail_401))
        .route("/__mock/config", get(get_config).post(patch_config))
        .route("/__mock/tokens", post(register_token).delete(revoke_tokens))
        .route(
            "/__mock/requests",
            get(list_requests).delete(clear_requests),
        )
        .route("/__mock/stats", get(stats))
        .route("/__mock/max-in-flight/reset", post(reset_max_in_flight))
        .route("/__mock/reset", post(reset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_patch_merges_and_rejects_unknown_keys() {
        let cfg = MockConfig::default();
        let merged = merge_config(&cfg, json!({"latency_ms": 15, "token_shape": "tok"})).unwrap();
        assert_eq!(merged.latency, Duration::from_millis(15));
        assert_eq!(merged.chunk_size, cfg.chunk_size);
        assert!(merge_config(&cfg, json!({"no_such_knob": 1})).is_err());
        assert!(merge_config(&cfg, json!([1])).is_err());
    }
}
