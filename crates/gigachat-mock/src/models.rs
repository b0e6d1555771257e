//! Small resources (§6): `/models`, `/models/{id}`, `/tokens/count`, `/balance`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use crate::control::MockControl;
use crate::http::{ApiError, json_bytes, json_response, parse_body};
use crate::tokens::{count_chars, count_tokens};
use crate::wire::common::{Balance, TokenCount, TokensCountRequest};

/// `GET /models` (pre-serialised when the config changes).
pub(crate) async fn list(State(ctl): State<MockControl>) -> Response {
    json_bytes(StatusCode::OK, ctl.shared().snapshot().models_json.clone())
}

/// `GET /models/{id}`.
pub(crate) async fn get(
    State(ctl): State<MockControl>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let snap = ctl.shared().snapshot();
    let (_, body) = snap.models.get(&id).ok_or_else(ApiError::no_such_model)?;
    Ok(json_bytes(StatusCode::OK, body.clone()))
}

/// `POST /tokens/count` — a bare array, one entry per input.
pub(crate) async fn tokens_count(
    State(ctl): State<MockControl>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let snap = ctl.shared().snapshot();
    let req: TokensCountRequest =
        serde_json::from_value(parse_body(&body)?).map_err(|_| ApiError::invalid_json())?;
    if !snap.models.contains_key(&req.model) {
        return Err(ApiError::no_such_model());
    }
    let counts: Vec<TokenCount> = req
        .input
        .0
        .iter()
        .map(|t| TokenCount::new(count_tokens(t), count_chars(t)))
        .collect();
    Ok(json_response(StatusCode::OK, &counts))
}

/// `GET /balance` — 403 `Permission denied` when the config has no balance.
pub(crate) async fn balance(State(ctl): State<MockControl>) -> Result<Response, ApiError> {
    let snap = ctl.shared().snapshot();
    let entries = snap
        .cfg
        .balance
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, "Permission denied"))?;
    Ok(json_response(StatusCode::OK, &Balance { balance: entries }))
}
