//! The connection loop: accepts connections up to a cap, serves each with hyper (HTTP/1.1
//! and HTTP/2), and closes the ones that hold resources without using them.
//!
//! * **Protocol**: a plain connection speaks HTTP/2 when its first bytes are HTTP/2's
//!   preface (peeked, not read: h2c with prior knowledge); a TLS connection when ALPN
//!   chose `h2`. Either way hyper's HTTP/1.1 or HTTP/2 server then reads the socket
//!   itself from its first byte.
//! * **Connection cap** (`--proxy.max-connections`): past it, a new connection gets a
//!   plain `503` with `Retry-After: 1` and is closed, instead of queuing unseen.
//! * **Header-read timeout** (`--proxy.header-read-timeout-secs`): a connection that has
//!   started sending a request must finish its head within this, or it is closed (a
//!   client sending half a header cannot hold a connection).
//! * **Idle keep-alive timeout** (`--proxy.keepalive-timeout-secs`): a connection with
//!   no request in flight and no bytes arriving is closed after this. A request is in
//!   flight from its head until its response body has been sent (or dropped), so a long
//!   quiet stream is never cut.
//! * **Panics**: a handler that panics answers `500` (in the OpenAI error shape) and is
//!   logged; the other requests and streams on the server are untouched (release builds
//!   unwind for this: `panic = "unwind"` in the workspace profile).
//! * **Graceful shutdown**: on the signal, accepting stops, idle connections close, and
//!   in-flight requests get the grace period to finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::http::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;

/// Per-connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub keepalive_timeout: Duration,
}

impl Limits {
    /// The limits `settings` configure.
    pub fn from_settings(p: &crate::config::ProxySettings) -> Self {
        let secs = |s: f64, default: u64| {
            Duration::try_from_secs_f64(s).unwrap_or(Duration::from_secs(default))
        };
        Self {
            max_connections: p.max_connections,
            header_read_timeout: secs(p.header_read_timeout_secs, 30),
            keepalive_timeout: secs(p.keepalive_timeout_secs, 75),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(75),
        }
    }
}

/// A source of connections (plain TCP or finished TLS streams).
pub trait Accept: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Protocol + Unpin + Send + 'static;
    fn accept(&mut self) -> impl Future<Output = (Self::Io, SocketAddr)> + Send;
}

/// Which HTTP a new connection speaks.
///
/// Decided before hyper reads anything, so hyper's own read buffer receives the request
/// whole. (hyper-util's auto-detecting server reads the first 24 bytes aside and replays
/// them: hyper's first read then returns 24 bytes, and topping its 8 KiB buffer back up
/// doubles it — 16 KiB held by every keep-alive connection.)
pub trait Protocol {
    /// `Ok(true)` for HTTP/2. `header_read_timeout` bounds a client that stops inside
    /// the first bytes; a connection that closes first is `Ok(false)` (HTTP/1.1 then
    /// sees the end of input).
    fn is_http2(
        &self,
        header_read_timeout: Duration,
    ) -> impl Future<Output = std::io::Result<bool>> + Send;
}

/// HTTP/2's connection preface (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the first bytes of a plain connection say: `Some(true)` for the HTTP/2
/// preface, `Some(false)` for anything else, `None` until more bytes arrive. `PRI ` is
/// enough: no HTTP/1.1 method is named `PRI` (the preface was chosen to be one).
fn preface_says_http2(first: &[u8]) -> Option<bool> {
    let n = first.len().min(H2_PREFACE.len());
    if first[..n] != H2_PREFACE[..n] {
        return Some(false);
    }
    (n >= 4).then_some(true)
}

