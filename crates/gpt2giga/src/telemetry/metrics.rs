//! The proxy's metrics (served by `GET /metrics`): Prometheus text format, always on,
//! cheap enough to leave on.
//!
//! Built on `prometheus-client` (typed families, its Prometheus 0.0.4 text encoder): a
//! request costs a few atomic increments and, per labelled series, one read-locked hash
//! lookup of a label set made of `&'static str`s, numbers and a shared model name (no
//! allocation); series are created once. Label values are bounded: routes are templates (`/models/{id}`), statuses are
//! numbers, and the requested model is capped at [`MODEL_LABELS_MAX`] distinct values
//! (then `other`).
//!
//! How time is split: [`measure`] (run by the server's middleware) opens a per-request [`Scope`] (a tokio
//! task-local) for the handler; every GigaChat call made through [`upstream`], and every
//! other wait through [`waiting`] (a concurrency slot, an attachment download), adds its
//! wall time to the scope (overlapping waits count once). *Proxy overhead* is the time
//! until the response headers are ready minus that waiting — for a non-streaming answer
//! the whole request, for a stream everything before the first byte (translation per
//! chunk afterwards is microseconds and not separable from waiting on GigaChat). Streams
//! also report the time to the first token and are counted in the active-streams gauge
//! while open.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use futures::StreamExt;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::error::ProxyError;
use crate::ir::Event;
use crate::ir::EventStream;
use crate::telemetry::traces::{self, CallSpan, Outcome, RequestTrace};
use crate::telemetry::traffic::Capture;

/// Distinct requested-model label values kept; later ones are counted as `other`.
pub(crate) const MODEL_LABELS_MAX: usize = 64;
/// Longer model names are cut to this many characters in labels.
const MODEL_LABEL_CHARS: usize = 64;

/// Request and upstream latency buckets, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Proxy-overhead buckets, in seconds (it should be well under a millisecond).
const OVERHEAD_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// `Content-Type` of the exposition (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

// ---- label sets ---------------------------------------------------------------------------
//
// Every label value is a `&'static str`, a number or a shared model name, so looking a
// series up allocates nothing; a series is created once, on first use.

/// A requested model as a label value (see [`Metrics::model_label`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Model(Arc<str>);

impl EncodeLabelValue for Model {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&&*self.0, encoder)
    }
}

/// GigaChat's HTTP status, or the kind of failure when there was no response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum UpstreamStatus {
    Code(u16),
    Kind(&'static str),
}

