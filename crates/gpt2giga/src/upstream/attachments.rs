//! Attachments: every [`ir::Part::Media`] of a request becomes a GigaChat file id.
//!
//! [`Attachments::resolve`] runs in three phases, so that cheap refusals come before
//! any network traffic:
//!
//! 1. **Inspect** (no network): media on assistant messages is refused; image parts are
//!    refused when images are disabled; inline data (`data:` URLs, base64, text) is
//!    decoded, typed and size-checked; `http(s)` URLs are checked for scheme and
//!    literal non-public IPs; image counts (per message, per request) are checked,
//!    counting a not-yet-downloaded image URL as an image.
//! 2. **Fetch** URLs (four at a time) through the SSRF-guarded
//!    client of `net`, then type, size- and count-check them like inline data.
//! 3. **Upload** each file (`purpose: general`) unless an identical one was uploaded
//!    recently by the same GigaChat identity (`cache`).
//!
//! A part naming a file already stored in GigaChat ([`MediaSource::FileId`], from the
//! Files APIs) is looked up in phase 2 (`GET /files/{id}` with the request's identity,
//! so an id of another identity is as unknown as a made-up one: a 400 naming the id
//! and the part) and passed through to `attachments` as is, never re-uploaded. Its
//! type for the image limits comes from GigaChat's `modalities` (else the file name's
//! extension, else the part: an image part counts as an image), its size for the
//! audio+image total from GigaChat's `bytes`.
//!
//! Decisions worth knowing:
//!
//! * **User and tool messages carry attachments.** GigaChat's `attachments` exist on
//!   user messages only: the request builders attach a user message's ids to it, and
//!   a tool result's (e.g. an image inside an Anthropic `tool_result`) to user
//!   messages after the turn's function results (`tool_media`), at most
//!   `max_images_per_message` files each, so tool results count only towards the
//!   per-request limits here.
//!   Media on an assistant message is refused with a 400 naming the message, never
//!   dropped.
//! * **MIME type**: magic bytes of formats with unambiguous signatures (PNG, JPEG, GIF,
//!   WebP, TIFF, BMP, PDF, WAV, Ogg/Opus, MP3, WebM, MP4/M4A, HEIC) win over declared
//!   types, because `data:` URLs are often mislabelled and a GIF labelled `image/png`
//!   must be refused as a GIF; then the declared type, the download's `Content-Type`,
//!   zip-based office sniffing, the file-name (or URL path) extension, and finally
//!   UTF-8 text in a document part. Generic types (`application/octet-stream`) count
//!   as absent. Types are normalised to GigaChat's documented spellings (§7.1), e.g.
//!   `image/jpg` → `image/jpeg`, `audio/mpeg` → `audio/mp3`, `application/epub+zip` →
//!   `application/epub`, and `text/*` documents → `text/plain`.
//! * **What is counted**: image limits and the audio+image total count files by their
//!   resolved type, whatever part carried them (a PDF in an `image_url` is a document).
//! * **Dedup key**: SHA-256 over a fingerprint of the GigaChat identity (API and auth
//!   URLs, scope, credentials/user/access token, client certificate path, hashed,
//!   never stored) plus the request's `X-Client-ID`, the MIME type and the bytes. So
//!   one `Attachments` may safely serve several identities: GigaChat files are only
//!   visible to their owner, and an id is never reused across owners. `resolve` thus
//!   needs no extra identity parameter.
//! * **Limits** come from [`Limits`]; a zero `cache_capacity` or `cache_ttl` disables
//!   dedup.

mod cache;
mod mime;
mod net;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use gigachat::{FileUpload, RequestContext};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::ProxyError;
use crate::ir::{self, MediaKind, MediaSource, Role};
use cache::{Key, UploadCache};
use mime::Category;
use net::Guard;

/// How many downloads or uploads of one request run at a time.
const PARALLELISM: usize = 4;

const MIB: u64 = 1024 * 1024;

