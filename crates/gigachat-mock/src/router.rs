//! Route table and the request path, top to bottom:
//!
//! `/__mock/*` control routes (no middleware) — everything else goes through
//! [`common`]: in-flight count (chat) → request/session ids → body buffering + recording
//! → latency → injected fault → route. API routes additionally pass
//! [`crate::auth::require_token`] (fail-next-401 → bearer check → per-token concurrency
//! limit) before their handler.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::control::MockControl;
use crate::http::{error_json, header_str, hold_while_sending};
use crate::record::RecordedRequest;
use crate::{auth, chat_v1, chat_v2, control_api, embeddings, files_api, models};

/// The OAuth endpoint (its own host in reality).
const OAUTH_PATH: &str = "/api/v2/oauth";
/// Path ending of the v1 and v2 chat routes (counted in `MockStats::in_flight`).
const CHAT_SUFFIX: &str = "/chat/completions";

/// Largest request body accepted (uploads above the per-kind limits still get their 413).
pub(crate) const MAX_BODY_BYTES: usize = 128 * 1024 * 1024;

/// The complete emulator as an axum router (embed it, or serve it with
/// [`crate::MockServer`]). Paths: `/api/v2/oauth`, `/api/v1/*` and `/v1/*` (v1 API and
/// `/token`), `/api/v2/chat/completions`, `/v2/chat/completions`, `/__mock/*`.
pub fn router(control: MockControl) -> Router {
    let auth_layer = from_fn_with_state(control.clone(), auth::require_token);
    let api: Router<MockControl> = Router::new()
        .route("/chat/completions", post(chat_v1::chat))
        .route("/embeddings", post(embeddings::embeddings))
        .route("/tokens/count", post(models::tokens_count))
        .route("/models", get(models::list))
        .route("/models/{id}", get(models::get))
        .route("/balance", get(models::balance))
        .route("/files", post(files_api::upload).get(files_api::list))
        .route("/files/{id}", get(files_api::get))
        .route("/files/{id}/delete", post(files_api::delete))
        .route("/files/{id}/content", get(files_api::content))
        .route_layer(auth_layer.clone())
        .route("/token", post(auth::password_token));
    let v2: Router<MockControl> = Router::new()
        .route("/api/v2/chat/completions", post(chat_v2::chat))
        .route("/v2/chat/completions", post(chat_v2::chat))
        .route_layer(auth_layer);
    let main = Router::new()
        .nest("/api/v1", api.clone())
        .nest("/v1", api)
        .merge(v2)
        .route(OAUTH_PATH, post(auth::oauth))
        .fallback(not_found)
        .layer(from_fn_with_state(control.clone(), common));
    control_api::routes()
        .merge(main)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(control)
}

async fn not_found() -> Response {
    error_json(StatusCode::NOT_FOUND, "Not Found")
}

fn id_header(value: Option<&str>) -> HeaderValue {
    value
        .and_then(|v| HeaderValue::from_str(v).ok())
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap_or(
                HeaderValue::from_static("00000000-0000-4000-8000-000000000000"),
            )
        })
}

/// In-flight count, ids, recording, latency and fault injection for every non-control
/// request.
async fn common(State(ctl): State<MockControl>, req: Request, next: Next) -> Response {
    let shared = ctl.shared();
    let seq = shared.counters.requests.fetch_add(1, Ordering::Relaxed) + 1;
    // In flight from arrival (so the latency counts) until the body is sent or dropped.
    let chat = (req.method() == Method::POST && req.uri().path().ends_with(CHAT_SUFFIX))
        .then(|| shared.chat_in_flight.enter());
    let request_id = id_header(header_str(req.headers(), "x-request-id"));
    let session_id = id_header(header_str(req.headers(), "x-session-id"));
    let (capacity, latency) = {
        let snap = shared.snapshot();
        (snap.cfg.record_capacity, snap.cfg.latency)
    };
    let path = req.uri().path().to_string();
    let (req, recorded) = if capacity > 0 {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            return error_json(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large");
        };
        let record = RecordedRequest {
            seq,
            method: parts.method.to_string(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: bytes.clone(),
            status: 0,
            request_id: request_id.to_str().unwrap_or_default().to_owned(),
        };
        (Request::from_parts(parts, Body::from(bytes)), Some(record))
    } else {
        (req, None)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut resp = match shared.take_fault(&path) {
        Some(fault) => fault.to_response(),
        None => next.run(req).await.into_response(),
    };
    // The OAuth host answers without request/session ids (recorded, e.g. test_chat_simple).
    if path != OAUTH_PATH {
        let headers = resp.headers_mut();
        headers.insert("x-request-id", request_id);
        headers.insert("x-session-id", session_id);
    }
    if let Some(mut record) = recorded {
        record.status = resp.status().as_u16();
        shared.recorder.push(capacity, record);
    }
    match chat {
        Some(guard) => hold_while_sending(resp, guard),
        None => resp,
    }
}
