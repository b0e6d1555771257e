//! Files routes (§7): multipart upload with a MIME allow-list and per-kind size limits,
//! list, get, delete (`POST /files/{id}/delete`, any body) and raw download, over the
//! [`crate::files::FileStore`].

use std::sync::atomic::Ordering;

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::control::MockControl;
use crate::files::{ACCESS_POLICY, StoredFile, kind_of_mime, mime_from_name};
use crate::http::{ApiError, header_str, json_response, unix_secs};
use crate::wire::common::{FileDeletion, FileInfo, FileListing};

fn client_id(headers: &HeaderMap) -> Option<&str> {
    header_str(headers, "x-client-id").filter(|v| !v.is_empty())
}

/// The access token, standing in for the account that owns uploads (see `files`).
fn account(headers: &HeaderMap) -> Option<&str> {
    crate::auth::bearer_token(headers)
}

fn not_found() -> ApiError {
    // [U] text
    ApiError::new(StatusCode::NOT_FOUND, "File not found")
}

/// `POST /files` (multipart: `file`, `purpose`).
pub(crate) async fn upload(
    State(ctl): State<MockControl>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let shared = ctl.shared();
    let limits = shared.snapshot().cfg.file_limits;
    let mut purpose = "general".to_string();
    let mut file: Option<(String, String, Bytes)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| ApiError::bad_request("Invalid multipart body"))?
    {
        match field.name() {
            Some("purpose") => {
                purpose = field
                    .text()
                    .await
                    .map_err(|_| ApiError::bad_request("Invalid multipart body"))?;
            }
            Some("file") => {
                let filename = field.file_name().unwrap_or("file").to_string();
                let declared = field
                    .content_type()
                    .map(str::to_owned)
                    .filter(|m| m != "application/octet-stream");
                let mime = declared
                    .or_else(|| mime_from_name(&filename).map(str::to_owned))
                    .unwrap_or_else(|| "application/octet-stream".into());
                let data = field
                    .bytes()
                    .await
                    .map_err(|_| ApiError::bad_request("Invalid multipart body"))?;
                file = Some((filename, mime, data));
            }
            _ => {}
        }
    }
    // [U] text
    let (filename, mime, data) = file.ok_or_else(|| ApiError::bad_request("file is required"))?;
    let kind = kind_of_mime(&mime)
        .ok_or_else(|| ApiError::bad_request(format!("Unsupported file type: {mime}")))?;
    if data.len() as u64 > kind.limit(&limits) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
        ));
    }
    let meta = FileInfo {
        id: uuid::Uuid::new_v4().to_string(),
        object: "file",
        bytes: data.len() as u64,
        created_at: unix_secs(),
        filename,
        purpose,
        access_policy: ACCESS_POLICY,
        modalities: [kind.modality()],
    };
    shared.files.insert(StoredFile {
        meta: meta.clone(),
        owner: client_id(&headers).map(str::to_owned),
        account: account(&headers).map(str::to_owned),
        data,
    });
    shared.counters.uploads.fetch_add(1, Ordering::Relaxed);
    Ok(json_response(StatusCode::OK, &meta))
}

/// `GET /files`.
pub(crate) async fn list(State(ctl): State<MockControl>, headers: HeaderMap) -> Response {
    let data = ctl
        .shared()
        .files
        .list(account(&headers), client_id(&headers));
    json_response(StatusCode::OK, &FileListing { data })
}

/// `GET /files/{id}`.
pub(crate) async fn get(
    State(ctl): State<MockControl>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let file = ctl
        .shared()
        .files
        .get(&id, account(&headers), client_id(&headers))
        .ok_or_else(not_found)?;
    Ok(json_response(StatusCode::OK, &file.meta))
}

/// `POST /files/{id}/delete` — the body (multipart or empty) is ignored.
pub(crate) async fn delete(
    State(ctl): State<MockControl>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let file = ctl
        .shared()
        .files
        .remove(&id, account(&headers), client_id(&headers))
        .ok_or_else(not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &FileDeletion {
            id: &file.meta.id,
            deleted: true,
            access_policy: file.meta.access_policy,
        },
    ))
}

/// `GET /files/{id}/content` — the stored bytes as `application/octet-stream`.
pub(crate) async fn content(
    State(ctl): State<MockControl>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let file = ctl
        .shared()
        .files
        .get(&id, account(&headers), client_id(&headers))
        .ok_or_else(not_found)?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        file.data,
    )
        .into_response())
}
