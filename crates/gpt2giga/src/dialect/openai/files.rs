//! OpenAI Files API shapes over GigaChat's file records (pure: no I/O).
//!
//! * **Purpose.** GigaChat stores every file with purpose `general` and keeps no other
//!   (§7.1), so the client's purpose cannot be returned later. Uploads accept the
//!   purposes of files meant as model input (`user_data`, `assistants`, `vision`) and
//!   refuse the rest (`batch`, `fine-tune`, `evals`: the proxy has no such APIs); every
//!   file is then reported, consistently in create, list and retrieve, as `user_data`
//!   (OpenAI's purpose for model input). A GigaChat purpose other than `general` is
//!   passed through (`assistant` as `assistants`).
//! * **Status** is `processed`: a GigaChat file can be used as soon as it is stored.
//!   `expires_at` is absent: GigaChat files do not expire.
//! * **Listing** pages the whole GigaChat list (GigaChat does not page) by
//!   `created_at` then id, with OpenAI's `order`, `after`, `limit` and `purpose`.

use bytes::Bytes;
use gigachat::types::{FileDeleted, FileObject};
use serde::Serialize;

use crate::error::ProxyError;

/// Purposes accepted on upload: files meant as model input.
pub(crate) const UPLOAD_PURPOSES: &[&str] = &["user_data", "assistants", "vision"];

/// OpenAI's purpose for a GigaChat purpose.
pub(crate) fn purpose_of(gigachat: &str) -> &str {
    match gigachat {
        "general" | "" => "user_data",
        "assistant" => "assistants",
        other => other,
    }
}

/// Checks an upload's `purpose` form field.
pub(crate) fn check_purpose(purpose: Option<&str>) -> Result<(), ProxyError> {
    match purpose {
        None => Err(ProxyError::invalid_param(
            "purpose: Field required",
            "purpose",
        )),
        Some(p) if UPLOAD_PURPOSES.contains(&p) => Ok(()),
        Some(p) => Err(ProxyError::invalid_param(
            format!(
                "purpose {p:?} is not supported: files are stored in GigaChat as model input \
                 only; use one of {}",
                UPLOAD_PURPOSES.join(", ")
            ),
            "purpose",
        )),
    }
}

/// The upload form (documentation only: the handler reads the parts as they come).
#[derive(utoipa::ToSchema)]
#[schema(as = FileUploadForm)]
#[expect(dead_code, reason = "only describes the form in /openapi.json")]
pub(crate) struct UploadForm {
    /// The file (its part's file name and `Content-Type` are used for typing).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// OpenAI only: `user_data`, `assistants` or `vision`.
    purpose: Option<String>,
}

/// A file in OpenAI's shape (the `OpenAIFile` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OpenAIFile)]
pub(crate) struct FileOut<'a> {
    id: &'a str,
    object: &'static str,
    bytes: u64,
    created_at: i64,
    filename: &'a str,
    purpose: &'a str,
    status: &'static str,
}

/// A page of files (the `ListFilesResponse` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ListFilesResponse)]
pub(crate) struct ListOut<'a> {
    object: &'static str,
    data: Vec<FileOut<'a>>,
    first_id: Option<&'a str>,
    last_id: Option<&'a str>,
    has_more: bool,
}

/// The answer to a delete (the `DeleteFileResponse` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = DeleteFileResponse)]
pub(crate) struct DeletedOut<'a> {
    id: &'a str,
    object: &'static str,
    deleted: bool,
}

fn file_out(f: &FileObject) -> FileOut<'_> {
    FileOut {
        id: &f.id,
        object: "file",
        bytes: f.bytes,
        created_at: f.created_at,
        filename: &f.filename,
        purpose: purpose_of(&f.purpose),
        status: "processed",
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
        object: "file",
        deleted: d.deleted,
    })
}

/// A list's `limit`: an integer from 1 to `max`, else a 400 naming `limit`.
pub(crate) fn parse_limit(v: &str, max: usize) -> Result<usize, ProxyError> {
    match v.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ProxyError::invalid_param(
            format!("limit must be an integer from 1 to {max}, not {v:?}"),
            "limit",
        )),
    }
}

/// `GET /files` query parameters.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ListQuery {
    pub purpose: Option<String>,
    pub limit: Option<usize>,
    pub descending: bool,
    pub after: Option<String>,
}

