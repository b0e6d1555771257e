//! Several replicas sharing state in Redis (issue 10), as real processes on loopback: a
//! `redis-server`, the `gigachat-mock` binary, three `gpt2giga` binaries with
//! `--proxy.state-url`, and nginx balancing round-robin over them. Each test starts its
//! own cluster (about a second), so each scenario passes or fails on its own:
//!
//! * a Responses chain whose every step lands on another replica carries the whole
//!   conversation upstream; stored responses are readable from every replica;
//! * `--proxy.max-concurrent-requests-per-model 1` holds across the replicas;
//! * the slot of a replica killed with SIGKILL comes back after its lease;
//! * with Redis down, stateful Responses calls answer 503 quickly while Chat Completions
//!   keep working, and everything recovers once Redis is back — without restarting a
//!   proxy.
//!
//! Needs `redis-server` and `nginx` (`scripts/setup.sh` installs `redis-server` and `nginx-light`);
//! without them the tests fail saying what is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::procs::{Emulator, Gpt2Giga, Nginx, Redis, probe_get, wait_for};
use common::{http, text_of};
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;

const REPLICAS: usize = 3;

/// `--proxy.concurrency-lease-secs` of the tests that cap concurrency.
const LEASE: Duration = Duration::from_secs(2);

/// How fast a call that needs Redis must fail while Redis is down.
const QUICK: Duration = Duration::from_secs(3);

/// One slot per model, shared by every replica, with a short lease.
fn capped() -> [String; 4] {
    [
        "--proxy.max-concurrent-requests-per-model".into(),
        "1".into(),
        "--proxy.concurrency-lease-secs".into(),
        LEASE.as_secs().to_string(),
    ]
}

/// Fields drop in order: nginx, the replicas, Redis, the emulator, then the temp dir.
struct Cluster {
    nginx: Nginx,
    replicas: Vec<Gpt2Giga>,
    redis: Redis,
    mock: Emulator,
    dir: TempDir,
}

impl Cluster {
    /// Redis, the emulator, three replicas started with `--proxy.state-url` and `args`,
    /// and nginx in front of them; returns once every one of them is ready.
    async fn start(args: &[String]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let redis = Redis::start(dir.path()).await;
        let mock = Emulator::start(dir.path(), &[]).await;
        let url = redis.url();
        let mut all: Vec<&str> = vec!["--proxy.state-url", &url];
        all.extend(args.iter().map(String::as_str));
        let mut replicas: Vec<Gpt2Giga> = (0..REPLICAS)
            .map(|i| Gpt2Giga::spawn(dir.path(), &format!("replica{i}"), &mock, &all))
            .collect();
        for r in &mut replicas {
            r.wait_ready().await;
        }
        let ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
        let nginx = Nginx::start(dir.path(), &ports).await;
        Cluster {
            nginx,
            replicas,
            redis,
            mock,
            dir,
        }
    }

    /// The base URL of replica `i % 3`.
    fn replica(&self, i: usize) -> &str {
        &self.replicas[i % REPLICAS].url
    }

    /// The base URL of every replica, in order.
    fn replica_urls(&self) -> Vec<&str> {
        self.replicas.iter().map(|r| r.url.as_str()).collect()
    }

    /// The load balancer's base URL.
    fn lb(&self) -> &str {
        &self.nginx.url
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for r in &self.replicas {
                eprintln!(
                    "---- {} (pid {}) ----\n{}",
                    r.proc.name,
                    r.proc.pid,
                    r.proc.log_tail()
                );
            }
            let nginx_errors = self.dir.path().join("nginx/logs/error.log");
            eprintln!(
                "---- nginx errors ----\n{}",
                common::procs::log_tail(&nginx_errors, 20)
            );
        }
    }
}

// ---- Responses -------------------------------------------------------------------------------

