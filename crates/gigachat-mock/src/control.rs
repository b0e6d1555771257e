//! [`MockControl`]: the in-process handle to script, break and observe the emulator.
//! Cheap to clone (an `Arc` inside); every method is synchronous and lock-light.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::config::{BalanceEntry, MockConfig, TokenShape};
use crate::faults::{Fault, StreamFault};
use crate::record::RecordedRequest;
use crate::script::{Reply, Rule};
use crate::state::Shared;

/// Handle to a running (or embeddable) emulator.
#[derive(Debug, Clone)]
pub struct MockControl {
    inner: Arc<Shared>,
}

/// Counters and queue sizes, as served by `GET /__mock/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MockStats {
    /// Tokens issued by `POST /api/v2/oauth`.
    pub oauth_tokens: u64,
    /// Tokens issued by `POST {prefix}/token`.
    pub password_tokens: u64,
    /// Successful `POST /files` uploads.
    pub uploads: u64,
    /// Non-control requests received (recorded or not).
    pub requests: u64,
    /// v1 + v2 chat requests that reached a chat handler.
    pub chat_requests: u64,
    /// Requests refused by the concurrency limit.
    pub rejected_429: u64,
    /// Chat requests (v1 + v2, any status) in flight now: from arrival, through the
    /// latency, until the response body has been sent in full or the client went away.
    pub in_flight: u64,
    /// The most chat requests in flight at once since the last reset
    /// ([`MockControl::reset`], [`MockControl::reset_max_in_flight`]).
    pub max_in_flight: u64,
    /// Stored files (uploaded and generated).
    pub files: usize,
    /// Scripted replies still queued.
    pub pending_replies: usize,
    /// Active rules.
    pub rules: usize,
    /// Armed faults.
    pub faults: usize,
    /// Requests currently in the recording buffer.
    pub recorded: usize,
    /// Remaining "fail with 401" credits.
    pub fail_next_401: u32,
}

impl Default for MockControl {
    fn default() -> Self {
        Self::new(MockConfig::default())
    }
}

