//! HTTP handlers of the Files APIs: OpenAI's `/files` and Anthropic's `/v1/files`
//! share their paths, so each request is answered in the dialect of its caller
//! ([`is_anthropic`]: an `anthropic-version` header, or an `anthropic-beta` naming the
//! files API), errors included. The files live in GigaChat under the caller's
//! identity ([`crate::upstream::files`]).
//!
//! Anthropic's `files-api-2025-04-14` beta header is not required: the Files API is
//! generally available at Anthropic now, and its SDK's `beta.files` sends the header
//! only when asked to.

use axum::Extension;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::anthropic::files as anthropic;
use super::openai::files as openai;
use crate::app::AppState;
use crate::error::ProxyError;
use crate::telemetry::RequestId;
use crate::upstream::Upstream;
use crate::upstream::files::{self, NewFile};

/// An Anthropic caller of a path both dialects share.
pub(crate) fn is_anthropic(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version")
        || headers
            .get_all("anthropic-beta")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|b| b.trim().starts_with("files-api")))
}

/// Paths the Files APIs share (`/files…`, `/v1/files…`).
pub(crate) fn is_files_path(path: &str) -> bool {
    let p = path.strip_prefix("/v1").unwrap_or(path);
    p == "/files" || p.starts_with("/files/")
}

/// A result in the caller's dialect.
fn answer(anthropic: bool, r: Result<Response, ProxyError>) -> Response {
    match r {
        Ok(resp) => resp,
        Err(e) if anthropic => super::anthropic::error::response(&e),
        Err(e) => super::openai::error::response(&e),
    }
}

/// `POST /files` (OpenAI: `file`, `purpose`; Anthropic: `file`).
#[utoipa::path(post, path = "/files", tag = "Files", operation_id = "createFile",
    summary = "Upload a file (OpenAI and Anthropic Files APIs)",
    request_body(content = openai::UploadForm, content_type = "multipart/form-data"),
    description = "multipart/form-data with `file` (and OpenAI's `purpose`: `user_data`, `assistants` or `vision`). Stored in GigaChat under the caller's identity after the attachment checks (type, per-kind size). Anthropic's shape when the request carries `anthropic-version`.",
    responses(
        (status = 200, description = "The stored file", content(
            (openai::FileOut = "application/json"),
            (anthropic::FileOut = "application/json"))),
        (status = 400, description = "Unsupported type or bad form", body = super::openai::error::Envelope),
        (status = 413, description = "Over the size limit of the file's kind", body = super::openai::error::Envelope),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    request: Request,
) -> Response {
    let anthropic = is_anthropic(request.headers());
    let ctx = state.request_context(&rid, request.headers());
    let r = async {
        let form = read_form(request).await?;
        if anthropic {
            if form.purpose.is_some() {
                return Err(ProxyError::invalid_param(
                    "purpose: Extra inputs are not permitted",
                    "purpose",
                ));
            }
            if form.expires_in_seconds {
                return Err(ProxyError::invalid_param(
                    "expires_in_seconds is not supported: GigaChat files do not expire",
                    "expires_in_seconds",
                ));
            }
        } else {
            openai::check_purpose(form.purpose.as_deref())?;
        }
        let Some(file) = form.file else {
            return Err(ProxyError::invalid_param("file: Field required", "file"));
        };
        let stored = files::upload(&gigachat, state.attachments(), &ctx, file).await?;
        Ok(super::respond::json(if anthropic {
            anthropic::one(&stored)
        } else {
            openai::one(&stored)
        }))
    }
    .await;
    answer(anthropic, r)
}

/// The fields of an upload form.
#[derive(Default)]
struct Form {
    file: Option<NewFile>,
    purpose: Option<String>,
    expires_in_seconds: bool,
}

async fn read_form(request: Request) -> Result<Form, ProxyError> {
    let bad = |e: &dyn std::fmt::Display| {
        ProxyError::invalid(format!(
            "the body must be multipart/form-data with a `file` part: {e}"
        ))
    };
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| bad(&e.body_text()))?;
    let mut form = Form::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| bad(&e))? {
        match field.name().unwrap_or("") {
            "file" => {
                if form.file.is_some() {
                    return Err(ProxyError::invalid_param("send one `file` part", "file"));
                }
                let filename = field.file_name().map(str::to_string);
                let declared = field.content_type().map(str::to_string);
                let bytes = field.bytes().await.map_err(|e| bad(&e))?;
                form.file = Some(NewFile {
                    bytes,
                    declared,
                    filename,
                });
            }
            "purpose" => form.purpose = Some(field.text().await.map_err(|e| bad(&e))?),
            "expires_in_seconds" => form.expires_in_seconds = true,
            other => {
                return Err(ProxyError::invalid_param(
                    format!("unknown form field {other:?}"),
                    other.to_string(),
                ));
            }
        }
    }
    Ok(form)
}

