//! The traffic log's capture side: what one request did, gathered while it runs and
//! handed to the writer (the `traffic` module) as one [`Record`] when its response body ends.
//!
//! Zero cost when the log is off: the server's middleware creates a [`Capture`] only when
//! a [`Tap`] exists, and every hook here is a no-op without one. With the log on, a
//! request costs one allocation and a `try_send`; bodies are copied only at the `bodies`
//! level and never past the size cap (a full buffer stops the copying, and a serializer
//! writing into one stops early). Redaction happens on the writer's task, off the
//! request path. When the queue is full the record is dropped and counted.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::config::TrafficLogLevel;

/// The sending side of the traffic log's queue (cheap to clone).
#[derive(Clone)]
pub struct Tap {
    tx: mpsc::Sender<Record>,
    dropped: Counter,
    bodies: bool,
    cap: usize,
}

impl Tap {
    /// A tap sending into `tx`; full-queue drops are counted in `dropped`.
    pub fn new(
        tx: mpsc::Sender<Record>,
        dropped: Counter,
        level: TrafficLogLevel,
        max_body_bytes: u64,
    ) -> Self {
        Self {
            tx,
            dropped,
            bodies: level == TrafficLogLevel::Bodies,
            cap: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
        }
    }

    /// Queues `record`, or drops and counts it when the queue is full (never waits).
    fn send(&self, record: Record) {
        if self.tx.try_send(record).is_err() {
            self.dropped.inc();
        }
    }
}

/// A captured body: the first bytes up to the cap, and whether more were cut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    pub text: String,
    pub truncated: bool,
}

/// One finished request, as captured (bodies not yet redacted).
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// Arrival, Unix milliseconds.
    pub ts_ms: i64,
    pub request_id: String,
    pub method: &'static str,
    pub path: String,
    pub route: &'static str,
    pub dialect: &'static str,
    pub client_model: Option<String>,
    pub gigachat_model: Option<String>,
    /// Whose GigaChat account served it (`server`, or a pass-token fingerprint).
    pub identity: Option<String>,
    pub status: u16,
    pub error: Option<String>,
    pub stream: bool,
    /// Waiting for a concurrency slot.
    pub queue_us: i64,
    /// Resolving attachments (downloads and uploads to GigaChat).
    pub upload_us: i64,
    /// From arrival until GigaChat's first answer byte (its whole answer when not
    /// streaming).
    pub first_byte_us: Option<i64>,
    /// From arrival until the response body ended.
    pub total_us: i64,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cached_tokens: Option<i64>,
    pub client_request: Option<Captured>,
    pub gigachat_request: Option<Captured>,
    pub gigachat_response: Option<Captured>,
    pub client_response: Option<Captured>,
}

/// Bytes up to a cap; writes past it are refused (so a serializer stops early).
#[derive(Debug)]
struct Buf {
    bytes: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Buf {
    fn new(cap: usize) -> Self {
        Self {
            bytes: Vec::new(),
            cap,
            truncated: false,
        }
    }

    fn full(&self) -> bool {
        self.truncated
    }

    fn push(&mut self, data: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes.len());
        if data.len() > room {
            self.bytes.extend_from_slice(&data[..room]);
            self.truncated = true;
        } else {
            self.bytes.extend_from_slice(data);
        }
    }

