//! End-to-end tests of [`Attachments::resolve`] against a local axum server that plays
//! both the download origin and GigaChat (`/api/v2/oauth`, `/api/v1/files`). Only
//! loopback traffic; URLs in blocked ranges are refused before any connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use super::*;
use crate::ir::{ChatRequest, Media, Message, Part};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xFF\xFF\xFF";
const PDF: &[u8] = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<<>>\nendobj\n";
const MP3: &[u8] = b"ID3\x03\0\0\0\0\0\x0A\0\0\0\0\0\0\0\0\0\0";
static CHUNK: [u8; 16 * 1024] = [0u8; 16 * 1024];
const BIG_CHUNKS: usize = 4096; // 64 MiB if fully sent

#[derive(Debug, Clone, PartialEq)]
struct Uploaded {
    filename: Option<String>,
    mime: Option<String>,
    len: usize,
}

#[derive(Default)]
struct Srv {
    downloads: AtomicUsize,
    big_chunks: Arc<AtomicUsize>,
    uploads: Mutex<Vec<Uploaded>>,
    fail_uploads: AtomicBool,
    saw_credentials: AtomicBool,
}

struct TestServer {
    addr: SocketAddr,
    state: Arc<Srv>,
}

impl TestServer {
    async fn start() -> Self {
        let state = Arc::new(Srv::default());
        let app = Router::new()
            .route("/api/v2/oauth", post(oauth))
            .route("/api/v1/files", post(upload))
            .route("/img.png", get(|| async { typed("image/png", PNG) }))
            .route(
                "/octet",
                get(|| async { typed("application/octet-stream", PNG) }),
            )
            .route("/gif", get(|| async { typed("image/gif", GIF) }))
            .route(
                "/html",
                get(|| async { typed("text/html; charset=utf-8", b"<html>oops</html>") }),
            )
            .route(
                "/files/{name}",
                get(|| async {
                    typed(
                        "application/octet-stream",
                        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
                    )
                }),
            )
            .route("/r/{n}", get(redirect_chain))
            .route("/to", get(redirect_to))
            .route("/big", get(big))
            .route("/declared", get(declared))
            .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    typed("image/png", PNG)
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                count_downloads,
            ))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn localhost_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.addr.port())
    }

    fn client(&self) -> gigachat::Client {
        self.client_with("dGVzdDp0ZXN0")
    }

    fn client_with(&self, credentials: &str) -> gigachat::Client {
        gigachat::Client::new(gigachat::ClientConfig {
            base_url: self.url("/api/v1"),
            auth_url: self.url("/api/v2/oauth"),
            credentials: Some(gigachat::Secret::new(credentials)),
            ..Default::default()
        })
        .unwrap()
    }

    fn uploads(&self) -> Vec<Uploaded> {
        self.state.uploads.lock().unwrap().clone()
    }

    fn downloads(&self) -> usize {
        self.state.downloads.load(Ordering::SeqCst)
    }
}

async fn count_downloads(
    State(st): State<Arc<Srv>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !req.uri().path().starts_with("/api/") {
        st.downloads.fetch_add(1, Ordering::SeqCst);
        let h = req.headers();
        if h.contains_key(header::AUTHORIZATION) || h.contains_key(header::COOKIE) {
            st.saw_credentials.store(true, Ordering::SeqCst);
        }
    }
    next.run(req).await
}

fn typed(ct: &'static str, body: &'static [u8]) -> Response {
    ([(header::CONTENT_TYPE, ct)], body).into_response()
}

async fn oauth() -> Response {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    axum::Json(json!({"access_token": "tok", "expires_at": now_ms + 3_600_000})).into_response()
}

async fn upload(State(st): State<Arc<Srv>>, mut mp: Multipart) -> Response {
    if st.fail_uploads.load(Ordering::SeqCst) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(json!({"status": 413, "message": "Payload too large"})),
        )
            .into_response();
    }
    let mut rec = None;
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            let filename = field.file_name().map(str::to_string);
            let mime = field.content_type().map(str::to_string);
            let len = field.bytes().await.unwrap().len();
            rec = Some(Uploaded {
                filename,
                mime,
                len,
            });
        }
    }
    let rec = rec.unwrap();
    let mut uploads = st.uploads.lock().unwrap();
    uploads.push(rec.clone());
    let id = format!("file-{}", uploads.len());
    axum::Json(json!({
        "id": id, "object": "file", "bytes": rec.len, "created_at": 1,
        "filename": rec.filename, "purpose": "general", "access_policy": "private"
    }))
    .into_response()
}

