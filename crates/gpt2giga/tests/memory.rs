//! Memory of the Responses store (issue 10), measured on the real `gpt2giga` binary in
//! front of the `gigachat-mock` binary (recording off, so the emulator keeps nothing):
//!
//! * a chain of 300 Responses linked by `previous_response_id`, each with its own 50 KB
//!   input, grows the proxy's resident memory (`VmRSS` in `/proc/PID/status`) by less
//!   than twice the input plus a constant — a store that copies the whole conversation
//!   into every response grows quadratically instead (300 × 301 / 2 × 50 KB ≈ 2.3 GB);
//! * under a small `--proxy.responses-store-max-bytes` old responses are evicted, and
//!   continuing from one is a clean 404 naming its id, never a 5xx.
//!
//! The last step sends the whole 15 MB conversation upstream, so the chain moves about
//! 2.3 GB of JSON; `MEMORY_TEST_STEPS=N` shortens it (for a quick look, or for a store
//! that grows too fast to run the whole chain).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::procs::{Emulator, Gpt2Giga, Rss, words};
use common::{http, text_of};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Steps of the long chain (`MEMORY_TEST_STEPS` overrides).
const STEPS: usize = 300;

/// Bytes of input per step.
const INPUT_BYTES: usize = 50_000;

/// Growth allowed on top of twice the input: what the allocator keeps after the biggest
/// requests (the last steps send a 15 MB conversation upstream, built as IR and as JSON).
/// Measured with a chain that stores nothing (`store: false`, the client resending the
/// whole conversation): RSS grew by ~140 MiB over 300 steps, with no store at all.
const SLACK_BYTES: u64 = 128 << 20;

fn steps() -> usize {
    std::env::var("MEMORY_TEST_STEPS")
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("MEMORY_TEST_STEPS={v:?}"))
        })
        .unwrap_or(STEPS)
}

/// The emulator and one proxy; fields drop in order (proxy, emulator, temp dir).
struct Setup {
    proxy: Gpt2Giga,
    mock: Emulator,
    dir: TempDir,
}

impl Setup {
    async fn start(args: &[&str]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let mock = Emulator::start(dir.path(), &["--record-capacity", "0"]).await;
        let mut proxy = Gpt2Giga::spawn(dir.path(), "gpt2giga", &mock, args);
        proxy.wait_ready().await;
        // Warm up (token, connection pools, lazy statics) before the first measurement.
        let warm = json!({"model": "gpt-4o", "input": "warm up", "store": false});
        let (status, text) = post(&proxy, &warm).await;
        assert_eq!(status, 200, "warm-up: {text}");
        Setup { proxy, mock, dir }
    }

    /// One stored, non-streaming turn with a distinct ~50 KB input.
    async fn turn(&self, step: usize, previous: Option<&str>) -> (u16, String) {
        let input = format!("step {step}: {}", words(step as u64 + 1, INPUT_BYTES));
        let mut body = json!({"model": "gpt-4o", "input": input});
        if let Some(p) = previous {
            body["previous_response_id"] = json!(p);
        }
        post(&self.proxy, &body).await
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- gpt2giga (pid {}) ----\n{}\n---- files in {} ----",
                self.proxy.proc.pid,
                self.proxy.proc.log_tail(),
                self.dir.path().display()
            );
        }
    }
}

async fn post(proxy: &Gpt2Giga, body: &Value) -> (u16, String) {
    let resp = http()
        .post(proxy.at("/v1/responses"))
        .json(body)
        .send()
        .await
        .unwrap();
    let (status, _, text) = text_of(resp).await;
    (status.as_u16(), text)
}

fn id_of(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap();
    v["id"].as_str().unwrap().to_string()
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

fn show(rss: Rss) -> String {
    format!("RSS {} (peak {})", mib(rss.rss), mib(rss.hwm))
}

/// A 404 in the OpenAI envelope whose message names `id`.
fn assert_not_found_naming(what: &str, status: u16, text: &str, id: &str) {
    assert_eq!(status, 404, "{what}: {text}");
    let v: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(id) && v["error"]["type"].is_string(),
        "{what}: not an OpenAI error envelope naming {id}: {text}"
    );
}

