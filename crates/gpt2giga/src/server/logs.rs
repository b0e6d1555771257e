//! Log endpoints (DEV mode only; absent in PROD):
//!
//! * `GET /logs/{n}` (and `GET /logs?lines=n`, as in the Python proxy) — the last `n`
//!   lines of the log file as text (at most [`MAX_LINES`]; read backwards from the end,
//!   continuing into the newest rotated file when the current one is short);
//! * `GET /logs/stream` — Server-Sent Events, one `data:` line per new log line, fed by
//!   the in-process broadcast of [`crate::logging::subscribe`] (so rotation does not
//!   matter); `: keep-alive` comments every [`KEEP_ALIVE`]; ends when the client goes
//!   away or the server shuts down;
//! * `GET /logs/html` — a self-contained viewer page (no external resources) that asks
//!   for the API key and shows the live stream.
//!
//! The data endpoints sit behind the proxy API key when it is on. The page itself holds
//! no data and must load in a browser that cannot send headers, so it is served without
//! the key (the key is typed into it and sent as `x-api-key` by its script). All of them
//! honour `--proxy.logs-ip-allowlist` (IPs and CIDRs), checked against the TCP peer
//! address only — never `X-Forwarded-For`, which any client can forge.

use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::server::ShuttingDown;

/// The most lines `/logs/{n}` returns.
pub(crate) const MAX_LINES: usize = 10_000;
/// The most bytes read from the end of a log file for one `/logs/{n}`.
const MAX_TAIL_BYTES: u64 = 16 * 1024 * 1024;
/// Silence after which the stream sends a keep-alive comment.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Lines sent in one chunk at most when the log is busy.
const BATCH: usize = 256;

const VIEWER: &str = include_str!("../../assets/logs.html");

/// Routes that serve log data (behind the API key).
pub(crate) fn data_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/logs", get(tail_query))
        .route("/logs/stream", get(stream))
        .route("/logs/{n}", get(tail))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(state.config().proxy.logs_allowlist()),
            check_allowlist,
        ))
}

/// The viewer page (no key needed to load it; see the module docs).
pub(crate) fn page_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/logs/html", get(html))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(state.config().proxy.logs_allowlist()),
            check_allowlist,
        ))
}

// ---- the IP allow-list --------------------------------------------------------------------

use ipnet::IpNet;

/// Whether `ip` is in one of `nets`; an IPv4-mapped IPv6 peer (`::ffff:10.0.0.1`, what a
/// dual-stack listener reports) also matches as its IPv4 address.
pub fn allowed(nets: &[IpNet], ip: IpAddr) -> bool {
    let canonical = ip.to_canonical();
    nets.iter()
        .any(|n| n.contains(&ip) || n.contains(&canonical))
}

/// Refuses (403) a peer outside the allow-list. Only the TCP peer address counts.
async fn check_allowlist(
    State(allow): State<Arc<Vec<IpNet>>>,
    request: Request,
    next: Next,
) -> Response {
    if allow.is_empty() {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(ip) if allowed(&allow, ip) => next.run(request).await,
        _ => {
            tracing::warn!(
                peer = %peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string()),
                "log endpoint refused: peer not in logs_ip_allowlist"
            );
            let body = json!({"error": {
                "message": "access denied: your address is not in the logs IP allow-list",
                "type": "permission_error",
                "param": null,
                "code": "ip_not_allowed",
            }});
            (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
        }
    }
}

// ---- /logs/{n} ----------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub(crate) struct LinesQuery {
    lines: Option<String>,
}

/// `GET /logs?lines=n` (default 100), as in the Python proxy.
#[utoipa::path(get, path = "/logs", tag = "Logs (DEV)", operation_id = "logTailQuery",
    summary = "The last lines of the log file (Python gpt2giga's form)",
    params(("lines" = Option<u32>, Query, description = "1 to 10,000, default 100")),
    responses(
        (status = 200, description = "Log lines", body = String, content_type = "text/plain"),
        (status = 403, description = "The peer is not in `--proxy.logs-ip-allowlist`", body = crate::dialect::openai::error::Envelope),
        (status = 404, description = "No log file", body = String, content_type = "text/plain"),
    )
)]
pub(crate) async fn tail_query(
    State(state): State<AppState>,
    Query(q): Query<LinesQuery>,
) -> Response {
    tail_response(&state, q.lines.as_deref().unwrap_or("100")).await
}

/// `GET /logs/{n}`.
#[utoipa::path(get, path = "/logs/{n}", tag = "Logs (DEV)", operation_id = "logTail",
    summary = "The last n lines of the log file",
    description = "At most 10,000 lines (larger n is capped); continues into the newest rotated file. DEV only; `--proxy.logs-ip-allowlist` applies.",
    params(("n" = u32, Path, description = "How many lines")),
    responses(
        (status = 200, description = "Log lines", body = String, content_type = "text/plain"),
        (status = 400, description = "n is not a number", body = String, content_type = "text/plain"),
        (status = 403, description = "The peer is not in `--proxy.logs-ip-allowlist`", body = crate::dialect::openai::error::Envelope),
        (status = 404, description = "No log file", body = String, content_type = "text/plain"),
    )
)]
pub(crate) async fn tail(
    State(state): State<AppState>,
    axum::extract::Path(n): axum::extract::Path<String>,
) -> Response {
    tail_response(&state, &n).await
}