impl Protocol for tokio::net::TcpStream {
    async fn is_http2(&self, header_read_timeout: Duration) -> std::io::Result<bool> {
        let mut first = [0u8; 4];
        let mut since = None;
        loop {
            let n = self.peek(&mut first).await?;
            if n == 0 {
                return Ok(false);
            }
            if let Some(http2) = preface_says_http2(&first[..n]) {
                return Ok(http2);
            }
            // One to three bytes of `PRI `: `peek` returns at once while they wait in
            // the socket, so poll gently until the rest arrives or the head times out.
            let since = *since.get_or_insert_with(tokio::time::Instant::now);
            if since.elapsed() >= header_read_timeout {
                return Err(std::io::ErrorKind::TimedOut.into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Protocol for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {
    async fn is_http2(&self, _: Duration) -> std::io::Result<bool> {
        Ok(self.get_ref().1.alpn_protocol() == Some(b"h2"))
    }
}

impl Accept for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            match tokio::net::TcpListener::accept(self).await {
                Ok((tcp, addr)) => {
                    let _ = tcp.set_nodelay(true);
                    return (tcp, addr);
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl Accept for super::tls::TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        axum::serve::Listener::accept(self).await
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains for up to `grace`.
pub async fn serve<L: Accept>(
    mut listener: L,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app = app
        .layer(axum::Extension(super::ShuttingDown(stop_rx.clone())))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let open = Arc::new(AtomicUsize::new(0));
    let drained = Arc::new(Notify::new());
    tokio::pin!(shutdown);
    loop {
        let (io, addr) = tokio::select! {
            conn = listener.accept() => conn,
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(io, limits.max_connections));
            continue;
        };
        open.fetch_add(1, Ordering::AcqRel);
        let (app, open, drained, stop) =
            (app.clone(), open.clone(), drained.clone(), stop_rx.clone());
        tokio::spawn(async move {
            serve_connection(io, addr, app, limits, stop).await;
            drop(permit);
            if open.fetch_sub(1, Ordering::AcqRel) == 1 {
                drained.notify_waiters();
            }
        });
    }
    tracing::info!(
        grace_secs = grace.as_secs_f64(),
        "shutting down: draining in-flight requests"
    );
    let _ = stop_tx.send(true);
    let wait = async {
        loop {
            let notified = drained.notified();
            if open.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    };
    if tokio::time::timeout(grace, wait).await.is_err() {
        tracing::warn!("shutdown deadline reached; closing remaining connections");
    }
}

/// What a connection is doing, shared by its I/O, its requests and its watchdog.
struct Watch {
    /// Requests between their head and the end of their response body.
    in_flight: AtomicUsize,
    /// Bytes arrived while no request was in flight (a head is being sent).
    reading_head: AtomicBool,
    /// Milliseconds since `epoch` of the last change of the above.
    changed_ms: AtomicU64,
    epoch: tokio::time::Instant,
    changed: Notify,
}

impl Watch {
    fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.changed_ms.store(ms, Ordering::Release);
        self.changed.notify_one();
    }

    /// When the connection must be closed unless something changes; `None` while a
    /// request is in flight.
    fn deadline(&self, limits: &Limits) -> Option<tokio::time::Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = self.epoch + Duration::from_millis(self.changed_ms.load(Ordering::Acquire));
        Some(if self.reading_head.load(Ordering::Acquire) {
            since + limits.header_read_timeout
        } else {
            since + limits.keepalive_timeout
        })
    }
}

async fn serve_connection<I>(
    io: I,
    addr: SocketAddr,
    app: Router,
    limits: Limits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Protocol + Unpin + Send + 'static,
{
    // A connection that sends nothing is idle; one that stops inside its first bytes
    // is reading a head (its own timeout, inside `is_http2`).
    let http2 = tokio::select! {
        r = io.is_http2(limits.header_read_timeout) => match r {
            Ok(http2) => http2,
            Err(e) => {
                tracing::debug!(peer = %addr, error = %e, "closing connection before its first request");
                return;
            }
        },
        () = tokio::time::sleep(limits.keepalive_timeout) => {
            tracing::debug!(peer = %addr, reason = "idle keep-alive timeout", "closing connection");
            return;
        }
        // Shutting down (or already, when this connection was accepted): nothing to drain.
        _ = stop.wait_for(|stopping| *stopping) => return,
    };
    let watch = Arc::new(Watch {
        in_flight: AtomicUsize::new(0),
        reading_head: AtomicBool::new(false),
        changed_ms: AtomicU64::new(0),
        epoch: tokio::time::Instant::now(),
        changed: Notify::new(),
    });
    let io = TokioIo::new(Watched {
        inner: io,
        watch: watch.clone(),
    });
    let service = {
        let watch = watch.clone();
        hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            let (app, watch) = (app.clone(), watch.clone());
            async move {
                watch.in_flight.fetch_add(1, Ordering::AcqRel);
                watch.reading_head.store(false, Ordering::Release);
                watch.touch();
                let guard = InFlight(watch);
                req.extensions_mut().insert(ConnectInfo(addr));
                let response = app.oneshot(req.map(Body::new)).await?;
                Ok::<_, Infallible>(response.map(|b| {
                    Body::new(Guarded {
                        inner: b,
                        _guard: guard,
                    })
                }))
            }
        })
    };
    if http2 {
        let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(io, service);
        // Boxed: an HTTP/2 connection's state is larger than an HTTP/1 one's, and inline it
        // sized every connection's task for it (3.9 KB instead of 2.2 KB per connection).
        Box::pin(drive(conn, addr, &watch, limits, stop)).await;
    } else {
        // The watchdog below owns header and idle timeouts (hyper's own header timer
        // would also close idle keep-alive connections at its value).
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            .serve_connection(io, service);
        drive(conn, addr, &watch, limits, stop).await;
    }
}

/// Runs `conn` to its end, shutting it down gracefully on `stop` and closing it when the
/// watchdog's deadline passes.
async fn drive<C>(
    conn: C,
    addr: SocketAddr,
    watch: &Watch,
    limits: Limits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    tokio::pin!(conn);
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        let deadline = watch.deadline(&limits);
        let expire = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(peer = %addr, error = %e, "connection ended with an error");
                }
                return;
            }
            () = watch.changed.notified() => {}
            r = stop.changed(), if !stopping => {
                stopping = true;
                if r.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = expire => {
                // Re-check: a request may have started in the meantime.
                if watch.deadline(&limits).is_some_and(|d| d <= tokio::time::Instant::now()) {
                    let why = if watch.reading_head.load(Ordering::Acquire) {
                        "header read timeout"
                    } else {
                        "idle keep-alive timeout"
                    };
                    tracing::debug!(peer = %addr, reason = why, "closing connection");
                    return;
                }
            }
        }
    }
}

/// Marks a request finished when its response body is done or dropped.
struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.touch();
    }
}

