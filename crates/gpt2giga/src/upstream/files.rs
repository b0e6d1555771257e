//! GigaChat's file store (§7) behind the OpenAI and Anthropic Files APIs.
//!
//! Every call runs with the request's GigaChat identity ([`Upstream`]), so a caller
//! sees, reads and deletes only the files of its own identity (GigaChat's files are
//! private to their owner, §7.3). Uploads are typed and size-checked exactly like chat
//! attachments ([`Attachments::check_upload`]) before any byte goes to GigaChat, and
//! stored with GigaChat's only purpose, `general`.
//!
//! GigaChat's "no such file" (404) becomes a [`ProxyError::NotFound`] naming the id;
//! every other failure keeps its meaning ([`Upstream::error`]).

use bytes::Bytes;
use gigachat::types::{FileDeleted, FileObject};
use gigachat::{FileUpload, RequestContext};

use super::Upstream;
use super::attachments::Attachments;
use crate::error::ProxyError;
use crate::telemetry::metrics;

/// GigaChat's purpose for every file the proxy stores (§7.1).
pub(crate) const GIGACHAT_PURPOSE: &str = "general";

/// One uploaded file as the client sent it.
pub(crate) struct NewFile {
    pub bytes: Bytes,
    /// The multipart part's `Content-Type`.
    pub declared: Option<String>,
    pub filename: Option<String>,
}

/// Checks and stores a file; GigaChat's record of it.
pub(crate) async fn upload(
    upstream: &Upstream,
    attachments: &Attachments,
    ctx: &RequestContext,
    file: NewFile,
) -> Result<FileObject, ProxyError> {
    let checked = attachments.check_upload(
        file.bytes.clone(),
        file.declared.as_deref(),
        file.filename.as_deref(),
    )?;
    let size = file.bytes.len();
    let stored = metrics::upstream(
        "files_upload",
        upstream.client().upload_file(
            FileUpload {
                filename: checked.filename,
                mime: checked.mime,
                data: file.bytes,
                purpose: GIGACHAT_PURPOSE.to_string(),
            },
            ctx,
        ),
    )
    .await
    .map_err(|e| upstream.error(e.into()))?;
    if stored.id.is_empty() {
        return Err(ProxyError::Upstream(gigachat::Error::Decode(
            "the file upload answer has no id".to_string(),
        )));
    }
    tracing::debug!(file_id = %stored.id, bytes = size, "file stored");
    Ok(stored)
}

/// Every file of the caller's identity, as GigaChat lists them.
pub(crate) async fn list(
    upstream: &Upstream,
    ctx: &RequestContext,
) -> Result<Vec<FileObject>, ProxyError> {
    let list = metrics::upstream("files_list", upstream.client().list_files(ctx))
        .await
        .map_err(|e| upstream.error(e.into()))?;
    Ok(list.data)
}

/// One file's record; `id` must have passed [`crate::ir::file_id`].
pub(crate) async fn get(
    upstream: &Upstream,
    ctx: &RequestContext,
    id: &str,
) -> Result<FileObject, ProxyError> {
    let file = metrics::upstream("files_get", upstream.client().get_file(id, ctx))
        .await
        .map_err(|e| not_found(upstream, e, id))?;
    Ok(file)
}

/// Deletes a file; `id` must have passed [`crate::ir::file_id`].
pub(crate) async fn delete(
    upstream: &Upstream,
    ctx: &RequestContext,
    id: &str,
) -> Result<FileDeleted, ProxyError> {
    metrics::upstream("files_delete", upstream.client().delete_file(id, ctx))
        .await
        .map_err(|e| not_found(upstream, e, id))
}

/// A file's bytes; `id` must have passed [`crate::ir::file_id`].
pub(crate) async fn content(
    upstream: &Upstream,
    ctx: &RequestContext,
    id: &str,
) -> Result<Bytes, ProxyError> {
    metrics::upstream("files_content", upstream.client().file_content(id, ctx))
        .await
        .map_err(|e| not_found(upstream, e, id))
}

fn not_found(upstream: &Upstream, e: gigachat::Error, id: &str) -> ProxyError {
    match e {
        gigachat::Error::Api { status: 404, .. } => {
            ProxyError::NotFound(format!("No such file: {id}"))
        }
        other => upstream.error(other.into()),
    }
}