/// One Responses turn on `base`: the response id and its answer text.
async fn turn(base: &str, input: &str, previous: Option<&str>, stream: bool) -> (String, String) {
    let mut body = json!({"model": "gpt-4o", "input": input, "stream": stream});
    if let Some(p) = previous {
        body["previous_response_id"] = json!(p);
    }
    let resp = http()
        .post(format!("{base}/v1/responses"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, _, text) = text_of(resp).await;
    assert_eq!(
        status, 200,
        "POST {base}/v1/responses (previous_response_id {previous:?}, stream {stream}): {text}"
    );
    let obj = if stream {
        completed_response(&text)
    } else {
        serde_json::from_str(&text).unwrap()
    };
    let id = obj["id"].as_str().unwrap().to_string();
    (id, output_text(&obj))
}

/// The response object of a stream's `response.completed` event.
fn completed_response(sse: &str) -> Value {
    sse.split("\n\n")
        .find_map(|frame| {
            let mut lines = frame.lines();
            let event = lines.next()?.strip_prefix("event: ")?;
            let data = lines.next()?.strip_prefix("data: ")?;
            (event == "response.completed")
                .then(|| serde_json::from_str::<Value>(data).unwrap()["response"].clone())
        })
        .unwrap_or_else(|| panic!("no response.completed event in {sse}"))
}

/// The concatenated `output_text` parts of a response object.
fn output_text(obj: &Value) -> String {
    obj["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
        .filter(|part| part["type"] == "output_text")
        .map(|part| part["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A conversation as GigaChat should see it: (role, text), oldest first.
type Conversation = Vec<(String, String)>;

/// A chain of `steps` turns, step `i` sent to `bases[i % len]`, streaming every other
/// step; returns the response ids and the conversation (inputs and answers).
async fn chain(bases: &[&str], tag: &str, steps: usize) -> (Vec<String>, Conversation) {
    let mut ids: Vec<String> = Vec::new();
    let mut convo = Conversation::new();
    for step in 0..steps {
        let input = format!(
            "{tag} step {step}: {}",
            common::procs::words(step as u64, 40)
        );
        let (id, answer) = turn(
            bases[step % bases.len()],
            &input,
            ids.last().map(String::as_str),
            step % 2 == 1,
        )
        .await;
        assert!(!answer.is_empty(), "step {step}: empty answer");
        convo.push(("user".into(), input));
        convo.push(("assistant".into(), answer));
        ids.push(id);
    }
    (ids, convo)
}

/// The last chat request GigaChat received carried `convo`: every input and answer, in
/// order — all but the last answer, which was that request's reply.
async fn assert_last_request_carries(mock: &Emulator, convo: &Conversation) {
    let last = mock.last_chat().await;
    let seen: Conversation = last["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in the last chat request: {last}"))
        .iter()
        .filter(|m| m["role"] == "user" || m["role"] == "assistant")
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        convo[..convo.len() - 1],
        "the last GigaChat request did not carry the whole conversation"
    );
}

#[tokio::test]
async fn responses_chain_across_replicas() {
    let c = Cluster::start(&[]).await;

    // Every step on the next replica, streaming and not.
    let started = Instant::now();
    let (ids, convo) = chain(&c.replica_urls(), "direct", 6).await;
    assert_last_request_carries(&c.mock, &convo).await;

    // A stored response and its input items, read on replicas that did not create it.
    for (step, id) in ids.iter().enumerate() {
        let (status, _, text) = text_of(
            http()
                .get(format!("{}/v1/responses/{id}", c.replica(step + 1)))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "GET /v1/responses/{id} (step {step}): {text}");
        let obj: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(obj["id"], id.as_str());
        assert_eq!(output_text(&obj), convo[2 * step + 1].1, "step {step}");

        let url = format!("{}/v1/responses/{id}/input_items", c.replica(step + 2));
        let (status, _, text) = text_of(http().get(url).send().await.unwrap()).await;
        assert_eq!(status, 200, "GET …/{id}/input_items (step {step}): {text}");
        assert!(
            text.contains(&convo[2 * step].1),
            "step {step}: input items lack the input: {text}"
        );
    }

    // The same through the load balancer.
    let (_, convo) = chain(&[c.lb()], "nginx", 6).await;
    assert_last_request_carries(&c.mock, &convo).await;
    eprintln!("two 6-step chains and 12 reads: {:?}", started.elapsed());
}

// ---- the shared concurrency cap --------------------------------------------------------------

/// A chat completion on `base`: status, body and how long it took.
async fn chat(base: &str, text: &str, stream: bool) -> (u16, String, Duration) {
    let started = Instant::now();
    let resp = http()
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": text}],
            "stream": stream,
        }))
        .send()
        .await
        .unwrap();
    let (status, _, body) = text_of(resp).await;
    if status == 200 && stream {
        assert!(
            body.ends_with("data: [DONE]\n\n"),
            "{base}: unfinished stream {body}"
        );
    }
    (status.as_u16(), body, started.elapsed())
}

