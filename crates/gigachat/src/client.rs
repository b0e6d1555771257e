//! The GigaChat HTTP client.
//!
//! One [`Client`] is built at start-up and cloned freely (it is an `Arc`). Every call goes
//! through [`Client::send`], which owns the policy: take a connection slot, attach a token,
//! send, re-authenticate once on 401, retry transient failures with backoff — all strictly
//! before the first byte of a successful response. A stream that has started is never
//! retried; if it breaks, the caller gets [`Error::StreamInterrupted`].

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::HeaderValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::auth::{TokenCache, TokenSource};
use crate::sse::{Decoder, Frame};
use crate::types::{
    Balance, EmbeddingsRequest, EmbeddingsResponse, ErrorBody, FileDeleted, FileList, FileObject,
    Model, ModelList, TokensCount, TokensCountRequest, v1, v2,
};
use crate::{ClientConfig, Error, Secret};

/// Per-request context propagated to GigaChat as `X-Request-ID`, `X-Session-ID`,
/// `X-Client-ID`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: Option<String>,
    pub session_id: Option<String>,
    pub client_id: Option<String>,
}

/// Whom a client authenticates as (see [`Client::with_credentials`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    /// An authorization key (`base64(client_id:client_secret)`) and its OAuth scope.
    AuthorizationKey { key: Secret, scope: String },
    /// User and password against `{base_url}/token`.
    UserPassword { user: String, password: Secret },
    /// A pre-issued access token (never refreshed: a 401 is final).
    AccessToken(Secret),
}

/// A file to upload (`POST /files`).
#[derive(Debug, Clone)]
pub struct FileUpload {
    pub filename: String,
    pub mime: String,
    pub data: Bytes,
    /// `general` (default) or `assistant`.
    pub purpose: String,
}

/// Decoded v1 stream: chunks until `[DONE]`.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<v1::ChatChunk, Error>> + Send>>;
/// Decoded v2 stream: named events until `response.message.done`.
pub type ChatStreamV2 = Pin<Box<dyn Stream<Item = Result<v2::StreamEvent, Error>> + Send>>;

#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// Client for the token endpoints: same trust settings, no client certificate.
    auth_http: reqwest::Client,
    base: String,
    /// The fixed endpoints, parsed once: parsing a URL (host, IDNA, path) per request
    /// cost about 5 % of a proxied request's CPU.
    urls: Arc<Endpoints>,
    tokens: TokenCache,
    limiter: Option<Arc<Semaphore>>,
    config: ClientConfig,
    /// Attempts repeated after a retryable failure (for metrics); shared with the
    /// clients made by [`Client::with_credentials`].
    retries: Arc<AtomicU64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// GigaChat's fixed endpoints under the base URL.
struct Endpoints {
    chat: Url,
    chat_v2: Url,
    embeddings: Url,
    models: Url,
    tokens_count: Url,
    balance: Url,
    files: Url,
}

impl Endpoints {
    fn new(base: &str, parsed: &Url) -> Result<Self, Error> {
        Ok(Self {
            chat: under(base, "chat/completions")?,
            chat_v2: v2_chat_url(parsed),
            embeddings: under(base, "embeddings")?,
            models: under(base, "models")?,
            tokens_count: under(base, "tokens/count")?,
            balance: under(base, "balance")?,
            files: under(base, "files")?,
        })
    }
}

/// `path` under the base URL (which was validated, so only a malformed id in a path
/// could fail here).
fn under(base: &str, path: &str) -> Result<Url, Error> {
    let url = format!("{base}/{path}");
    Url::parse(&url).map_err(|e| Error::Config(format!("invalid GigaChat URL {url:?}: {e}")))
}