impl MockControl {
    /// A fresh emulator state with this config (also what [`MockControl::reset`] restores).
    pub fn new(cfg: MockConfig) -> Self {
        Self {
            inner: Arc::new(Shared::new(cfg)),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner
    }

    // ----- scripted replies -------------------------------------------------------------

    /// Queues a reply for the next chat request (v1 or v2) that no rule answers.
    pub fn push_reply(&self, reply: Reply) {
        if let Ok(mut q) = self.inner.replies.lock() {
            q.push_back(reply);
        }
    }

    /// Queues several replies in order.
    pub fn push_replies(&self, replies: impl IntoIterator<Item = Reply>) {
        if let Ok(mut q) = self.inner.replies.lock() {
            q.extend(replies);
        }
    }

    /// Adds a rule (rules are checked in insertion order, before the queue).
    pub fn add_rule(&self, rule: Rule) {
        if let Ok(mut rules) = self.inner.rules.lock() {
            rules.push(rule);
        }
    }

    /// Drops all queued replies and rules.
    pub fn clear_script(&self) {
        if let Ok(mut q) = self.inner.replies.lock() {
            q.clear();
        }
        if let Ok(mut rules) = self.inner.rules.lock() {
            rules.clear();
        }
    }

    /// Number of queued replies not yet consumed.
    pub fn pending_replies(&self) -> usize {
        self.inner.replies.lock().map(|q| q.len()).unwrap_or(0)
    }

    // ----- faults -----------------------------------------------------------------------

    /// Arms an error response (see [`Fault`]); faults are matched in insertion order.
    pub fn inject_fault(&self, fault: Fault) {
        if fault.times == 0 {
            return;
        }
        if let Ok(mut faults) = self.inner.faults.lock() {
            faults.push(fault);
            self.inner
                .faults_armed
                .store(faults.len(), Ordering::Release);
        }
    }

    /// Disarms all faults.
    pub fn clear_faults(&self) {
        if let Ok(mut faults) = self.inner.faults.lock() {
            faults.clear();
            self.inner.faults_armed.store(0, Ordering::Release);
        }
    }

    /// The next `n` API calls (not OAuth / `/token`) answer 401 `Unauthorized`
    /// regardless of the token — to exercise a client's re-auth path.
    pub fn fail_next_401(&self, n: u32) {
        self.inner.fail_401.store(n, Ordering::Release);
    }

    /// Sets (or clears) the fault applied to streaming chat responses.
    pub fn set_stream_fault(&self, fault: Option<StreamFault>) {
        if let Ok(mut slot) = self.inner.stream_fault.lock() {
            *slot = fault;
        }
    }

    // ----- config -----------------------------------------------------------------------

    /// A copy of the current config.
    pub fn config(&self) -> MockConfig {
        self.inner.snapshot().cfg.clone()
    }

    /// Replaces the whole config.
    pub fn set_config(&self, cfg: MockConfig) {
        self.inner.set_config(cfg);
    }

    /// Edits the config in place.
    pub fn update_config(&self, f: impl FnOnce(&mut MockConfig)) {
        self.inner.update_config(f);
    }

    /// Delay before every response head.
    pub fn set_latency(&self, latency: Duration) {
        self.update_config(|c| c.latency = latency);
    }

    /// Delay between stream frames.
    pub fn set_chunk_delay(&self, delay: Duration) {
        self.update_config(|c| c.chunk_delay = delay);
    }

    /// Characters per stream delta (at least 1).
    pub fn set_chunk_size(&self, chars: usize) {
        self.update_config(|c| c.chunk_size = chars.max(1));
    }

    /// OAuth answer shape.
    pub fn set_token_shape(&self, shape: TokenShape) {
        self.update_config(|c| c.token_shape = shape);
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.update_config(|c| c.token_ttl = ttl);
    }

    /// Maximum in-flight requests per token (`None`: unlimited).
    pub fn set_concurrency_limit(&self, limit: Option<usize>) {
        self.update_config(|c| c.concurrency_limit = limit);
    }

    /// Accept any non-empty bearer token.
    pub fn set_accept_any_token(&self, accept: bool) {
        self.update_config(|c| c.accept_any_token = accept);
    }

    /// Cached prompt tokens reported in usage.
    pub fn set_precached_tokens(&self, tokens: u64) {
        self.update_config(|c| c.precached_tokens = tokens);
    }

    /// `/balance` lines; `None` makes `/balance` answer 403.
    pub fn set_balance(&self, balance: Option<Vec<BalanceEntry>>) {
        self.update_config(|c| c.balance = balance);
    }

    /// Built-in v2 tools that answer 422 `Tool <name> is unavailable`.
    pub fn set_unavailable_tools(&self, tools: impl IntoIterator<Item = impl Into<String>>) {
        let tools: Vec<String> = tools.into_iter().map(Into::into).collect();
        self.update_config(|c| c.unavailable_tools = tools);
    }

    /// Maximum inputs per `/embeddings` call (`None`: unlimited).
    pub fn set_embeddings_max_inputs(&self, max: Option<usize>) {
        self.update_config(|c| c.embeddings_max_inputs = max);
    }

    /// Recording buffer size (0 disables recording).
    pub fn set_record_capacity(&self, capacity: usize) {
        self.update_config(|c| c.record_capacity = capacity);
    }

    // ----- tokens -----------------------------------------------------------------------

    /// Registers and returns a fresh token that never expires (a "pre-issued access
    /// token" for `GIGACHAT_ACCESS_TOKEN`-style clients). Not counted as issued.
    pub fn issue_static_token(&self) -> String {
        let token = format!("static-{}", uuid::Uuid::new_v4().simple());
        self.inner.register_token(&token, None);
        token
    }

    /// Registers a caller-chosen token valid for `ttl` (`None`: forever).
    pub fn register_token(&self, token: &str, ttl: Option<Duration>) {
        self.inner.register_token(token, ttl);
    }

    /// Forgets every issued token (clients must re-authenticate).
    pub fn revoke_all_tokens(&self) {
        if let Ok(mut map) = self.inner.tokens.write() {
            map.clear();
        }
    }

    // ----- observation ------------------------------------------------------------------

    /// Recorded requests, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.recorder.snapshot()
    }