/// Limits and policy for attachments. Defaults follow GigaChat's documented limits
/// (§7.1, §7.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Forward image input at all (`--proxy.enable-images`). When off, any image is
    /// refused with a 400 rather than silently dropped.
    pub enable_images: bool,
    pub max_image_bytes: u64,
    pub max_audio_bytes: u64,
    /// Text documents (txt, doc, docx, pdf, epub, ppt, pptx, xlsx).
    pub max_text_bytes: u64,
    /// Sum of image and audio bytes in one request.
    pub max_audio_image_total_bytes: u64,
    pub max_images_per_request: usize,
    pub max_images_per_message: usize,
    /// Deadline for one download, connection to last byte (redirects included).
    pub fetch_timeout: Duration,
    pub max_redirects: usize,
    /// How long an uploaded file id is reused for identical content.
    pub cache_ttl: Duration,
    /// Number of cached file ids (0 disables the cache).
    pub cache_capacity: usize,
    /// Allow downloads from loopback/private/link-local addresses. For tests and
    /// trusted setups only: it disables the SSRF address checks (schemes, redirect
    /// and size limits still apply).
    pub allow_private_urls: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            enable_images: true,
            max_image_bytes: 15 * MIB,
            max_audio_bytes: 35 * MIB,
            max_text_bytes: 40 * MIB,
            max_audio_image_total_bytes: 80 * MIB,
            max_images_per_request: 10,
            max_images_per_message: 1,
            fetch_timeout: Duration::from_secs(20),
            max_redirects: 5,
            cache_ttl: Duration::from_secs(3600),
            cache_capacity: 1024,
            allow_private_urls: false,
        }
    }
}

impl Limits {
    fn cap(&self, category: Category) -> u64 {
        match category {
            Category::Image => self.max_image_bytes,
            Category::Audio => self.max_audio_bytes,
            Category::Document => self.max_text_bytes,
        }
    }

    /// The largest acceptable size before the type is known.
    fn cap_for_kind(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.max_image_bytes,
            MediaKind::File => self
                .max_image_bytes
                .max(self.max_audio_bytes)
                .max(self.max_text_bytes),
        }
    }
}

/// Uploads a request's media to GigaChat. Build one at start-up and share it: it owns
/// the download client and the upload cache.
pub struct Attachments {
    http: reqwest::Client,
    limits: Limits,
    cache: UploadCache,
    guard: Guard,
}

impl std::fmt::Debug for Attachments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachments")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// One media part on its way to an upload.
struct Item {
    msg: usize,
    /// On a tool result: the request builders spread its files over user messages of
    /// at most `max_images_per_message` (`Options::media_per_message`), so only the
    /// per-request limits apply.
    tool_result: bool,
    kind: MediaKind,
    /// `messages[i].content[j]`, for messages and the error `param`.
    label: String,
    filename: Option<String>,
    body: Body,
}

enum Body {
    Ready(Blob),
    Fetch(Url),
    /// A file already in GigaChat; `meta` once looked up (phase 2).
    Stored {
        id: String,
        meta: Option<StoredMeta>,
    },
}

/// What GigaChat says about a stored file, as far as the limits need it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StoredMeta {
    /// `None`: GigaChat's answer does not say (the part's kind decides).
    category: Option<Category>,
    bytes: u64,
}

/// A file checked for the Files APIs ([`Attachments::check_upload`]): its GigaChat
/// MIME type and a cleaned file name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckedUpload {
    pub mime: String,
    pub filename: String,
}

struct Blob {
    bytes: Bytes,
    mime: String,
    category: Category,
}

impl Item {
    /// Counts towards the image limits: a typed image, or an image URL not yet fetched.
    fn is_image(&self) -> bool {
        match &self.body {
            Body::Ready(b) => b.category == Category::Image,
            Body::Fetch(_) | Body::Stored { meta: None, .. } => self.kind == MediaKind::Image,
            Body::Stored { meta: Some(m), .. } => match m.category {
                Some(c) => c == Category::Image,
                None => self.kind == MediaKind::Image,
            },
        }
    }
}

impl Attachments {
    pub fn new(limits: Limits) -> Result<Self, ProxyError> {
        let open = limits.allow_private_urls;
        let guard = Guard {
            names: !open,
            literals: !open,
        };
        Self::with_guard(limits, guard)
    }

