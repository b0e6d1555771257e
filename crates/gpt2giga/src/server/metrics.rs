//! `GET /metrics`: Prometheus text format, always on, cheap enough to leave on.
//!
//! Hand-rolled on atomics (no metrics framework): a request costs a few relaxed atomic
//! increments and, per labelled series, one read-locked hash lookup; series are created
//! once. Label values are bounded: routes are templates (`/models/{id}`), statuses are
//! numbers, and the requested model is capped at [`MODEL_LABELS_MAX`] distinct values
//! (then `other`).
//!
//! How time is split: the [`track`] middleware opens a per-request [`Scope`] (a tokio
//! task-local) for the handler; every GigaChat call made through [`upstream`], and every
//! other wait through [`waiting`] (a concurrency slot, an attachment download), adds its
//! wall time to the scope (overlapping waits count once). *Proxy overhead* is the time
//! until the response headers are ready minus that waiting — for a non-streaming answer
//! the whole request, for a stream everything before the first byte (translation per
//! chunk afterwards is microseconds and not separable from waiting on GigaChat). Streams
//! also report the time to the first token and are counted in the active-streams gauge
//! while open.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use crate::app::AppState;
use crate::error::ProxyError;
use crate::ir::Event;
use crate::upstream::EventStream;

/// Distinct requested-model label values kept; later ones are counted as `other`.
pub const MODEL_LABELS_MAX: usize = 64;
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

// ---- primitives ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Counter(AtomicU64);

impl Counter {
    fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
struct Gauge(AtomicI64);

#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    /// Per bucket (not cumulative); the last one is `+Inf`.
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = self.bounds.partition_point(|b| *b < secs);
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// One label value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Label {
    Static(&'static str),
    Shared(Arc<str>),
    Number(u16),
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Static(s) => f.write_str(s),
            Label::Shared(s) => f.write_str(s),
            Label::Number(n) => write!(f, "{n}"),
        }
    }
}

/// Series of one metric, keyed by their label values.
struct Family<const N: usize, V> {
    names: [&'static str; N],
    series: RwLock<HashMap<[Label; N], Arc<V>>>,
    make: Box<dyn Fn() -> V + Send + Sync>,
}

impl<const N: usize, V> Family<N, V> {
    fn new(names: [&'static str; N], make: impl Fn() -> V + Send + Sync + 'static) -> Self {
        Self {
            names,
            series: RwLock::new(HashMap::new()),
            make: Box::new(make),
        }
    }

    fn get(&self, key: [Label; N]) -> Arc<V> {
        if let Some(v) = self
            .series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return v.clone();
        }
        let mut w = self.series.write().unwrap_or_else(|e| e.into_inner());
        w.entry(key)
            .or_insert_with(|| Arc::new((self.make)()))
            .clone()
    }