#[tokio::test]
async fn concurrency_cap_holds_across_replicas() {
    let c = Cluster::start(&capped()).await;
    // Each answer takes 300 ms, so uncapped requests would overlap; the emulator's own
    // limit answers 429 to a second request on the same token.
    c.mock
        .configure(json!({"latency_ms": 300, "chunk_delay_ms": 20, "concurrency_limit": 1}))
        .await;
    c.mock.reset_max_in_flight().await;

    // Nine at once: three through nginx, six straight to the replicas; a third stream.
    let started = Instant::now();
    let calls = (0..9).map(|i| {
        let base = if i % 4 == 0 { c.lb() } else { c.replica(i) };
        let text = format!("concurrent request {i}");
        async move { (base, chat(base, &text, i % 3 == 2).await) }
    });
    let results = futures::future::join_all(calls).await;
    let elapsed = started.elapsed();
    for (base, (status, body, took)) in &results {
        assert_eq!(*status, 200, "{base} after {took:?}: {body}");
    }

    let stats = c.mock.stats().await;
    assert_eq!(stats["chat_requests"], 9, "{stats}");
    assert_eq!(stats["in_flight"], 0, "{stats}");
    assert_eq!(
        stats["max_in_flight"], 1,
        "GigaChat had {} requests in flight at once from three replicas capped at 1 per model \
         (the cap is not shared): {stats}",
        stats["max_in_flight"]
    );
    assert_eq!(stats["rejected_429"], 0, "{stats}");
    eprintln!("9 capped requests of 300 ms each took {elapsed:?}");
}

#[tokio::test]
async fn dead_replica_slot_returns_after_lease() {
    let mut c = Cluster::start(&capped()).await;

    // Replica 0 takes the only slot with a slow stream (about 100 ms per character)…
    c.mock
        .configure(json!({"chunk_size": 1, "chunk_delay_ms": 100}))
        .await;
    let slow = http()
        .post(format!("{}/v1/chat/completions", c.replica(0)))
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "slow"}], "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), 200);
    let mut body = slow.bytes_stream();
    assert!(body.next().await.unwrap().is_ok());
    let mock = &c.mock;
    wait_for("the slow stream is in flight upstream", QUICK, || async {
        match mock.stats().await["in_flight"].as_u64() {
            Some(1) => Ok(()),
            other => Err(format!("in_flight {other:?}")),
        }
    })
    .await;

    // …and dies holding it: nobody releases the slot, its lease runs out.
    c.replicas[0].proc.kill9();
    let killed = Instant::now();
    drop(body);
    c.mock.configure(json!({"chunk_delay_ms": 0})).await;

    let (status, text, waited) = chat(c.replica(1), "after the crash", false).await;
    assert_eq!(status, 200, "replica1 after {waited:?}: {text}");
    eprintln!(
        "replica1 got the dead replica's slot after {waited:?} ({:?} after the kill; lease {LEASE:?})",
        killed.elapsed()
    );
    assert!(
        killed.elapsed() <= LEASE + Duration::from_secs(6),
        "the slot came back {:?} after the kill, lease {LEASE:?}",
        killed.elapsed()
    );
    // The holder renews its lease well before it runs out, so at least a third of it was
    // left at the kill; without a shared slot the request would not have waited at all.
    assert!(
        waited >= LEASE / 3,
        "replica1 answered after {waited:?}: it did not wait for the dead replica's lease ({LEASE:?})"
    );

    // The survivors keep serving, directly and through nginx (which skips the dead one).
    let (status, text, took) = chat(c.replica(2), "replica 2 still serves", true).await;
    assert_eq!(status, 200, "replica2 after {took:?}: {text}");
    for i in 0..4 {
        let (status, text, took) = chat(c.lb(), &format!("through nginx {i}"), i % 2 == 0).await;
        assert_eq!(status, 200, "nginx request {i} after {took:?}: {text}");
        assert!(
            took < Duration::from_secs(10),
            "nginx request {i} took {took:?}"
        );
    }
    assert!(
        c.replicas[0].proc.exited().is_some(),
        "replica0 is still running"
    );
}

// ---- Redis outage ----------------------------------------------------------------------------

