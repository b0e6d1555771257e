//! System endpoints: liveness and readiness probes. Always open (no API key).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::app::AppState;

/// `GET /health`: the process is up and serving.
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

/// `GET|POST /ping`: the cheapest possible probe.
pub async fn ping() -> impl IntoResponse {
    (StatusCode::OK, Json(json!({"status": "ok"})))
}

/// `GET|HEAD /`: a quick success for clients that probe the base URL (Claude Code
/// sends `HEAD /`).
pub async fn root(State(state): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        Json(json!({"status": "ok", "service": "gpt2giga", "mode": state.mode_label()})),
    )
}
