//! Anthropic Files API shapes over GigaChat's file records (pure: no I/O).
//!
//! * `mime_type` comes from the file name's extension (GigaChat keeps no type; the
//!   proxy stores every file under a name whose extension matches the type it
//!   detected), `application/octet-stream` when the name says nothing; `created_at` is
//!   GigaChat's time as RFC 3339; `downloadable` is true (`/content` serves every file).
//! * **Listing**, newest first, with both generations of Anthropic's paging: the beta's
//!   `before_id` / `after_id` (answer: `first_id`, `last_id`, `has_more`) and the GA
//!   `page` cursor (answer: `next_page`, `page_<id of the last file>`), plus `limit` and
//!   `ids`. Every answer carries both sets of fields, so either SDK generation pages.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat};
use gigachat::types::{FileDeleted, FileObject};
use serde::Serialize;

use crate::dialect::openai::files::parse_limit;
use crate::error::ProxyError;
use crate::upstream::attachments::stored_mime;

/// File metadata in Anthropic's shape (the `FileMetadata` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AnthropicFileMetadata)]
pub(crate) struct FileOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    filename: &'a str,
    mime_type: &'static str,
    size_bytes: u64,
    created_at: String,
    downloadable: bool,
}

/// A page of files (the `FileListResponse` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AnthropicFileList)]
pub(crate) struct ListOut<'a> {
    data: Vec<FileOut<'a>>,
    first_id: Option<&'a str>,
    last_id: Option<&'a str>,
    has_more: bool,
    next_page: Option<String>,
}

/// The answer to a delete (the `FileDeleteResponse` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AnthropicFileDeleted)]
pub(crate) struct DeletedOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

fn rfc3339(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn file_out(f: &FileObject) -> FileOut<'_> {
    FileOut {
        id: &f.id,
        kind: "file",
        filename: &f.filename,
        mime_type: stored_mime(&f.filename),
        size_bytes: f.bytes,
        created_at: rfc3339(f.created_at),
        downloadable: true,
    }
}

fn to_bytes<T: Serialize>(v: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

pub(crate) fn one(f: &FileObject) -> Bytes {
    to_bytes(&file_out(f))
}

pub(crate) fn deleted(d: &FileDeleted) -> Bytes {
    to_bytes(&DeletedOut {
        id: &d.id,
        kind: "file_deleted",
    })
}

/// Anthropic's bounds for `limit`.
const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 20;
/// Prefix of the GA `page` cursor.
const PAGE_PREFIX: &str = "page_";

/// Where a page starts.
#[derive(Debug, Default, PartialEq)]
enum Cursor {
    #[default]
    Start,
    After(String),
    Before(String),
}

/// `GET /v1/files` query parameters.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ListQuery {
    limit: Option<usize>,
    cursor: Cursor,
    ids: Option<Vec<String>>,
}

impl ListQuery {
    /// Parses the query string; unknown parameters and bad values are 400s naming them.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, ProxyError> {
        let mut q = ListQuery::default();
        let set_cursor = |q: &mut ListQuery, c: Cursor, name: &str| {
            if q.cursor != Cursor::Start {
                return Err(ProxyError::invalid_param(
                    "use only one of before_id, after_id and page",
                    name,
                ));
            }
            q.cursor = c;
            Ok(())
        };
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*k {
                "limit" => q.limit = Some(parse_limit(&v, MAX_LIMIT)?),
                "after_id" => set_cursor(
                    &mut q,
                    Cursor::After(crate::ir::file_id(&v, "after_id")?),
                    "after_id",
                )?,
                "before_id" => set_cursor(
                    &mut q,
                    Cursor::Before(crate::ir::file_id(&v, "before_id")?),
                    "before_id",
                )?,
                "page" => {
                    let id = v.strip_prefix(PAGE_PREFIX).ok_or_else(|| {
                        ProxyError::invalid_param(
                            format!("page must be a next_page value of a previous list, not {v:?}"),
                            "page",
                        )
                    })?;
                    set_cursor(
                        &mut q,
                        Cursor::After(crate::ir::file_id(id, "page")?),
                        "page",
                    )?
                }
                "ids" | "ids[]" => {
                    let id = crate::ir::file_id(&v, "ids")?;
                    q.ids.get_or_insert_with(Vec::new).push(id);
                }
                // The SDK's marker of a beta resource; it selects nothing.
                "beta" => {}
                other => {
                    return Err(ProxyError::invalid_param(
                        format!("unknown query parameter {other:?}"),
                        other.to_string(),
                    ));
                }
            }
        }
        Ok(q)
    }
}