async fn tail_response(state: &AppState, n: &str) -> Response {
    let Ok(n) = n.trim().parse::<usize>() else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("the number of lines must be a whole number from 1 to {MAX_LINES}\n"),
        );
    };
    let n = n.clamp(1, MAX_LINES);
    let path = state.config().proxy.log_filename.clone();
    if path.as_os_str().is_empty() {
        return text(
            StatusCode::NOT_FOUND,
            "file logging is off (--proxy.log-filename is empty)\n".into(),
        );
    }
    let read = tokio::task::spawn_blocking(move || last_lines(&path, n)).await;
    match read {
        Ok(Ok(Some(lines))) => {
            let mut body = lines.join("\n");
            if !body.is_empty() {
                body.push('\n');
            }
            text(StatusCode::OK, body)
        }
        Ok(Ok(None)) => text(StatusCode::NOT_FOUND, "log file not found\n".into()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot read the log file");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot read the log file\n".into(),
            )
        }
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot read the log file\n".into(),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The last `n` lines of the log at `path`, continuing into the newest rotated file
/// (`<path>.1`) when the current file has fewer. `None` when there is no log file.
pub(crate) fn last_lines(path: &Path, n: usize) -> std::io::Result<Option<Vec<String>>> {
    let mut lines = match tail_file(path, n) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if lines.len() < n {
        let mut rotated = PathBuf::from(path);
        rotated.as_mut_os_string().push(".1");
        if let Ok(mut older) = tail_file(&rotated, n - lines.len()) {
            older.append(&mut lines);
            lines = older;
        }
    }
    Ok(Some(lines))
}

/// The last `n` lines of one file, reading backwards in blocks (at most
/// [`MAX_TAIL_BYTES`]), never the whole of a large file.
fn tail_file(path: &Path, n: usize) -> std::io::Result<Vec<String>> {
    const BLOCK: u64 = 64 * 1024;
    let mut file = std::fs::File::open(path)?;
    let len = file.seek(SeekFrom::End(0))?;
    let floor = len.saturating_sub(MAX_TAIL_BYTES);
    let mut pos = len;
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut newlines = 0usize;
    while pos > floor && newlines <= n {
        let start = pos.saturating_sub(BLOCK).max(floor);
        let size = usize::try_from(pos - start).unwrap_or(0);
        let mut block = vec![0u8; size];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block)?;
        newlines += memchr_count(&block);
        blocks.push(block);
        pos = start;
    }
    let bytes: Vec<u8> = blocks.into_iter().rev().flatten().collect();
    let text = String::from_utf8_lossy(&bytes);
    let mut all: Vec<&str> = text.split('\n').collect();
    if all.last().is_some_and(|l| l.is_empty()) {
        all.pop();
    }
    // The first piece may be a partial line when the read stopped mid-file.
    if pos > 0 && !all.is_empty() {
        all.remove(0);
    }
    let skip = all.len().saturating_sub(n);
    Ok(all[skip..]
        .iter()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect())
}

fn memchr_count(b: &[u8]) -> usize {
    b.iter().filter(|c| **c == b'\n').count()
}

// ---- /logs/stream -------------------------------------------------------------------------

/// `GET /logs/stream`: new log lines as Server-Sent Events.
#[utoipa::path(get, path = "/logs/stream", tag = "Logs (DEV)", operation_id = "logStream",
    summary = "New log lines as Server-Sent Events",
    description = "One `data:` line per log line as it is written (already redacted); `event: skipped` with a count when the reader fell behind; `: keep-alive` comments every 15 s.",
    responses(
        (status = 200, description = "The live log", body = String, content_type = "text/event-stream"),
        (status = 403, description = "The peer is not in `--proxy.logs-ip-allowlist`", body = crate::dialect::openai::error::Envelope),
    )
)]
pub(crate) async fn stream(request: Request) -> Response {
    let shutdown = request.extensions().get::<ShuttingDown>().cloned();
    let rx = crate::logging::subscribe();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = StreamState {
        rx,
        ticker,
        shutdown,
        hello: true,
    };
    let body = futures::stream::unfold(Some(state), |st| async move {
        let mut st = st?;
        let chunk = st.next_chunk().await?;
        Some((Ok::<Bytes, std::convert::Infallible>(chunk), Some(st)))
    });
    let mut r = Body::from_stream(body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

struct StreamState {
    rx: tokio::sync::broadcast::Receiver<Arc<str>>,
    ticker: tokio::time::Interval,
    shutdown: Option<ShuttingDown>,
    hello: bool,
}

impl StreamState {
    /// The next chunk to send, or `None` to end the stream.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if std::mem::take(&mut self.hello) {
            return Some(Bytes::from_static(b"retry: 2000\n: connected\n\n"));
        }
        let shutdown = async {
            match &mut self.shutdown {
                Some(s) => s.wait().await,
                None => std::future::pending().await,
            }
        };
        let first = tokio::select! {
            r = self.rx.recv() => r,
            _ = self.ticker.tick() => return Some(Bytes::from_static(b": keep-alive\n\n")),
            () = shutdown => return None,
        };
        let mut out = BytesMut::new();
        let mut next = Some(first);
        let mut sent = 0;
        while let Some(item) = next.take() {
            match item {
                Ok(line) => frame_line(&line, &mut out),
                Err(RecvError::Lagged(n)) => {
                    out.extend_from_slice(format!("event: skipped\ndata: {n}\n\n").as_bytes());
                }
                Err(RecvError::Closed) => return (!out.is_empty()).then(|| out.freeze()),
            }
            sent += 1;
            if sent < BATCH {
                next = match self.rx.try_recv() {
                    Ok(line) => Some(Ok(line)),
                    Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                        Some(Err(RecvError::Lagged(n)))
                    }
                    Err(_) => None,
                };
            }
        }
        self.ticker.reset();
        Some(out.freeze())
    }
}

