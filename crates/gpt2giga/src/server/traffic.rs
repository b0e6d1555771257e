//! The traffic log's admin API, under `/admin/traffic` (behind the API key; served when
//! the log is on, in DEV, or in PROD with `--proxy.enable-traffic-admin`; its own
//! `--proxy.traffic-ip-allowlist`, checked against the TCP peer only):
//!
//! * `GET /admin/traffic` — newest first, metadata only; filters `model` (client or
//!   GigaChat model), `status` (`429` or a class `4xx`), `dialect`, `since`/`until`
//!   (Unix milliseconds or RFC 3339), `limit` (1–1000, default 50) and `cursor` (the
//!   previous page's `next_cursor`);
//! * `GET /admin/traffic/{id}` — one record with its four bodies;
//! * `GET /admin/traffic/stream` — new records as Server-Sent Events;
//! * `GET /admin/traffic/export?format=ndjson|csv` — every matching record (NDJSON with
//!   bodies, CSV metadata only), streamed page by page;
//! * `DELETE /admin/traffic?before=…` — purge (everything without `before`);
//! * `POST /admin/traffic/{id}/replay` — the recorded client request sent through the
//!   proxy's own router again (with the caller's credentials); the new answer next to
//!   the recorded one;
//! * `GET /console` — the web console page (open, like `/logs/html`; see
//!   [`page_routes`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures::StreamExt;
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::error::ProxyError;
use crate::server::ShuttingDown;
use crate::traffic::{Entry, Filter, TrafficLog};

/// Records in one page at most.
const MAX_LIMIT: i64 = 1000;
const DEFAULT_LIMIT: i64 = 50;
/// Silence after which the live tail sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A replayed answer is read up to this size.
const REPLAY_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Headers of the admin request carried over to a replay (the caller's credentials and
/// the dialect's version header).
const REPLAY_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "anthropic-version",
    "anthropic-beta",
];

/// The admin routes (behind the API key; see the module docs).
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/traffic", get(list).delete(purge))
        .route("/admin/traffic/stream", get(stream))
        .route("/admin/traffic/export", get(export))
        .route("/admin/traffic/{id}", get(one))
        .route("/admin/traffic/{id}/replay", post(replay))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(state.config().proxy.traffic_allowlist()),
            check_allowlist,
        ))
}

/// The console page (`/console`): like the log viewer, it holds no data and must open
/// in a browser that cannot send a key header, so it loads without the key; its script
/// asks for the key and sends it with every data request. The allow-list applies.
pub(crate) fn page_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/console", get(console))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(state.config().proxy.traffic_allowlist()),
            check_allowlist,
        ))
}

const CONSOLE: &str = include_str!("../../assets/console.html");

/// `GET /console`: the web console.
#[utoipa::path(get, path = "/console", tag = "Traffic log", operation_id = "console",
    summary = "Web console: live traffic, record details, replay, playground", security(()),
    description = "Self-contained HTML (nothing loaded from elsewhere); asks for the API key and uses `/admin/traffic*` and the API routes with it. Needs no key to load. DEV, or PROD with `--proxy.enable-traffic-admin`; `--proxy.traffic-ip-allowlist` applies.",
    responses(
        (status = 200, description = "The page", body = String, content_type = "text/html"),
        (status = 403, description = "The peer is not in `--proxy.traffic-ip-allowlist`", body = crate::dialect::openai::error::Envelope),
    )
)]
pub(crate) async fn console() -> Response {
    super::logs::page(CONSOLE)
}

/// Refuses (403) a peer outside `--proxy.traffic-ip-allowlist` (the TCP peer only).
pub(crate) async fn check_allowlist(
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
        Some(ip) if super::logs::allowed(&allow, ip) => next.run(request).await,
        _ => {
            tracing::warn!(
                peer = %peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string()),
                "traffic admin refused: peer not in traffic_ip_allowlist"
            );
            let body = json!({"error": {
                "message": "access denied: your address is not in the traffic IP allow-list",
                "type": "permission_error",
                "param": null,
                "code": "ip_not_allowed",
            }});
            (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
        }
    }
}

