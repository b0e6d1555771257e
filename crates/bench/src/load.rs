//! The load generator: closed-loop workers over a keep-alive connection pool.
//!
//! `concurrency` tasks each send one request at a time until the deadline (a request
//! in flight at the deadline is finished and counted; RPS divides by the real elapsed
//! time). Every answer is read to the end and checked: status 200, all reply tokens
//! present (a missing token of a stream = a lost frame), the stream terminator
//! (`data: [DONE]` / `message_stop`), and, for streams, the time to the first body byte
//! and the longest silence between two body chunks (a stall when above the threshold).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::workloads::Expect;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A keep-alive client with an unbounded pool (one connection per concurrent request).
pub fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(Duration::from_secs(600))
        .build(connector)
}

/// One request shape, sent over and over.
pub struct Spec {
    pub uri: Uri,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub expect: Expect,
    /// Per-request timeout (a stream that exceeds it counts as an error and a stall).
    pub timeout: Duration,
    /// A silence between two stream chunks longer than this is a stall.
    pub stall: Duration,
}

/// Everything measured in one run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    /// Error kind → count.
    pub error_kinds: BTreeMap<String, u64>,
    /// One example error body/message per kind.
    pub error_examples: BTreeMap<String, String>,
    #[serde(skip)]
    pub latency_us: Vec<u32>,
    #[serde(skip)]
    pub ttfb_us: Vec<u32>,
    pub streams: u64,
    /// `data:` lines seen over all streams.
    pub frames: u64,
    pub frames_min: Option<u64>,
    pub frames_max: Option<u64>,
    /// Reply tokens missing from streams, plus missing terminators.
    pub lost_frames: u64,
    /// Streams with a silence above the threshold, or cut by the timeout.
    pub stalls: u64,
    pub max_gap_us: u64,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        self.ok += o.ok;
        self.errors += o.errors;
        for (k, v) in o.error_kinds {
            *self.error_kinds.entry(k).or_default() += v;
        }
        for (k, v) in o.error_examples {
            self.error_examples.entry(k).or_insert(v);
        }
        self.latency_us.extend(o.latency_us);
        self.ttfb_us.extend(o.ttfb_us);
        self.streams += o.streams;
        self.frames += o.frames;
        self.frames_min = min_opt(self.frames_min, o.frames_min);
        self.frames_max = self.frames_max.max(o.frames_max);
        self.lost_frames += o.lost_frames;
        self.stalls += o.stalls;
        self.max_gap_us = self.max_gap_us.max(o.max_gap_us);
    }

    fn error(&mut self, kind: &str, example: impl FnOnce() -> String) {
        self.errors += 1;
        *self.error_kinds.entry(kind.to_string()).or_default() += 1;
        if !self.error_examples.contains_key(kind) {
            self.error_examples.insert(kind.to_string(), example());
        }
    }
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Percentile (0..=100) of sorted samples, in milliseconds.
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let idx = ((sorted_us.len() - 1) as f64 * p / 100.0).round() as usize;
    Some(f64::from(sorted_us[idx.min(sorted_us.len() - 1)]) / 1000.0)
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// What one answer looked like.
struct Answer {
    status: StatusCode,
    ttfb: Option<Duration>,
    max_gap: Duration,
    body: Vec<u8>,
}

async fn send(client: &HttpClient, spec: &Spec, t0: Instant) -> Result<Answer, (String, String)> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(spec.uri.clone());
    for (k, v) in &spec.headers {
        builder = builder.header(k, v);
    }
    let req = builder
        .body(Full::new(spec.body.clone()))
        .map_err(|e| ("request".to_string(), e.to_string()))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| ("connect/send".to_string(), format!("{e:?}")))?;
    let status = resp.status();
    let mut body = resp.into_body();
    let mut buf = Vec::with_capacity(4096);
    let mut ttfb = None;
    let mut last = t0;
    let mut max_gap = Duration::ZERO;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ("body read".to_string(), format!("{e:?}")))?;
        if let Ok(data) = frame.into_data() {
            let now = Instant::now();
            if ttfb.is_none() {
                ttfb = Some(now - t0);
            } else {
                max_gap = max_gap.max(now - last);
            }
            last = now;
            buf.extend_from_slice(&data);
        }
    }
    Ok(Answer {
        status,
        ttfb,
        max_gap,
        body: buf,
    })
}

/// Bitmask of the reply tokens `<00>`…`<63>` found in `body`.
pub fn tokens_found(body: &[u8]) -> u64 {
    let mut mask = 0u64;
    for i in memchr::memchr_iter(b'<', body) {
        if let Some(&[d1, d2, b'>']) = body.get(i + 1..i + 4)
            && d1.is_ascii_digit()
            && d2.is_ascii_digit()
        {
            let idx = u32::from(d1 - b'0') * 10 + u32::from(d2 - b'0');
            if idx < 64 {
                mask |= 1 << idx;
            }
        }
    }
    mask
}

fn count(body: &[u8], needle: &[u8]) -> usize {
    memchr::memmem::find_iter(body, needle).count()
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(300)]);
    s.replace('\n', "\\n")
}