async fn redirect_chain(Path(n): Path<usize>) -> Response {
    if n == 0 {
        typed("image/png", PNG)
    } else {
        Redirect::temporary(&format!("/r/{}", n - 1)).into_response()
    }
}

async fn redirect_to(Query(q): Query<HashMap<String, String>>) -> Response {
    Redirect::temporary(q.get("u").map_or("/img.png", String::as_str)).into_response()
}

async fn big(State(st): State<Arc<Srv>>) -> Response {
    let counter = st.big_chunks.clone();
    let chunks = futures::stream::iter(0..BIG_CHUNKS).map(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok::<_, std::convert::Infallible>(Bytes::from_static(&CHUNK))
    });
    (
        [(header::CONTENT_TYPE, "image/png")],
        AxumBody::from_stream(chunks),
    )
        .into_response()
}

async fn declared() -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, "image/png".parse().unwrap());
    (headers, vec![0u8; 50_000]).into_response()
}

// ---- request helpers ------------------------------------------------------------------

fn media(kind: MediaKind, source: MediaSource) -> Part {
    Part::Media(Media {
        kind,
        source,
        filename: None,
    })
}

fn image_url(url: &str) -> Part {
    media(MediaKind::Image, MediaSource::Url(url.to_string()))
}

fn b64(kind: MediaKind, mime: Option<&str>, bytes: &[u8]) -> Part {
    media(
        kind,
        MediaSource::Base64 {
            mime: mime.map(str::to_string),
            data: STANDARD.encode(bytes),
        },
    )
}

fn user(parts: Vec<Part>) -> Message {
    Message::new(Role::User, parts)
}

fn request(messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        model: "GigaChat".into(),
        messages,
        ..Default::default()
    }
}

fn open_limits() -> Limits {
    Limits {
        allow_private_urls: true,
        fetch_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

/// A client whose GigaChat is unreachable: for refusals that must happen first.
fn dead_client() -> gigachat::Client {
    gigachat::Client::new(gigachat::ClientConfig {
        base_url: "http://127.0.0.1:9/api/v1".into(),
        auth_url: "http://127.0.0.1:9/api/v2/oauth".into(),
        credentials: Some(gigachat::Secret::new("dGVzdDp0ZXN0")),
        timeout: Duration::from_millis(500),
        ..Default::default()
    })
    .unwrap()
}

async fn resolve_with(
    att: &Attachments,
    client: &gigachat::Client,
    messages: Vec<Message>,
) -> Result<Vec<Vec<String>>, ProxyError> {
    att.resolve(client, &request(messages), &RequestContext::default())
        .await
}

async fn refusal(limits: Limits, messages: Vec<Message>) -> ProxyError {
    let att = Attachments::new(limits).unwrap();
    resolve_with(&att, &dead_client(), messages)
        .await
        .unwrap_err()
}

fn assert_400(err: &ProxyError, needle: &str) {
    assert_eq!(err.status().as_u16(), 400, "{err}");
    assert!(err.to_string().contains(needle), "{err:?} lacks {needle:?}");
}

fn assert_413(err: &ProxyError, needle: &str) {
    assert!(matches!(err, ProxyError::PayloadTooLarge(_)), "{err:?}");
    assert_eq!(err.status().as_u16(), 413);
    assert!(err.to_string().contains(needle), "{err:?} lacks {needle:?}");
}

// ---- SSRF ----------------------------------------------------------------------------

#[tokio::test]
async fn literal_ip_urls_are_refused_before_connecting() {
    for url in [
        "http://127.0.0.1/x.png",
        "http://10.0.0.1/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://2130706433/x.png",
        "https://192.168.0.10:8443/x.png",
        "http://[fe80::1]/x.png",
    ] {
        let started = Instant::now();
        let err = refusal(Limits::default(), vec![user(vec![image_url(url)])]).await;
        assert_400(&err, "non-public");
        assert_eq!(err.param(), Some("messages[0].content[0]"));
        // A connection attempt to these would hang until the 20 s fetch timeout.
        assert!(started.elapsed() < Duration::from_secs(2), "{url}");
    }
}

#[tokio::test]
async fn hostname_resolving_to_loopback_is_refused() {
    let srv = TestServer::start().await;
    let att = Attachments::new(Limits::default()).unwrap();
    let err = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.localhost_url("/img.png"))])],
    )
    .await
    .unwrap_err();
    assert_400(&err, "non-public");
    assert!(err.to_string().contains("localhost"), "{err}");
    assert_eq!(srv.downloads(), 0);
    assert!(srv.uploads().is_empty());
}

