//! Shared emulator state behind [`crate::MockControl`].
//!
//! Locking discipline (the emulator is a benchmark upstream): every lock is a short
//! `std::sync` critical section that never spans an `.await`; counters are atomics; the
//! config is an immutable [`Snapshot`] swapped as a whole, so the hot path takes one
//! read lock and clones an `Arc`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::watch;

use crate::config::{MockConfig, ModelSpec};
use crate::faults::{Fault, StreamFault};
use crate::files::FileStore;
use crate::record::Recorder;
use crate::script::{MatchInput, Reply, Rule};
use crate::wire::common::{Model, ModelList};

/// An immutable view of the config plus data derived from it (prebuilt model JSON).
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub cfg: MockConfig,
    /// `GET /models` body, serialised once.
    pub models_json: Bytes,
    /// Model id → (spec, `GET /models/{id}` body).
    pub models: HashMap<String, (ModelSpec, Bytes)>,
}

impl Snapshot {
    pub fn new(cfg: MockConfig) -> Self {
        let list = ModelList::new(
            cfg.models
                .iter()
                .map(|m| Model::new(&m.id, &m.kind))
                .collect(),
        );
        let models_json = Bytes::from(serde_json::to_vec(&list).unwrap_or_default());
        let models = cfg
            .models
            .iter()
            .map(|m| {
                let body = Bytes::from(
                    serde_json::to_vec(&Model::new(&m.id, &m.kind)).unwrap_or_default(),
                );
                (m.id.clone(), (m.clone(), body))
            })
            .collect();
        Self {
            cfg,
            models_json,
            models,
        }
    }

    /// The spec of a model of the given kind (`chat`, `embedder`, …).
    pub fn model_of_kind(&self, id: &str, kind: &str) -> Option<&ModelSpec> {
        self.models
            .get(id)
            .map(|(spec, _)| spec)
            .filter(|spec| spec.kind == kind)
    }
}

/// An issued access token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenRecord {
    /// `None`: never expires.
    pub expires_at: Option<Instant>,
}

/// Event counters (all monotonic until `reset`).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub oauth_tokens: AtomicU64,
    pub password_tokens: AtomicU64,
    pub uploads: AtomicU64,
    pub requests: AtomicU64,
    pub chat_requests: AtomicU64,
    pub rejected_429: AtomicU64,
}

/// Chat requests being served right now and the most seen at once (the high-water mark),
/// so a test can observe how many requests a client really had in flight upstream.
#[derive(Debug, Default)]
pub(crate) struct ChatInFlight {
    now: AtomicU64,
    max: AtomicU64,
}

impl ChatInFlight {
    /// Counts one more chat request until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>) -> ChatInFlightGuard {
        let n = self.now.fetch_add(1, Ordering::AcqRel) + 1;
        self.max.fetch_max(n, Ordering::AcqRel);
        ChatInFlightGuard(Arc::clone(self))
    }

    /// Requests in flight now.
    pub fn current(&self) -> u64 {
        self.now.load(Ordering::Acquire)
    }

    /// The most requests in flight at once since the last [`ChatInFlight::reset_max`].
    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Acquire)
    }

    /// Restarts the high-water mark from the requests in flight now.
    pub fn reset_max(&self) {
        self.max.store(self.current(), Ordering::Release);
    }
}

/// Holds one [`ChatInFlight`] count; dropped when the response body has been sent or
/// the client went away.
#[derive(Debug)]
pub(crate) struct ChatInFlightGuard(Arc<ChatInFlight>);

impl Drop for ChatInFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub snapshot: RwLock<Arc<Snapshot>>,
    pub initial: MockConfig,
    pub tokens: RwLock<HashMap<String, TokenRecord>>,
    pub counters: Counters,
    pub chat_in_flight: Arc<ChatInFlight>,
    pub fail_401: AtomicU32,
    pub replies: Mutex<VecDeque<Reply>>,
    pub rules: Mutex<Vec<Rule>>,
    pub faults: Mutex<Vec<Fault>>,
    /// Number of armed faults, so the hot path skips the lock when none are.
    pub faults_armed: AtomicUsize,
    pub stream_fault: Mutex<Option<StreamFault>>,
    pub recorder: Recorder,
    pub files: FileStore,
    pub in_flight: Mutex<HashMap<String, Arc<AtomicUsize>>>,
    pub shutdown: watch::Sender<bool>,
}

impl Shared {
    pub fn new(cfg: MockConfig) -> Self {
        let (shutdown, _) = watch::channel(false);
        Self {
            snapshot: RwLock::new(Arc::new(Snapshot::new(cfg.clone()))),
            initial: cfg,
            tokens: RwLock::new(HashMap::new()),
            counters: Counters::default(),
            chat_in_flight: Arc::default(),
            fail_401: AtomicU32::new(0),
            replies: Mutex::new(VecDeque::new()),
            rules: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            faults_armed: AtomicUsize::new(0),
            stream_fault: Mutex::new(None),
            recorder: Recorder::default(),
            files: FileStore::default(),
            in_flight: Mutex::new(HashMap::new()),
            shutdown,
        }
    }