fn check(stats: &mut Stats, spec: &Spec, t0: Instant, answer: Answer) {
    let exp = &spec.expect;
    let latency = t0.elapsed();
    if answer.status != StatusCode::OK {
        let kind = format!("status {}", answer.status.as_u16());
        stats.error(&kind, || snippet(&answer.body));
        return;
    }
    let want = if exp.tokens == 0 {
        0
    } else {
        (1u64 << exp.tokens) - 1
    };
    let missing = u64::from((want & !tokens_found(&answer.body)).count_ones());
    let terminated = exp
        .terminator
        .is_none_or(|t| memchr::memmem::find(&answer.body, t).is_some());
    if exp.stream {
        let frames = count(&answer.body, b"data:") as u64;
        stats.streams += 1;
        stats.frames += frames;
        stats.frames_min = min_opt(stats.frames_min, Some(frames));
        stats.frames_max = stats.frames_max.max(Some(frames));
        stats.lost_frames += missing + u64::from(!terminated);
        let gap = micros(answer.max_gap);
        stats.max_gap_us = stats.max_gap_us.max(u64::from(gap));
        if answer.max_gap > spec.stall {
            stats.stalls += 1;
        }
    }
    if missing > 0 {
        stats.error("incomplete reply", || snippet(&answer.body));
        return;
    }
    if !terminated {
        stats.error("no stream terminator", || snippet(&answer.body));
        return;
    }
    if exp.min_embeddings > 0 && count(&answer.body, b"\"embedding\"") < exp.min_embeddings {
        stats.error("too few embeddings", || snippet(&answer.body));
        return;
    }
    stats.ok += 1;
    stats.latency_us.push(micros(latency));
    stats.ttfb_us.push(micros(answer.ttfb.unwrap_or(latency)));
}

async fn worker(client: HttpClient, spec: Arc<Spec>, delay: Duration, deadline: Instant) -> Stats {
    let mut stats = Stats::default();
    tokio::time::sleep(delay).await;
    // Bounded: at most one request per worker starts after the deadline check fails.
    while Instant::now() < deadline {
        let t0 = Instant::now();
        match tokio::time::timeout(spec.timeout, send(&client, &spec, t0)).await {
            Ok(Ok(answer)) => check(&mut stats, &spec, t0, answer),
            Ok(Err((kind, msg))) => {
                stats.error(&kind, || msg);
                // Do not spin on a dead target.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(_) => {
                if spec.expect.stream {
                    stats.streams += 1;
                    stats.stalls += 1;
                }
                stats.error("timeout", || {
                    format!("no complete answer within {:?}", spec.timeout)
                });
            }
        }
    }
    stats
}

/// Sends exactly one request (a probe) and checks the answer.
pub async fn once(client: &HttpClient, spec: &Spec) -> Stats {
    let mut stats = Stats::default();
    let t0 = Instant::now();
    match tokio::time::timeout(spec.timeout, send(client, spec, t0)).await {
        Ok(Ok(answer)) => check(&mut stats, spec, t0, answer),
        Ok(Err((kind, msg))) => stats.error(&kind, || msg),
        Err(_) => stats.error("timeout", || format!("{:?}", spec.timeout)),
    }
    stats
}

/// Runs `concurrency` workers for `duration`, worker `i` starting after
/// `i × ramp / concurrency`; returns the merged stats and the real elapsed time (until
/// the last in-flight request finished).
pub async fn run(
    client: &HttpClient,
    spec: Arc<Spec>,
    concurrency: usize,
    duration: Duration,
    ramp: Duration,
) -> (Stats, Duration) {
    let start = Instant::now();
    let deadline = start + duration;
    let mut set = JoinSet::new();
    for i in 0..concurrency {
        let delay = ramp.mul_f64(i as f64 / concurrency as f64);
        set.spawn(worker(client.clone(), spec.clone(), delay, deadline));
    }
    let mut stats = Stats::default();
    while let Some(res) = set.join_next().await {
        match res {
            Ok(s) => stats.merge(s),
            Err(e) => stats.error("worker panic", || e.to_string()),
        }
    }
    (stats, start.elapsed())
}

/// One JSON POST (control calls to the mock, probes): status and body.
pub async fn post_json(
    client: &HttpClient,
    uri: &str,
    body: &serde_json::Value,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))?;
    let resp = tokio::time::timeout(Duration::from_secs(30), client.request(req)).await??;
    let status = resp.status();
    let bytes = tokio::time::timeout(Duration::from_secs(30), resp.into_body().collect())
        .await??
        .to_bytes();
    Ok((status, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tokens_across_framings() {
        let body = br#"data: {"content":"<00> "}

data: {"content":"<01> "}

data: {"content":"<49> "}
"#;
        let mask = tokens_found(body);
        assert_eq!(mask, 1 | 2 | (1 << 49));
        assert_eq!(tokens_found(b"<0> <x1> <123"), 0);
    }

    #[test]
    fn percentiles() {
        let v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile_ms(&v, 50.0), Some(51.0));
        assert_eq!(percentile_ms(&v, 99.0), Some(99.0));
        assert_eq!(percentile_ms(&[], 50.0), None);
    }
}