impl EncodeLabelValue for UpstreamStatus {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        match self {
            Self::Code(c) => EncodeLabelValue::encode(c, encoder),
            Self::Kind(k) => EncodeLabelValue::encode(k, encoder),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    dialect: &'static str,
    method: &'static str,
    status: u16,
    model: Model,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    dialect: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DialectLabels {
    dialect: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct UpstreamErrorLabels {
    operation: &'static str,
    status: UpstreamStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TokenLabels {
    direction: &'static str,
    model: Model,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    Histogram::new(LATENCY_BUCKETS.iter().copied())
}

fn overhead() -> Histogram {
    Histogram::new(OVERHEAD_BUCKETS.iter().copied())
}

// ---- the registry -------------------------------------------------------------------------

/// Every metric of one proxy instance.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Histograms<RouteLabels>,
    overhead: Histograms<DialectLabels>,
    upstream_duration: Histograms<OperationLabels>,
    upstream_errors: Family<UpstreamErrorLabels, Counter>,
    ttft: Histograms<DialectLabels>,
    active_streams: Family<DialectLabels, Gauge>,
    tokens: Family<TokenLabels, Counter>,
    traffic_dropped: Counter,
    traffic_written: Counter,
    models: RwLock<HashSet<Arc<str>>>,
}

impl Metrics {
    /// The metrics of a proxy whose GigaChat client is `client` (its token fetches and
    /// retries are read at scrape time).
    pub fn new(client: Option<gigachat::Client>) -> Self {
        let requests = Family::default();
        let request_duration = Histograms::new_with_constructor(latency as fn() -> Histogram);
        let overhead_family = Histograms::new_with_constructor(overhead as fn() -> Histogram);
        let upstream_duration = Histograms::new_with_constructor(latency as fn() -> Histogram);
        let upstream_errors = Family::default();
        let ttft = Histograms::new_with_constructor(latency as fn() -> Histogram);
        let active_streams = Family::default();
        let tokens = Family::default();

        // Names without the `_total` / unit suffixes: the encoder appends them.
        let mut registry = Registry::default();
        registry.register(
            "gpt2giga_build",
            "Version of the running proxy",
            Info::new(VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        registry.register_collector(Box::new(Scraped {
            started: SystemTime::now(),
            client,
        }));
        registry.register(
            "gpt2giga_requests",
            "HTTP requests answered, by route template, dialect, method, status and requested model",
            requests.clone(),
        );
        registry.register_with_unit(
            "gpt2giga_request_duration",
            "Time from request arrival to the end of the response body (streams: until the stream ends)",
            Unit::Seconds,
            request_duration.clone(),
        );
        registry.register_with_unit(
            "gpt2giga_proxy_overhead",
            "The proxy's own time: until the response headers, minus time spent waiting on GigaChat",
            Unit::Seconds,
            overhead_family.clone(),
        );
        registry.register_with_unit(
            "gpt2giga_upstream_request_duration",
            "GigaChat call latency (streams: until the first chunk), including retries",
            Unit::Seconds,
            upstream_duration.clone(),
        );
        registry.register(
            "gpt2giga_upstream_errors",
            "Failed GigaChat calls, by operation and HTTP status (or failure kind: timeout, connect…)",
            upstream_errors.clone(),
        );
        registry.register_with_unit(
            "gpt2giga_time_to_first_token",
            "Streaming answers: time from request arrival to the first text, reasoning or tool-call delta",
            Unit::Seconds,
            ttft.clone(),
        );
        registry.register(
            "gpt2giga_active_streams",
            "Streaming answers currently open",
            active_streams.clone(),
        );
        registry.register(
            "gpt2giga_tokens",
            "Tokens reported by GigaChat's usage, by direction (input, output, cached_input) and requested model",
            tokens.clone(),
        );
        let traffic_dropped = Counter::default();
        let traffic_written = Counter::default();
        registry.register(
            "gpt2giga_traffic_log_dropped",
            "Traffic-log records dropped because the write queue was full (or the write failed)",
            traffic_dropped.clone(),
        );
        registry.register(
            "gpt2giga_traffic_log_written",
            "Traffic-log records written to the database",
            traffic_written.clone(),
        );
        Self {
            registry,
            requests,
            request_duration,
            overhead: overhead_family,
            upstream_duration,
            upstream_errors,
            ttft,
            active_streams,
            tokens,
            traffic_dropped,
            traffic_written,
            models: RwLock::new(HashSet::new()),
        }
    }

    /// The label for a requested model: trimmed, cut to 64 characters, at most
    /// [`MODEL_LABELS_MAX`] distinct values (then `other`); empty is `none`.
    fn model_label(&self, raw: &str) -> Arc<str> {
        let cut: String = raw.trim().chars().take(MODEL_LABEL_CHARS).collect();
        if cut.is_empty() {
            return Arc::from("none");
        }
        if let Some(m) = self
            .models
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(cut.as_str())
        {
            return m.clone();
        }
        let mut w = self.models.write().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = w.get(cut.as_str()) {
            return m.clone();
        }
        if w.len() >= MODEL_LABELS_MAX {
            return Arc::from("other");
        }
        let m: Arc<str> = Arc::from(cut);
        w.insert(m.clone());
        m
    }

    fn upstream_error(&self, operation: &'static str, e: &gigachat::Error) {
        let status = match e.status() {
            Some(s) => UpstreamStatus::Code(s),
            None => UpstreamStatus::Kind(e.kind().as_str()),
        };
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels { operation, status })
            .inc();
    }

    /// Traffic-log records dropped (full queue, failed write).
    pub fn traffic_dropped(&self) -> Counter {
        self.traffic_dropped.clone()
    }

    /// Traffic-log records written.
    pub fn traffic_written(&self) -> Counter {
        self.traffic_written.clone()
    }

    /// The Prometheus text exposition (version 0.0.4, [`CONTENT_TYPE`]).
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a `String` cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Values read at scrape time: start time, uptime and the GigaChat client's own
/// counters (token fetches, retries).
struct Scraped {
    started: SystemTime,
    client: Option<gigachat::Client>,
}

impl std::fmt::Debug for Scraped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scraped")
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let start = self
            .started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let uptime = self.started.elapsed().unwrap_or_default().as_secs_f64();
        let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, v: f64| {
            let g = ConstGauge::new(v);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
        };
        gauge(
            &mut encoder,
            "gpt2giga_start_time_seconds",
            "Start time of the proxy since the Unix epoch.",
            start,
        )?;
        gauge(
            &mut encoder,
            "gpt2giga_uptime_seconds",
            "Seconds since the proxy started.",
            uptime,
        )?;
        if let Some(c) = &self.client {
            let counter = |encoder: &mut DescriptorEncoder, name: &str, help: &str, v: u64| {
                let c = ConstCounter::new(v);
                c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)
            };
            counter(
                &mut encoder,
                "gpt2giga_upstream_token_fetches",
                "Access tokens obtained from GigaChat's OAuth/token endpoint (every identity, pass-token ones included).",
                c.token_fetches_all(),
            )?;
            counter(
                &mut encoder,
                "gpt2giga_upstream_retries",
                "GigaChat requests repeated after a retryable failure (before the first response byte).",
                c.retries(),
            )?;
        }
        Ok(())
    }
}

// ---- per-request scope --------------------------------------------------------------------

/// What one request has measured so far (see the module docs).
pub(crate) struct Scope {
    metrics: Arc<Metrics>,
    dialect: &'static str,
    started: Instant,
    /// Time spent waiting on something else (GigaChat, a concurrency slot, an
    /// attachment download): the union of the waits, so overlapping ones count once.
    waits: std::sync::Mutex<Waits>,
    model: OnceLock<Arc<str>>,
    /// The traffic log's capture, when the log is on.
    capture: Option<Arc<Capture>>,
    /// The request's trace span and what it reports at the end, when traces are on.
    trace: Option<Traced>,
}

/// A traced request: its span and the facts gathered for it.
struct Traced {
    span: RequestTrace,
    client_model: OnceLock<String>,
    gigachat_model: OnceLock<String>,
    operation: OnceLock<&'static str>,
    usage: std::sync::Mutex<Option<(u64, u64)>>,
    error: std::sync::Mutex<Option<String>>,
}

impl Traced {
    fn end(&self, status: u16) {
        let usage = *self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let error = self.error.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.span.end(&Outcome {
            status,
            operation: self.operation.get().copied(),
            client_model: self.client_model.get().map(String::as_str),
            gigachat_model: self.gigachat_model.get().map(String::as_str),
            usage,
            error,
        });
    }
}

/// What observes a request besides the metrics (both off unless configured).
#[derive(Default)]
pub struct Observers {
    /// The traffic log's capture.
    pub capture: Option<Arc<Capture>>,
    /// The request's trace span.
    pub trace: Option<RequestTrace>,
}

#[derive(Default)]
struct Waits {
    in_flight: u32,
    since: Option<Instant>,
    total: Duration,
}

impl Scope {
    fn begin_wait(&self) {
        let mut w = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        if w.in_flight == 0 {
            w.since = Some(Instant::now());
        }
        w.in_flight += 1;
    }