/// OpenAI's bounds for `limit` (default: the maximum).
const MAX_LIMIT: usize = 10_000;

impl ListQuery {
    /// Parses the query string; unknown parameters and bad values are 400s naming them.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, ProxyError> {
        let mut q = ListQuery {
            descending: true,
            ..ListQuery::default()
        };
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*k {
                "purpose" => q.purpose = Some(v.into_owned()),
                "limit" => q.limit = Some(parse_limit(&v, MAX_LIMIT)?),
                "order" => {
                    q.descending = match &*v {
                        "desc" => true,
                        "asc" => false,
                        _ => {
                            return Err(ProxyError::invalid_param(
                                format!("order must be \"asc\" or \"desc\", not {v:?}"),
                                "order",
                            ));
                        }
                    }
                }
                "after" => q.after = Some(crate::ir::file_id(&v, "after")?),
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

/// One page of `files` (every file of the identity) as OpenAI lists them.
pub(crate) fn list(files: &[FileObject], q: &ListQuery) -> Result<Bytes, ProxyError> {
    let mut all: Vec<&FileObject> = files
        .iter()
        .filter(|f| {
            q.purpose
                .as_deref()
                .is_none_or(|p| p == purpose_of(&f.purpose))
        })
        .collect();
    all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    if q.descending {
        all.reverse();
    }
    let start = match &q.after {
        None => 0,
        Some(after) => match all.iter().position(|f| &f.id == after) {
            Some(i) => i + 1,
            None => {
                return Err(ProxyError::invalid_param(
                    format!("after: no file with id {after:?}"),
                    "after",
                ));
            }
        },
    };
    let limit = q.limit.unwrap_or(MAX_LIMIT);
    let rest = all.get(start..).unwrap_or_default();
    let page: Vec<FileOut<'_>> = rest.iter().take(limit).map(|f| file_out(f)).collect();
    let has_more = rest.len() > page.len();
    Ok(to_bytes(&ListOut {
        object: "list",
        first_id: page.first().map(|f| f.id),
        last_id: page.last().map(|f| f.id),
        has_more,
        data: page,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn file(id: &str, created_at: i64, purpose: &str) -> FileObject {
        FileObject {
            id: id.into(),
            object: "file".into(),
            bytes: 3,
            created_at,
            filename: format!("{id}.txt"),
            purpose: purpose.into(),
            access_policy: Some("private".into()),
            modalities: Some(vec!["text".into()]),
        }
    }

    fn ids(b: &Bytes) -> (Vec<String>, bool) {
        let v: Value = serde_json::from_slice(b).unwrap();
        let ids = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
        (ids, v["has_more"].as_bool().unwrap())
    }

    #[test]
    fn shape_and_purpose() {
        let v: Value = serde_json::from_slice(&one(&file("a", 5, "general"))).unwrap();
        assert_eq!(
            v,
            json!({"id":"a","object":"file","bytes":3,"created_at":5,"filename":"a.txt",
                   "purpose":"user_data","status":"processed"})
        );
        assert_eq!(purpose_of("assistant"), "assistants");
        assert!(check_purpose(Some("assistants")).is_ok());
        assert_eq!(
            check_purpose(Some("batch")).unwrap_err().param(),
            Some("purpose")
        );
        assert!(check_purpose(None).is_err());
    }

    #[test]
    fn paging_orders_and_filters() {
        let files = [
            file("b", 2, "general"),
            file("a", 1, "general"),
            file("c", 3, "assistant"),
        ];
        let q = |s: &str| ListQuery::parse(Some(s)).unwrap();
        assert_eq!(
            ids(&list(&files, &q("")).unwrap()),
            (vec!["c".into(), "b".into(), "a".into()], false)
        );
        assert_eq!(
            ids(&list(&files, &q("order=asc&limit=2")).unwrap()),
            (vec!["a".into(), "b".into()], true)
        );
        assert_eq!(
            ids(&list(&files, &q("order=asc&after=b")).unwrap()),
            (vec!["c".into()], false)
        );
        assert_eq!(
            ids(&list(&files, &q("purpose=user_data")).unwrap()),
            (vec!["b".into(), "a".into()], false)
        );
        assert_eq!(
            list(&files, &q("after=zz")).unwrap_err().param(),
            Some("after")
        );
        for bad in ["limit=0", "limit=x", "order=up", "after=../x", "nope=1"] {
            assert!(ListQuery::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