    /// The current config snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the config (rebuilding derived data).
    pub fn set_config(&self, cfg: MockConfig) {
        let snap = Arc::new(Snapshot::new(cfg));
        match self.snapshot.write() {
            Ok(mut s) => *s = snap,
            Err(poisoned) => *poisoned.into_inner() = snap,
        }
    }

    /// Applies `f` to a copy of the config and installs it.
    pub fn update_config(&self, f: impl FnOnce(&mut MockConfig)) {
        let mut cfg = self.snapshot().cfg.clone();
        f(&mut cfg);
        self.set_config(cfg);
    }

    /// Takes the next scripted reply: first matching rule, else the queue head.
    pub fn next_scripted(&self, input: &MatchInput<'_>) -> Option<Reply> {
        if let Ok(mut rules) = self.rules.lock()
            && let Some(pos) = rules.iter().position(|r| r.matcher.matches(input))
        {
            let rule = &mut rules[pos];
            let reply = rule.reply.clone();
            if let Some(n) = rule.times.as_mut() {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    rules.remove(pos);
                }
            }
            return Some(reply);
        }
        self.replies.lock().ok()?.pop_front()
    }

    /// Takes the first armed fault matching `path`, if any.
    pub fn take_fault(&self, path: &str) -> Option<Fault> {
        if self.faults_armed.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut faults = self.faults.lock().ok()?;
        let pos = faults.iter().position(|f| f.matches(path))?;
        let fault = faults[pos].clone();
        faults[pos].times -= 1;
        if faults[pos].times == 0 {
            faults.remove(pos);
        }
        self.faults_armed.store(faults.len(), Ordering::Release);
        Some(fault)
    }

    /// Takes the stream fault for one stream, if armed.
    pub fn take_stream_fault(&self) -> Option<StreamFault> {
        let mut slot = self.stream_fault.lock().ok()?;
        let fault = (*slot)?;
        match fault.times {
            None => {}
            Some(n) if n <= 1 => *slot = None,
            Some(n) => {
                *slot = Some(StreamFault {
                    times: Some(n - 1),
                    ..fault
                })
            }
        }
        if fault.times == Some(0) {
            return None;
        }
        Some(fault)
    }

    /// Consumes one "fail the next API call with 401" credit.
    pub fn take_fail_401(&self) -> bool {
        self.fail_401
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The in-flight counter of a token (created on first use).
    pub fn in_flight_counter(&self, token: &str) -> Arc<AtomicUsize> {
        match self.in_flight.lock() {
            Ok(mut map) => Arc::clone(map.entry(token.to_string()).or_default()),
            Err(_) => Arc::new(AtomicUsize::new(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::StreamFaultKind;
    use crate::script::Matcher;

    #[test]
    fn rules_win_over_queue_and_expire() {
        let s = Shared::new(MockConfig::default());
        s.replies.lock().unwrap().push_back(Reply::text("queued"));
        s.rules.lock().unwrap().push(
            Rule::new(
                Matcher::LastUserContains("rule".into()),
                Reply::text("ruled"),
            )
            .times(1),
        );
        let hit = MatchInput {
            model: "GigaChat",
            last_user_text: Some("a rule please"),
            last_is_function_result: false,
        };
        assert_eq!(s.next_scripted(&hit), Some(Reply::text("ruled")));
        assert_eq!(s.next_scripted(&hit), Some(Reply::text("queued")));
        assert_eq!(s.next_scripted(&hit), None);
    }

    #[test]
    fn faults_count_down() {
        let s = Shared::new(MockConfig::default());
        s.faults.lock().unwrap().push(Fault::status(500).times(2));
        s.faults_armed.store(1, Ordering::Release);
        assert!(s.take_fault("/x").is_some());
        assert!(s.take_fault("/x").is_some());
        assert!(s.take_fault("/x").is_none());
        assert_eq!(s.faults_armed.load(Ordering::Acquire), 0);
    }

    #[test]
    fn stream_fault_counts_down() {
        let s = Shared::new(MockConfig::default());
        *s.stream_fault.lock().unwrap() =
            Some(StreamFault::times(StreamFaultKind::WrongContentType, 2));
        assert!(s.take_stream_fault().is_some());
        assert!(s.take_stream_fault().is_some());
        assert!(s.take_stream_fault().is_none());
    }

    #[test]
    fn chat_in_flight_keeps_a_high_water_mark() {
        let s = Shared::new(MockConfig::default());
        let a = s.chat_in_flight.enter();
        let b = s.chat_in_flight.enter();
        assert_eq!((s.chat_in_flight.current(), s.chat_in_flight.max()), (2, 2));
        drop(a);
        assert_eq!((s.chat_in_flight.current(), s.chat_in_flight.max()), (1, 2));
        s.chat_in_flight.reset_max();
        assert_eq!(s.chat_in_flight.max(), 1);
        drop(b);
        let _c = s.chat_in_flight.enter();
        assert_eq!((s.chat_in_flight.current(), s.chat_in_flight.max()), (1, 1));
    }

    #[test]
    fn fail_401_credits() {
        let s = Shared::new(MockConfig::default());
        s.fail_401.store(1, Ordering::Release);
        assert!(s.take_fail_401());
        assert!(!s.take_fail_401());
    }
}