fn error(e: &ProxyError) -> Response {
    crate::dialect::error_response("/admin/traffic", e)
}

fn log_of(state: &AppState) -> Result<&TrafficLog, ProxyError> {
    state.traffic().ok_or_else(|| {
        ProxyError::NotFound("the traffic log is off (--proxy.traffic-log-url)".into())
    })
}

fn db_error(e: &sqlx::Error) -> ProxyError {
    tracing::warn!(error = %e, "traffic log: query failed");
    ProxyError::Unavailable("the traffic log's database did not answer".into())
}

/// The query of a listing or an export.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    model: Option<String>,
    status: Option<String>,
    dialect: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
    format: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ListQuery {
    fn filter(&self) -> Result<Filter, ProxyError> {
        let limit = match nonempty(&self.limit) {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ProxyError::invalid_param(
                        format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                        "limit",
                    )
                })?,
        };
        Ok(Filter {
            model: nonempty(&self.model).map(str::to_string),
            status: nonempty(&self.status).map(parse_status).transpose()?,
            dialect: nonempty(&self.dialect).map(str::to_string),
            since_ms: nonempty(&self.since)
                .map(|s| parse_time(s, "since"))
                .transpose()?,
            until_ms: nonempty(&self.until)
                .map(|s| parse_time(s, "until"))
                .transpose()?,
            before_id: nonempty(&self.cursor)
                .map(|c| {
                    c.parse::<i64>().map_err(|_| {
                        ProxyError::invalid_param("cursor must be a next_cursor value", "cursor")
                    })
                })
                .transpose()?,
            limit,
        })
    }
}

/// `429` → 429..=429; `4xx` → 400..=499.
fn parse_status(s: &str) -> Result<(i64, i64), ProxyError> {
    let bad =
        || ProxyError::invalid_param("status must be a code (429) or a class (4xx)", "status");
    let lower = s.to_ascii_lowercase();
    if let Some(class) = lower.strip_suffix("xx") {
        let c: i64 = class.parse().map_err(|_| bad())?;
        if (1..=5).contains(&c) {
            return Ok((c * 100, c * 100 + 99));
        }
        return Err(bad());
    }
    let code: i64 = s.parse().map_err(|_| bad())?;
    if (100..=599).contains(&code) {
        Ok((code, code))
    } else {
        Err(bad())
    }
}

/// Unix milliseconds, or an RFC 3339 time.
fn parse_time(s: &str, param: &str) -> Result<i64, ProxyError> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ProxyError::invalid_param(
                format!("{param} must be Unix milliseconds or an RFC 3339 time"),
                param,
            )
        })
}

/// `GET /admin/traffic`.
#[utoipa::path(get, path = "/admin/traffic", tag = "Traffic log", operation_id = "trafficList",
    summary = "Traffic records, newest first (metadata only)",
    description = "Filters: `model` (the client's or the GigaChat model), `status` (`429` or a class `4xx`), `dialect`, `since`/`until` (Unix milliseconds or RFC 3339). `limit` 1-1000 (default 50); pass the answer's `next_cursor` as `cursor` for the next page. Served when the traffic log is on (in PROD only with `--proxy.enable-traffic-admin`); `--proxy.traffic-ip-allowlist` applies.",
    params(("model" = Option<String>, Query, description = "Client or GigaChat model"),
        ("status" = Option<String>, Query, description = "`429` or `4xx`"),
        ("dialect" = Option<String>, Query, description = "openai, responses, anthropic, gemini, files"),
        ("since" = Option<String>, Query, description = "Inclusive; Unix ms or RFC 3339"),
        ("until" = Option<String>, Query, description = "Exclusive; Unix ms or RFC 3339"),
        ("limit" = Option<u32>, Query, description = "1-1000, default 50"),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor")),
    responses((status = 200, description = "`{data: [record], next_cursor}`", body = serde_json::Value),
        (status = 400, description = "A bad filter", body = crate::dialect::openai::error::Envelope),
        (status = 403, description = "The peer is not in `--proxy.traffic-ip-allowlist`", body = crate::dialect::openai::error::Envelope))
)]
pub(crate) async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let log = match log_of(&state) {
        Ok(l) => l,
        Err(e) => return error(&e),
    };
    let filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return error(&e),
    };
    match log.store().list(&filter).await {
        Ok(rows) => {
            let next = (rows.len() as i64 == filter.limit)
                .then(|| rows.last().map(|r| r.id.to_string()))
                .flatten();
            no_store(axum::Json(json!({"data": rows, "next_cursor": next})).into_response())
        }
        Err(e) => error(&db_error(&e)),
    }
}

