//! The traffic log (`--proxy.traffic-log-url`): one record per request, written off the
//! request path.
//!
//! Requests are captured by [`crate::telemetry::traffic`] and queued (bounded; a full
//! queue drops and counts). One writer task here takes records off the queue in
//! batches, passes every text through the log redactor (no secret is ever stored),
//! writes them in one transaction, and announces them to live tails; the same task runs
//! the retention (age and size budget). [`store`] is the database (SQLite or
//! PostgreSQL).

pub mod store;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use crate::config::Config;
use crate::logging::Redactor;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::traffic::{Captured, Record, Tap};
pub use store::{Bodies, Entry, Filter, Store};

/// Records written in one transaction at most.
const BATCH: usize = 1024;
/// How long the writer lets records gather after the first one of a batch: fewer, larger
/// transactions (against 50 ms, about a point of RPS back at saturation, measured), while
/// a live tail still sees a record a tenth of a second after its request ended.
const GATHER: Duration = Duration::from_millis(100);
/// Live tails may fall this far behind before they miss records.
const TAIL_CAPACITY: usize = 1024;

/// The running traffic log: its queue's sending side, the store, the live tail.
#[derive(Clone)]
pub struct TrafficLog {
    inner: Arc<Inner>,
}

struct Inner {
    tap: Tap,
    store: Store,
    tail: broadcast::Sender<Arc<Entry>>,
}

impl TrafficLog {
    /// Opens the database of `config`'s `--proxy.traffic-log-url` (schema brought up
    /// to date) and starts the writer; `None` when the log is off.
    pub async fn open(config: &Config, metrics: &Metrics) -> Result<Option<Self>, String> {
        let p = &config.proxy;
        let Some(url) = p.traffic_log_url() else {
            return Ok(None);
        };
        let store = Store::open(url).await?;
        let (tx, rx) = mpsc::channel(p.traffic_log_queue_size.max(1));
        let tap = Tap::new(
            tx,
            metrics.traffic_dropped(),
            p.traffic_log_level,
            p.traffic_log_max_body_bytes,
        );
        let (tail, _) = broadcast::channel(TAIL_CAPACITY);
        let writer = Writer {
            store: store.clone(),
            redactor: Redactor::new(crate::logging::known_secrets(config)),
            tail: tail.clone(),
            written: metrics.traffic_written(),
            dropped: metrics.traffic_dropped(),
            max_age_ms: i64::try_from(p.traffic_log_retention_secs.saturating_mul(1000))
                .unwrap_or(i64::MAX),
            max_bytes: i64::try_from(p.traffic_log_max_bytes).unwrap_or(i64::MAX),
        };
        tokio::spawn(writer.run(rx, retention_period(p.traffic_log_retention_secs)));
        Ok(Some(Self {
            inner: Arc::new(Inner { tap, store, tail }),
        }))
    }