    /// The most recent recorded request whose path ends with `path_suffix`.
    pub fn last_request(&self, path_suffix: &str) -> Option<RecordedRequest> {
        self.inner.recorder.last_matching(path_suffix)
    }

    /// Empties the recording buffer.
    pub fn clear_requests(&self) {
        self.inner.recorder.clear();
    }

    /// Tokens issued by OAuth.
    pub fn oauth_token_count(&self) -> u64 {
        self.inner.counters.oauth_tokens.load(Ordering::Relaxed)
    }

    /// Tokens issued by `/token`.
    pub fn password_token_count(&self) -> u64 {
        self.inner.counters.password_tokens.load(Ordering::Relaxed)
    }

    /// Successful uploads.
    pub fn upload_count(&self) -> u64 {
        self.inner.counters.uploads.load(Ordering::Relaxed)
    }

    /// Non-control requests received.
    pub fn request_count(&self) -> u64 {
        self.inner.counters.requests.load(Ordering::Relaxed)
    }

    /// Chat requests (v1 + v2) received.
    pub fn chat_request_count(&self) -> u64 {
        self.inner.counters.chat_requests.load(Ordering::Relaxed)
    }

    /// Chat requests in flight now (see [`MockStats::in_flight`]).
    pub fn in_flight(&self) -> u64 {
        self.inner.chat_in_flight.current()
    }

    /// The most chat requests in flight at once since the last reset.
    pub fn max_in_flight(&self) -> u64 {
        self.inner.chat_in_flight.max()
    }

    /// Restarts the high-water mark from the requests in flight now.
    pub fn reset_max_in_flight(&self) {
        self.inner.chat_in_flight.reset_max();
    }

    /// All counters at once.
    pub fn stats(&self) -> MockStats {
        let s = &self.inner;
        let c = &s.counters;
        MockStats {
            oauth_tokens: c.oauth_tokens.load(Ordering::Relaxed),
            password_tokens: c.password_tokens.load(Ordering::Relaxed),
            uploads: c.uploads.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            chat_requests: c.chat_requests.load(Ordering::Relaxed),
            rejected_429: c.rejected_429.load(Ordering::Relaxed),
            in_flight: s.chat_in_flight.current(),
            max_in_flight: s.chat_in_flight.max(),
            files: s.files.list_all_len(),
            pending_replies: self.pending_replies(),
            rules: s.rules.lock().map(|r| r.len()).unwrap_or(0),
            faults: s.faults_armed.load(Ordering::Acquire),
            recorded: s.recorder.len(),
            fail_next_401: s.fail_401.load(Ordering::Acquire),
        }
    }

    /// Back to the initial config; clears script, faults, recordings, files and counters
    /// (the in-flight high-water mark restarts from the requests in flight now).
    /// Issued tokens stay valid so a long-running client is not forced to re-authenticate.
    pub fn reset(&self) {
        let s = &self.inner;
        s.set_config(s.initial.clone());
        self.clear_script();
        self.clear_faults();
        self.set_stream_fault(None);
        self.fail_next_401(0);
        s.recorder.clear();
        s.files.clear();
        let c = &s.counters;
        let zero = |a: &AtomicU64| a.store(0, Ordering::Relaxed);
        for counter in [
            &c.oauth_tokens,
            &c.password_tokens,
            &c.uploads,
            &c.requests,
            &c.chat_requests,
            &c.rejected_429,
        ] {
            zero(counter);
        }
        s.chat_in_flight.reset_max();
    }

    /// Ends stalled streams (they fail with an I/O error); used on shutdown.
    pub fn release_stalled_streams(&self) {
        self.inner.shutdown.send_replace(true);
    }
}