/// `GET /files`
#[utoipa::path(get, path = "/files", tag = "Files", operation_id = "listFiles",
    summary = "List the caller's files",
    description = "OpenAI: `purpose`, `limit` (1–10000), `order` (`asc`/`desc`, by `created_at`), `after`. Anthropic (with `anthropic-version`), newest first: `limit` (1–1000, default 20), `after_id`, `before_id`, `page` (a previous `next_page`), `ids`.",
    responses((status = 200, description = "A page of files", content(
        (openai::ListOut = "application/json"),
        (anthropic::ListOut = "application/json"))))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let anthropic = is_anthropic(&headers);
    let ctx = state.request_context(&rid, &headers);
    let r = async {
        if anthropic {
            let q = anthropic::ListQuery::parse(uri.query())?;
            let all = files::list(&gigachat, &ctx).await?;
            Ok(super::respond::json(anthropic::list(&all, &q)?))
        } else {
            let q = openai::ListQuery::parse(uri.query())?;
            let all = files::list(&gigachat, &ctx).await?;
            Ok(super::respond::json(openai::list(&all, &q)?))
        }
    }
    .await;
    answer(anthropic, r)
}

/// `GET /files/{id}`
#[utoipa::path(get, path = "/files/{id}", tag = "Files", operation_id = "retrieveFile",
    summary = "One file's metadata",
    params(("id" = String, Path, description = "The file id")),
    responses(
        (status = 200, description = "The file", content(
            (openai::FileOut = "application/json"),
            (anthropic::FileOut = "application/json"))),
        (status = 404, description = "No such file for this identity", body = super::openai::error::Envelope),
    )
)]
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let anthropic = is_anthropic(&headers);
    let ctx = state.request_context(&rid, &headers);
    let r = async {
        let id = crate::ir::file_id(&id, "file_id")?;
        let file = files::get(&gigachat, &ctx, &id).await?;
        Ok(super::respond::json(if anthropic {
            anthropic::one(&file)
        } else {
            openai::one(&file)
        }))
    }
    .await;
    answer(anthropic, r)
}

/// `DELETE /files/{id}`
#[utoipa::path(delete, path = "/files/{id}", tag = "Files", operation_id = "deleteFile",
    summary = "Delete a file",
    params(("id" = String, Path, description = "The file id")),
    responses(
        (status = 200, description = "Deleted", content(
            (openai::DeletedOut = "application/json"),
            (anthropic::DeletedOut = "application/json"))),
        (status = 404, description = "No such file for this identity", body = super::openai::error::Envelope),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let anthropic = is_anthropic(&headers);
    let ctx = state.request_context(&rid, &headers);
    let r = async {
        let id = crate::ir::file_id(&id, "file_id")?;
        let gone = files::delete(&gigachat, &ctx, &id).await?;
        Ok(super::respond::json(if anthropic {
            anthropic::deleted(&gone)
        } else {
            openai::deleted(&gone)
        }))
    }
    .await;
    answer(anthropic, r)
}

/// `GET /files/{id}/content`
#[utoipa::path(get, path = "/files/{id}/content", tag = "Files", operation_id = "downloadFile",
    summary = "A file's bytes",
    params(("id" = String, Path, description = "The file id")),
    responses(
        (status = 200, description = "The stored bytes", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 404, description = "No such file for this identity", body = super::openai::error::Envelope),
    )
)]
pub(crate) async fn content(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    gigachat: Upstream,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let anthropic = is_anthropic(&headers);
    let ctx = state.request_context(&rid, &headers);
    let r = async {
        let id = crate::ir::file_id(&id, "file_id")?;
        let bytes: Bytes = files::content(&gigachat, &ctx, &id).await?;
        Ok((
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            bytes,
        )
            .into_response())
    }
    .await;
    answer(anthropic, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_and_paths() {
        let mut h = HeaderMap::new();
        assert!(!is_anthropic(&h));
        h.insert(
            "anthropic-beta",
            HeaderValue::from_static("other, files-api-2025-04-14"),
        );
        assert!(is_anthropic(&h));
        let mut h = HeaderMap::new();
        h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        assert!(is_anthropic(&h));
        for p in ["/files", "/v1/files", "/v1/files/x/content", "/files/x"] {
            assert!(is_files_path(p), "{p}");
        }
        for p in ["/filesx", "/v1/messages", "/v2/files"] {
            assert!(!is_files_path(p), "{p}");
        }
    }
}
