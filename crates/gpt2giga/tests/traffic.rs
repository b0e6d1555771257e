//! The traffic log (`--proxy.traffic-log-url`) against the real server and emulator, on
//! SQLite and on a real PostgreSQL server started by the test: one record per request in
//! every dialect (JSON and stream) with the four bodies, redaction, the metadata level,
//! a full queue that drops without slowing requests, and retention.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{TestProxy, http, procs};
use gpt2giga::traffic::{Entry, Filter, Store};
use serde_json::{Value, json};

const API_KEY: &str = "sk-proxy-key-Zq81xw3";

/// Every record in `store`, oldest first, once there are at least `n` (waits up to 10 s).
async fn records(store: &Store, n: usize) -> Vec<Entry> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut all = store
            .list(&Filter {
                limit: 1000,
                ..Filter::default()
            })
            .await
            .unwrap();
        if all.len() >= n || Instant::now() > deadline {
            all.reverse();
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One chat request per dialect and framing: (path, body, dialect, stream).
fn calls() -> Vec<(&'static str, Value, &'static str, bool)> {
    let text = |d: &str| format!("hello from {d}, my key is {API_KEY}");
    vec![
        (
            "/v1/chat/completions",
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": text("openai")}]}),
            "openai",
            false,
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt-4o", "stream": true, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": text("openai-stream")}]}),
            "openai",
            true,
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-4.1", "input": text("responses")}),
            "responses",
            false,
        ),
        (
            "/v1/responses",
            json!({"model": "gpt-4.1", "stream": true, "input": text("responses-stream")}),
            "responses",
            true,
        ),
        (
            "/v1/messages",
            json!({"model": "claude-sonnet-4", "max_tokens": 100,
                   "messages": [{"role": "user", "content": text("anthropic")}]}),
            "anthropic",
            false,
        ),
        (
            "/v1/messages",
            json!({"model": "claude-sonnet-4", "max_tokens": 100, "stream": true,
                   "messages": [{"role": "user", "content": text("anthropic-stream")}]}),
            "anthropic",
            true,
        ),
        (
            "/v1beta/models/gemini-2.5-flash:generateContent",
            json!({"contents": [{"role": "user", "parts": [{"text": text("gemini")}]}]}),
            "gemini",
            false,
        ),
        (
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            json!({"contents": [{"role": "user", "parts": [{"text": text("gemini-stream")}]}]}),
            "gemini",
            true,
        ),
    ]
}