/// A response body that holds its request's [`InFlight`] mark.
struct Guarded {
    inner: Body,
    _guard: InFlight,
}

impl hyper::body::Body for Guarded {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's I/O, noting when bytes arrive between requests.
struct Watched<I> {
    inner: I,
    watch: Arc<Watch>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before
            && self.watch.in_flight.load(Ordering::Acquire) == 0
            && !self.watch.reading_head.swap(true, Ordering::AcqRel)
        {
            self.watch.touch();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Past the connection cap: a short 503 and close.
async fn refuse<I: AsyncWrite + Unpin>(mut io: I, max: usize) {
    use tokio::io::AsyncWriteExt;
    tracing::warn!(
        max_connections = max,
        "connection cap reached: refusing a connection"
    );
    let body = format!(
        r#"{{"error":{{"message":"the proxy is at its connection limit ({max}, --proxy.max-connections); retry shortly","type":"server_error","param":null,"code":"overloaded"}}}}"#
    );
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let write = async {
        io.write_all(head.as_bytes()).await?;
        io.write_all(body.as_bytes()).await?;
        io.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
}

/// A handler panicked: a 500 in the OpenAI error shape (the dialect cannot be known
/// here), logged at error.
fn panicked(err: Box<dyn std::any::Any + Send + 'static>) -> Response<String> {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "a request handler panicked");
    let mut r = Response::new(
        r#"{"error":{"message":"internal error: the proxy failed while handling this request","type":"server_error","param":null,"code":null}}"#
            .to_string(),
    );
    *r.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_decide_the_protocol() {
        assert_eq!(preface_says_http2(H2_PREFACE), Some(true));
        assert_eq!(preface_says_http2(b"PRI "), Some(true));
        // POST, PUT and PATCH share the `P`: undecided until a byte differs.
        for undecided in [&b"P"[..], b"PR", b"PRI"] {
            assert_eq!(preface_says_http2(undecided), None, "{undecided:?}");
        }
        for http1 in [
            &b"POST /v1/chat"[..],
            b"PUT",
            b"PATCH",
            b"GET /",
            b"PRX",
            b"\x16\x03",
        ] {
            assert_eq!(preface_says_http2(http1), Some(false), "{http1:?}");
        }
    }
}