#[tokio::test]
async fn other_schemes_are_refused() {
    for url in [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
    ] {
        let err = refusal(Limits::default(), vec![user(vec![image_url(url)])]).await;
        assert_400(&err, "scheme");
    }
    let err = refusal(Limits::default(), vec![user(vec![image_url("not a url")])]).await;
    assert_400(&err, "not a valid URL");
}

#[tokio::test]
async fn redirect_hops_are_revalidated() {
    let srv = TestServer::start().await;
    // Names allowed, literal IPs checked: a hop to 127.0.0.1 is refused by the policy.
    let att = Attachments::with_guard(
        open_limits(),
        Guard {
            names: false,
            literals: true,
        },
    )
    .unwrap();
    for target in [
        srv.url("/img.png"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
    ] {
        let start = srv.localhost_url(&format!("/to?u={}", urlencode(&target)));
        let err = resolve_with(&att, &srv.client(), vec![user(vec![image_url(&start)])])
            .await
            .unwrap_err();
        assert_400(&err, "non-public");
    }
    let start = srv.localhost_url(&format!("/to?u={}", urlencode("ftp://example.com/x")));
    let err = resolve_with(&att, &srv.client(), vec![user(vec![image_url(&start)])])
        .await
        .unwrap_err();
    assert_400(&err, "scheme");

    // Literals allowed, names checked: a hop to `localhost` is refused by the resolver.
    let att = Attachments::with_guard(
        open_limits(),
        Guard {
            names: true,
            literals: false,
        },
    )
    .unwrap();
    let start = srv.url(&format!(
        "/to?u={}",
        urlencode(&srv.localhost_url("/img.png"))
    ));
    let before = srv.downloads();
    let err = resolve_with(&att, &srv.client(), vec![user(vec![image_url(&start)])])
        .await
        .unwrap_err();
    assert_400(&err, "non-public");
    assert_eq!(srv.downloads(), before + 1, "only the first hop connected");
    assert!(srv.uploads().is_empty());
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---- downloads -------------------------------------------------------------------------

#[tokio::test]
async fn download_from_local_server_and_upload() {
    let srv = TestServer::start().await;
    let att = Attachments::new(open_limits()).unwrap();
    let ids = resolve_with(
        &att,
        &srv.client(),
        vec![
            Message::text(Role::User, "hi"),
            user(vec![
                Part::Text("look".into()),
                image_url(&srv.url("/img.png")),
            ]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ids, vec![vec![], vec!["file-1".to_string()]]);
    assert_eq!(
        srv.uploads(),
        vec![Uploaded {
            filename: Some("image.png".into()),
            mime: Some("image/png".into()),
            len: PNG.len(),
        }]
    );
    assert!(!srv.state.saw_credentials.load(Ordering::SeqCst));
}

#[tokio::test]
async fn redirect_chain_is_followed_and_capped() {
    let srv = TestServer::start().await;
    let att = Attachments::new(open_limits()).unwrap();
    let ids = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.url("/r/5"))])],
    )
    .await
    .unwrap();
    assert_eq!(ids, vec![vec!["file-1".to_string()]]);

    let err = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.url("/r/6"))])],
    )
    .await
    .unwrap_err();
    assert_400(&err, "more than 5 redirects");
}