    fn end_wait(&self) {
        let mut w = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        w.in_flight = w.in_flight.saturating_sub(1);
        if w.in_flight == 0
            && let Some(since) = w.since.take()
        {
            w.total += since.elapsed();
        }
    }

    /// Waited so far (an ongoing wait counts up to now).
    fn waited(&self) -> Duration {
        let w = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        w.total + w.since.map_or(Duration::ZERO, |s| s.elapsed())
    }
}

/// Ends a wait when dropped (also when the awaiting future is cancelled).
struct WaitGuard(Option<Arc<Scope>>);

impl WaitGuard {
    fn begin() -> Self {
        let scope = current();
        if let Some(s) = &scope {
            s.begin_wait();
        }
        Self(scope)
    }
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        if let Some(s) = &self.0 {
            s.end_wait();
        }
    }
}

/// Awaits `fut`, counting its time as waiting rather than the proxy's own work (a
/// concurrency slot, an attachment download).
pub async fn waiting<F: Future>(fut: F) -> F::Output {
    let _wait = WaitGuard::begin();
    fut.await
}

tokio::task_local! {
    static SCOPE: Arc<Scope>;
}

fn current() -> Option<Arc<Scope>> {
    SCOPE.try_with(Arc::clone).ok()
}

/// Records the model the client asked for, as the current request's `model` label.
pub(crate) fn note_model(model: &str) {
    if let Some(s) = current() {
        let _ = s.model.set(s.metrics.model_label(model));
        if let Some(c) = &s.capture {
            c.client_model(model);
        }
        if let Some(t) = &s.trace {
            let _ = t.client_model.set(model.to_string());
        }
    }
}

/// Records the request GigaChat is about to be sent (its model for traces, the body for
/// the traffic log).
pub fn gigachat_request<T: serde::Serialize>(model: &str, request: &T) {
    let Some(s) = current() else {
        return;
    };
    if let Some(t) = &s.trace {
        let _ = t.gigachat_model.set(model.to_string());
    }
    if let Some(c) = &s.capture {
        c.gigachat_request(model, request);
    }
}

/// The current request's traffic-log capture (`None` when the log is off or outside a
/// request): for the parts only the caller sees (the GigaChat request and answer).
pub fn capture() -> Option<Arc<Capture>> {
    current().and_then(|s| s.capture.clone())
}

/// [`waiting`] for a concurrency slot: also the traffic record's queue time.
pub async fn queued<F: Future>(fut: F) -> F::Output {
    let started = Instant::now();
    let out = waiting(fut).await;
    if let Some(c) = capture() {
        c.add_queue(started.elapsed());
    }
    out
}

/// Resolving a request's attachments (their downloads and uploads count as waits
/// themselves): the traffic record's upload time.
pub async fn uploading<F: Future>(fut: F) -> F::Output {
    let started = Instant::now();
    let out = fut.await;
    if let Some(c) = capture() {
        c.add_upload(started.elapsed());
    }
    out
}

/// Anything a GigaChat call returns that may carry a GigaChat failure.
pub trait UpstreamOutcome {
    fn upstream_failure(&self) -> Option<&gigachat::Error>;
}

impl<T> UpstreamOutcome for Result<T, gigachat::Error> {
    fn upstream_failure(&self) -> Option<&gigachat::Error> {
        self.as_ref().err()
    }
}

impl<T> UpstreamOutcome for Result<T, ProxyError> {
    fn upstream_failure(&self) -> Option<&gigachat::Error> {
        match self {
            Err(ProxyError::Upstream(e)) => Some(e),
            _ => None,
        }
    }
}

/// Awaits a GigaChat call `fut`, timing it as `operation` (latency histogram, errors by
/// status, and the current request's upstream time).
pub async fn upstream<F>(operation: &'static str, fut: F) -> F::Output
where
    F: Future,
    F::Output: UpstreamOutcome,
{
    let started = Instant::now();
    let scope = current();
    let call: Option<CallSpan> = scope.as_ref().and_then(|s| {
        let t = s.trace.as_ref()?;
        if let Some(op) = traces::operation_name(operation) {
            let _ = t.operation.set(op);
        }
        Some(
            t.span
                .call(operation, t.gigachat_model.get().map(String::as_str)),
        )
    });
    let out = waiting(fut).await;
    if let Some(call) = call {
        call.end(out.upstream_failure().map(|e| {
            let kind = match e.status() {
                Some(s) => s.to_string(),
                None => e.kind().as_str().to_string(),
            };
            (kind, e.to_string())
        }));
    }
    if let Some(s) = scope {
        let elapsed = started.elapsed();
        s.metrics
            .upstream_duration
            .get_or_create(&OperationLabels { operation })
            .observe(elapsed.as_secs_f64());
        if let Some(e) = out.upstream_failure() {
            s.metrics.upstream_error(operation, e);
        }
        if let Some(c) = &s.capture
            && matches!(operation, "chat" | "chat_stream")
        {
            c.first_byte();
        }
    }
    out
}

/// Watches an answer's events: token usage, and for streams the time to the first
/// token, the active-streams gauge and failures after the stream started.
pub(crate) fn observe_events(events: EventStream, streaming: bool) -> EventStream {
    let Some(scope) = current() else {
        return events;
    };
    let guard = streaming.then(|| StreamGuard::open(scope.clone()));
    let mut first_token = streaming;
    Box::pin(events.map(move |item| {
        let _open = &guard;
        match &item {
            Ok(Event::Text(_) | Event::Reasoning(_) | Event::ToolCall(_)) if first_token => {
                first_token = false;
                scope
                    .metrics
                    .ttft
                    .get_or_create(&DialectLabels {
                        dialect: scope.dialect,
                    })
                    .observe(scope.started.elapsed().as_secs_f64());
            }
            Ok(Event::Usage(u)) => {
                let model = Model(scope.model_label());
                let add = |direction, n| {
                    scope
                        .metrics
                        .tokens
                        .get_or_create(&TokenLabels {
                            direction,
                            model: model.clone(),
                        })
                        .inc_by(n);
                };
                add("input", u.input_tokens);
                add("output", u.output_tokens);
                if u.cached_tokens > 0 {
                    add("cached_input", u.cached_tokens);
                }
                if let Some(c) = &scope.capture {
                    c.usage(u.input_tokens, u.output_tokens, u.cached_tokens);
                }
                if let Some(t) = &scope.trace {
                    *t.usage.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((u.input_tokens, u.output_tokens));
                }
            }
            Err(e) => {
                if let ProxyError::Upstream(e) = e {
                    scope.metrics.upstream_error("chat_stream", e);
                }
                if let Some(c) = &scope.capture {
                    c.error(&e.to_string());
                }
                if let Some(t) = &scope.trace {
                    *t.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                }
            }
            _ => {}
        }
        item
    }))
}

impl Scope {
    fn model_label(&self) -> Arc<str> {
        self.model
            .get()
            .cloned()
            .unwrap_or_else(|| Arc::from("none"))
    }
}

/// Counts one open stream until dropped (finished or abandoned by the client).
struct StreamGuard {
    gauge: Gauge,
}

impl StreamGuard {
    fn open(scope: Arc<Scope>) -> Self {
        let gauge = scope
            .metrics
            .active_streams
            .get_or_create_owned(&DialectLabels {
                dialect: scope.dialect,
            });
        gauge.inc();
        Self { gauge }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

// ---- one request ------------------------------------------------------------------------

/// Measures one request of `route` / `dialect` / `method` while `handler` runs (see the
/// module docs): opens its scope, then counts it, its duration (for a stream, until the
/// body ends) and the proxy's overhead. With a traffic capture, the response body is
/// watched (copied up to the cap when kept) and the record queued when it ends; with a
/// trace span, the span ends with the request (a stream's when its body does).
pub async fn measure(
    metrics: &Arc<Metrics>,
    route: &'static str,
    dialect: &'static str,
    method: &'static str,
    observers: Observers,
    handler: impl Future<Output = Response>,
) -> Response {
    let started = Instant::now();
    let metrics = metrics.clone();
    let scope = Arc::new(Scope {
        metrics: metrics.clone(),
        dialect,
        started,
        waits: std::sync::Mutex::new(Waits::default()),
        model: OnceLock::new(),
        capture: observers.capture,
        trace: observers.trace.map(|span| Traced {
            span,
            client_model: OnceLock::new(),
            gigachat_model: OnceLock::new(),
            operation: OnceLock::new(),
            usage: std::sync::Mutex::new(None),
            error: std::sync::Mutex::new(None),
        }),
    });
    let response = SCOPE.scope(scope.clone(), handler).await;

    if matches!(dialect, "openai" | "anthropic" | "responses" | "files") {
        metrics
            .overhead
            .get_or_create(&DialectLabels { dialect })
            .observe(
                started
                    .elapsed()
                    .saturating_sub(scope.waited())
                    .as_secs_f64(),
            );
    }
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            dialect,
            method,
            status: response.status().as_u16(),
            model: Model(scope.model_label()),
        })
        .inc();
    let duration = metrics
        .request_duration
        .get_or_create_owned(&RouteLabels { route, dialect });
    let streaming = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let response = match &scope.capture {
        Some(c) => captured(c.clone(), response, streaming),
        None => response,
    };
    let status = response.status().as_u16();
    if !streaming {
        duration.observe(started.elapsed().as_secs_f64());
        if let Some(t) = &scope.trace {
            t.end(status);
        }
        return response;
    }
    // A stream's duration ends when its body does (or the client goes away).
    let (parts, body) = response.into_parts();
    let done = BodyDone {
        histogram: duration,
        started,
        trace: scope.trace.is_some().then(|| (scope.clone(), status)),
    };
    let body = body.into_data_stream().map(move |chunk| {
        let _done = &done;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}

/// The response with its body watched by `capture`: copied as it passes (when kept),
/// and the record finished when the body ends or is dropped.
fn captured(capture: Arc<Capture>, response: Response, streaming: bool) -> Response {
    let status = response.status().as_u16();
    capture.response_head(status, streaming);
    if !streaming && status < 400 && !capture.bodies() {
        // Nothing to copy, and the body is ready: the record is complete.
        capture.finish();
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // A body of known size keeps its Content-Length through the wrapper.
    if let Some(n) = axum::body::HttpBody::size_hint(&body).exact() {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, axum::http::HeaderValue::from(n));
    }
    let done = Finish(capture.clone());
    let body = body.into_data_stream().map(move |chunk| {
        let _done = &done;
        if let Ok(bytes) = &chunk {
            capture.client_response_chunk(bytes);
        }
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}

/// Finishes a traffic record when the response body is dropped.
struct Finish(Arc<Capture>);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Observes the request duration (and ends its trace span) when the response body is
/// dropped.
struct BodyDone {
    histogram: Histogram,
    started: Instant,
    trace: Option<(Arc<Scope>, u16)>,
}

impl Drop for BodyDone {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
        if let Some((scope, status)) = &self.trace
            && let Some(t) = &scope.trace
        {
            t.end(*status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_labels_are_capped() {
        let m = Metrics::new(None);
        for i in 0..MODEL_LABELS_MAX {
            assert_eq!(&*m.model_label(&format!("m{i}")), format!("m{i}"));
        }
        assert_eq!(&*m.model_label("one-too-many"), "other");
        assert_eq!(&*m.model_label("m3"), "m3");
        assert_eq!(&*m.model_label("  "), "none");
        let fresh = Metrics::new(None);
        assert_eq!(fresh.model_label(&"x".repeat(500)).chars().count(), 64);
    }

    #[test]
    fn histograms_render_cumulatively() {
        let m = Metrics::new(None);
        let h = m
            .ttft
            .get_or_create_owned(&DialectLabels { dialect: "openai" });
        h.observe(0.003);
        h.observe(0.03);
        h.observe(1000.0);
        let text = m.render();
        for line in [
            "# TYPE gpt2giga_time_to_first_token_seconds histogram",
            "gpt2giga_time_to_first_token_seconds_bucket{dialect=\"openai\",le=\"0.005\"} 1",
            "gpt2giga_time_to_first_token_seconds_bucket{dialect=\"openai\",le=\"0.05\"} 2",
            "gpt2giga_time_to_first_token_seconds_bucket{dialect=\"openai\",le=\"1\"} 2",
            "gpt2giga_time_to_first_token_seconds_bucket{dialect=\"openai\",le=\"+Inf\"} 3",
            "gpt2giga_time_to_first_token_seconds_count{dialect=\"openai\"} 3",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }

    /// The exposition keeps the names and types scrapers already know (0.0.4 text:
    /// `_total` on the counter's TYPE line, no `# UNIT`, no `# EOF`).
    #[test]
    fn exposition_keeps_the_documented_names() {
        let m = Metrics::new(None);
        m.requests
            .get_or_create(&RequestLabels {
                route: "/models",
                dialect: "openai",
                method: "GET",
                status: 200,
                model: Model(m.model_label("a\"b\\c\nd")),
            })
            .inc();
        let text = m.render();
        for line in [
            "# TYPE gpt2giga_requests_total counter",
            "gpt2giga_requests_total{route=\"/models\",dialect=\"openai\",method=\"GET\",status=\"200\",model=\"a\\\"b\\\\c\\nd\"} 1",
            "# TYPE gpt2giga_build_info gauge",
            concat!(
                "gpt2giga_build_info{version=\"",
                env!("CARGO_PKG_VERSION"),
                "\"} 1"
            ),
            "# TYPE gpt2giga_uptime_seconds gauge",
            "# TYPE gpt2giga_start_time_seconds gauge",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
    }
}