/// Sends `method path` with an optional JSON body: status, body text and the time taken.
async fn call(
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut req = http().request(method, format!("{base}{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let (status, _, text) = text_of(req.send().await.unwrap()).await;
    (status.as_u16(), text, started.elapsed())
}

#[tokio::test]
async fn redis_outage_answers_503_and_recovers() {
    let mut c = Cluster::start(&capped()).await;
    let (before, _) = turn(c.replica(0), "stored before the outage", None, false).await;

    c.redis.proc.kill9();

    // Calls that need the shared state fail fast with the OpenAI envelope…
    let items = format!("/v1/responses/{before}/input_items");
    let one = format!("/v1/responses/{before}");
    let stateful: [(&str, Method, &str, Option<Value>); 6] = [
        (
            c.replica(1),
            Method::POST,
            "/v1/responses",
            Some(json!({"model": "gpt-4o", "input": "go on", "previous_response_id": before})),
        ),
        (
            c.replica(2),
            Method::POST,
            "/v1/responses",
            Some(json!({"model": "gpt-4o", "input": "store me (store defaults to true)"})),
        ),
        (c.replica(0), Method::GET, &one, None),
        (c.replica(1), Method::GET, &items, None),
        (c.replica(2), Method::DELETE, &one, None),
        (c.lb(), Method::GET, &one, None),
    ];
    for (base, method, path, body) in stateful {
        let what = format!("{method} {base}{path} with Redis down");
        let (status, text, took) = call(base, method, path, body).await;
        eprintln!("{what}: {status} after {took:?}");
        assert_eq!(status, 503, "{what}: {text}");
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
                && v["error"]["type"].is_string(),
            "{what}: not the OpenAI error envelope: {text}"
        );
        assert!(took <= QUICK, "{what}: took {took:?}");
    }

    // …a response that is not stored needs no state…
    let (status, text, _) = call(
        c.replica(0),
        Method::POST,
        "/v1/responses",
        Some(json!({"model": "gpt-4o", "input": "not stored", "store": false})),
    )
    .await;
    assert_eq!(status, 200, "store:false with Redis down: {text}");

    // …and Chat Completions keep working, each replica capping on its own.
    c.mock.configure(json!({"latency_ms": 300})).await;
    c.mock.reset_max_in_flight().await;
    let calls = (0..2 * REPLICAS).map(|i| {
        let base = c.replica(i);
        async move {
            (
                base,
                chat(base, &format!("outage chat {i}"), i % 2 == 0).await,
            )
        }
    });
    for (base, (status, body, took)) in futures::future::join_all(calls).await {
        assert_eq!(
            status, 200,
            "chat on {base} with Redis down, after {took:?}: {body}"
        );
    }
    let stats = c.mock.stats().await;
    let max = stats["max_in_flight"].as_u64().unwrap();
    assert!(
        (1..=REPLICAS as u64).contains(&max),
        "with Redis down each replica should cap on its own (at most {REPLICAS} at once): {stats}"
    );
    c.mock.configure(json!({"latency_ms": 0})).await;
    let (status, body, _) = chat(c.lb(), "outage chat through nginx", false).await;
    assert_eq!(status, 200, "chat through nginx with Redis down: {body}");

    // Not ready, and saying why.
    for r in &c.replicas {
        let (status, body) = probe_get(&r.at("/ready")).await.unwrap();
        assert_eq!(
            status, 503,
            "{} /ready with Redis down: {body}",
            r.proc.name
        );
        let v: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{} /ready: not JSON ({e}): {body}", r.proc.name));
        assert!(
            v.to_string().to_lowercase().contains("redis"),
            "{} /ready does not name Redis: {body}",
            r.proc.name
        );
    }

    // Redis comes back empty on the same port; no proxy is restarted.
    let down = Instant::now();
    c.redis.restart().await;
    for r in &c.replicas {
        let url = r.at("/ready");
        wait_for(
            &format!("{} /ready after Redis is back", r.proc.name),
            Duration::from_secs(15),
            || async {
                match probe_get(&url).await? {
                    (200, _) => Ok(()),
                    (s, body) => Err(format!("{s} {body}")),
                }
            },
        )
        .await;
    }
    eprintln!(
        "ready again {:?} after the Redis restart began",
        down.elapsed()
    );
    let (ids, convo) = chain(&c.replica_urls(), "after the outage", 4).await;
    assert_last_request_carries(&c.mock, &convo).await;
    let (status, text, _) = call(
        c.replica(1),
        Method::GET,
        &format!("/v1/responses/{}", ids[3]),
        None,
    )
    .await;
    assert_eq!(status, 200, "GET a new response after the outage: {text}");

    // The cap is shared again.
    c.mock.configure(json!({"latency_ms": 300})).await;
    c.mock.reset_max_in_flight().await;
    let calls = (0..REPLICAS).map(|i| {
        let base = c.replica(i);
        async move {
            (
                base,
                chat(base, &format!("after the outage {i}"), false).await,
            )
        }
    });
    for (base, (status, body, took)) in futures::future::join_all(calls).await {
        assert_eq!(
            status, 200,
            "chat on {base} after the outage, after {took:?}: {body}"
        );
    }
    let stats = c.mock.stats().await;
    assert_eq!(
        stats["max_in_flight"], 1,
        "the cap is not shared again after the outage: {stats}"
    );
    for r in &mut c.replicas {
        assert!(r.proc.exited().is_none(), "{} stopped", r.proc.name);
    }
}