#[tokio::test]
async fn oversize_download_is_cut_off() {
    let srv = TestServer::start().await;
    let att = Attachments::new(Limits {
        max_image_bytes: 100_000,
        ..open_limits()
    })
    .unwrap();
    let err = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.url("/big"))])],
    )
    .await
    .unwrap_err();
    assert_413(&err, "limit for images");
    // The connection was dropped long before the 64 MiB body was produced.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let produced = srv.state.big_chunks.load(Ordering::SeqCst);
    assert!(produced < BIG_CHUNKS, "server produced {produced} chunks");

    // A declared Content-Length over the cap is refused up front.
    let att = Attachments::new(Limits {
        max_image_bytes: 10_000,
        ..open_limits()
    })
    .unwrap();
    let err = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.url("/declared"))])],
    )
    .await
    .unwrap_err();
    assert_413(&err, "10000 bytes limit for images");
    assert!(srv.uploads().is_empty());
}

#[tokio::test]
async fn non_2xx_is_a_400_naming_host_and_status() {
    let srv = TestServer::start().await;
    let att = Attachments::new(open_limits()).unwrap();
    let err = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.url("/missing?token=secret"))])],
    )
    .await
    .unwrap_err();
    assert_400(&err, "HTTP 404");
    let msg = err.to_string();
    assert!(msg.contains(&srv.addr.to_string()), "{msg}");
    assert!(
        !msg.contains("secret") && !msg.contains("/missing"),
        "{msg}"
    );
}

#[tokio::test]
async fn slow_download_times_out() {
    let srv = TestServer::start().await;
    let att = Attachments::new(Limits {
        fetch_timeout: Duration::from_millis(300),
        ..open_limits()
    })
    .unwrap();
    let started = Instant::now();
    let err = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.url("/slow"))])],
    )
    .await
    .unwrap_err();
    assert_400(&err, "timed out");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn download_types() {
    let srv = TestServer::start().await;
    let att = Attachments::new(open_limits()).unwrap();
    // Generic Content-Type: magic bytes decide.
    resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.url("/octet"))])],
    )
    .await
    .unwrap();
    // Unknown bytes, generic type: the URL's extension decides.
    resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![media(
            MediaKind::File,
            MediaSource::Url(srv.url("/files/slides.pptx")),
        )])],
    )
    .await
    .unwrap();
    let up = srv.uploads();
    assert_eq!(up[0].mime.as_deref(), Some("image/png"));
    assert_eq!(up[1].mime.as_deref(), Some("application/pptx"));
    assert_eq!(up[1].filename.as_deref(), Some("document.pptx"));

    let err = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.url("/gif"))])],
    )
    .await
    .unwrap_err();
    assert_400(&err, "image/gif images are not supported by GigaChat");
    let err = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![image_url(&srv.url("/html"))])],
    )
    .await
    .unwrap_err();
    assert_400(&err, "unsupported attachment type text/html");
    assert_eq!(srv.uploads().len(), 2);
}

// ---- inline data ---------------------------------------------------------------------