    /// Series sorted by labels, for stable output.
    fn snapshot(&self) -> Vec<([Label; N], Arc<V>)> {
        let mut v: Vec<_> = self
            .series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn labels(&self, key: &[Label; N], extra: Option<(&str, &str)>) -> String {
        let mut parts: Vec<String> = self
            .names
            .iter()
            .zip(key.iter())
            .map(|(n, v)| format!("{n}=\"{}\"", escape(&v.to_string())))
            .collect();
        if let Some((n, v)) = extra {
            parts.push(format!("{n}=\"{v}\""));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", parts.join(","))
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

// ---- the registry -------------------------------------------------------------------------

/// Every metric of one proxy instance.
pub struct Metrics {
    started: SystemTime,
    requests: Family<5, Counter>,
    request_duration: Family<2, Histogram>,
    overhead: Family<1, Histogram>,
    upstream_duration: Family<1, Histogram>,
    upstream_errors: Family<2, Counter>,
    ttft: Family<1, Histogram>,
    active_streams: Family<1, Gauge>,
    tokens: Family<2, Counter>,
    models: RwLock<HashSet<Arc<str>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            started: SystemTime::now(),
            requests: Family::new(
                ["route", "dialect", "method", "status", "model"],
                Counter::default,
            ),
            request_duration: Family::new(["route", "dialect"], || Histogram::new(LATENCY_BUCKETS)),
            overhead: Family::new(["dialect"], || Histogram::new(OVERHEAD_BUCKETS)),
            upstream_duration: Family::new(["operation"], || Histogram::new(LATENCY_BUCKETS)),
            upstream_errors: Family::new(["operation", "status"], Counter::default),
            ttft: Family::new(["dialect"], || Histogram::new(LATENCY_BUCKETS)),
            active_streams: Family::new(["dialect"], Gauge::default),
            tokens: Family::new(["direction", "model"], Counter::default),
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

    fn upstream_error(&self, op: &'static str, e: &gigachat::Error) {
        let status = match e.status() {
            Some(s) => Label::Number(s),
            None => Label::Static(e.kind().as_str()),
        };
        self.upstream_errors.get([Label::Static(op), status]).add(1);
    }

    /// The Prometheus text exposition (version 0.0.4). `client` adds the GigaChat
    /// client's own counters (token fetches, retries).
    pub fn render(&self, client: Option<&gigachat::Client>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let uptime = self.started.elapsed().unwrap_or_default().as_secs_f64();
        let start = self
            .started
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        header(
            &mut out,
            "gpt2giga_build_info",
            "gauge",
            "Version of the running proxy.",
        );
        let _ = writeln!(
            out,
            "gpt2giga_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        header(
            &mut out,
            "gpt2giga_start_time_seconds",
            "gauge",
            "Start time of the proxy since the Unix epoch.",
        );
        let _ = writeln!(out, "gpt2giga_start_time_seconds {start:.3}");
        header(
            &mut out,
            "gpt2giga_uptime_seconds",
            "gauge",
            "Seconds since the proxy started.",
        );
        let _ = writeln!(out, "gpt2giga_uptime_seconds {uptime:.3}");

        counters(
            &mut out,
            "gpt2giga_requests_total",
            "HTTP requests answered, by route template, dialect, method, status and requested model.",
            &self.requests,
        );
        histograms(
            &mut out,
            "gpt2giga_request_duration_seconds",
            "Time from request arrival to the end of the response body (streams: until the stream ends).",
            &self.request_duration,
        );
        histograms(
            &mut out,
            "gpt2giga_proxy_overhead_seconds",
            "The proxy's own time: until the response headers, minus time spent waiting on GigaChat.",
            &self.overhead,
        );
        histograms(
            &mut out,
            "gpt2giga_upstream_request_duration_seconds",
            "GigaChat call latency (streams: until the first chunk), including retries.",
            &self.upstream_duration,
        );
        counters(
            &mut out,
            "gpt2giga_upstream_errors_total",
            "Failed GigaChat calls, by operation and HTTP status (or failure kind: timeout, connect…).",
            &self.upstream_errors,
        );
        histograms(
            &mut out,
            "gpt2giga_time_to_first_token_seconds",
            "Streaming answers: time from request arrival to the first text, reasoning or tool-call delta.",
            &self.ttft,
        );
        header(
            &mut out,
            "gpt2giga_active_streams",
            "gauge",
            "Streaming answers currently open.",
        );
        for (k, g) in self.active_streams.snapshot() {
            let _ = writeln!(
                out,
                "gpt2giga_active_streams{} {}",
                self.active_streams.labels(&k, None),
                g.0.load(Ordering::Relaxed)
            );
        }
        counters(
            &mut out,
            "gpt2giga_tokens_total",
            "Tokens reported by GigaChat's usage, by direction (input, output, cached_input) and requested model.",
            &self.tokens,
        );
        if let Some(c) = client {
            header(
                &mut out,
                "gpt2giga_upstream_token_fetches_total",
                "counter",
                "Access tokens obtained from GigaChat's OAuth/token endpoint (every identity, pass-token ones included).",
            );
            let _ = writeln!(
                out,
                "gpt2giga_upstream_token_fetches_total {}",
                c.token_fetches_all()
            );
            header(
                &mut out,
                "gpt2giga_upstream_retries_total",
                "counter",
                "GigaChat requests repeated after a retryable failure (before the first response byte).",
            );
            let _ = writeln!(out, "gpt2giga_upstream_retries_total {}", c.retries());
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn counters<const N: usize>(out: &mut String, name: &str, help: &str, f: &Family<N, Counter>) {
    header(out, name, "counter", help);
    for (k, c) in f.snapshot() {
        let _ = writeln!(
            out,
            "{name}{} {}",
            f.labels(&k, None),
            c.0.load(Ordering::Relaxed)
        );
    }
}

fn histograms<const N: usize>(out: &mut String, name: &str, help: &str, f: &Family<N, Histogram>) {
    header(out, name, "histogram", help);
    for (k, h) in f.snapshot() {
        let mut cumulative = 0u64;
        for (i, c) in h.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = h
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{} {cumulative}",
                f.labels(&k, Some(("le", &le)))
            );
        }
        let sum = h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{} {sum}", f.labels(&k, None));
        let _ = writeln!(
            out,
            "{name}_count{} {}",
            f.labels(&k, None),
            h.count.load(Ordering::Relaxed)
        );
    }
}

// ---- per-request scope --------------------------------------------------------------------

/// What one request has measured so far (see the module docs).
pub struct Scope {
    metrics: Arc<Metrics>,
    dialect: &'static str,
    started: Instant,
    /// Time spent waiting on something else (GigaChat, a concurrency slot, an
    /// attachment download): the union of the waits, so overlapping ones count once.
    waits: std::sync::Mutex<Waits>,
    model: OnceLock<Arc<str>>,
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
pub fn note_model(model: &str) {
    if let Some(s) = current() {
        let _ = s.model.set(s.metrics.model_label(model));
    }
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
    let out = waiting(fut).await;
    if let Some(s) = current() {
        let elapsed = started.elapsed();
        s.metrics
            .upstream_duration
            .get([Label::Static(operation)])
            .observe(elapsed);
        if let Some(e) = out.upstream_failure() {
            s.metrics.upstream_error(operation, e);
        }
    }
    out
}

/// Watches an answer's events: token usage, and for streams the time to the first
/// token, the active-streams gauge and failures after the stream started.
pub fn observe_events(events: EventStream, streaming: bool) -> EventStream {
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
                    .get([Label::Static(scope.dialect)])
                    .observe(scope.started.elapsed());
            }
            Ok(Event::Usage(u)) => {
                let model = scope.model_label();
                let m = &scope.metrics.tokens;
                m.get([Label::Static("input"), Label::Shared(model.clone())])
                    .add(u.input_tokens);
                m.get([Label::Static("output"), Label::Shared(model.clone())])
                    .add(u.output_tokens);
                if u.cached_tokens > 0 {
                    m.get([Label::Static("cached_input"), Label::Shared(model)])
                        .add(u.cached_tokens);
                }
            }
            Err(ProxyError::Upstream(e)) => scope.metrics.upstream_error("chat_stream", e),
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
    gauge: Arc<Gauge>,
}

impl StreamGuard {
    fn open(scope: Arc<Scope>) -> Self {
        let gauge = scope
            .metrics
            .active_streams
            .get([Label::Static(scope.dialect)]);
        gauge.0.fetch_add(1, Ordering::Relaxed);
        Self { gauge }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.gauge.0.fetch_sub(1, Ordering::Relaxed);
    }
}

// ---- the middleware and the endpoint ------------------------------------------------------

/// Route template and dialect of a (normalised) path. Bounded: unknown paths are
/// `unmatched`.
pub fn classify(path: &str) -> (&'static str, &'static str) {
    let p = match path.strip_prefix("/v1") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    };
    let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["chat", "completions"] => ("/chat/completions", "openai"),
        ["models"] => ("/models", "openai"),
        ["models", _] => ("/models/{id}", "openai"),
        ["embeddings"] => ("/embeddings", "openai"),
        ["responses"] => ("/responses", "responses"),
        ["responses", _] => ("/responses/{id}", "responses"),
        ["responses", _, "input_items"] => ("/responses/{id}/input_items", "responses"),
        ["messages"] => ("/messages", "anthropic"),
        ["messages", "count_tokens"] => ("/messages/count_tokens", "anthropic"),
        [""] => ("/", "system"),
        ["health"] => ("/health", "system"),
        ["ping"] => ("/ping", "system"),
        ["metrics"] => ("/metrics", "system"),
        ["logs"] => ("/logs", "system"),
        ["logs", "stream"] => ("/logs/stream", "system"),
        ["logs", "html"] => ("/logs/html", "system"),
        ["logs", _] => ("/logs/{n}", "system"),
        ["openapi.json"] => ("/openapi.json", "system"),
        ["docs"] => ("/docs", "system"),
        ["redoc"] => ("/redoc", "system"),
        _ if crate::dialect::is_anthropic_path(path) => ("unmatched", "anthropic"),
        _ => ("unmatched", "other"),
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Measures every request (see the module docs). Sits just inside the request-context
/// layer, so it sees auth and body-limit refusals too.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (route, dialect) = classify(request.uri().path());
    let method = method_label(request.method());
    let metrics = state.metrics().clone();
    let scope = Arc::new(Scope {
        metrics: metrics.clone(),
        dialect,
        started,
        waits: std::sync::Mutex::new(Waits::default()),
        model: OnceLock::new(),
    });
    let response = SCOPE.scope(scope.clone(), next.run(request)).await;

    if matches!(dialect, "openai" | "anthropic" | "responses") {
        metrics
            .overhead
            .get([Label::Static(dialect)])
            .observe(started.elapsed().saturating_sub(scope.waited()));
    }
    metrics
        .requests
        .get([
            Label::Static(route),
            Label::Static(dialect),
            Label::Static(method),
            Label::Number(response.status().as_u16()),
            Label::Shared(scope.model_label()),
        ])
        .add(1);
    let duration = metrics
        .request_duration
        .get([Label::Static(route), Label::Static(dialect)]);
    let streaming = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if !streaming {
        duration.observe(started.elapsed());
        return response;
    }
    // A stream's duration ends when its body does (or the client goes away).
    let (parts, body) = response.into_parts();
    let done = BodyDone {
        histogram: duration,
        started,
    };
    let body = body.into_data_stream().map(move |chunk| {
        let _done = &done;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}

/// Observes the request duration when the response body is dropped.
struct BodyDone {
    histogram: Arc<Histogram>,
    started: Instant,
}

impl Drop for BodyDone {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed());
    }
}

/// `GET /metrics`: the Prometheus text exposition.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let text = state.metrics().render(Some(state.gigachat()));
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_templates() {
        assert_eq!(
            classify("/v1/chat/completions"),
            ("/chat/completions", "openai")
        );
        assert_eq!(
            classify("/chat/completions"),
            ("/chat/completions", "openai")
        );
        assert_eq!(
            classify("/v1/models/GigaChat-2"),
            ("/models/{id}", "openai")
        );
        assert_eq!(
            classify("/v1/responses/resp_1/input_items"),
            ("/responses/{id}/input_items", "responses")
        );
        assert_eq!(classify("/v1/messages"), ("/messages", "anthropic"));
        assert_eq!(classify("/logs/25"), ("/logs/{n}", "system"));
        assert_eq!(classify("/logs/stream"), ("/logs/stream", "system"));
        assert_eq!(classify("/"), ("/", "system"));
        assert_eq!(classify("/v1x/foo"), ("unmatched", "other"));
        assert_eq!(classify("/v1/messages/x/y"), ("unmatched", "anthropic"));
    }

    #[test]
    fn model_labels_are_capped() {
        let m = Metrics::new();
        for i in 0..MODEL_LABELS_MAX {
            assert_eq!(&*m.model_label(&format!("m{i}")), format!("m{i}"));
        }
        assert_eq!(&*m.model_label("one-too-many"), "other");
        assert_eq!(&*m.model_label("m3"), "m3");
        assert_eq!(&*m.model_label("  "), "none");
        let fresh = Metrics::new();
        assert_eq!(fresh.model_label(&"x".repeat(500)).chars().count(), 64);
    }

    #[test]
    fn histograms_render_cumulatively() {
        let m = Metrics::new();
        let h = m.ttft.get([Label::Static("openai")]);
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(30));
        h.observe(Duration::from_secs(1000));
        let text = m.render(None);
        assert!(
            text.contains(
                "gpt2giga_time_to_first_token_seconds_bucket{dialect=\"openai\",le=\"0.005\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "gpt2giga_time_to_first_token_seconds_bucket{dialect=\"openai\",le=\"0.05\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "gpt2giga_time_to_first_token_seconds_bucket{dialect=\"openai\",le=\"+Inf\"} 3"
            ),
            "{text}"
        );
        assert!(
            text.contains("gpt2giga_time_to_first_token_seconds_count{dialect=\"openai\"} 3"),
            "{text}"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
