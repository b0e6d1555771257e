//! The file store (§7): stored files, the MIME allow-list and per-kind size limits.
//! Files are visible only to their owner (§7.3): an uploaded file only to requests
//! with the same access token (the emulator's stand-in for the account, which it does
//! not model), and a file uploaded or generated with an `X-Client-ID` only to requests
//! carrying the same id. The HTTP routes are in `files_api`.

use std::sync::RwLock;

use bytes::Bytes;

use crate::config::FileLimits;
use crate::http::unix_secs;
use crate::wire::common::FileInfo;

/// Every file is private to its owner (§7.3).
pub(crate) const ACCESS_POLICY: &str = "private";

/// A stored file.
#[derive(Debug, Clone)]
pub(crate) struct StoredFile {
    pub meta: FileInfo,
    pub owner: Option<String>,
    /// The access token it was uploaded with (`None`: generated content).
    pub account: Option<String>,
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

    fn visible(file: &StoredFile, account: Option<&str>, client: Option<&str>) -> bool {
        (file.account.is_none() || file.account.as_deref() == account)
            && (file.owner.is_none() || file.owner.as_deref() == client)
    }

    pub fn get(&self, id: &str, account: Option<&str>, client: Option<&str>) -> Option<StoredFile> {
        self.files
            .read()
            .ok()?
            .iter()
            .find(|f| f.meta.id == id && Self::visible(f, account, client))
            .cloned()
    }

    pub fn list(&self, account: Option<&str>, client: Option<&str>) -> Vec<FileInfo> {
        self.files
            .read()
            .map(|files| {
                files
                    .iter()
                    .filter(|f| Self::visible(f, account, client))
                    .map(|f| f.meta.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn remove(
        &self,
        id: &str,
        account: Option<&str>,
        client: Option<&str>,
    ) -> Option<StoredFile> {
        let mut files = self.files.write().ok()?;
        let pos = files
            .iter()
            .position(|f| f.meta.id == id && Self::visible(f, account, client))?;
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
            account: None,
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
    pub(crate) fn modality(self) -> &'static str {
        match self {
            FileKind::Text => "text",
            FileKind::Image => "image",
            FileKind::Audio => "audio",
        }
    }

    pub(crate) fn limit(self, limits: &FileLimits) -> u64 {
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
pub(crate) fn mime_from_name(name: &str) -> Option<&'static str> {
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
        assert!(store.get(&id, Some("t"), Some("alice")).is_some());
        assert!(store.get(&id, Some("t"), Some("bob")).is_none());
        assert!(store.get(&id, Some("t"), None).is_none());
        let public = store.store_generated(None, "y.jpg", "image", b"y");
        assert!(store.get(&public, Some("t"), Some("bob")).is_some());
        assert_eq!(store.list(Some("t"), Some("bob")).len(), 1);
        assert!(store.remove(&id, Some("t"), Some("bob")).is_none());
        assert!(store.remove(&id, Some("t"), Some("alice")).is_some());
    }

    #[test]
    fn uploads_are_visible_to_their_token_only() {
        let store = FileStore::default();
        let id = store.store_generated(None, "z.txt", "text", b"z");
        let mut file = store.remove(&id, None, None).unwrap();
        file.account = Some("token-a".into());
        store.insert(file);
        assert!(store.get(&id, Some("token-a"), None).is_some());
        assert!(store.get(&id, Some("token-b"), None).is_none());
        assert!(store.list(Some("token-b"), None).is_empty());
        assert!(store.remove(&id, Some("token-b"), None).is_none());
        assert!(store.remove(&id, Some("token-a"), None).is_some());
    }
}