#[tokio::test]
async fn inline_sources() {
    let srv = TestServer::start().await;
    let att = Attachments::new(open_limits()).unwrap();
    // MIME-style line breaks in base64.
    let wrapped = STANDARD
        .encode(JPEG)
        .as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n");
    let mut named = Media {
        kind: MediaKind::Image,
        source: MediaSource::Base64 {
            mime: Some("image/jpg".into()),
            data: format!("  {wrapped}\n"),
        },
        filename: Some("C:\\photos\\holiday".into()),
    };
    let ids = resolve_with(
        &att,
        &srv.client(),
        vec![
            user(vec![Part::Media(named.clone())]),
            user(vec![media(
                MediaKind::File,
                MediaSource::Url(format!(
                    "data:application/pdf;base64,{}",
                    STANDARD.encode(PDF)
                )),
            )]),
            user(vec![media(
                MediaKind::File,
                MediaSource::Base64 {
                    mime: None,
                    data: URL_SAFE_NO_PAD.encode(MP3),
                },
            )]),
            user(vec![media(
                MediaKind::File,
                MediaSource::Text {
                    mime: "text/markdown".into(),
                    text: "# notes".into(),
                },
            )]),
            user(vec![media(
                MediaKind::File,
                MediaSource::Url("data:,hello%20world".into()),
            )]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ids.iter().map(Vec::len).collect::<Vec<_>>(), vec![1; 5]);
    let up = srv.uploads();
    let got: Vec<(Option<&str>, Option<&str>, usize)> = up
        .iter()
        .map(|u| (u.filename.as_deref(), u.mime.as_deref(), u.len))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("holiday.jpg"), Some("image/jpeg"), JPEG.len()),
            (Some("document.pdf"), Some("application/pdf"), PDF.len()),
            (Some("audio.mp3"), Some("audio/mp3"), MP3.len()),
            (Some("document.txt"), Some("text/plain"), 7),
            (Some("document.txt"), Some("text/plain"), 11),
        ]
    );

    // Invalid base64 is a 400.
    named.source = MediaSource::Base64 {
        mime: Some("image/png".into()),
        data: "iVBOR!!not base64".into(),
    };
    let err = resolve_with(&att, &srv.client(), vec![user(vec![Part::Media(named)])])
        .await
        .unwrap_err();
    assert_400(&err, "invalid base64");
    // So is data nobody can type.
    let err = refusal(
        open_limits(),
        vec![user(vec![b64(MediaKind::Image, None, b"\x01\x02\x03")])],
    )
    .await;
    assert_400(&err, "cannot determine the type");
    let err = refusal(
        open_limits(),
        vec![user(vec![b64(MediaKind::Image, None, b"")])],
    )
    .await;
    assert_400(&err, "empty");
}

#[tokio::test]
async fn unsupported_inline_images_are_named() {
    let err = refusal(
        Limits::default(),
        vec![user(vec![b64(MediaKind::Image, Some("image/png"), GIF)])],
    )
    .await;
    assert_400(&err, "image/gif images are not supported");
    let err = refusal(
        Limits::default(),
        vec![user(vec![b64(
            MediaKind::Image,
            Some("image/webp"),
            b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0",
        )])],
    )
    .await;
    assert_400(&err, "image/webp images are not supported");
}

// ---- limits ----------------------------------------------------------------------------

#[tokio::test]
async fn size_caps_per_kind() {
    let limits = Limits {
        max_image_bytes: 100,
        max_audio_bytes: 200,
        max_text_bytes: 300,
        ..Default::default()
    };
    let mut png = PNG.to_vec();
    png.resize(101, 0);
    let err = refusal(
        limits.clone(),
        vec![user(vec![b64(MediaKind::Image, None, &png)])],
    )
    .await;
    assert_413(&err, "messages[0].content[0]: the image is 101 bytes");
    assert!(
        err.to_string().contains("100 bytes limit for images"),
        "{err}"
    );

    let mut mp3 = MP3.to_vec();
    mp3.resize(201, 0);
    let err = refusal(
        limits.clone(),
        vec![user(vec![b64(MediaKind::File, None, &mp3)])],
    )
    .await;
    assert_413(&err, "the audio file is 201 bytes");

    let err = refusal(
        limits.clone(),
        vec![user(vec![media(
            MediaKind::File,
            MediaSource::Text {
                mime: "text/plain".into(),
                text: "x".repeat(301),
            },
        )])],
    )
    .await;
    assert_413(&err, "the document is 301 bytes");

    // Far over the cap: refused from the encoded length, before decoding.
    let err = refusal(
        limits,
        vec![user(vec![b64(MediaKind::File, None, &[b'a'; 2000])])],
    )
    .await;
    assert_413(&err, "limit");
}