/// One page of `files` (every file of the identity) as Anthropic lists them.
pub(crate) fn list(files: &[FileObject], q: &ListQuery) -> Result<Bytes, ProxyError> {
    let mut all: Vec<&FileObject> = files
        .iter()
        .filter(|f| q.ids.as_ref().is_none_or(|ids| ids.contains(&f.id)))
        .collect();
    all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    let find = |id: &str, name: &str| {
        all.iter().position(|f| f.id == id).ok_or_else(|| {
            ProxyError::invalid_param(format!("{name}: no file with id {id:?}"), name)
        })
    };
    let (page, has_more): (&[&FileObject], bool) = match &q.cursor {
        Cursor::Start | Cursor::After(_) => {
            let start = match &q.cursor {
                Cursor::After(id) => find(id, "after_id")? + 1,
                _ => 0,
            };
            let rest = all.get(start..).unwrap_or_default();
            let n = rest.len().min(limit);
            (rest.get(..n).unwrap_or_default(), rest.len() > n)
        }
        Cursor::Before(id) => {
            let end = find(id, "before_id")?;
            let start = end.saturating_sub(limit);
            (all.get(start..end).unwrap_or_default(), start > 0)
        }
    };
    let data: Vec<FileOut<'_>> = page.iter().map(|f| file_out(f)).collect();
    let forward = !matches!(q.cursor, Cursor::Before(_));
    let last_id = data.last().map(|f| f.id);
    Ok(to_bytes(&ListOut {
        first_id: data.first().map(|f| f.id),
        last_id,
        has_more,
        next_page: last_id
            .filter(|_| has_more && forward)
            .map(|id| format!("{PAGE_PREFIX}{id}")),
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn file(id: &str, created_at: i64) -> FileObject {
        FileObject {
            id: id.into(),
            object: "file".into(),
            bytes: 4,
            created_at,
            filename: format!("{id}.pdf"),
            purpose: "general".into(),
            access_policy: None,
            modalities: None,
        }
    }

    fn page(b: &Bytes) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn metadata_shape() {
        assert_eq!(
            page(&one(&file("f1", 1_715_768_909))),
            json!({"id":"f1","type":"file","filename":"f1.pdf","mime_type":"application/pdf",
                   "size_bytes":4,"created_at":"2024-05-15T10:28:29Z","downloadable":true})
        );
        let d = FileDeleted {
            id: "f1".into(),
            deleted: true,
            access_policy: None,
        };
        assert_eq!(page(&deleted(&d)), json!({"id":"f1","type":"file_deleted"}));
    }

    #[test]
    fn paging_both_generations() {
        let files: Vec<_> = (1..=5).map(|i| file(&format!("f{i}"), i)).collect();
        let q = |s: &str| ListQuery::parse(Some(s)).unwrap();
        let v = page(&list(&files, &q("limit=2")).unwrap());
        assert_eq!(v["first_id"], "f5");
        assert_eq!(v["last_id"], "f4");
        assert_eq!(v["has_more"], true);
        assert_eq!(v["next_page"], "page_f4");
        let v = page(&list(&files, &q("limit=2&page=page_f4")).unwrap());
        assert_eq!(
            (v["first_id"].as_str(), v["last_id"].as_str()),
            (Some("f3"), Some("f2"))
        );
        let v = page(&list(&files, &q("after_id=f2")).unwrap());
        assert_eq!(
            (v["first_id"].as_str(), v["has_more"].as_bool()),
            (Some("f1"), Some(false))
        );
        assert_eq!(v["next_page"], Value::Null);
        let v = page(&list(&files, &q("before_id=f2&limit=2")).unwrap());
        assert_eq!(
            (v["first_id"].as_str(), v["last_id"].as_str()),
            (Some("f4"), Some("f3"))
        );
        assert_eq!(v["has_more"], true);
        let v = page(&list(&files, &q("ids[]=f1&ids[]=f3&beta=true")).unwrap());
        assert_eq!(v["data"].as_array().unwrap().len(), 2);
        for bad in [
            "limit=1001",
            "page=f1",
            "after_id=a&before_id=b",
            "scope_id=s",
            "ids=a/b",
        ] {
            assert!(ListQuery::parse(Some(bad)).is_err(), "{bad}");
        }
        assert!(list(&files, &q("after_id=nope")).is_err());
    }
}