    fn with_guard(limits: Limits, guard: Guard) -> Result<Self, ProxyError> {
        let http = net::build_client(guard, limits.max_redirects, limits.fetch_timeout)?;
        Ok(Self {
            http,
            cache: UploadCache::new(limits.cache_ttl, limits.cache_capacity),
            limits,
            guard,
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Types and size-checks a file uploaded through the Files APIs exactly as an
    /// attachment would be (magic bytes, the part's declared type, the file name; the
    /// per-kind caps): 400 for an unsupported or unknown type, 413 over the cap.
    pub(crate) fn check_upload(
        &self,
        bytes: Bytes,
        declared: Option<&str>,
        filename: Option<&str>,
    ) -> Result<CheckedUpload, ProxyError> {
        let blob = self.finish(MediaKind::File, "file", bytes, declared, None, filename)?;
        Ok(CheckedUpload {
            filename: file_name(filename, blob.category, &blob.mime),
            mime: blob.mime,
        })
    }

    /// The largest file any category accepts: the Files APIs' upload size.
    pub(crate) fn largest_file(&self) -> u64 {
        self.limits.cap_for_kind(MediaKind::File)
    }

    /// Uploads every media part of `req` and returns the file ids per message: the
    /// result has one entry per `req.messages` element, empty for messages without
    /// media, ids in part order.
    ///
    /// Errors: 400 for media on an assistant message, disabled images, unsupported or
    /// undeterminable types, bad base64, bad or non-public URLs, failed downloads
    /// (naming the host and status, never the full URL) and too many images; 413 for
    /// oversize files and an oversize audio+image total; GigaChat's own failures as
    /// [`ProxyError::Upstream`] with their status.
    pub async fn resolve(
        &self,
        client: &gigachat::Client,
        req: &ir::ChatRequest,
        ctx: &RequestContext,
    ) -> Result<Vec<Vec<String>>, ProxyError> {
        let mut out = vec![Vec::new(); req.messages.len()];

        // Phase 1: inspect, no network.
        let mut items = Vec::new();
        for (i, msg) in req.messages.iter().enumerate() {
            for (j, part) in msg.parts.iter().enumerate() {
                let ir::Part::Media(media) = part else {
                    continue;
                };
                let label = format!("messages[{i}].content[{j}]");
                if msg.role == Role::Assistant {
                    return Err(ProxyError::invalid_param(
                        format!(
                            "messages[{i}] is an assistant message with an attachment \
                             ({label}); GigaChat accepts images and files only on user \
                             messages and tool results"
                        ),
                        label,
                    ));
                }
                if media.kind == MediaKind::Image && !self.limits.enable_images {
                    return Err(images_disabled(&label));
                }
                let body = self.inspect(media, &label)?;
                items.push(Item {
                    msg: i,
                    tool_result: msg.role == Role::Tool,
                    kind: media.kind,
                    label,
                    filename: media.filename.clone(),
                    body,
                });
            }
        }
        if items.is_empty() {
            return Ok(out);
        }
        self.check_image_counts(&items)?;
        self.check_total(&items)?;

        // Phase 2: fetch. (Futures are collected first and driven as a plain list: a
        // closure inside the stream combinators would make the future non-`Send`.)
        let mut downloads = Vec::new();
        for (n, item) in items.iter().enumerate() {
            if let Body::Fetch(url) = &item.body {
                downloads.push(self.fetch(n, item, url));
            }
        }
        let fetched: Vec<(usize, Blob)> = stream::iter(downloads)
            .buffered(PARALLELISM)
            .try_collect()
            .await?;
        let mut lookups = Vec::new();
        for (n, item) in items.iter().enumerate() {
            if let Body::Stored { id, .. } = &item.body {
                lookups.push(self.lookup(client, ctx, n, item, id));
            }
        }
        let looked_up: Vec<(usize, StoredMeta)> = stream::iter(lookups)
            .buffered(PARALLELISM)
            .try_collect()
            .await?;
        let changed = !fetched.is_empty() || !looked_up.is_empty();
        for (n, found) in looked_up {
            if let Some(Item {
                body: Body::Stored { meta, .. },
                ..
            }) = items.get_mut(n)
            {
                *meta = Some(found);
            }
        }
        if changed {
            for (n, blob) in fetched {
                if let Some(item) = items.get_mut(n) {
                    item.body = Body::Ready(blob);
                }
            }
            self.check_image_counts(&items)?;
            self.check_total(&items)?;
        }

        // Phase 3: upload.
        let identity = identity_key(client, ctx);
        let mut uploads = Vec::new();
        for item in &items {
            uploads.push(self.upload(client, ctx, &identity, item));
        }
        let ids: Vec<(usize, String)> = stream::iter(uploads)
            .buffered(PARALLELISM)
            .try_collect()
            .await?;
        for (msg, id) in ids {
            if let Some(slot) = out.get_mut(msg) {
                slot.push(id);
            }
        }
        Ok(out)
    }

    /// Phase 1 for one part: inline data becomes a typed [`Blob`], URLs are vetted.
    fn inspect(&self, media: &ir::Media, label: &str) -> Result<Body, ProxyError> {
        let name = media.filename.as_deref();
        match &media.source {
            MediaSource::Text { text, .. } => {
                let bytes = Bytes::from(text.clone().into_bytes());
                if bytes.len() as u64 > self.limits.max_text_bytes {
                    return Err(too_large(
                        Category::Document,
                        label,
                        bytes.len() as u64,
                        self.limits.max_text_bytes,
                    ));
                }
                if bytes.is_empty() {
                    return Err(empty(label));
                }
                Ok(Body::Ready(Blob {
                    bytes,
                    mime: "text/plain".to_string(),
                    category: Category::Document,
                }))
            }
            MediaSource::Base64 { mime, data } => {
                let trimmed = data.trim_start();
                if starts_with_ci(trimmed, "data:") {
                    let (declared, bytes) = self.data_url(trimmed, media.kind, label)?;
                    let declared = mime.as_deref().or(declared.as_deref());
                    return self
                        .finish(media.kind, label, bytes, declared, None, name)
                        .map(Body::Ready);
                }
                let bytes = decode_base64(data, self.limits.cap_for_kind(media.kind), label)?;
                self.finish(media.kind, label, bytes, mime.as_deref(), None, name)
                    .map(Body::Ready)
            }
            MediaSource::FileId(id) => Ok(Body::Stored {
                id: ir::file_id(id, label)?,
                meta: None,
            }),
            MediaSource::Url(raw) => {
                let raw = raw.trim();
                if starts_with_ci(raw, "data:") {
                    let (declared, bytes) = self.data_url(raw, media.kind, label)?;
                    return self
                        .finish(media.kind, label, bytes, declared.as_deref(), None, name)
                        .map(Body::Ready);
                }
                let url = Url::parse(raw).map_err(|_| {
                    ProxyError::invalid_param(
                        format!("{label}: the attachment URL is not a valid URL"),
                        label,
                    )
                })?;
                net::check_url(&url, self.guard).map_err(|refusal| {
                    ProxyError::invalid_param(format!("{label}: {refusal}"), label)
                })?;
                Ok(Body::Fetch(url))
            }
        }
    }

    /// Decodes a `data:` URL: `(declared type, bytes)`.
    fn data_url(
        &self,
        s: &str,
        kind: MediaKind,
        label: &str,
    ) -> Result<(Option<String>, Bytes), ProxyError> {
        let rest = s.get(5..).unwrap_or("");
        let Some((meta, payload)) = rest.split_once(',') else {
            return Err(ProxyError::invalid_param(
                format!("{label}: malformed data URL (no comma)"),
                label,
            ));
        };
        let mut params = meta.split(';');
        let declared = params
            .next()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        let is_base64 = params.any(|p| p.trim().eq_ignore_ascii_case("base64"));
        let cap = self.limits.cap_for_kind(kind);
        let bytes = if is_base64 {
            if payload.contains('%') {
                let text = percent_decode_str(payload)
                    .decode_utf8()
                    .map_err(|_| invalid_base64(label))?;
                decode_base64(&text, cap, label)?
            } else {
                decode_base64(payload, cap, label)?
            }
        } else {
            Bytes::from(percent_decode_str(payload).collect::<Vec<u8>>())
        };
        Ok((declared, bytes))
    }

    /// Types, allow-lists and size-checks decoded or downloaded bytes.
    fn finish(
        &self,
        kind: MediaKind,
        label: &str,
        bytes: Bytes,
        declared: Option<&str>,
        content_type: Option<&str>,
        filename: Option<&str>,
    ) -> Result<Blob, ProxyError> {
        if bytes.is_empty() {
            return Err(empty(label));
        }
        let evidence = mime::Evidence {
            kind,
            declared,
            content_type,
            filename,
            bytes: &bytes,
        };
        let Some(mime) = mime::determine(&evidence) else {
            return Err(ProxyError::invalid_param(
                format!(
                    "{label}: cannot determine the type of the attachment; declare its MIME \
                     type or give it a file name with an extension"
                ),
                label,
            ));
        };
        let Some(category) = mime::category(&mime) else {
            return Err(unsupported(&mime, label));
        };
        if category == Category::Image && !self.limits.enable_images {
            return Err(images_disabled(label));
        }
        let cap = self.limits.cap(category);
        if bytes.len() as u64 > cap {
            return Err(too_large(category, label, bytes.len() as u64, cap));
        }
        Ok(Blob {
            bytes,
            mime,
            category,
        })
    }

    /// Downloads and types one URL part; `n` is passed through to place the result.
    async fn fetch(&self, n: usize, item: &Item, url: &Url) -> Result<(usize, Blob), ProxyError> {
        let cap = self.limits.cap_for_kind(item.kind);
        let cap_label = match item.kind {
            MediaKind::Image => format!("the {} limit for images", human(cap)),
            MediaKind::File => format!("the {} limit for attachments", human(cap)),
        };
        tracing::debug!(host = %net::host_label(url), part = %item.label, "fetching attachment");
        // Time spent downloading is not the proxy's own (see `server::metrics`).
        let download = crate::telemetry::metrics::waiting(net::download(
            &self.http,
            url,
            cap,
            self.limits.fetch_timeout,
            &item.label,
            &cap_label,
        ))
        .await?;
        // The URL's last path segment stands in for a file name when typing.
        let url_name = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned());
        let name = item.filename.as_deref().or(url_name.as_deref());
        self.finish(
            item.kind,
            &item.label,
            download.bytes,
            None,
            download.content_type.as_deref(),
            name,
        )
        .map(|blob| (n, blob))
    }

    /// Phase 2 for a stored file: GigaChat's record of it, with this request's identity.
    async fn lookup(
        &self,
        client: &gigachat::Client,
        ctx: &RequestContext,
        n: usize,
        item: &Item,
        id: &str,
    ) -> Result<(usize, StoredMeta), ProxyError> {
        let found =
            crate::telemetry::metrics::upstream("files_get", client.get_file(id, ctx)).await;
        let file = match found {
            Ok(file) => file,
            Err(gigachat::Error::Api { status: 404, .. }) => {
                return Err(ProxyError::invalid_param(
                    format!(
                        "{}: no file with id {id:?} is visible to this GigaChat identity \
                         (upload it through /v1/files first)",
                        item.label
                    ),
                    item.label.clone(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let category = stored_category(&file, item.kind);
        if category == Some(Category::Image) && !self.limits.enable_images {
            return Err(images_disabled(&item.label));
        }
        tracing::debug!(part = %item.label, file_id = %id, ?category, "stored file referenced");
        Ok((
            n,
            StoredMeta {
                category,
                bytes: file.bytes,
            },
        ))
    }

    async fn upload(
        &self,
        client: &gigachat::Client,
        ctx: &RequestContext,
        identity: &Key,
        item: &Item,
    ) -> Result<(usize, String), ProxyError> {
        let blob = match &item.body {
            Body::Ready(blob) => blob,
            Body::Stored { id, .. } => return Ok((item.msg, id.clone())),
            Body::Fetch(_) => {
                return Err(ProxyError::Internal(
                    "attachment was not downloaded".to_string(),
                ));
            }
        };
        let key = content_key(identity, &blob.mime, &blob.bytes);
        let filename = file_name(item.filename.as_deref(), blob.category, &blob.mime);
        let (id, cached) = self
            .cache
            .get_or_upload(key, || async {
                let upload = client.upload_file(
                    FileUpload {
                        filename: filename.clone(),
                        mime: blob.mime.clone(),
                        data: blob.bytes.clone(),
                        purpose: "general".to_string(),
                    },
                    ctx,
                );
                let file = crate::telemetry::metrics::upstream("files_upload", upload).await?;
                if file.id.is_empty() {
                    return Err(ProxyError::Upstream(gigachat::Error::Decode(
                        "the file upload answer has no id".to_string(),
                    )));
                }
                Ok(file.id)
            })
            .await?;
        tracing::debug!(
            part = %item.label,
            mime = %blob.mime,
            bytes = blob.bytes.len(),
            %filename,
            file_id = %id,
            cached,
            "attachment ready"
        );
        Ok((item.msg, id))
    }

    fn check_image_counts(&self, items: &[Item]) -> Result<(), ProxyError> {
        let mut per_message: BTreeMap<usize, usize> = BTreeMap::new();
        let mut from_tools = 0;
        for item in items.iter().filter(|it| it.is_image()) {
            if item.tool_result {
                from_tools += 1;
            } else {
                *per_message.entry(item.msg).or_default() += 1;
            }
        }
        let max_msg = self.limits.max_images_per_message;
        if let Some((msg, n)) = per_message.iter().find(|(_, n)| **n > max_msg) {
            return Err(ProxyError::invalid_param(
                format!(
                    "messages[{msg}] has {n} images, but GigaChat accepts at most {max_msg} \
                     {} per message; split them across messages",
                    plural(max_msg, "image", "images")
                ),
                format!("messages[{msg}].content"),
            ));
        }
        let total: usize = per_message.values().sum::<usize>() + from_tools;
        let max_req = self.limits.max_images_per_request;
        if total > max_req {
            return Err(ProxyError::invalid_param(
                format!(
                    "the request has {total} images, but GigaChat accepts at most {max_req} \
                     {} per request",
                    plural(max_req, "image", "images")
                ),
                "messages",
            ));
        }
        Ok(())
    }

    fn check_total(&self, items: &[Item]) -> Result<(), ProxyError> {
        let total: u64 = items
            .iter()
            .filter_map(|it| match &it.body {
                Body::Ready(b) if matches!(b.category, Category::Image | Category::Audio) => {
                    Some(b.bytes.len() as u64)
                }
                Body::Stored {
                    meta:
                        Some(StoredMeta {
                            category: Some(Category::Image | Category::Audio),
                            bytes,
                        }),
                    ..
                } => Some(*bytes),
                _ => None,
            })
            .sum();
        let cap = self.limits.max_audio_image_total_bytes;
        if total > cap {
            return Err(ProxyError::PayloadTooLarge(format!(
                "the images and audio in this request total {}, over GigaChat's {} limit \
                 per request",
                human(total),
                human(cap)
            )));
        }
        Ok(())
    }
}

// ---- helpers -------------------------------------------------------------------------

/// The category of a stored file: GigaChat's `modalities` (`image`, `audio`, `text`),
/// else its file name's extension; `None` when neither says.
fn stored_category(file: &gigachat::types::FileObject, kind: MediaKind) -> Option<Category> {
    let from_modalities = file
        .modalities
        .iter()
        .flatten()
        .find_map(|m| match m.as_str() {
            "image" => Some(Category::Image),
            "audio" => Some(Category::Audio),
            "text" | "document" => Some(Category::Document),
            _ => None,
        });
    from_modalities.or_else(|| mime::from_extension(&file.filename, kind).and_then(mime::category))
}

/// The MIME type a stored file's name suggests (GigaChat keeps no type), for the
/// Anthropic Files API's `mime_type`; `application/octet-stream` when it says nothing.
pub(crate) fn stored_mime(filename: &str) -> &'static str {
    mime::from_extension(filename, MediaKind::File).unwrap_or("application/octet-stream")
}

fn images_disabled(label: &str) -> ProxyError {
    ProxyError::invalid_param(
        format!("{label}: image input is disabled on this proxy (--proxy.enable-images)"),
        label,
    )
}

fn empty(label: &str) -> ProxyError {
    ProxyError::invalid_param(format!("{label}: the attachment is empty"), label)
}

fn invalid_base64(label: &str) -> ProxyError {
    ProxyError::invalid_param(format!("{label}: invalid base64 data"), label)
}

fn unsupported(mime: &str, label: &str) -> ProxyError {
    let message = if mime.starts_with("image/") {
        format!(
            "{label}: {mime} images are not supported by GigaChat (supported image types: \
             JPEG, PNG, TIFF, BMP); convert the image first"
        )
    } else {
        format!(
            "{label}: unsupported attachment type {mime}; {}",
            mime::SUPPORTED_SUMMARY
        )
    };
    ProxyError::invalid_param(message, label)
}

fn too_large(category: Category, label: &str, size: u64, cap: u64) -> ProxyError {
    let noun = category.noun();
    ProxyError::PayloadTooLarge(format!(
        "{label}: the {noun} is {}, over GigaChat's {} limit for {}",
        human(size),
        human(cap),
        category.plural()
    ))
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `15 MiB`, `1.5 MiB`, `2048 bytes`.
fn human(bytes: u64) -> String {
    if bytes >= MIB {
        if bytes.is_multiple_of(MIB) {
            format!("{} MiB", bytes / MIB)
        } else {
            format!("{:.1} MiB", bytes as f64 / MIB as f64)
        }
    } else {
        format!("{bytes} bytes")
    }
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

const B64_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const B64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, B64_CONFIG);
const B64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, B64_CONFIG);

/// Standard or URL-safe base64, padded or not, with any ASCII whitespace (line breaks
/// of MIME-style encoders) ignored. Refuses with 413 before decoding when the result
/// would exceed `cap`.
fn decode_base64(data: &str, cap: u64, label: &str) -> Result<Bytes, ProxyError> {
    let cleaned: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let estimate = (cleaned.len() as u64 / 4) * 3;
    if estimate > cap + 3 {
        return Err(ProxyError::PayloadTooLarge(format!(
            "{label}: the attachment is about {}, over the {} limit",
            human(estimate),
            human(cap)
        )));
    }
    B64_STANDARD
        .decode(&cleaned)
        .or_else(|_| B64_URL_SAFE.decode(&cleaned))
        .map(Bytes::from)
        .map_err(|_| invalid_base64(label))
}

/// The given file name (path stripped, control characters removed, an extension
/// added if it has none) or `image.png`, `document.pdf`, `audio.mp3`.
fn file_name(given: Option<&str>, category: Category, mime: &str) -> String {
    let ext = mime::extension(mime);
    let base = given
        .map(|g| g.rsplit(['/', '\\']).next().unwrap_or(g))
        .map(|g| {
            g.chars()
                .filter(|c| !c.is_control() && *c != '"')
                .take(200)
                .collect::<String>()
        })
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty() && g != "." && g != "..");
    match base {
        Some(name) => match name.rsplit_once('.') {
            Some((stem, e)) if !stem.is_empty() && !e.is_empty() => name,
            _ => format!("{}.{ext}", name.trim_end_matches('.')),
        },
        None => {
            let stem = match category {
                Category::Image => "image",
                Category::Audio => "audio",
                Category::Document => "document",
            };
            format!("{stem}.{ext}")
        }
    }
}

/// Fingerprint of whom an upload belongs to (see the module docs). Secrets are only
/// hashed.
fn identity_key(client: &gigachat::Client, ctx: &RequestContext) -> Key {
    let c = client.config();
    let cert = c
        .cert_file
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut h = Sha256::new();
    for field in [
        c.base_url.as_str(),
        c.auth_url.as_str(),
        c.scope.as_str(),
        c.credentials.as_ref().map_or("", |s| s.expose()),
        c.user.as_deref().unwrap_or(""),
        c.access_token.as_ref().map_or("", |s| s.expose()),
        cert.as_str(),
        ctx.client_id.as_deref().unwrap_or(""),
    ] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().into()
}

fn content_key(identity: &Key, mime: &str, bytes: &[u8]) -> Key {
    let mut h = Sha256::new();
    h.update(identity);
    h.update((mime.len() as u64).to_le_bytes());
    h.update(mime.as_bytes());
    h.update(bytes);
    h.finalize().into()
}