/// `GET /admin/traffic/{id}`.
#[utoipa::path(get, path = "/admin/traffic/{id}", tag = "Traffic log", operation_id = "trafficGet",
    summary = "One traffic record with its four bodies",
    params(("id" = i64, Path, description = "The record's id")),
    responses((status = 200, description = "The record", body = serde_json::Value),
        (status = 404, description = "No such record", body = crate::dialect::openai::error::Envelope))
)]
pub(crate) async fn one(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let log = match log_of(&state) {
        Ok(l) => l,
        Err(e) => return error(&e),
    };
    match find(log, &id).await {
        Ok(e) => no_store(axum::Json(e).into_response()),
        Err(e) => error(&e),
    }
}

async fn find(log: &TrafficLog, id: &str) -> Result<Entry, ProxyError> {
    let not_found = || ProxyError::NotFound(format!("no traffic record {id:?}"));
    let Ok(n) = id.parse::<i64>() else {
        return Err(not_found());
    };
    match log.store().get(n).await {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err(not_found()),
        Err(e) => Err(db_error(&e)),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PurgeQuery {
    before: Option<String>,
}

/// `DELETE /admin/traffic[?before=…]`.
#[utoipa::path(delete, path = "/admin/traffic", tag = "Traffic log", operation_id = "trafficPurge",
    summary = "Delete traffic records (all, or those before a time)",
    params(("before" = Option<String>, Query, description = "Unix ms or RFC 3339; unset = every record")),
    responses((status = 200, description = "`{deleted: n}`", body = serde_json::Value),
        (status = 400, description = "A bad time", body = crate::dialect::openai::error::Envelope))
)]
pub(crate) async fn purge(State(state): State<AppState>, Query(q): Query<PurgeQuery>) -> Response {
    let log = match log_of(&state) {
        Ok(l) => l,
        Err(e) => return error(&e),
    };
    let before = match q.before.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(b) => match parse_time(b, "before") {
            Ok(t) => Some(t),
            Err(e) => return error(&e),
        },
        None => None,
    };
    match log.store().purge(before).await {
        Ok(n) => axum::Json(json!({"deleted": n})).into_response(),
        Err(e) => error(&db_error(&e)),
    }
}