#[tokio::test]
async fn long_chain_grows_memory_linearly() {
    let s = Setup::start(&[]).await;
    let steps = steps();
    let before = s.proxy.proc.rss();
    let started = Instant::now();
    let mut previous: Option<String> = None;
    let mut log = vec![format!("step 0: {}", show(before))];
    for step in 1..=steps {
        let (status, text) = s.turn(step, previous.as_deref()).await;
        assert_eq!(status, 200, "step {step}: {}", &text[..text.len().min(500)]);
        previous = Some(id_of(&text));
        if step % 50 == 0 || step == steps {
            log.push(format!(
                "step {step}: {} after {:.1?}",
                show(s.proxy.proc.rss()),
                started.elapsed()
            ));
        }
    }
    let elapsed = started.elapsed();
    let after = s.proxy.proc.rss();
    let input = (steps * INPUT_BYTES) as u64;
    let growth = after.rss.saturating_sub(before.rss);
    let bound = 2 * input + SLACK_BYTES;
    eprintln!(
        "{steps} steps × {INPUT_BYTES} B = {} of input in {elapsed:.1?}; RSS grew by {} (bound {}):\n  {}",
        mib(input),
        mib(growth),
        mib(bound),
        log.join("\n  ")
    );
    assert!(
        growth < bound,
        "RSS grew by {} over a {steps}-step chain of {} input: more than 2 × input + {}",
        mib(growth),
        mib(input),
        mib(SLACK_BYTES)
    );
    // The whole chain is still there: its last response continues.
    let (status, text) = s.turn(steps + 1, previous.as_deref()).await;
    assert_eq!(status, 200, "continuing the chain: {text}");
    let last = s.mock.stats().await;
    assert_eq!(last["recorded"], 0, "the emulator must not record: {last}");
}

#[tokio::test]
async fn small_store_budget_evicts_old_responses_cleanly() {
    const BUDGET: &str = "2000000";
    const CHAIN: usize = 80;
    let s = Setup::start(&["--proxy.responses-store-max-bytes", BUDGET]).await;
    let started = Instant::now();

    // A chain four times the budget. A step may find its predecessor's conversation gone
    // (a clean 404 naming it, then a new chain starts), but never a 5xx.
    let mut first: Option<String> = None;
    let mut previous: Option<String> = None;
    let mut newest = String::new();
    let mut restarts = 0;
    for step in 1..=CHAIN {
        let (status, text) = s.turn(step, previous.as_deref()).await;
        match (status, &previous) {
            (200, _) => {
                let id = id_of(&text);
                first.get_or_insert_with(|| id.clone());
                newest = id.clone();
                previous = Some(id);
            }
            (404, Some(prev)) => {
                assert_not_found_naming(&format!("step {step}"), status, &text, prev);
                restarts += 1;
                previous = None;
            }
            _ => panic!("step {step}: {status} {}", &text[..text.len().min(500)]),
        }
    }
    eprintln!(
        "{CHAIN} steps under a {BUDGET}-byte store in {:.1?}: {restarts} chains cut by eviction; {}",
        started.elapsed(),
        show(s.proxy.proc.rss())
    );

    // The first response is long gone: continuing from it, or reading it, is a clean 404.
    let first = first.expect("no step succeeded");
    let (status, text) = s.turn(CHAIN + 1, Some(&first)).await;
    assert_not_found_naming("continuing from the first response", status, &text, &first);
    let resp = http()
        .get(s.proxy.at(&format!("/v1/responses/{first}")))
        .send()
        .await
        .unwrap();
    let (status, _, text) = text_of(resp).await;
    assert_not_found_naming("GET the first response", status.as_u16(), &text, &first);

    // The newest is still there.
    let resp = http()
        .get(s.proxy.at(&format!("/v1/responses/{newest}")))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let (status, _, text) = text_of(resp).await;
    assert_eq!(status, 200, "GET the newest response: {text}");
}
