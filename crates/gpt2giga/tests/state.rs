//! Stored Responses and shared state: chains across turns (in memory and in a real
//! `redis-server`), eviction by bytes, per-identity privacy in Redis, the Redis
//! semaphore and the shared concurrency cap, what callers get while Redis is down, and
//! `/ready`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::procs::Redis as RedisServer;
use common::{TestProxy, free_port, json_of};
use gpt2giga::state::redis::{Redis, RedisStore, SharedSemaphore};
use gpt2giga::state::{Chain, StoredResponse};
use gpt2giga::upstream::limiter::Cap;
use serde_json::{Value, json};

fn stored(owner: &str, previous: Option<&str>, text: &str) -> StoredResponse {
    StoredResponse {
        response: Bytes::from(format!(r#"{{"id":"x","text":"{text}"}}"#)),
        input_items: Bytes::from(format!(
            r#"[{{"type":"message","role":"user","content":"{text}"}}]"#
        )),
        reply: Bytes::from(format!(r#"{{"text":"re: {text}"}}"#)),
        previous: previous.map(str::to_string),
        owner: owner.to_string(),
    }
}

/// Posts a Responses turn and returns (status, body).
async fn turn(t: &TestProxy, input: &str, previous: Option<&str>, stream: bool) -> (u16, Value) {
    let mut body = json!({"model": "gpt-4o", "input": input, "stream": stream});
    if let Some(p) = previous {
        body["previous_response_id"] = json!(p);
    }
    let resp = t.post("/v1/responses", &body).await;
    let status = resp.status().as_u16();
    if stream && status == 200 {
        let text = resp.text().await.unwrap();
        let done = text
            .split("\n\n")
            .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find(|v| v["type"] == "response.completed" || v["type"] == "error")
            .unwrap_or_else(|| panic!("no closing event in {text}"));
        let v = if done["type"] == "error" {
            done
        } else {
            done["response"].clone()
        };
        return (status, v);
    }
    let (s, _, v) = json_of(resp).await;
    (s.as_u16(), v)
}

/// The user texts and assistant texts GigaChat saw in its last chat request, in order.
fn seen_roles(t: &TestProxy) -> Vec<(String, String)> {
    t.last_chat()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or("").to_string(),
                m["content"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn chain_reaches_gigachat_whole(t: &TestProxy) {
    let mut prev: Option<String> = None;
    for (i, stream) in [false, true, false, true].into_iter().enumerate() {
        let (s, v) = turn(t, &format!("turn {i} text"), prev.as_deref(), stream).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "completed", "{v}");
        prev = Some(v["id"].as_str().unwrap().to_string());
    }
    let seen = seen_roles(t);
    let users: Vec<&str> = seen
        .iter()
        .filter(|(r, _)| r == "user")
        .map(|(_, c)| c.as_str())
        .collect();
    assert_eq!(
        users,
        ["turn 0 text", "turn 1 text", "turn 2 text", "turn 3 text"]
    );
    // user, assistant alternate: every earlier answer is in the history, in order.
    let roles: Vec<&str> = seen.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        roles,
        [
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
            "assistant",
            "user"
        ]
    );
    assert!(seen[1].1.contains("turn 0 text"), "{seen:?}");
    // Retrieve and input items of the newest one.
    let id = prev.unwrap();
    let (s, _, v) = json_of(t.get(&format!("/v1/responses/{id}")).await).await;
    assert_eq!((s.as_u16(), v["id"].as_str()), (200, Some(id.as_str())));
    let (s, _, v) = json_of(t.get(&format!("/v1/responses/{id}/input_items")).await).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(v["data"][0]["content"][0]["text"], "turn 3 text");
}

#[tokio::test]
async fn memory_chain_reaches_gigachat_whole() {
    let t = TestProxy::start().await;
    chain_reaches_gigachat_whole(&t).await;
}

#[tokio::test]
async fn redis_chain_reaches_gigachat_whole() {
    let redis_dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(redis_dir.path()).await;
    let t = TestProxy::start_with(&["--proxy.state-url", &redis.url()], &[]).await;
    chain_reaches_gigachat_whole(&t).await;
    let (s, _, v) = json_of(t.get("/ready").await).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(v["checks"]["redis"]["status"], "ok", "{v}");
    assert_eq!(v["state"], "redis");
}

#[tokio::test]
async fn evicted_link_is_a_clean_404_naming_it() {
    // Each response keeps a 4,000-byte input (plus its ~1 KB object): a 12,000-byte
    // budget holds two of them, so the third evicts the first.
    let t = TestProxy::start_with(&["--proxy.responses-store-max-bytes", "12000"], &[]).await;
    let mut ids = Vec::new();
    let mut prev: Option<String> = None;
    for i in 0..3 {
        let (s, v) = turn(
            &t,
            &format!("{i} {}", "x".repeat(4000)),
            prev.as_deref(),
            false,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        prev = Some(id.clone());
        ids.push(id);
    }
    // The head was evicted: continuing from it is a 404 naming it.
    let (s, v) = turn(&t, "again", Some(&ids[0]), false).await;
    assert_eq!(s, 404, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(&ids[0]),
        "{v}"
    );
    // The newest is there, but its conversation is broken: 404 naming the lost link,
    // never a partial history, and GigaChat is not called.
    let calls = t.chat_bodies().len();
    let (s, v) = turn(&t, "again", Some(&ids[2]), false).await;
    assert_eq!(s, 404, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&ids[2]) && msg.contains(&ids[0]) && msg.contains("expired or was evicted"),
        "{msg}"
    );
    assert_eq!(t.chat_bodies().len(), calls, "GigaChat must not be called");
    let (s, _, _) = json_of(t.get(&format!("/v1/responses/{}", ids[2])).await).await;
    assert_eq!(s.as_u16(), 200);
}

#[tokio::test]
async fn redis_store_links_privacy_and_ttl() {
    let redis_srv_dir = tempfile::tempdir().unwrap();
    let redis_srv = RedisServer::start(redis_srv_dir.path()).await;
    let redis = Redis::new(&redis_srv.url()).unwrap();
    let store = RedisStore::new(redis.clone(), Duration::from_secs(60));
    store.put("a", &stored("alice", None, "one")).await.unwrap();
    store
        .put("b", &stored("alice", Some("a"), "two"))
        .await
        .unwrap();
    store
        .put("c", &stored("alice", Some("b"), "three"))
        .await
        .unwrap();
    let got = store.get("b", "alice").await.unwrap().unwrap();
    assert_eq!(*got, stored("alice", Some("a"), "two"));
    // Someone else's is invisible, also as a chain and for delete.
    assert!(store.get("b", "bob").await.unwrap().is_none());
    assert_eq!(
        store.chain("c", "bob").await.unwrap(),
        Chain::Missing("c".into())
    );
    assert!(!store.delete("a", "bob").await.unwrap());
    let Chain::Found(links) = store.chain("c", "alice").await.unwrap() else {
        panic!("chain")
    };
    let ids: Vec<&str> = links.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(links[0].reply, Bytes::from_static(br#"{"text":"re: one"}"#));
    assert!(store.delete("a", "alice").await.unwrap());
    assert_eq!(
        store.chain("c", "alice").await.unwrap(),
        Chain::Missing("a".into())
    );
    // Entries expire.
    let short = RedisStore::new(redis, Duration::from_millis(200));
    short.put("t", &stored("alice", None, "tmp")).await.unwrap();
    assert!(short.get("t", "alice").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(short.get("t", "alice").await.unwrap().is_none());
}

#[tokio::test]
async fn redis_semaphore_leases_run_out() {
    let redis_srv_dir = tempfile::tempdir().unwrap();
    let redis_srv = RedisServer::start(redis_srv_dir.path()).await;
    let redis = Redis::new(&redis_srv.url()).unwrap();
    let sem = SharedSemaphore::new(redis, Duration::from_millis(500));
    assert!(sem.try_acquire("k", "dead-replica", 1).await.unwrap());
    assert!(!sem.try_acquire("k", "other", 1).await.unwrap());
    // The holder "died" (never renews): its slot comes back after the lease.
    let started = Instant::now();
    while !sem.try_acquire("k", "other", 1).await.unwrap() {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "lease never ran out"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A renewed lease stays; a released slot is free at once.
    assert!(sem.renew("k", "other").await.unwrap());
    assert!(!sem.renew("k", "dead-replica").await.unwrap());
    sem.release("k", "other").await.unwrap();
    assert!(sem.try_acquire("k", "third", 1).await.unwrap());
}

#[tokio::test]
async fn shared_cap_holds_across_two_caps() {
    let redis_srv_dir = tempfile::tempdir().unwrap();
    let redis_srv = RedisServer::start(redis_srv_dir.path()).await;
    let cap = |queue: usize, timeout: Duration| {
        let redis = Redis::new(&redis_srv.url()).unwrap();
        Cap::<u8>::shared(
            1,
            queue,
            timeout,
            SharedSemaphore::new(redis, Duration::from_secs(2)),
        )
    };
    // Two "replicas".
    let a = cap(1, Duration::from_secs(5));
    let b = cap(1, Duration::from_secs(5));
    let held = a.acquire(0, "server:m", "m").await.unwrap();
    // b waits for a's slot (held across "replicas"), gets it once a releases.
    let started = Instant::now();
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The queue (1, shared) is full now: a third caller is refused at once.
        let c = cap(1, Duration::from_secs(5));
        let e = c.acquire(0, "server:m", "m").await.unwrap_err();
        assert_eq!(e.status(), 429);
        assert!(e.to_string().contains("across replicas"), "{e}");
        drop(held);
    };
    let (got, ()) = tokio::join!(b.acquire(0, "server:m", "m"), release);
    let slot = got.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Held by b: a times out.
    let short = cap(1, Duration::from_millis(300));
    let e = short.acquire(0, "server:m", "m").await.unwrap_err();
    assert_eq!(e.status(), 429);
    assert!(e.retry_after().is_some());
    drop(slot);
    // Other keys are independent.
    let _x = a.acquire(1, "server:other", "other").await.unwrap();
}

#[tokio::test]
async fn cap_falls_back_per_replica_while_redis_is_down() {
    let closed = format!("redis://127.0.0.1:{}/0", free_port());
    let redis = Redis::new(&closed).unwrap();
    let cap = Cap::<u8>::shared(
        1,
        0,
        Duration::from_secs(1),
        SharedSemaphore::new(redis, Duration::from_secs(2)),
    );
    let started = Instant::now();
    let slot = cap.acquire(0, "server:m", "m").await.unwrap();
    // The local cap still holds.
    assert_eq!(
        cap.acquire(0, "server:m", "m").await.unwrap_err().status(),
        429
    );
    drop(slot);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn redis_down_gives_503_for_state_and_chat_still_works() {
    let redis_dir = tempfile::tempdir().unwrap();
    let mut redis = RedisServer::start(redis_dir.path()).await;
    let t = TestProxy::start_with(
        &[
            "--proxy.state-url",
            &redis.url(),
            "--proxy.max-concurrent-requests-per-model",
            "1",
        ],
        &[],
    )
    .await;
    let (s, v) = turn(&t, "hello", None, false).await;
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    redis.proc.kill9();

    let started = Instant::now();
    let calls = t.chat_bodies().len();
    for (previous, stream) in [(Some(id.as_str()), false), (None, false), (None, true)] {
        let (s, v) = turn(&t, "more", previous, stream).await;
        assert_eq!(s, 503, "{v}");
        assert_eq!(v["error"]["type"], "server_error", "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains("Redis"), "{msg}");
    }
    assert_eq!(t.chat_bodies().len(), calls, "GigaChat must not be called");
    let r = t.get(&format!("/v1/responses/{id}")).await;
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get("retry-after").is_some());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // No state needed: store=false and plain chat work (the cap is per replica now).
    let (s, _, v) = json_of(
        t.post(
            "/v1/responses",
            &json!({"model": "m", "input": "hi", "store": false}),
        )
        .await,
    )
    .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let (s, _, v) = json_of(
        t.post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let (s, _, v) = json_of(t.get("/ready").await).await;
    assert_eq!(s.as_u16(), 503, "{v}");
    assert_eq!(v["not_ready"], json!(["redis"]), "{v}");

    // Redis returns (empty): everything recovers without a restart.
    redis.restart().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, v) = turn(&t, "back", None, false).await;
        if s == 200 {
            let id = v["id"].as_str().unwrap().to_string();
            let (s, v) = turn(&t, "and on", Some(&id), true).await;
            assert_eq!(s, 200, "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, _, v) = json_of(t.get("/ready").await).await;
    assert_eq!(s.as_u16(), 200, "{v}");
}

#[tokio::test]
async fn ready_reports_gigachat_and_shutdown() {
    let t = TestProxy::start().await;
    let (s, _, v) = json_of(t.get("/ready").await).await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(v["status"], "ready");
    assert_eq!(v["checks"]["gigachat"]["status"], "ok");
    assert!(v["checks"].get("redis").is_none());
    // GigaChat refuses the proxy's credentials: not ready, naming gigachat.
    let t = TestProxy::start().await;
    t.ctl()
        .update_config(|c| c.credentials = Some("c29tZW9uZTplbHNl".into()));
    let (s, _, v) = json_of(t.get("/ready").await).await;
    assert_eq!(s.as_u16(), 503, "{v}");
    assert_eq!(v["not_ready"], json!(["gigachat"]), "{v}");
    assert!(
        v["checks"]["gigachat"]["error"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{v}"
    );
}