/// `GET /admin/traffic/export?format=ndjson|csv` with the listing's filters (`limit`
/// is the page size used while streaming; every matching record is sent).
#[utoipa::path(get, path = "/admin/traffic/export", tag = "Traffic log", operation_id = "trafficExport",
    summary = "Every matching record as NDJSON (with bodies) or CSV (metadata)",
    params(("format" = Option<String>, Query, description = "ndjson (default) or csv"),
        ("model" = Option<String>, Query, description = "As in the listing"),
        ("status" = Option<String>, Query, description = "As in the listing"),
        ("dialect" = Option<String>, Query, description = "As in the listing"),
        ("since" = Option<String>, Query, description = "As in the listing"),
        ("until" = Option<String>, Query, description = "As in the listing")),
    responses((status = 200, description = "The records", body = String, content_type = "application/x-ndjson"),
        (status = 400, description = "A bad filter or format", body = crate::dialect::openai::error::Envelope))
)]
pub(crate) async fn export(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let log = match log_of(&state) {
        Ok(l) => l.clone(),
        Err(e) => return error(&e),
    };
    let csv = match q.format.as_deref().unwrap_or("ndjson") {
        "ndjson" | "jsonl" => false,
        "csv" => true,
        _ => {
            return error(&ProxyError::invalid_param(
                "format must be ndjson or csv",
                "format",
            ));
        }
    };
    let mut filter = match q.filter() {
        Ok(f) => f,
        Err(e) => return error(&e),
    };
    if q.limit.is_none() {
        filter.limit = 500;
    }
    let header_row = csv.then(|| Bytes::from(format!("{}\n", CSV_COLUMNS.join(","))));
    let pages = futures::stream::unfold(Some(filter), move |f| {
        let log = log.clone();
        async move {
            let mut f = f?;
            let rows = match log.store().list(&f).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "traffic export: query failed");
                    return None;
                }
            };
            if rows.is_empty() {
                return None;
            }
            let last = rows.len() as i64 == f.limit;
            f.before_id = rows.last().map(|r| r.id);
            let mut out = String::new();
            for row in rows {
                if csv {
                    out.push_str(&csv_line(&row));
                } else {
                    // Each record with its bodies.
                    let full = log.store().get(row.id).await.ok().flatten().unwrap_or(row);
                    out.push_str(&serde_json::to_string(&full).unwrap_or_default());
                }
                out.push('\n');
            }
            Some((
                Ok::<Bytes, std::convert::Infallible>(Bytes::from(out)),
                last.then_some(f),
            ))
        }
    });
    let body = futures::stream::iter(header_row.map(Ok)).chain(pages);
    let mut r = Body::from_stream(body).into_response();
    let (ct, name) = if csv {
        ("text/csv; charset=utf-8", "traffic.csv")
    } else {
        ("application/x-ndjson", "traffic.ndjson")
    };
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    no_store(r)
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "ts_ms",
    "request_id",
    "method",
    "path",
    "route",
    "dialect",
    "client_model",
    "gigachat_model",
    "identity",
    "status",
    "error",
    "stream",
    "queue_us",
    "upload_us",
    "first_byte_us",
    "total_us",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
];