#[tokio::test]
async fn audio_and_image_total_is_capped() {
    let limits = Limits {
        max_audio_image_total_bytes: 1000,
        ..Default::default()
    };
    let mut png = PNG.to_vec();
    png.resize(600, 0);
    let mut mp3 = MP3.to_vec();
    mp3.resize(600, 0);
    let err = refusal(
        limits.clone(),
        vec![
            user(vec![b64(MediaKind::Image, None, &png)]),
            user(vec![b64(MediaKind::File, None, &mp3)]),
        ],
    )
    .await;
    assert_413(&err, "total 1200 bytes");
    // Documents do not count.
    let mut pdf = PDF.to_vec();
    pdf.resize(600, 0);
    let srv = TestServer::start().await;
    let att = Attachments::new(limits).unwrap();
    resolve_with(
        &att,
        &srv.client(),
        vec![
            user(vec![b64(MediaKind::Image, None, &png)]),
            user(vec![b64(MediaKind::File, None, &pdf)]),
        ],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn image_counts() {
    let err = refusal(
        Limits::default(),
        vec![
            user(vec![b64(MediaKind::Image, None, PNG)]),
            user(vec![
                b64(MediaKind::Image, None, PNG),
                Part::Text("and".into()),
                image_url("https://example.com/b.png"),
            ]),
        ],
    )
    .await;
    assert_400(&err, "messages[1] has 2 images");
    assert!(
        err.to_string().contains("at most 1 image per message"),
        "{err}"
    );

    let many: Vec<Message> = (0..11)
        .map(|_| user(vec![image_url("https://example.com/a.png")]))
        .collect();
    let err = refusal(Limits::default(), many).await;
    assert_400(&err, "11 images");
    assert!(
        err.to_string().contains("at most 10 images per request"),
        "{err}"
    );

    // An image inside a document part still counts as an image.
    let err = refusal(
        Limits::default(),
        vec![user(vec![
            b64(MediaKind::Image, None, PNG),
            b64(MediaKind::File, Some("image/jpeg"), JPEG),
        ])],
    )
    .await;
    assert_400(&err, "messages[0] has 2 images");
}

#[tokio::test]
async fn disabled_images_are_refused_not_dropped() {
    let limits = Limits {
        enable_images: false,
        ..Default::default()
    };
    let err = refusal(
        limits.clone(),
        vec![user(vec![image_url("https://example.com/cat.png")])],
    )
    .await;
    assert_400(
        &err,
        "image input is disabled on this proxy (--proxy.enable-images)",
    );
    let err = refusal(
        limits.clone(),
        vec![user(vec![b64(MediaKind::File, None, PNG)])],
    )
    .await;
    assert_400(&err, "image input is disabled");
    // Documents still go through.
    let srv = TestServer::start().await;
    let att = Attachments::new(limits).unwrap();
    let ids = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![b64(MediaKind::File, None, PDF)])],
    )
    .await
    .unwrap();
    assert_eq!(ids, vec![vec!["file-1".to_string()]]);
}

#[tokio::test]
async fn media_on_assistant_messages_is_refused() {
    let mut assistant = Message::new(Role::Assistant, vec![b64(MediaKind::Image, None, PNG)]);
    assistant.parts.insert(0, Part::Text("see".into()));
    let err = refusal(
        Limits::default(),
        vec![Message::text(Role::User, "hi"), assistant],
    )
    .await;
    assert_400(&err, "messages[1] is an assistant message");
    assert_eq!(err.param(), Some("messages[1].content[1]"));
}

fn tool(parts: Vec<Part>) -> Message {
    let mut m = Message::new(Role::Tool, parts);
    m.tool_call_id = Some("call_1".into());
    m
}

