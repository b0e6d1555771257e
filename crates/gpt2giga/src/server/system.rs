//! System endpoints: liveness and readiness probes. Always open (no API key).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::app::AppState;

/// `GET /health`: the process is up and serving.
#[utoipa::path(get, path = "/health", tag = "System", operation_id = "health",
    summary = "Liveness probe", security(()),
    responses((status = 200, description = "Up", body = crate::dialect::schemas::Health))
)]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "mode": state.mode_label(),
        })),
    )
}

/// How long `/ready` waits for GigaChat's token endpoint or Redis.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /ready`: 200 only when the proxy can serve — a GigaChat token can be obtained
/// (or a fixed token is configured) and the shared Redis answers (when configured) —
/// and it is not shutting down; otherwise 503 naming what is not ready.
#[utoipa::path(get, path = "/ready", tag = "System", operation_id = "ready",
    summary = "Readiness probe", security(()),
    description = "200 only when the proxy can serve: a GigaChat token can be obtained (or a fixed token is configured), the shared Redis answers when `--proxy.state-url` is set, and it is not shutting down. Otherwise 503 with `not_ready` naming the failing checks.",
    responses(
        (status = 200, description = "Ready", body = crate::dialect::schemas::Ready),
        (status = 503, description = "Not ready (see `not_ready` and `checks`)", body = crate::dialect::schemas::Ready),
    )
)]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let gigachat = async {
        match tokio::time::timeout(READY_TIMEOUT, state.gigachat().authenticate()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(crate::error::ProxyError::Upstream(e).client_message()),
            Err(_) => Err(format!(
                "no token from GigaChat within {}s",
                READY_TIMEOUT.as_secs()
            )),
        }
    };
    let redis = async {
        match state.redis() {
            None => None,
            Some(r) => Some(match tokio::time::timeout(READY_TIMEOUT, r.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {}s", READY_TIMEOUT.as_secs())),
            }),
        }
    };
    let (gigachat, redis) = tokio::join!(gigachat, redis);
    let draining = state.is_draining();
    let mut checks = serde_json::Map::new();
    let mut failing = Vec::new();
    let mut check = |name: &str, result: Result<(), String>| {
        let value = match result {
            Ok(()) => json!({"status": "ok"}),
            Err(e) => {
                failing.push(name.to_string());
                json!({"status": "error", "error": e})
            }
        };
        checks.insert(name.to_string(), value);
    };
    check("gigachat", gigachat);
    if let Some(r) = redis {
        check("redis", r);
    }
    check(
        "shutdown",
        if draining {
            Err("the proxy is shutting down".to_string())
        } else {
            Ok(())
        },
    );
    let ok = failing.is_empty();
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(json!({
            "status": if ok { "ready" } else { "not_ready" },
            "not_ready": failing,
            "checks": checks,
            "state": state.responses().kind(),
        })),
    )
}

/// `GET|POST /ping`: the cheapest possible probe.
#[utoipa::path(method(get, post), path = "/ping", tag = "System", operation_id = "ping",
    summary = "Cheapest probe", security(()),
    responses((status = 200, description = "Up", body = crate::dialect::schemas::Status))
)]
pub async fn ping() -> impl IntoResponse {
    (StatusCode::OK, Json(json!({"status": "ok"})))
}

/// `GET|HEAD /`: a quick success for clients that probe the base URL (Claude Code
/// sends `HEAD /`).
#[utoipa::path(method(get, head), path = "/", tag = "System", operation_id = "root",
    summary = "Base-URL probe (Claude Code sends `HEAD /`)", security(()),
    responses((status = 200, description = "Up", body = crate::dialect::schemas::Status))
)]
pub async fn root(State(state): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        Json(json!({"status": "ok", "service": "gpt2giga", "mode": state.mode_label()})),
    )
}