/// Sends every call of [`calls`] through a proxy logging at `bodies` into `url`, and
/// checks each record: metadata, timings, usage, the four bodies, no secret.
async fn every_dialect_is_recorded(url: &str) {
    let p = TestProxy::start_with(
        &[
            "--proxy.traffic-log-url",
            url,
            "--proxy.traffic-log-level",
            "bodies",
            "--proxy.enable-api-key-auth",
            "true",
        ],
        &[("GPT2GIGA_API_KEY", API_KEY)],
    )
    .await;
    let store = Store::open(url).await.unwrap();
    for (path, body, _, _) in calls() {
        let resp = http()
            .post(p.at(path))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let text = resp.text().await.unwrap();
        assert!(!text.is_empty());
    }
    let got = records(&store, calls().len()).await;
    assert_eq!(got.len(), calls().len(), "{got:#?}");
    for (e, (path, _, dialect, stream)) in got.iter().zip(calls()) {
        let full = store.get(e.id).await.unwrap().unwrap();
        let b = full.bodies.clone().unwrap();
        let what = format!("{path}: {full:#?}");
        assert_eq!(e.dialect, dialect, "{what}");
        assert_eq!(e.stream, stream, "{what}");
        assert_eq!(e.status, 200, "{what}");
        assert_eq!(e.path, path, "{what}");
        assert_eq!(e.method, "POST");
        assert!(e.client_model.is_some(), "{what}");
        assert_eq!(e.gigachat_model.as_deref(), Some("GigaChat"), "{what}");
        assert_eq!(e.identity.as_deref(), Some("server"), "{what}");
        assert!(e.request_id.len() >= 8, "{what}");
        assert!(e.first_byte_us.is_some_and(|t| t > 0), "{what}");
        assert!(e.total_us >= e.first_byte_us.unwrap(), "{what}");
        assert!(
            e.input_tokens.is_some() && e.output_tokens.is_some(),
            "{what}"
        );
        assert_eq!(e.truncated, 0, "{what}");
        let client_req = b.client_request.unwrap();
        let gc_req = b.gigachat_request.unwrap();
        let gc_resp = b.gigachat_response.unwrap();
        let client_resp = b.client_response.unwrap();
        // The prompt went in and out; the key inside it was masked everywhere.
        assert!(client_req.contains("hello from"), "{what}");
        assert!(
            gc_req.contains("hello from") && gc_req.contains("\"messages\""),
            "{what}"
        );
        assert!(!gc_resp.is_empty() && !client_resp.is_empty(), "{what}");
        if stream {
            assert!(client_resp.contains("data:"), "{what}");
            assert!(gc_resp.lines().count() > 1, "chunks one per line: {what}");
        } else {
            serde_json::from_str::<Value>(&client_resp).unwrap();
            serde_json::from_str::<Value>(&gc_resp).unwrap();
        }
        let as_json = serde_json::to_string(&full).unwrap();
        assert!(!as_json.contains(API_KEY), "secret stored: {as_json}");
        assert!(!as_json.contains(&common::credentials()), "{as_json}");
        assert!(client_req.contains("***"), "{what}");
    }
    // A Gemini client's key in the query string is masked in the stored path.
    let resp = http()
        .post(p.at(&format!(
            "/v1beta/models/gemini-2.5-flash:generateContent?key={API_KEY}"
        )))
        .json(&json!({"contents": [{"parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let got = records(&store, calls().len() + 1).await;
    let last = got.last().unwrap();
    assert!(last.path.ends_with("?key=***"), "{last:?}");
}

#[tokio::test]
async fn sqlite_records_every_dialect_with_bodies_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/traffic.db", dir.path().display());
    every_dialect_is_recorded(&url).await;
    // Not even in the database's files.
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains(API_KEY), "the key is in the database file");
    }
}

/// `filter`'s listing (up to 100) is `all`'s records that `matches` says it should hold,
/// newest first.
async fn lists_the_newest_matches(
    store: &Store,
    all: &[Entry],
    mut filter: Filter,
    matches: impl Fn(&Entry) -> bool,
) {
    filter.limit = 100;
    let mut want: Vec<i64> = all.iter().filter(|e| matches(e)).map(|e| e.id).collect();
    want.sort_unstable_by(|a, b| b.cmp(a));
    let got: Vec<i64> = store
        .list(&filter)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(got, want, "{filter:?}");
}

#[tokio::test]
async fn postgres_records_every_dialect_with_bodies_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let pg = procs::Postgres::start(dir.path()).await;
    every_dialect_is_recorded(&pg.url()).await;
    // Retention on PostgreSQL: the size budget's window query.
    let store = Store::open(&pg.url()).await.unwrap();
    // One failed request besides the recorded ones, for the status index.
    let failed = Entry {
        ts_ms: chrono::Utc::now().timestamp_millis(),
        request_id: "failed".into(),
        method: "POST".into(),
        path: "/v1/chat/completions".into(),
        route: "/chat/completions".into(),
        dialect: "openai".into(),
        status: 503,
        size_bytes: 300,
        ..Entry::default()
    };
    store.insert(vec![failed]).await.unwrap();
    let before = store.count().await.unwrap();
    assert!(before >= 9);
    // The indexes the migrations leave: a model's, the status', the time's.
    use sqlx::Connection as _;
    let mut pg_conn = sqlx::postgres::PgConnection::connect(&pg.url())
        .await
        .unwrap();
    let mut indexes: Vec<String> =
        sqlx::query_scalar("SELECT indexname::text FROM pg_indexes WHERE tablename = 'traffic'")
            .fetch_all(&mut pg_conn)
            .await
            .unwrap();
    indexes.sort();
    assert_eq!(
        indexes,
        [
            "traffic_client_model",
            "traffic_gigachat_model",
            "traffic_pkey",
            "traffic_status",
            "traffic_ts"
        ]
    );
    let status_index: String = sqlx::query_scalar(
        "SELECT indexdef::text FROM pg_indexes WHERE indexname = 'traffic_status'",
    )
    .fetch_one(&mut pg_conn)
    .await
    .unwrap();
    assert!(
        status_index.ends_with("WHERE (status <> 200)"),
        "{status_index}"
    );
    // Filtered listings agree with filtering the whole listing.
    let all = records(&store, usize::try_from(before).unwrap()).await;
    let mut models: Vec<String> = all
        .iter()
        .flat_map(|e| [e.client_model.clone(), e.gigachat_model.clone()])
        .flatten()
        .collect();
    models.sort();
    models.dedup();
    assert!(models.len() >= 3, "{models:?}");
    for model in &models {
        let model = model.as_str();
        let matches = |e: &Entry| {
            e.client_model.as_deref() == Some(model) || e.gigachat_model.as_deref() == Some(model)
        };
        let filter = Filter {
            model: Some(model.into()),
            ..Filter::default()
        };
        assert!(all.iter().any(matches), "{model}");
        lists_the_newest_matches(&store, &all, filter, matches).await;
    }
    // Statuses: 200 (not in the status index) and the others (in it), alone and as
    // classes.
    let mut ranges: Vec<(i64, i64)> = all.iter().map(|e| (e.status, e.status)).collect();
    ranges.extend([(200, 299), (400, 499), (300, 599)]);
    ranges.sort_unstable();
    ranges.dedup();
    assert!(all.iter().any(|e| e.status == 200) && all.iter().any(|e| e.status == 503));
    for (lo, hi) in ranges {
        let filter = Filter {
            status: Some((lo, hi)),
            ..Filter::default()
        };
        lists_the_newest_matches(&store, &all, filter, |e| (lo..=hi).contains(&e.status)).await;
    }
    let now = chrono::Utc::now().timestamp_millis();
    let newest = records(&store, 1).await.pop().unwrap();
    let gone = store.prune(now, 0, newest.size_bytes).await.unwrap();
    assert_eq!(gone as i64, before - 1);
    assert_eq!(store.count().await.unwrap(), 1);
}

#[tokio::test]
async fn metadata_level_keeps_no_bodies_but_errors_and_filters_work() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/traffic.db", dir.path().display());
    let p = TestProxy::start_with(&["--proxy.traffic-log-url", &url], &[]).await;
    let store = Store::open(&url).await.unwrap();
    let ok = p
        .post(
            "/v1/chat/completions",
            &json!({"model": "m1", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let bad = p
        .post("/v1/messages", &json!({"model": "m2", "max_tokens": 5}))
        .await;
    assert_eq!(bad.status(), 400);
    // The proxy's own pages are not traffic.
    assert_eq!(p.get("/health").await.status(), 200);
    let got = records(&store, 2).await;
    assert_eq!(got.len(), 2, "{got:#?}");
    let full = store.get(got[0].id).await.unwrap().unwrap();
    let b = full.bodies.unwrap();
    assert!(
        b.client_request.is_none()
            && b.gigachat_request.is_none()
            && b.gigachat_response.is_none()
            && b.client_response.is_none()
    );
    assert_eq!(got[0].client_model.as_deref(), Some("m1"));
    assert_eq!(got[1].status, 400);
    assert_eq!(got[1].dialect, "anthropic");
    let err = got[1].error.clone().unwrap();
    assert!(err.contains("messages"), "{err}");
    // "The last 100 for this model / status".
    let only = store
        .list(&Filter {
            model: Some("m1".into()),
            limit: 100,
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    let errors = store
        .list(&Filter {
            status: Some((400, 499)),
            limit: 100,
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].id, got[1].id);
}

#[tokio::test]
async fn a_full_queue_drops_records_without_slowing_requests() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/traffic.db", dir.path().display());
    let p = TestProxy::start_with(
        &[
            "--proxy.traffic-log-url",
            &url,
            "--proxy.traffic-log-queue-size",
            "2",
        ],
        &[],
    )
    .await;
    // Another connection holds the database's write lock: the writer waits on it.
    let store = Store::open(&url).await.unwrap();
    let mut lock = {
        use sqlx::Connection as _;
        sqlx::sqlite::SqliteConnection::connect(&url).await.unwrap()
    };
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .unwrap();
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let started = Instant::now();
    for _ in 0..30 {
        let r = p.post("/v1/chat/completions", &body).await;
        assert_eq!(r.status(), 200);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "30 requests took {took:?} while the log was blocked"
    );
    let metrics = p.get("/metrics").await.text().await.unwrap();
    let dropped: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("gpt2giga_traffic_log_dropped_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(dropped >= 20.0, "dropped {dropped}\n{metrics}");
    sqlx::query("COMMIT").execute(&mut lock).await.unwrap();
    // What was queued is written once the lock is gone; the rest was dropped.
    let got = records(&store, 1).await;
    assert!(!got.is_empty() && got.len() <= 10, "{}", got.len());
}

#[tokio::test]
async fn retention_removes_old_records() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/traffic.db", dir.path().display());
    let p = TestProxy::start_with(
        &[
            "--proxy.traffic-log-url",
            &url,
            "--proxy.traffic-log-retention-secs",
            "1",
        ],
        &[],
    )
    .await;
    let store = Store::open(&url).await.unwrap();
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(p.post("/v1/chat/completions", &body).await.status(), 200);
    assert_eq!(records(&store, 1).await.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.count().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the record outlived its 1 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_unreachable_database_stops_the_start_with_a_clear_error() {
    let mock = gigachat_mock::MockServer::start().await.unwrap();
    let port = common::free_port();
    let url = format!("postgres://u:hunter2pw@127.0.0.1:{port}/x");
    let config = common::config_for(
        &mock.base_url(),
        &mock.auth_url(),
        &["--proxy.traffic-log-url", &url],
        &[],
    );
    let client = gigachat::Client::new(config.gigachat.to_client_config()).unwrap();
    let state = gpt2giga::app::AppState::new(config, client).unwrap();
    let err = state.start_traffic_log().await.unwrap_err().to_string();
    assert!(err.contains("cannot open the traffic log"), "{err}");
    assert!(!err.contains("hunter2pw"), "{err}");
}

// ---- the admin API ---------------------------------------------------------------------------

async fn admin(p: &TestProxy, method: reqwest::Method, path: &str) -> (u16, String) {
    let r = http()
        .request(method, p.at(path))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn admin_json(p: &TestProxy, path: &str) -> Value {
    let (status, text) = admin(p, reqwest::Method::GET, path).await;
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn ids(page: &Value) -> Vec<i64> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn admin_api_lists_filters_pages_exports_tails_replays_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/traffic.db", dir.path().display());
    let p = TestProxy::start_with(
        &[
            "--proxy.traffic-log-url",
            &url,
            "--proxy.traffic-log-level",
            "bodies",
            "--proxy.enable-api-key-auth",
            "true",
        ],
        &[("GPT2GIGA_API_KEY", API_KEY)],
    )
    .await;
    let store = Store::open(&url).await.unwrap();
    let chat = |model: &str, stream: bool| {
        json!({"model": model, "stream": stream,
               "messages": [{"role": "user", "content": format!("to {model}")}]})
    };
    for body in [
        chat("m1", false),
        chat("m1", false),
        chat("m1", false),
        chat("m2", false),
        chat("m2", true),
    ] {
        let r = http()
            .post(p.at("/v1/chat/completions"))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap();
    }
    let bad = http()
        .post(p.at("/v1/messages"))
        .header("x-api-key", API_KEY)
        .json(&json!({"model": "m3", "max_tokens": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(records(&store, 6).await.len(), 6);

    // Behind the API key.
    let anon = http().get(p.at("/admin/traffic")).send().await.unwrap();
    assert_eq!(anon.status(), 401);

    // Cursor pagination: newest first, pages of 2, every record once.
    let mut seen = Vec::new();
    let mut path = "/admin/traffic?limit=2".to_string();
    loop {
        let page = admin_json(&p, &path).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/admin/traffic?limit=2&cursor={c}"),
            None => break,
        }
        assert!(seen.len() <= 6, "{seen:?}");
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    let first = admin_json(&p, "/admin/traffic?limit=1").await;
    assert!(
        first["data"][0].get("bodies").is_none(),
        "lists carry no bodies"
    );

    // Filters.
    assert_eq!(
        ids(&admin_json(&p, "/admin/traffic?model=m2").await).len(),
        2
    );
    assert_eq!(
        ids(&admin_json(&p, "/admin/traffic?model=GigaChat").await).len(),
        5
    );
    assert_eq!(
        ids(&admin_json(&p, "/admin/traffic?status=4xx").await).len(),
        1
    );
    assert_eq!(
        ids(&admin_json(&p, "/admin/traffic?status=200").await).len(),
        5
    );
    assert_eq!(
        ids(&admin_json(&p, "/admin/traffic?dialect=anthropic").await).len(),
        1
    );
    assert_eq!(
        ids(&admin_json(&p, "/admin/traffic?since=2999-01-01T00:00:00Z").await).len(),
        0
    );
    assert_eq!(
        ids(&admin_json(&p, "/admin/traffic?until=2999-01-01T00:00:00Z&model=m1").await).len(),
        3
    );
    for bad in [
        "limit=0",
        "limit=x",
        "status=abc",
        "since=yesterday",
        "cursor=x",
    ] {
        let (status, text) =
            admin(&p, reqwest::Method::GET, &format!("/admin/traffic?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {text}");
    }

    // One record, with its bodies.
    let m2_stream = ids(&admin_json(&p, "/admin/traffic?model=m2&limit=1").await)[0];
    let one = admin_json(&p, &format!("/admin/traffic/{m2_stream}")).await;
    assert_eq!(one["stream"], true);
    assert!(
        one["bodies"]["client_response"]
            .as_str()
            .unwrap()
            .contains("data:")
    );
    assert_eq!(
        admin(&p, reqwest::Method::GET, "/admin/traffic/999999")
            .await
            .0,
        404
    );

    // Export: NDJSON with bodies, CSV with a header.
    let (status, nd) = admin(
        &p,
        reqwest::Method::GET,
        "/admin/traffic/export?format=ndjson",
    )
    .await;
    assert_eq!(status, 200);
    let lines: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert!(lines.iter().all(|l| l["bodies"].is_object()));
    let (_, nd_paged) = admin(
        &p,
        reqwest::Method::GET,
        "/admin/traffic/export?format=ndjson&limit=2&model=m1",
    )
    .await;
    assert_eq!(nd_paged.lines().count(), 3, "pages of 2 follow each other");
    let (status, csv) = admin(&p, reqwest::Method::GET, "/admin/traffic/export?format=csv").await;
    assert_eq!(status, 200);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 7, "{csv}");
    assert!(rows[0].starts_with("id,ts_ms,request_id,"));
    assert_eq!(
        admin(&p, reqwest::Method::GET, "/admin/traffic/export?format=xml")
            .await
            .0,
        400
    );

    // Live tail: a new request appears.
    let mut tail = http()
        .get(p.at("/admin/traffic/stream"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 200);
    let r = http()
        .post(p.at("/v1/chat/completions"))
        .bearer_auth(API_KEY)
        .header("x-request-id", "tail-me-1")
        .json(&chat("m9", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut got = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !got.contains("tail-me-1") {
        assert!(Instant::now() < deadline, "no record on the tail: {got}");
        let chunk = tokio::time::timeout(Duration::from_secs(10), tail.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        got.push_str(&String::from_utf8_lossy(&chunk));
    }
    let line = got
        .lines()
        .find(|l| l.contains("tail-me-1"))
        .unwrap()
        .strip_prefix("data: ")
        .unwrap();
    let tailed: Value = serde_json::from_str(line).unwrap();
    assert_eq!(tailed["client_model"], "m9");
    drop(tail);

    // Replay: the recorded request goes through the proxy again.
    let m1 = ids(&admin_json(&p, "/admin/traffic?model=m1&limit=1").await)[0];
    let chats_before = p.chat_bodies().len();
    let (status, text) = admin(
        &p,
        reqwest::Method::POST,
        &format!("/admin/traffic/{m1}/replay"),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let replay: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(replay["original"]["id"], m1);
    assert_eq!(replay["replay"]["status"], 200);
    let old: Value = serde_json::from_str(replay["original"]["body"].as_str().unwrap()).unwrap();
    let new: Value = serde_json::from_str(replay["replay"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(old["object"], "chat.completion");
    assert_eq!(new["object"], "chat.completion");
    assert_ne!(old["id"], new["id"]);
    assert_eq!(p.chat_bodies().len(), chats_before + 1);
    assert_eq!(p.last_chat()["messages"][0]["content"], "to m1");
    // The replay is a request like any other: it is logged too.
    let replay_id = replay["replay"]["request_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = records(&store, 8).await;
        if all.iter().any(|e| e.request_id == replay_id) {
            break;
        }
        assert!(Instant::now() < deadline, "the replay was not logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A client mistake replays as the same mistake.
    let anth = ids(&admin_json(&p, "/admin/traffic?dialect=anthropic&limit=1").await)[0];
    let (_, text) = admin(
        &p,
        reqwest::Method::POST,
        &format!("/admin/traffic/{anth}/replay"),
    )
    .await;
    let replay: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(replay["replay"]["status"], 400);
    assert_eq!(replay["original"]["status"], 400);

    // Purge: before a time, then everything.
    let oldest = records(&store, 1).await[0].clone();
    let (status, text) = admin(
        &p,
        reqwest::Method::DELETE,
        &format!("/admin/traffic?before={}", oldest.ts_ms + 1),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let deleted: Value = serde_json::from_str(&text).unwrap();
    assert!(deleted["deleted"].as_u64().unwrap() >= 1);
    assert!(store.get(oldest.id).await.unwrap().is_none());
    let (status, _) = admin(&p, reqwest::Method::DELETE, "/admin/traffic").await;
    assert_eq!(status, 200);
    assert_eq!(store.count().await.unwrap(), 0);
}

#[tokio::test]
async fn admin_api_is_off_in_prod_unless_enabled_and_honours_its_allowlist() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/traffic.db", dir.path().display());
    let prod = ["--proxy.mode", "PROD", "--proxy.traffic-log-url", &url];
    let key = [("GPT2GIGA_API_KEY", API_KEY)];
    let p = TestProxy::start_with(&prod, &key).await;
    assert_eq!(
        admin(&p, reqwest::Method::GET, "/admin/traffic").await.0,
        404
    );
    let mut on = prod.to_vec();
    on.extend(["--proxy.enable-traffic-admin", "true"]);
    let p = TestProxy::start_with(&on, &key).await;
    assert_eq!(
        admin(&p, reqwest::Method::GET, "/admin/traffic").await.0,
        200
    );
    let mut fenced = on.clone();
    fenced.extend(["--proxy.traffic-ip-allowlist", "10.1.2.3"]);
    let p = TestProxy::start_with(&fenced, &key).await;
    let (status, text) = admin(&p, reqwest::Method::GET, "/admin/traffic").await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("traffic IP allow-list"));
    // Without a traffic log there is nothing to administer.
    let p = TestProxy::start_with(&[], &[]).await;
    assert_eq!(
        admin(&p, reqwest::Method::GET, "/admin/traffic").await.0,
        404
    );
}

#[tokio::test]
async fn the_latency_split_shows_the_queue_and_gigachats_first_byte() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/traffic.db", dir.path().display());
    let p = TestProxy::start_with(
        &[
            "--proxy.traffic-log-url",
            &url,
            "--proxy.max-concurrent-requests-per-model",
            "1",
        ],
        &[],
    )
    .await;
    p.ctl().set_latency(Duration::from_millis(300));
    let store = Store::open(&url).await.unwrap();
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    // Two at once through a cap of one: the second waits for the first.
    let (a, b) = tokio::join!(
        p.post("/v1/chat/completions", &body),
        p.post("/v1/chat/completions", &body)
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let got = records(&store, 2).await;
    assert_eq!(got.len(), 2);
    for e in &got {
        // GigaChat's 300 ms are in the first byte and the total.
        assert!(e.first_byte_us.unwrap() >= 300_000, "{e:?}");
        assert!(e.total_us >= e.first_byte_us.unwrap(), "{e:?}");
    }
    let queued: Vec<i64> = got.iter().map(|e| e.queue_us).collect();
    assert!(
        queued.iter().any(|q| *q >= 250_000) && queued.iter().any(|q| *q < 100_000),
        "one waited for the slot, the other did not: {queued:?}"
    );
}

#[tokio::test]
async fn v2_requests_answers_and_events_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/traffic.db", dir.path().display());
    let p = TestProxy::start_with(
        &[
            "--proxy.traffic-log-url",
            &url,
            "--proxy.traffic-log-level",
            "bodies",
            "--proxy.gigachat-api-mode",
            "v2",
        ],
        &[],
    )
    .await;
    let store = Store::open(&url).await.unwrap();
    for stream in [false, true] {
        let body = json!({"model": "gpt-4o", "stream": stream,
            "messages": [{"role": "user", "content": "hello over v2"}]});
        let resp = p.post("/v1/chat/completions", &body).await;
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap();
    }
    let got = records(&store, 2).await;
    assert_eq!(got.len(), 2, "{got:#?}");
    for (e, stream) in got.iter().zip([false, true]) {
        let full = store.get(e.id).await.unwrap().unwrap();
        let b = full.bodies.unwrap();
        assert_eq!(e.gigachat_model.as_deref(), Some("GigaChat"), "{e:?}");
        // GigaChat's v2 request: content parts, not v1's string content.
        let gc_req: Value = serde_json::from_str(&b.gigachat_request.unwrap()).unwrap();
        assert_eq!(
            gc_req["messages"][0]["content"][0]["text"], "hello over v2",
            "{gc_req}"
        );
        let gc_resp = b.gigachat_response.unwrap();
        if stream {
            // One named event per line.
            let first: Value = serde_json::from_str(gc_resp.lines().next().unwrap()).unwrap();
            assert!(first["event"].is_string(), "{first}");
            assert!(first["data"].is_object(), "{first}");
        } else {
            let v: Value = serde_json::from_str(&gc_resp).unwrap();
            assert!(v["messages"].is_array(), "{v}");
        }
    }
}