    /// The queue's sending side, for the request middleware.
    pub fn tap(&self) -> &Tap {
        &self.inner.tap
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Records as they are written.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Entry>> {
        self.inner.tail.subscribe()
    }
}

/// How often retention runs: a quarter of the age limit, between 1 s and 60 s.
fn retention_period(max_age_secs: u64) -> Duration {
    if max_age_secs == 0 {
        return Duration::from_secs(60);
    }
    Duration::from_millis((max_age_secs.saturating_mul(250)).clamp(1000, 60_000))
}

struct Writer {
    store: Store,
    redactor: Redactor,
    tail: broadcast::Sender<Arc<Entry>>,
    written: prometheus_client::metrics::counter::Counter,
    dropped: prometheus_client::metrics::counter::Counter,
    max_age_ms: i64,
    max_bytes: i64,
}

impl Writer {
    /// Until every sender is gone (the proxy stopped): batches in, rows out; retention
    /// on its period.
    async fn run(self, mut rx: mpsc::Receiver<Record>, period: Duration) {
        let mut prune = tokio::time::interval(period);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                n = rx.recv_many(&mut batch, BATCH) => {
                    if n == 0 {
                        break;
                    }
                    if n < BATCH {
                        // Let a busy proxy's records gather: one transaction for many
                        // records costs far less than one each.
                        tokio::time::sleep(GATHER).await;
                        while batch.len() < BATCH {
                            match rx.try_recv() {
                                Ok(r) => batch.push(r),
                                Err(_) => break,
                            }
                        }
                    }
                    self.write(std::mem::take(&mut batch)).await;
                }
                _ = prune.tick() => self.prune().await,
            }
        }
    }

    async fn write(&self, records: Vec<Record>) {
        let n = records.len() as u64;
        let entries: Vec<Entry> = records.into_iter().map(|r| self.entry(r)).collect();
        match self.store.insert(entries).await {
            Ok(rows) => {
                self.written.inc_by(n);
                if self.tail.receiver_count() == 0 {
                    return;
                }
                for row in rows {
                    let _ = self.tail.send(Arc::new(Entry {
                        bodies: None,
                        ..row
                    }));
                }
            }
            Err(e) => {
                self.dropped.inc_by(n);
                tracing::warn!(error = %e, records = n, "traffic log: write failed, records dropped");
            }
        }
    }

    async fn prune(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        match self.store.prune(now, self.max_age_ms, self.max_bytes).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(records = n, "traffic log: retention removed old records"),
            Err(e) => tracing::warn!(error = %e, "traffic log: retention failed"),
        }
    }

    /// A record as stored: every text redacted, its weight computed.
    fn entry(&self, r: Record) -> Entry {
        let mut truncated = 0;
        let mut body = |c: Option<Captured>, bit: i64| {
            c.map(|c| {
                if c.truncated {
                    truncated |= bit;
                }
                redact_body(&self.redactor, &c)
            })
        };
        let bodies = Bodies {
            client_request: body(r.client_request, store::CUT_CLIENT_REQUEST),
            gigachat_request: body(r.gigachat_request, store::CUT_GIGACHAT_REQUEST),
            gigachat_response: body(r.gigachat_response, store::CUT_GIGACHAT_RESPONSE),
            client_response: body(r.client_response, store::CUT_CLIENT_RESPONSE),
        };
        // Redacted text, the same allocation when there was nothing to mask.
        let red = |s: String| match self.redactor.redact(&s) {
            Cow::Owned(masked) => masked,
            Cow::Borrowed(_) => s,
        };
        let mut e = Entry {
            id: 0,
            ts_ms: r.ts_ms,
            request_id: red(r.request_id),
            method: Cow::Borrowed(r.method),
            path: red(r.path),
            route: Cow::Borrowed(r.route),
            dialect: Cow::Borrowed(r.dialect),
            client_model: r.client_model.map(red),
            gigachat_model: r.gigachat_model.map(red),
            identity: r.identity,
            status: i64::from(r.status),
            error: r.error.map(red),
            stream: r.stream,
            queue_us: r.queue_us,
            upload_us: r.upload_us,
            first_byte_us: r.first_byte_us,
            total_us: r.total_us,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cached_tokens: r.cached_tokens,
            truncated,
            size_bytes: 0,
            bodies: None,
        };
        let texts = [
            &bodies.client_request,
            &bodies.gigachat_request,
            &bodies.gigachat_response,
            &bodies.client_response,
        ];
        let body_bytes: usize = texts
            .iter()
            .filter_map(|t| t.as_ref())
            .map(String::len)
            .sum();
        // Bodies plus a flat allowance for the metadata and index entries.
        e.size_bytes = i64::try_from(body_bytes + 256 + e.path.len()).unwrap_or(i64::MAX);
        e.bodies = Some(bodies);
        e
    }
}

/// A captured body, redacted. A body cut at the cap may end inside a secret the
/// patterns no longer recognise (a key without its closing quote): the unfinished last
/// run of non-separator characters is dropped before redaction.
fn redact_body(redactor: &Redactor, c: &Captured) -> String {
    let text = if c.truncated {
        let end = c
            .text
            .rfind(|ch: char| ch.is_whitespace() || "\"',;:{}[]&=".contains(ch))
            .map_or(0, |i| i + 1);
        &c.text[..end]
    } else {
        c.text.as_str()
    };
    redactor.redact(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_bodies_lose_their_unfinished_last_word() {
        let r = Redactor::new(Vec::<String>::new());
        let cut = Captured {
            text: r#"{"messages":"hi","api_key":"sk-abcdef"#.into(),
            truncated: true,
        };
        let out = redact_body(&r, &cut);
        assert!(!out.contains("sk-abc"), "{out}");
        let whole = Captured {
            text: r#"{"api_key":"sk-abcdef"}"#.into(),
            truncated: false,
        };
        assert_eq!(redact_body(&r, &whole), r#"{"api_key":"***"}"#);
    }

    #[test]
    fn retention_runs_often_enough_for_short_ages() {
        assert_eq!(retention_period(0), Duration::from_secs(60));
        assert_eq!(retention_period(2), Duration::from_secs(1));
        assert_eq!(retention_period(20), Duration::from_secs(5));
        assert_eq!(retention_period(86400), Duration::from_secs(60));
    }
}