#[tokio::test]
async fn tool_results_carry_media_under_the_request_limits() {
    // Two images in one tool result are uploaded (the builders give each its own user
    // message), ids in part order, on the tool message's entry.
    let srv = TestServer::start().await;
    let att = Attachments::new(Limits::default()).unwrap();
    let ids = resolve_with(
        &att,
        &srv.client(),
        vec![
            user(vec![Part::Text("look".into())]),
            tool(vec![
                Part::Text("two".into()),
                b64(MediaKind::Image, None, PNG),
                b64(MediaKind::Image, None, JPEG),
            ]),
        ],
    )
    .await
    .unwrap();
    assert!(ids[0].is_empty(), "{ids:?}");
    let mut got = ids[1].clone();
    got.sort();
    assert_eq!(got, ["file-1", "file-2"], "{ids:?}");
    // They count towards the ten per request, with the users' images.
    let mut many: Vec<Message> = (0..6)
        .map(|_| user(vec![image_url("https://example.com/a.png")]))
        .collect();
    many.push(tool(
        (0..5)
            .map(|_| image_url("https://example.com/b.png"))
            .collect(),
    ));
    let err = refusal(Limits::default(), many).await;
    assert_400(&err, "the request has 11 images");
    // The same type checks and switches as a user's.
    let err = refusal(
        Limits::default(),
        vec![tool(vec![b64(MediaKind::Image, None, GIF)])],
    )
    .await;
    assert_400(&err, "image/gif images are not supported");
    assert_eq!(err.param(), Some("messages[0].content[0]"));
    let off = Limits {
        enable_images: false,
        ..Default::default()
    };
    let err = refusal(off, vec![tool(vec![b64(MediaKind::Image, None, PNG)])]).await;
    assert_400(&err, "image input is disabled");
}

// ---- uploads -----------------------------------------------------------------------------

#[tokio::test]
async fn identical_content_is_uploaded_once_per_identity() {
    let srv = TestServer::start().await;
    let att = Attachments::new(open_limits()).unwrap();
    let client = srv.client();
    let same = || b64(MediaKind::Image, Some("image/png"), PNG);
    let ids = resolve_with(
        &att,
        &client,
        vec![
            user(vec![same()]),
            Message::text(Role::Assistant, "nice"),
            user(vec![same()]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        ids,
        vec![
            vec!["file-1".to_string()],
            vec![],
            vec!["file-1".to_string()]
        ]
    );
    // Again in a later request, even fetched from a URL.
    let ids = resolve_with(
        &att,
        &client,
        vec![user(vec![image_url(&srv.url("/img.png"))])],
    )
    .await
    .unwrap();
    assert_eq!(ids, vec![vec!["file-1".to_string()]]);
    assert_eq!(srv.uploads().len(), 1);

    // Different content: a new upload.
    resolve_with(
        &att,
        &client,
        vec![user(vec![b64(MediaKind::Image, None, JPEG)])],
    )
    .await
    .unwrap();
    assert_eq!(srv.uploads().len(), 2);

    // Another GigaChat identity, or another X-Client-ID, never shares file ids.
    let other = srv.client_with("b3RoZXI6b3RoZXI=");
    let ids = resolve_with(&att, &other, vec![user(vec![same()])])
        .await
        .unwrap();
    assert_eq!(ids, vec![vec!["file-3".to_string()]]);
    let ctx = RequestContext {
        client_id: Some("end-user-42".into()),
        ..Default::default()
    };
    att.resolve(&client, &request(vec![user(vec![same()])]), &ctx)
        .await
        .unwrap();
    assert_eq!(srv.uploads().len(), 4);
}

/// Also proves that `resolve`'s future is `Send` for `tokio::spawn` (and so for axum
/// handlers): closures inside stream combinators have broken that before.
#[tokio::test]
async fn concurrent_identical_uploads_share_one() {
    let srv = TestServer::start().await;
    let att = Arc::new(Attachments::new(open_limits()).unwrap());
    let client = srv.client();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let att = att.clone();
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            resolve_with(
                &att,
                &client,
                vec![user(vec![b64(MediaKind::File, None, PDF)])],
            )
            .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), vec![vec!["file-1".to_string()]]);
    }
    assert_eq!(srv.uploads().len(), 1);
}

#[tokio::test]
async fn upload_failures_keep_their_status() {
    let srv = TestServer::start().await;
    srv.state.fail_uploads.store(true, Ordering::SeqCst);
    let att = Attachments::new(open_limits()).unwrap();
    let err = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![b64(MediaKind::File, None, PDF)])],
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProxyError::Upstream(_)), "{err:?}");
    assert_eq!(err.status().as_u16(), 413);
    // Nothing was cached: once GigaChat recovers, the file is uploaded.
    srv.state.fail_uploads.store(false, Ordering::SeqCst);
    let ids = resolve_with(
        &att,
        &srv.client(),
        vec![user(vec![b64(MediaKind::File, None, PDF)])],
    )
    .await
    .unwrap();
    assert_eq!(ids, vec![vec!["file-1".to_string()]]);
}