enum Body {
    Empty,
    Json(Bytes),
    Multipart(FileUpload),
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let base = config.base_url.trim_end_matches('/').to_string();
        let parsed =
            Url::parse(&base).map_err(|e| Error::Config(format!("invalid base_url: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config("base_url must be http or https".into()));
        }
        let urls = Arc::new(Endpoints::new(&base, &parsed)?);
        let http = build_http(&config, true)?;
        let auth_http = build_http(&config, false)?;
        let source = if let Some(credentials) = config.credentials.clone() {
            TokenSource::OAuth {
                url: config.auth_url.clone(),
                credentials,
                scope: config.scope.clone(),
            }
        } else if let (Some(user), Some(password)) = (config.user.clone(), config.password.clone())
        {
            TokenSource::Password {
                url: format!("{base}/token"),
                user,
                password,
            }
        } else {
            TokenSource::Fixed
        };
        let tokens = TokenCache::new(
            source,
            config.access_token.as_ref(),
            config.token_expiry_buffer_ms,
            Arc::new(AtomicU64::new(0)),
            false,
        )?;
        let limiter = config
            .max_connections
            .filter(|n| *n > 0)
            .map(|n| Arc::new(Semaphore::new(n)));
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                auth_http,
                base,
                urls,
                tokens,
                limiter,
                config,
                retries: Arc::new(AtomicU64::new(0)),
            }),
        })
    }

    /// A client that authenticates as `credentials` instead, sharing this client's
    /// connection pool, trust settings, connection cap, timeouts and retry policy, with a
    /// token cache of its own.
    ///
    /// It never presents this client's mTLS certificate: the certificate is an identity
    /// too, and belongs to whoever configured this client. Its [`Client::config`] shows
    /// the new identity (credentials, scope, user, password, access token) and no
    /// certificate.
    pub fn with_credentials(&self, credentials: Credentials) -> Result<Self, Error> {
        let base = &self.inner.base;
        let mut config = self.inner.config.clone();
        config.credentials = None;
        config.user = None;
        config.password = None;
        config.access_token = None;
        config.cert_file = None;
        config.key_file = None;
        config.key_file_password = None;
        let source = match credentials {
            Credentials::AuthorizationKey { key, scope } => {
                config.credentials = Some(key.clone());
                config.scope = scope.clone();
                TokenSource::OAuth {
                    url: config.auth_url.clone(),
                    credentials: key,
                    scope,
                }
            }
            Credentials::UserPassword { user, password } => {
                config.user = Some(user.clone());
                config.password = Some(password.clone());
                TokenSource::Password {
                    url: format!("{base}/token"),
                    user,
                    password,
                }
            }
            Credentials::AccessToken(token) => {
                config.access_token = Some(token);
                TokenSource::Fixed
            }
        };
        let tokens = TokenCache::new(
            source,
            config.access_token.as_ref(),
            config.token_expiry_buffer_ms,
            self.inner.tokens.family(),
            true,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                // The certificate-free client: same pool for every such identity.
                http: self.inner.auth_http.clone(),
                auth_http: self.inner.auth_http.clone(),
                base: base.clone(),
                urls: self.inner.urls.clone(),
                tokens,
                limiter: self.inner.limiter.clone(),
                config,
                retries: self.inner.retries.clone(),
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// How many token requests this client has made (for metrics and tests).
    pub fn token_fetches(&self) -> u64 {
        self.inner.tokens.fetches()
    }

    /// Token requests of this client and of every client made from it by
    /// [`Client::with_credentials`] (for metrics).
    pub fn token_fetches_all(&self) -> u64 {
        self.inner.tokens.family_fetches()
    }

    /// How many times this client (and the clients made from it by
    /// [`Client::with_credentials`]) retried a request after a retryable failure (for
    /// metrics and tests).
    pub fn retries(&self) -> u64 {
        self.inner.retries.load(Ordering::Relaxed)
    }

    /// Makes sure a token is cached (fetching one if needed). Useful at start-up.
    pub async fn authenticate(&self) -> Result<(), Error> {
        self.token().await.map(|_| ())
    }

    async fn token(&self) -> Result<Option<Arc<crate::auth::Token>>, Error> {
        let i = &self.inner;
        i.tokens
            .get(&i.auth_http, &i.config.user_agent, i.config.timeout)
            .await
    }

    // ---- chat -------------------------------------------------------------------------

    /// v1 chat, non-streaming.
    pub async fn chat(
        &self,
        request: &v1::ChatRequest,
        ctx: &RequestContext,
    ) -> Result<v1::ChatResponse, Error> {
        let body = encode_v1(request, request.stream)?;
        self.json(
            http::Method::POST,
            &self.inner.urls.chat,
            Body::Json(body),
            ctx,
        )
        .await
    }

    /// v1 chat, streaming. `request.stream` is forced on.
    pub async fn chat_stream(
        &self,
        request: &v1::ChatRequest,
        ctx: &RequestContext,
    ) -> Result<ChatStream, Error> {
        let body = encode_v1(request, true)?;
        let frames = self.sse(&self.inner.urls.chat, body, ctx).await?;
        Ok(Box::pin(Decoded::<V1>::new(frames)))
    }

    /// v2 chat, non-streaming.
    pub async fn chat_v2(
        &self,
        request: &v2::ChatRequest,
        ctx: &RequestContext,
    ) -> Result<v2::ChatResponse, Error> {
        let url = &self.inner.urls.chat_v2;
        self.json(http::Method::POST, url, Body::Json(to_json(request)?), ctx)
            .await
    }

    /// v2 chat, streaming (named events). `request.stream` is forced on.
    pub async fn chat_v2_stream(
        &self,
        request: &v2::ChatRequest,
        ctx: &RequestContext,
    ) -> Result<ChatStreamV2, Error> {
        let body = streaming_body(request, request.stream, |r| r.stream = true)?;
        let frames = self.sse(&self.inner.urls.chat_v2, body, ctx).await?;
        Ok(Box::pin(Decoded::<V2>::new(frames)))
    }

    // ---- other resources --------------------------------------------------------------

    pub async fn embeddings(
        &self,
        request: &EmbeddingsRequest,
        ctx: &RequestContext,
    ) -> Result<EmbeddingsResponse, Error> {
        let url = &self.inner.urls.embeddings;
        self.json(http::Method::POST, url, Body::Json(to_json(request)?), ctx)
            .await
    }

    pub async fn models(&self, ctx: &RequestContext) -> Result<ModelList, Error> {
        let url = &self.inner.urls.models;
        self.json(http::Method::GET, url, Body::Empty, ctx).await
    }

    pub async fn model(&self, id: &str, ctx: &RequestContext) -> Result<Model, Error> {
        let url = under(&self.inner.base, &format!("models/{}", path_segment(id)))?;
        self.json(http::Method::GET, &url, Body::Empty, ctx).await
    }

    pub async fn tokens_count(
        &self,
        request: &TokensCountRequest,
        ctx: &RequestContext,
    ) -> Result<Vec<TokensCount>, Error> {
        let url = &self.inner.urls.tokens_count;
        self.json(http::Method::POST, url, Body::Json(to_json(request)?), ctx)
            .await
    }

    pub async fn balance(&self, ctx: &RequestContext) -> Result<Balance, Error> {
        let url = &self.inner.urls.balance;
        self.json(http::Method::GET, url, Body::Empty, ctx).await
    }

    pub async fn upload_file(
        &self,
        file: FileUpload,
        ctx: &RequestContext,
    ) -> Result<FileObject, Error> {
        let url = &self.inner.urls.files;
        self.json(http::Method::POST, url, Body::Multipart(file), ctx)
            .await
    }

    pub async fn list_files(&self, ctx: &RequestContext) -> Result<FileList, Error> {
        let url = &self.inner.urls.files;
        self.json(http::Method::GET, url, Body::Empty, ctx).await
    }

    pub async fn get_file(&self, id: &str, ctx: &RequestContext) -> Result<FileObject, Error> {
        let url = under(&self.inner.base, &format!("files/{}", path_segment(id)))?;
        self.json(http::Method::GET, &url, Body::Empty, ctx).await
    }

    pub async fn delete_file(&self, id: &str, ctx: &RequestContext) -> Result<FileDeleted, Error> {
        let url = under(
            &self.inner.base,
            &format!("files/{}/delete", path_segment(id)),
        )?;
        self.json(http::Method::POST, &url, Body::Empty, ctx).await
    }

    /// Raw bytes of a stored file (e.g. a generated image).
    pub async fn file_content(&self, id: &str, ctx: &RequestContext) -> Result<Bytes, Error> {
        let url = under(
            &self.inner.base,
            &format!("files/{}/content", path_segment(id)),
        )?;
        let timeout = self.inner.config.timeout;
        let (response, _permit) = self
            .send(http::Method::GET, &url, &Body::Empty, ctx, false)
            .await?;
        response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(e, timeout))
    }

    // ---- plumbing ---------------------------------------------------------------------

    async fn json<T: DeserializeOwned>(
        &self,
        method: http::Method,
        url: &Url,
        body: Body,
        ctx: &RequestContext,
    ) -> Result<T, Error> {
        let timeout = self.inner.config.timeout;
        let (response, _permit) = self.send(method, url, &body, ctx, false).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(e, timeout))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    async fn sse(&self, url: &Url, body: Bytes, ctx: &RequestContext) -> Result<SseFrames, Error> {
        let (response, permit) = self
            .send(http::Method::POST, url, &Body::Json(body), ctx, true)
            .await?;
        Ok(SseFrames {
            body: Box::pin(response.bytes_stream()),
            decoder: Decoder::new(),
            finished: false,
            timeout: self.inner.config.timeout,
            _permit: permit,
        })
    }

    /// Sends one logical request: connection slot, token, one re-auth on 401, retries on
    /// transient failures — all before the first byte of a successful response.
    async fn send(
        &self,
        method: http::Method,
        url: &Url,
        body: &Body,
        ctx: &RequestContext,
        stream: bool,
    ) -> Result<(reqwest::Response, Option<OwnedSemaphorePermit>), Error> {
        let cfg = &self.inner.config;
        let mut attempt: u32 = 0;
        let mut reauthenticated = false;
        loop {
            let permit = match &self.inner.limiter {
                Some(s) => Some(
                    s.clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| Error::Config("connection limiter closed".into()))?,
                ),
                None => None,
            };
            let token = match self.token().await {
                Ok(t) => t,
                Err(e) => {
                    if let Some(delay) = self.retry_delay(&e, attempt) {
                        drop(permit);
                        attempt += 1;
                        self.inner.retries.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(attempt, error = %e, "retrying GigaChat token request");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(e);
                }
            };
            let request = self.build(method.clone(), url, body, ctx, token.as_deref(), stream)?;
            let outcome = match tokio::time::timeout(cfg.timeout, request.send()).await {
                Err(_) => Err(Error::Timeout(cfg.timeout)),
                Ok(Err(e)) => Err(Error::from_reqwest(e, cfg.timeout)),
                Ok(Ok(response)) => Ok(response),
            };
            let error = match outcome {
                Ok(response) if response.status().is_success() => {
                    if stream && !is_event_stream(response.headers()) {
                        let ct = response
                            .headers()
                            .get(http::header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("none")
                            .to_string();
                        Error::Decode(format!(
                            "expected a text/event-stream answer, got content-type {ct}"
                        ))
                    } else {
                        return Ok((response, permit));
                    }
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    if status == 401 && !reauthenticated && self.inner.tokens.can_refresh() {
                        if let Some(t) = &token {
                            self.inner.tokens.invalidate(t);
                        }
                        reauthenticated = true;
                        drop(permit);
                        tracing::debug!("GigaChat answered 401; re-authenticating once");
                        continue;
                    }
                    let body = response.bytes().await.unwrap_or_default();
                    Error::from_response(status, &headers, &body)
                }
                Err(e) => e,
            };
            drop(permit);
            match self.retry_delay(&error, attempt) {
                Some(delay) => {
                    attempt += 1;
                    self.inner.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(attempt, ?delay, error = %error, "retrying GigaChat request");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(error),
            }
        }
    }

    /// The delay before the next attempt, or `None` if `error` is final.
    fn retry_delay(&self, error: &Error, attempt: u32) -> Option<Duration> {
        let cfg = &self.inner.config;
        if attempt >= cfg.max_retries {
            return None;
        }
        let retryable = match error {
            Error::Api { status, .. } | Error::Auth { status, .. } => {
                cfg.retry_on_status_codes.contains(status)
            }
            Error::Timeout(_) | Error::Connect(_) | Error::Decode(_) => true,
            Error::StreamInterrupted(_) | Error::Config(_) => false,
        };
        if !retryable {
            return None;
        }
        if let Some(after) = error.retry_after() {
            return Some(after.min(Duration::from_secs(60)));
        }
        let base = cfg.retry_backoff_factor.max(0.0) * 2f64.powi(attempt.min(30) as i32);
        let jitter = rand::random::<f64>() * 0.5;
        Some(Duration::from_secs_f64((base + jitter).min(60.0)))
    }

    fn build(
        &self,
        method: http::Method,
        url: &Url,
        body: &Body,
        ctx: &RequestContext,
        token: Option<&crate::auth::Token>,
        stream: bool,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let mut rb = self
            .inner
            .http
            .request(method, url.clone())
            .header(http::header::USER_AGENT, &self.inner.config.user_agent);
        if let Some(t) = token {
            rb = rb.header(http::header::AUTHORIZATION, t.header.clone());
        }
        for (name, value) in [
            ("X-Request-ID", &ctx.request_id),
            ("X-Session-ID", &ctx.session_id),
            ("X-Client-ID", &ctx.client_id),
        ] {
            if let Some(v) = value
                && let Ok(v) = HeaderValue::from_str(v)
            {
                rb = rb.header(name, v);
            }
        }
        if stream {
            rb = rb
                .header(http::header::ACCEPT, "text/event-stream")
                .header(http::header::CACHE_CONTROL, "no-store");
        } else {
            rb = rb.header(http::header::ACCEPT, "application/json");
        }
        rb = match body {
            Body::Empty => rb,
            Body::Json(bytes) => rb
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Multipart(file) => {
                let part = reqwest::multipart::Part::stream_with_length(
                    file.data.clone(),
                    file.data.len() as u64,
                )
                .file_name(file.filename.clone())
                .mime_str(&file.mime)
                .map_err(|_| Error::Config(format!("invalid MIME type {:?}", file.mime)))?;
                let purpose = if file.purpose.is_empty() {
                    "general".to_string()
                } else {
                    file.purpose.clone()
                };
                rb.multipart(
                    reqwest::multipart::Form::new()
                        .text("purpose", purpose)
                        .part("file", part),
                )
            }
        };
        Ok(rb)
    }
}

/// The body of a streaming request: `request` as is when it already asks for a stream,
/// otherwise a copy with streaming switched on.
fn streaming_body<T: Serialize + Clone>(
    request: &T,
    already: bool,
    switch_on: impl FnOnce(&mut T),
) -> Result<Bytes, Error> {
    if already {
        return to_json(request);
    }
    let mut r = request.clone();
    switch_on(&mut r);
    to_json(&r)
}

/// A v1 chat request as JSON with `stream` set as given (copied only when it differs).
///
/// A plain function, never inlined: the async methods above are compiled in the calling
/// crate (their futures are generic instances), this one here — optimised even in the
/// dev profile (see the workspace `Cargo.toml`), where encoding the megabytes of a long
/// conversation unoptimised takes the better part of a second.
#[inline(never)]
fn encode_v1(request: &v1::ChatRequest, stream: bool) -> Result<Bytes, Error> {
    if request.stream == stream {
        return to_json(request);
    }
    let mut copy = request.clone();
    copy.stream = stream;
    to_json(&copy)
}

fn to_json<T: Serialize>(value: &T) -> Result<Bytes, Error> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| Error::Decode(format!("cannot encode request: {e}")))
}

fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn is_event_stream(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

/// The SDK's rule: a base path ending in `/v<N>` → `/v2/chat/completions` on the same
/// origin; otherwise `{base}/chat/completions`.
fn v2_chat_url(base: &Url) -> Url {
    let path = base.path().trim_end_matches('/');
    let (head, last) = path.rsplit_once('/').unwrap_or(("", path));
    let is_version =
        last.len() > 1 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit());
    let mut url = base.clone();
    if is_version {
        url.set_path(&format!("{head}/v2/chat/completions"));
    } else {
        url.set_path(&format!("{path}/chat/completions"));
    }
    url
}

fn build_http(cfg: &ClientConfig, with_identity: bool) -> Result<reqwest::Client, Error> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(cfg.timeout)
        .read_timeout(cfg.timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_keepalive(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .use_rustls_tls();
    if let Some(n) = cfg.max_connections.filter(|n| *n > 0) {
        b = b.pool_max_idle_per_host(n);
    }
    if !cfg.verify_ssl_certs {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(path) = &cfg.ca_bundle_file {
        let pem = std::fs::read(path)
            .map_err(|e| Error::Config(format!("cannot read CA bundle {}: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| Error::Config(format!("invalid CA bundle {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(Error::Config(format!(
                "CA bundle {} holds no certificate",
                path.display()
            )));
        }
        for cert in certs {
            b = b.add_root_certificate(cert);
        }
    }
    if with_identity {
        match (&cfg.cert_file, &cfg.key_file) {
            (Some(cert), Some(key)) => {
                b = b.identity(crate::tls::identity(
                    cert,
                    key,
                    cfg.key_file_password.as_ref(),
                )?);
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::Config(
                    "mTLS needs both cert_file and key_file".into(),
                ));
            }
            (None, None) => {}
        }
    }
    b.build()
        .map_err(|e| Error::Config(format!("cannot build HTTP client: {}", e.without_url())))
}

// ---- stream adapters ----------------------------------------------------------------------

/// Raw SSE frames from a response body, with the connection slot held until the end.
struct SseFrames {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    decoder: Decoder,
    finished: bool,
    timeout: Duration,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Stream for SseFrames {
    type Item = Result<Frame, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match this.decoder.next_frame() {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) => {}
                Err(e) => {
                    this.finished = true;
                    return Poll::Ready(Some(Err(Error::StreamInterrupted(e.to_string()))));
                }
            }
            if this.finished {
                return Poll::Ready(None);
            }
            match this.body.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(bytes))) => this.decoder.push(&bytes),
                Poll::Ready(Some(Err(e))) => {
                    this.finished = true;
                    let err = match Error::from_reqwest(e, this.timeout) {
                        Error::Connect(m) | Error::Decode(m) => Error::StreamInterrupted(m),
                        other => other,
                    };
                    return Poll::Ready(Some(Err(err)));
                }
                Poll::Ready(None) => {
                    this.finished = true;
                    if let Err(e) = this.decoder.finish() {
                        return Poll::Ready(Some(Err(Error::StreamInterrupted(e.to_string()))));
                    }
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A JSON frame that is not the expected chunk may be an in-band error body.
fn frame_error(data: &[u8], err: serde_json::Error) -> Error {
    match serde_json::from_slice::<ErrorBody>(data) {
        Ok(b) if !b.message.is_empty() => Error::Api {
            status: b.status.unwrap_or(500),
            message: b.message,
            code: b.code,
            retry_after: None,
            request_id: None,
        },
        _ => Error::Decode(format!("stream chunk: {err}")),
    }
}

/// A frame's data as text, validated once: parsing from `&str` then spares serde_json
/// a UTF-8 check of every string and key (a measurable share of a stream's CPU).
fn frame_text(data: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(data).map_err(|e| Error::Decode(format!("stream chunk: {e}")))
}

/// What one SSE frame means in a chat stream.
enum Step<T> {
    /// Not part of the answer (an empty or unnamed frame).
    Skip,
    Item(T),
    /// The final item (v2's `response.message.done`).
    Last(T),
    /// The terminator (v1's `[DONE]`).
    End,
}

/// The framing of one chat contract: how frames become items, and what ends a stream.
trait Framing {
    type Item;
    /// Named in the error when the connection ends before it.
    const TERMINATOR: &'static str;
    fn decode(frame: Frame) -> Result<Step<Self::Item>, Error>;
}

/// v1: `data:` frames of chunks, ending with `data: [DONE]`.
struct V1;

impl Framing for V1 {
    type Item = v1::ChatChunk;
    const TERMINATOR: &'static str = "[DONE]";

    fn decode(frame: Frame) -> Result<Step<Self::Item>, Error> {
        let data = frame.data.trim_ascii();
        if data.is_empty() {
            return Ok(Step::Skip);
        }
        if data == b"[DONE]" {
            return Ok(Step::End);
        }
        serde_json::from_str(frame_text(data)?)
            .map(Step::Item)
            .map_err(|e| frame_error(data, e))
    }
}

/// v2: named events, the last one `response.message.done`; no terminator line.
struct V2;

impl Framing for V2 {
    type Item = v2::StreamEvent;
    const TERMINATOR: &'static str = v2::event::MESSAGE_DONE;

    fn decode(frame: Frame) -> Result<Step<Self::Item>, Error> {
        // The SDK drops frames without an event name; so do we.
        let Some(event) = frame.event else {
            return Ok(Step::Skip);
        };
        let data = frame.data.trim_ascii();
        let payload: v2::ChatResponse =
            serde_json::from_str(frame_text(data)?).map_err(|e| frame_error(data, e))?;
        let last = event == v2::event::MESSAGE_DONE;
        let item = v2::StreamEvent {
            event,
            data: payload,
        };
        Ok(if last {
            Step::Last(item)
        } else {
            Step::Item(item)
        })
    }
}

/// A decoded chat stream: items until the framing's end; a connection that ends earlier
/// is [`Error::StreamInterrupted`], never a clean end.
struct Decoded<F> {
    frames: SseFrames,
    done: bool,
    framing: std::marker::PhantomData<fn() -> F>,
}

impl<F> Decoded<F> {
    fn new(frames: SseFrames) -> Self {
        Self {
            frames,
            done: false,
            framing: std::marker::PhantomData,
        }
    }
}

impl<F: Framing> Stream for Decoded<F> {
    type Item = Result<F::Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            let step = match self.frames.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => F::decode(frame),
                Poll::Ready(Some(Err(e))) => Err(e),
                Poll::Ready(None) => Err(Error::StreamInterrupted(format!(
                    "the stream ended before {}",
                    F::TERMINATOR
                ))),
            };
            return match step {
                Ok(Step::Skip) => continue,
                Ok(Step::Item(item)) => Poll::Ready(Some(Ok(item))),
                Ok(Step::Last(item)) => {
                    self.done = true;
                    Poll::Ready(Some(Ok(item)))
                }
                Ok(Step::End) => {
                    self.done = true;
                    Poll::Ready(None)
                }
                Err(e) => {
                    self.done = true;
                    Poll::Ready(Some(Err(e)))
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_url_follows_the_sdk_rule() {
        let u = |s: &str| v2_chat_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            u("https://gigachat.devices.sberbank.ru/api/v1"),
            "https://gigachat.devices.sberbank.ru/api/v2/chat/completions"
        );
        assert_eq!(
            u("https://api.giga.chat/v1"),
            "https://api.giga.chat/v2/chat/completions"
        );
        assert_eq!(
            u("http://127.0.0.1:9/custom"),
            "http://127.0.0.1:9/custom/chat/completions"
        );
    }

    #[test]
    fn ids_are_escaped_in_paths() {
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }
}