/// One CSV line (RFC 4180 quoting) of a record's metadata.
fn csv_line(e: &Entry) -> String {
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let fields = [
        e.id.to_string(),
        e.ts_ms.to_string(),
        e.request_id.clone(),
        e.method.to_string(),
        e.path.clone(),
        e.route.to_string(),
        e.dialect.to_string(),
        s(&e.client_model),
        s(&e.gigachat_model),
        s(&e.identity),
        e.status.to_string(),
        s(&e.error),
        e.stream.to_string(),
        e.queue_us.to_string(),
        e.upload_us.to_string(),
        opt(e.first_byte_us),
        e.total_us.to_string(),
        opt(e.input_tokens),
        opt(e.output_tokens),
        opt(e.cached_tokens),
    ];
    fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `GET /admin/traffic/stream`: each record as it is written, as `data:` JSON
/// (metadata only); `event: skipped` when the reader fell behind.
#[utoipa::path(get, path = "/admin/traffic/stream", tag = "Traffic log", operation_id = "trafficStream",
    summary = "New traffic records as Server-Sent Events",
    responses((status = 200, description = "One `data:` JSON record per request as it is written", body = String, content_type = "text/event-stream"))
)]
pub(crate) async fn stream(State(state): State<AppState>, request: Request) -> Response {
    let log = match log_of(&state) {
        Ok(l) => l,
        Err(e) => return error(&e),
    };
    let shutdown = request.extensions().get::<ShuttingDown>().cloned();
    let rx = log.subscribe();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let body = futures::stream::unfold(Some((rx, ticker, shutdown, true)), |st| async move {
        let (mut rx, mut ticker, mut shutdown, hello) = st?;
        if hello {
            let chunk = Bytes::from_static(b"retry: 2000\n: connected\n\n");
            return Some((Ok(chunk), Some((rx, ticker, shutdown, false))));
        }
        let stop = async {
            match &mut shutdown {
                Some(s) => s.wait().await,
                None => std::future::pending().await,
            }
        };
        let chunk = tokio::select! {
            r = rx.recv() => match r {
                Ok(e) => Bytes::from(format!(
                    "data: {}\n\n",
                    serde_json::to_string(&*e).unwrap_or_default()
                )),
                Err(RecvError::Lagged(n)) => {
                    Bytes::from(format!("event: skipped\ndata: {n}\n\n"))
                }
                Err(RecvError::Closed) => return None,
            },
            _ = ticker.tick() => Bytes::from_static(b": keep-alive\n\n"),
            () = stop => return None,
        };
        Some((
            Ok::<Bytes, std::convert::Infallible>(chunk),
            Some((rx, ticker, shutdown, false)),
        ))
    });
    let mut r = Body::from_stream(body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    no_store(r)
}

/// `POST /admin/traffic/{id}/replay`.
#[utoipa::path(post, path = "/admin/traffic/{id}/replay", tag = "Traffic log", operation_id = "trafficReplay",
    summary = "Send a recorded client request through the proxy again",
    description = "The recorded body goes to the recorded path through the proxy's own router, with this request's credentials (`Authorization`, `x-api-key`, `x-goog-api-key`) and `anthropic-version`. Needs a record kept at the `bodies` level and not cut.",
    params(("id" = i64, Path, description = "The record's id")),
    responses((status = 200, description = "`{original: {status, body}, replay: {status, body, request_id}}`", body = serde_json::Value),
        (status = 400, description = "No complete client request in the record", body = crate::dialect::openai::error::Envelope),
        (status = 404, description = "No such record", body = crate::dialect::openai::error::Envelope))
)]
pub(crate) async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let log = match log_of(&state) {
        Ok(l) => l,
        Err(e) => return error(&e),
    };
    let original = match find(log, &id).await {
        Ok(e) => e,
        Err(e) => return error(&e),
    };
    let bodies = original.bodies.clone().unwrap_or_default();
    let Some(body) = bodies.client_request.clone() else {
        return error(&ProxyError::invalid(
            "this record has no client request to replay: it was logged at the metadata level (--proxy.traffic-log-level bodies keeps it)",
        ));
    };
    if original.truncated & crate::traffic::store::CUT_CLIENT_REQUEST != 0 {
        return error(&ProxyError::invalid(
            "this record's client request was cut at --proxy.traffic-log-max-body-bytes; it cannot be replayed",
        ));
    }
    let method = Method::from_bytes(original.method.as_bytes()).unwrap_or(Method::POST);
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri(original.path.as_str())
        .header(header::CONTENT_TYPE, "application/json");
    for name in REPLAY_HEADERS {
        if let Some(v) = request.headers().get(*name) {
            builder = builder.header(*name, v.clone());
        }
    }
    if let Some(c) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        builder = builder.extension(*c);
    }
    let replayed = match builder.body(Body::from(body)) {
        Ok(r) => r,
        Err(_) => {
            return error(&ProxyError::invalid(
                "the recorded path is not a valid request target",
            ));
        }
    };
    let answer = match tower::ServiceExt::oneshot(super::app(state.clone()), replayed).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = answer.status().as_u16();
    let request_id = answer
        .headers()
        .get(super::middleware::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content_type = answer
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = match axum::body::to_bytes(answer.into_body(), REPLAY_MAX_BYTES).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => format!("(the replayed answer could not be read: {e})"),
    };
    no_store(
        axum::Json(json!({
            "original": {
                "id": original.id,
                "request_id": original.request_id,
                "status": original.status,
                "body": bodies.client_response,
            },
            "replay": {
                "request_id": request_id,
                "status": status,
                "content_type": content_type,
                "body": text,
            },
        }))
        .into_response(),
    )
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_times_parse() {
        assert_eq!(parse_status("429").unwrap(), (429, 429));
        assert_eq!(parse_status("4xx").unwrap(), (400, 499));
        assert_eq!(parse_status("5XX").unwrap(), (500, 599));
        assert!(parse_status("9xx").is_err() && parse_status("abc").is_err());
        assert!(parse_status("42").is_err());
        assert_eq!(
            parse_time("1700000000000", "since").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z", "since").unwrap(),
            1_700_000_000_000
        );
        assert!(parse_time("yesterday", "since").is_err());
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let e = Entry {
            id: 7,
            error: Some("bad \"x\", y".into()),
            ..Entry::default()
        };
        let line = csv_line(&e);
        assert!(line.starts_with("7,0,"), "{line}");
        assert!(line.contains(r#""bad ""x"", y""#), "{line}");
        assert_eq!(
            line.matches(',').count(),
            CSV_COLUMNS.len() - 1 + 1,
            "{line}"
        );
    }
}