#[tokio::test]
async fn requests_without_media_touch_nothing() {
    let att = Attachments::new(Limits::default()).unwrap();
    let ids = resolve_with(
        &att,
        &dead_client(),
        vec![
            Message::text(Role::User, "hi"),
            Message::text(Role::Assistant, "hello"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ids, vec![Vec::<String>::new(), Vec::new()]);
}

// ---- helpers -------------------------------------------------------------------------

#[test]
fn file_names() {
    assert_eq!(file_name(None, Category::Image, "image/png"), "image.png");
    assert_eq!(
        file_name(None, Category::Document, "application/pdf"),
        "document.pdf"
    );
    assert_eq!(file_name(None, Category::Audio, "audio/x-ogg"), "audio.ogg");
    assert_eq!(
        file_name(
            Some("../../etc/report.pdf"),
            Category::Document,
            "application/pdf"
        ),
        "report.pdf"
    );
    assert_eq!(
        file_name(Some("scan"), Category::Image, "image/jpeg"),
        "scan.jpg"
    );
    assert_eq!(
        file_name(Some(".hidden"), Category::Document, "text/plain"),
        ".hidden.txt"
    );
    assert_eq!(
        file_name(Some("a\"b\n.png"), Category::Image, "image/png"),
        "ab.png"
    );
    assert_eq!(
        file_name(Some("  "), Category::Image, "image/png"),
        "image.png"
    );
}

#[test]
fn sizes_and_decoding() {
    assert_eq!(human(15 * MIB), "15 MiB");
    assert_eq!(human(MIB + MIB / 2), "1.5 MiB");
    assert_eq!(human(2048), "2048 bytes");
    // Malformed escapes pass through, as browsers do with data: URLs.
    let decoded: Vec<u8> = percent_decode_str("a%20b%zz%4").collect();
    assert_eq!(decoded, b"a b%zz%4");
    assert_eq!(
        decode_base64("aGVs\nbG8", 100, "x").unwrap(),
        Bytes::from_static(b"hello")
    );
    assert_eq!(
        decode_base64("aGVsbG8=", 100, "x").unwrap(),
        Bytes::from_static(b"hello")
    );
    assert!(decode_base64("a", 100, "x").is_err());
}

#[test]
fn attachments_is_shareable() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Attachments>();
}

#[test]
fn defaults_follow_gigachat() {
    let l = Limits::default();
    assert!(l.enable_images);
    assert_eq!(l.max_image_bytes, 15 * MIB);
    assert_eq!(l.max_audio_bytes, 35 * MIB);
    assert_eq!(l.max_text_bytes, 40 * MIB);
    assert_eq!(l.max_audio_image_total_bytes, 80 * MIB);
    assert_eq!(
        (l.max_images_per_request, l.max_images_per_message),
        (10, 1)
    );
    assert_eq!(l.max_redirects, 5);
    assert!(!l.allow_private_urls);
}

#[test]
fn stored_files_are_typed_by_modalities_then_name() {
    let file = |name: &str, modalities: Option<&[&str]>| gigachat::types::FileObject {
        id: "f".into(),
        object: "file".into(),
        bytes: 1,
        created_at: 0,
        filename: name.into(),
        purpose: "general".into(),
        access_policy: None,
        modalities: modalities.map(|m| m.iter().map(|s| s.to_string()).collect()),
    };
    let cat = |f| stored_category(&f, MediaKind::File);
    assert_eq!(cat(file("x.bin", Some(&["image"]))), Some(Category::Image));
    assert_eq!(cat(file("x.png", Some(&["audio"]))), Some(Category::Audio));
    assert_eq!(cat(file("x.pdf", None)), Some(Category::Document));
    assert_eq!(cat(file("x.png", Some(&[]))), Some(Category::Image));
    assert_eq!(cat(file("noext", None)), None);
    assert_eq!(stored_mime("a.PNG"), "image/png");
    assert_eq!(
        stored_mime("a.docx"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    assert_eq!(stored_mime("noext"), "application/octet-stream");
}
