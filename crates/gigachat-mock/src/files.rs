//! Files (§7): multipart upload with a MIME allow-list and per-kind size limits, list,
//! get, delete (`POST /files/{id}/delete`, any body) and raw download. A file uploaded or
//! generated with an `X-Client-ID` is visible only to requests carrying the same id.

use std::sync::RwLock;
use std::sync::atomic::Ordering;

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::config::FileLimits;
use crate::control::MockControl;
use crate::http::{ApiError, header_str, json_response, unix_secs};
use crate::wire::common::{FileDeletion, FileInfo, FileListing};

/// Every file is private to its owner (§7.3).
const ACCESS_POLICY: &str = "private";

/// A stored file.
#[derive(Debug, Clone)]
pub(crate) struct StoredFile {
    pub meta: FileInfo,
    pub owner: Option<String>,
    pub data: Bytes,
}

/// All files, in upload order.
#[derive(Debug, Default)]
pub(crate) struct FileStore {
    files: RwLock<Vec<StoredFile>>,
}

impl FileStore {
    pub fn insert(&self, file: StoredFile) {
        if let Ok(mut files) = self.files.write() {
            files.push(file);
        }
    }

    fn visible(file: &StoredFile, client: Option<&str>) -> bool {
        file.owner.is_none() || file.owner.as_deref() == client
    }

    pub fn get(&self, id: &str, client: Option<&str>) -> Option<StoredFile> {
        self.files
            .read()
            .ok()?
            .iter()
            .find(|f| f.meta.id == id && Self::visible(f, client))
            .cloned()
    }

    pub fn list(&self, client: Option<&str>) -> Vec<FileInfo> {
        self.files
            .read()
            .map(|files| {
                files
                    .iter()
                    .filter(|f| Self::visible(f, client))
                    .map(|f| f.meta.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn remove(&self, id: &str, client: Option<&str>) -> Option<StoredFile> {
        let mut files = self.files.write().ok()?;
        let pos = files
            .iter()
            .position(|f| f.meta.id == id && Self::visible(f, client))?;
        Some(files.remove(pos))
    }

    /// Number of stored files, regardless of owner.
    pub fn list_all_len(&self) -> usize {
        self.files.read().map(|f| f.len()).unwrap_or(0)
    }

    pub fn clear(&self) {
        if let Ok(mut files) = self.files.write() {
            files.clear();
        }
    }

    /// Stores generated content (built-in tools) and returns its id.
    pub fn store_generated(
        &self,
        owner: Option<&str>,
        filename: &str,
        modality: &'static str,
        data: &'static [u8],
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.insert(StoredFile {
            meta: FileInfo {
                id: id.clone(),
                object: "file",
                bytes: data.len() as u64,
                created_at: unix_secs(),
                filename: filename.into(),
                purpose: "general".into(),
                access_policy: ACCESS_POLICY,
                modalities: [modality],
            },
            owner: owner.map(str::to_owned),
            data: Bytes::from_static(data),
        });
        id
    }
}

/// Kind of an allowed MIME type (§7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Text,
    Image,
    Audio,
}

impl FileKind {
    fn modality(self) -> &'static str {
        match self {
            FileKind::Text => "text",
            FileKind::Image => "image",
            FileKind::Audio => "audio",
        }
    }

    fn limit(self, limits: &FileLimits) -> u64 {
        match self {
            FileKind::Text => limits.text_bytes,
            FileKind::Image => limits.image_bytes,
            FileKind::Audio => limits.audio_bytes,
        }
    }
}

pub(crate) fn kind_of_mime(mime: &str) -> Option<FileKind> {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Some(match mime.as_str() {
        "text/plain"
        | "application/msword"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/pdf"
        | "application/epub"
        | "application/epub+zip"
        | "application/ppt"
        | "application/pptx"
        | "application/vnd.ms-excel" => FileKind::Text,
        "image/jpeg" | "image/jpg" | "image/png" | "image/tiff" | "image/bmp" => FileKind::Image,
        "audio/mp4" | "audio/mp3" | "audio/mpeg" | "audio/x-m4a" | "audio/x-wav" | "audio/wave"
        | "audio/wav" | "audio/x-pn-wav" | "audio/webm" | "audio/x-ogg" | "audio/opus" => {
            FileKind::Audio
        }
        _ => return None,
    })
}

/// MIME type guessed from a file name, for parts sent without a specific content type.
fn mime_from_name(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "txt" => "text/plain",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pdf" => "application/pdf",
        "epub" => "application/epub",
        "ppt" => "application/ppt",
        "pptx" => "application/pptx",
        "xlsx" => "application/vnd.ms-excel",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "tif" | "tiff" => "image/tiff",
        "bmp" => "image/bmp",
        "mp4" => "audio/mp4",
        "mp3" => "audio/mp3",
        "m4a" => "audio/x-m4a",
        "wav" => "audio/wav",
        "weba" => "audio/webm",
        "ogg" => "audio/x-ogg",
        "opus" => "audio/opus",
        _ => return None,
    })
}

fn client_id(headers: &HeaderMap) -> Option<&str> {
    header_str(headers, "x-client-id").filter(|v| !v.is_empty())
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
        data,
    });
    shared.counters.uploads.fetch_add(1, Ordering::Relaxed);
    Ok(json_response(StatusCode::OK, &meta))
}

/// `GET /files`.
pub(crate) async fn list(State(ctl): State<MockControl>, headers: HeaderMap) -> Response {
    let data = ctl.shared().files.list(client_id(&headers));
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
        .get(&id, client_id(&headers))
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
        .remove(&id, client_id(&headers))
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
        .get(&id, client_id(&headers))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_allow_list() {
        assert_eq!(kind_of_mime("image/jpeg"), Some(FileKind::Image));
        assert_eq!(
            kind_of_mime("Text/Plain; charset=utf-8"),
            Some(FileKind::Text)
        );
        assert_eq!(kind_of_mime("audio/x-wav"), Some(FileKind::Audio));
        assert_eq!(kind_of_mime("application/zip"), None);
        assert_eq!(mime_from_name("a.JPG"), Some("image/jpeg"));
        assert_eq!(mime_from_name("noext"), None);
    }

    #[test]
    fn visibility_by_client_id() {
        let store = FileStore::default();
        let id = store.store_generated(Some("alice"), "x.jpg", "image", b"x");
        assert!(store.get(&id, Some("alice")).is_some());
        assert!(store.get(&id, Some("bob")).is_none());
        assert!(store.get(&id, None).is_none());
        let public = store.store_generated(None, "y.jpg", "image", b"y");
        assert!(store.get(&public, Some("bob")).is_some());
        assert_eq!(store.list(Some("bob")).len(), 1);
        assert!(store.remove(&id, Some("bob")).is_none());
        assert!(store.remove(&id, Some("alice")).is_some());
    }
}