/// One SSE event per log line (a line never contains `\n`; `\r` is dropped).
fn frame_line(line: &str, out: &mut BytesMut) {
    for part in line.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(part.trim_end_matches('\r').as_bytes());
        out.extend_from_slice(b"\n");
    }
    out.extend_from_slice(b"\n");
}

// ---- /logs/html ---------------------------------------------------------------------------

/// `GET /logs/html`: the viewer page.
#[utoipa::path(get, path = "/logs/html", tag = "Logs (DEV)", operation_id = "logViewer",
    summary = "Live log viewer page", security(()),
    description = "Self-contained HTML; asks for the API key and streams `/logs/stream`. Needs no key to load.",
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 403, description = "The peer is not in `--proxy.logs-ip-allowlist`", body = crate::dialect::openai::error::Envelope),
    )
)]
pub(crate) async fn html() -> Response {
    page(VIEWER)
}

/// A self-contained HTML page: its content-security policy forbids loading anything
/// from elsewhere (scripts and styles are inline; requests go to this origin only).
pub fn page(html: &'static str) -> Response {
    let mut r = html.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write as _;

    use super::*;

    #[test]
    fn networks_match_addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let net = |s: &str| vec![crate::config::parse::ip_net(s).unwrap()];
        let n = net("10.1.0.0/16");
        assert!(allowed(&n, ip("10.1.2.3")));
        assert!(!allowed(&n, ip("10.2.0.1")));
        assert!(allowed(&n, ip("::ffff:10.1.9.9")));
        let one = net(" 127.0.0.1 ");
        assert!(allowed(&one, ip("127.0.0.1")));
        assert!(!allowed(&one, ip("127.0.0.2")));
        assert!(allowed(&net("0.0.0.0/0"), ip("8.8.8.8")));
        let v6 = net("fd00::/8");
        assert!(allowed(&v6, ip("fd12::1")));
        assert!(!allowed(&v6, ip("fe80::1")));
        assert!(!allowed(&v6, ip("10.0.0.1")));
        assert!(allowed(&net("::1"), ip("::1")));
    }

    #[test]
    fn tail_reads_the_end_and_continues_into_the_rotated_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.log");
        let mut f = std::fs::File::create(&path).unwrap();
        for i in 0..50_000 {
            writeln!(f, "line {i} {}", "x".repeat(20)).unwrap();
        }
        drop(f);
        let lines = last_lines(&path, 3).unwrap().unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("line 49997 "), "{lines:?}");
        assert!(lines[2].starts_with("line 49999 "), "{lines:?}");
        let many = last_lines(&path, 10_000).unwrap().unwrap();
        assert_eq!(many.len(), 10_000);
        assert!(many[0].starts_with("line 40000 "));

        // A fresh file after rotation: the rest comes from `<file>.1`.
        let rotated = dir.path().join("g.log.1");
        std::fs::rename(&path, &rotated).unwrap();
        std::fs::write(&path, "new 1\nnew 2\n").unwrap();
        let lines = last_lines(&path, 4).unwrap().unwrap();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("line 49998 "), "{lines:?}");
        assert_eq!(&lines[2..], ["new 1", "new 2"]);

        // A partial last line (being written) is included.
        std::fs::write(&path, "a\nb\npartial").unwrap();
        std::fs::remove_file(&rotated).unwrap();
        assert_eq!(
            last_lines(&path, 10).unwrap().unwrap(),
            ["a", "b", "partial"]
        );
        assert!(
            last_lines(&dir.path().join("none.log"), 5)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn lines_become_sse_events() {
        let mut out = BytesMut::new();
        frame_line("INFO hello", &mut out);
        frame_line("two\r\nlines", &mut out);
        assert_eq!(&out[..], b"data: INFO hello\n\ndata: two\ndata: lines\n\n");
    }
}