    /// The text (its bytes, moved; a character cut at the cap becomes U+FFFD).
    fn captured(self) -> Captured {
        let text = String::from_utf8(self.bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Captured {
            text,
            truncated: self.truncated,
        }
    }
}

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.truncated {
            return Err(std::io::Error::other("traffic capture is full"));
        }
        self.push(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What one request has captured so far.
pub struct Capture {
    tap: Tap,
    started: Instant,
    data: Mutex<Data>,
}

struct Data {
    record: Record,
    client_request: Option<Buf>,
    gigachat_request: Option<Buf>,
    gigachat_response: Option<Buf>,
    /// The client's answer: kept at `bodies`, or for an error status (its message).
    client_response: Option<Buf>,
    keep_client_response: bool,
}

impl Capture {
    /// A capture for one request of `route` / `dialect`.
    pub fn new(
        tap: &Tap,
        request_id: &str,
        method: &'static str,
        path: &str,
        route: &'static str,
        dialect: &'static str,
    ) -> Arc<Self> {
        let ts_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let bodies = tap.bodies;
        Arc::new(Self {
            tap: tap.clone(),
            started: Instant::now(),
            data: Mutex::new(Data {
                record: Record {
                    ts_ms,
                    request_id: request_id.to_string(),
                    method,
                    path: path.to_string(),
                    route,
                    dialect,
                    ..Record::default()
                },
                client_request: bodies.then(|| Buf::new(tap.cap)),
                gigachat_request: None,
                gigachat_response: None,
                client_response: None,
                keep_client_response: bodies,
            }),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Data) -> R) -> R {
        let mut d = self.data.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut d)
    }

    /// Bodies are kept (`--proxy.traffic-log-level bodies`).
    pub fn bodies(&self) -> bool {
        self.tap.bodies
    }

    /// A piece of the client's request body.
    pub fn client_request_chunk(&self, data: &[u8]) {
        self.with(|d| {
            if let Some(b) = &mut d.client_request {
                b.push(data);
            }
        });
    }

    /// The request GigaChat is sent (and the model it names).
    pub fn gigachat_request<T: Serialize>(&self, model: &str, request: &T) {
        let cap = self.tap.cap;
        let bodies = self.tap.bodies;
        self.with(|d| {
            d.record.gigachat_model = Some(model.to_string());
            if bodies {
                let mut b = Buf::new(cap);
                let _ = serde_json::to_writer(&mut b, request);
                d.gigachat_request = Some(b);
            }
        });
    }

    /// GigaChat's whole (non-streaming) answer.
    pub fn gigachat_response<T: Serialize>(&self, response: &T) {
        if !self.tap.bodies {
            return;
        }
        let cap = self.tap.cap;
        self.with(|d| {
            let mut b = Buf::new(cap);
            let _ = serde_json::to_writer(&mut b, response);
            d.gigachat_response = Some(b);
        });
    }

    /// One chunk of GigaChat's streamed answer: the answer is kept as the chunks' JSON,
    /// one per line, in arrival order (up to the cap).
    pub fn gigachat_chunk<T: Serialize>(&self, chunk: &T) {
        if !self.tap.bodies {
            return;
        }
        let cap = self.tap.cap;
        self.with(|d| {
            let b = d.gigachat_response.get_or_insert_with(|| Buf::new(cap));
            if b.full() {
                return;
            }
            if !b.bytes.is_empty() {
                b.push(b"\n");
            }
            let _ = serde_json::to_writer(&mut *b, chunk);
        });
    }

    /// The model the client asked for.
    pub fn client_model(&self, model: &str) {
        self.with(|d| {
            if d.record.client_model.is_none() {
                d.record.client_model = Some(model.to_string());
            }
        });
    }

    /// Whose GigaChat account serves the request.
    pub fn identity(&self, identity: &dyn std::fmt::Display) {
        self.with(|d| d.record.identity = Some(identity.to_string()));
    }

    pub(crate) fn add_queue(&self, waited: Duration) {
        self.with(|d| d.record.queue_us += micros(waited));
    }

    pub(crate) fn add_upload(&self, took: Duration) {
        self.with(|d| d.record.upload_us += micros(took));
    }

    /// GigaChat answered (its first byte): now, counted from the request's arrival.
    pub(crate) fn first_byte(&self) {
        let at = micros(self.started.elapsed());
        self.with(|d| d.record.first_byte_us = Some(at));
    }

    pub(crate) fn usage(&self, input: u64, output: u64, cached: u64) {
        let n = |v: u64| Some(i64::try_from(v).unwrap_or(i64::MAX));
        self.with(|d| {
            d.record.input_tokens = n(input);
            d.record.output_tokens = n(output);
            d.record.cached_tokens = n(cached);
        });
    }

    /// A failure inside a stream that had already started.
    pub(crate) fn error(&self, message: &str) {
        self.with(|d| d.record.error = Some(message.to_string()));
    }

    /// The response's status and framing are known: from here the client's answer is
    /// copied when kept (or when it is an error, for its message).
    pub(crate) fn response_head(&self, status: u16, stream: bool) {
        let cap = self.tap.cap;
        self.with(|d| {
            d.record.status = status;
            d.record.stream = stream;
            if d.keep_client_response {
                d.client_response = Some(Buf::new(cap));
            } else if status >= 400 {
                d.client_response = Some(Buf::new(ERROR_BODY_BYTES));
            }
        });
    }

    /// A piece of the client's answer.
    pub(crate) fn client_response_chunk(&self, data: &[u8]) {
        self.with(|d| {
            if let Some(b) = &mut d.client_response {
                b.push(data);
            }
        });
    }

    /// The response body ended (or the client went away): the record is queued.
    pub(crate) fn finish(&self) {
        let total = micros(self.started.elapsed());
        let record = self.with(|d| {
            let mut r = std::mem::take(&mut d.record);
            r.total_us = total;
            let answer = d.client_response.take().map(Buf::captured);
            if r.status >= 400
                && r.error.is_none()
                && let Some(a) = &answer
            {
                r.error = Some(error_message(&a.text));
            }
            r.client_response = answer.filter(|_| d.keep_client_response);
            r.client_request = d.client_request.take().map(Buf::captured);
            r.gigachat_request = d.gigachat_request.take().map(Buf::captured);
            r.gigachat_response = d.gigachat_response.take().map(Buf::captured);
            r
        });
        self.tap.send(record);
    }
}

/// Bytes of an error answer read for its message at the `metadata` level.
const ERROR_BODY_BYTES: usize = 4096;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// The message of an error answer: `error.message` in every dialect's envelope
/// (OpenAI, Anthropic, Gemini), else the text itself (cut to 500 characters).
fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(500).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tap(level: TrafficLogLevel, cap: u64) -> (Tap, mpsc::Receiver<Record>, Counter) {
        let (tx, rx) = mpsc::channel(1);
        let dropped = Counter::default();
        (Tap::new(tx, dropped.clone(), level, cap), rx, dropped)
    }

    #[test]
    fn bodies_are_cut_at_the_cap_and_serializers_stop() {
        let (tap, mut rx, _) = tap(TrafficLogLevel::Bodies, 10);
        let c = Capture::new(&tap, "id", "POST", "/v1/x", "/x", "openai");
        c.client_request_chunk(b"0123456");
        c.client_request_chunk(b"789abcdef");
        c.gigachat_request(
            "GigaChat",
            &serde_json::json!({"messages": "x".repeat(100)}),
        );
        c.response_head(200, false);
        c.client_response_chunk(b"{}");
        c.finish();
        let r = rx.try_recv().unwrap();
        let req = r.client_request.unwrap();
        assert_eq!(req.text, "0123456789");
        assert!(req.truncated);
        let gc = r.gigachat_request.unwrap();
        assert_eq!(gc.text.len(), 10);
        assert!(gc.truncated);
        assert_eq!(r.gigachat_model.as_deref(), Some("GigaChat"));
        assert_eq!(r.client_response.unwrap().text, "{}");
    }

    #[test]
    fn metadata_keeps_no_bodies_but_the_error_message() {
        let (tap, mut rx, _) = tap(TrafficLogLevel::Metadata, 10);
        let c = Capture::new(&tap, "id", "POST", "/v1/x", "/x", "anthropic");
        c.client_request_chunk(b"secret body");
        c.gigachat_request("GigaChat", &serde_json::json!({}));
        c.response_head(400, false);
        c.client_response_chunk(
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"bad field"}}"#,
        );
        c.finish();
        let r = rx.try_recv().unwrap();
        assert!(r.client_request.is_none() && r.gigachat_request.is_none());
        assert!(r.client_response.is_none());
        assert_eq!(r.error.as_deref(), Some("bad field"));
        assert_eq!(r.status, 400);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let (tap, _rx, dropped) = tap(TrafficLogLevel::Metadata, 10);
        for _ in 0..3 {
            let c = Capture::new(&tap, "id", "GET", "/", "/", "openai");
            c.response_head(200, false);
            c.finish();
        }
        assert_eq!(dropped.get(), 2);
    }

    #[test]
    fn stream_chunks_are_kept_one_per_line() {
        let (tap, mut rx, _) = tap(TrafficLogLevel::Bodies, 1000);
        let c = Capture::new(&tap, "id", "POST", "/", "/", "openai");
        c.gigachat_chunk(&serde_json::json!({"a": 1}));
        c.gigachat_chunk(&serde_json::json!({"b": 2}));
        c.response_head(200, true);
        c.finish();
        let r = rx.try_recv().unwrap();
        assert_eq!(r.gigachat_response.unwrap().text, "{\"a\":1}\n{\"b\":2}");
        assert!(r.stream);
    }
}
