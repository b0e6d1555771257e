//! Observability: `/metrics`, the log endpoints (`/logs/{n}`, `/logs/stream`,
//! `/logs/html`, the IP allow-list), the API docs (`/openapi.json`, `/docs`, `/redoc`),
//! DEV/PROD gating, and log redaction through the real binary (file and live stream,
//! text and JSON). The log viewer in a real browser is in `browser.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestProxy, content_type, http, json_of, text_of};
use futures::StreamExt;
use gigachat_mock::{Fault, MockServer, Reply};
use serde_json::{Value, json};

const KEY: &str = "obs-proxy-key-7f3a9";
const KEY_ENV: &[(&str, &str)] = &[
    ("GPT2GIGA_ENABLE_API_KEY_AUTH", "true"),
    ("GPT2GIGA_API_KEY", KEY),
];

fn chat(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "stream": stream,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hello there"}],
    })
}

// ---- scraping helpers -----------------------------------------------------------------------

/// One sample: name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// Every sample in a Prometheus text exposition.
fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), Vec::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap();
                let labels = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once("=\"").unwrap();
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                (name.to_string(), labels)
            }
        };
        out.push((name, labels, value));
    }
    out
}

/// The sum of the samples called `name` whose labels include `want`.
fn sum(text: &str, name: &str, want: &[(&str, &str)]) -> f64 {
    samples(text)
        .into_iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

async fn scrape(url: &str, key: Option<&str>) -> String {
    let mut r = http().get(format!("{url}/metrics"));
    if let Some(k) = key {
        r = r.header("x-api-key", k);
    }
    let (status, headers, text) = text_of(r.send().await.unwrap()).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        content_type(&headers),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    text
}

// ---- metrics --------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_count_requests_tokens_latency_and_streams() {
    let p = TestProxy::start().await;
    p.ctl().push_replies([
        Reply::text("one"),
        Reply::text("two, streamed"),
        Reply::text("three"),
        Reply::text("four, streamed"),
    ]);
    let (s, _, v) = json_of(
        p.post("/v1/chat/completions", &chat("gpt-obs", false))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, _, t) = text_of(p.post("/v1/chat/completions", &chat("gpt-obs", true)).await).await;
    assert_eq!(s, 200, "{t}");
    let anthropic = json!({"model": "claude-obs", "max_tokens": 50, "stream": true,
        "messages": [{"role": "user", "content": "hi"}]});
    let (s, _, _) = text_of(
        p.post(
            "/v1/messages",
            &json!({"model": "claude-obs", "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = text_of(p.post("/v1/messages", &anthropic).await).await;
    assert_eq!(s, 200);
    let (s, _, _) = json_of(
        p.post(
            "/v1/embeddings",
            &json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = json_of(p.get("/v1/models").await).await;
    assert_eq!(s, 200);
    let (s, _, _) = json_of(p.get("/v1/nope").await).await;
    assert_eq!(s, 404);
    let (s, _, _) = json_of(
        p.post("/v1/chat/completions", &json!({"model": "gpt-obs"}))
            .await,
    )
    .await;
    assert_eq!(s, 400);

    let text = scrape(&p.url, None).await;
    let req = "gpt2giga_requests_total";
    let chat_ok = [
        ("route", "/chat/completions"),
        ("dialect", "openai"),
        ("method", "POST"),
        ("status", "200"),
        ("model", "gpt-obs"),
    ];
    assert_eq!(sum(&text, req, &chat_ok), 2.0, "{text}");
    assert_eq!(
        sum(
            &text,
            req,
            &[
                ("route", "/messages"),
                ("dialect", "anthropic"),
                ("model", "claude-obs")
            ]
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &text,
            req,
            &[
                ("route", "/embeddings"),
                ("model", "text-embedding-3-small")
            ]
        ),
        1.0
    );
    assert_eq!(
        sum(&text, req, &[("route", "/models"), ("status", "200")]),
        1.0
    );
    assert_eq!(
        sum(&text, req, &[("route", "unmatched"), ("status", "404")]),
        1.0
    );
    // A request refused before the model was known.
    assert_eq!(
        sum(
            &text,
            req,
            &[("route", "/chat/completions"), ("status", "400")]
        ),
        1.0,
        "{text}"
    );

    // Latency histograms.
    let dur = "gpt2giga_request_duration_seconds_count";
    assert_eq!(sum(&text, dur, &[("route", "/chat/completions")]), 3.0);
    assert!(
        sum(
            &text,
            "gpt2giga_request_duration_seconds_bucket",
            &[("route", "/chat/completions"), ("le", "+Inf")]
        ) == 3.0
    );
    let up = "gpt2giga_upstream_request_duration_seconds_count";
    assert_eq!(sum(&text, up, &[("operation", "chat")]), 2.0, "{text}");
    assert_eq!(sum(&text, up, &[("operation", "chat_stream")]), 2.0);
    assert_eq!(sum(&text, up, &[("operation", "embeddings")]), 1.0);
    assert_eq!(sum(&text, up, &[("operation", "models")]), 1.0);
    // The Anthropic stream counts its prompt alongside.
    assert!(sum(&text, up, &[("operation", "tokens_count")]) >= 1.0);
    assert_eq!(
        sum(
            &text,
            "gpt2giga_proxy_overhead_seconds_count",
            &[("dialect", "openai")]
        ),
        5.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &text,
            "gpt2giga_time_to_first_token_seconds_count",
            &[("dialect", "openai")]
        ),
        1.0
    );
    assert_eq!(
        sum(
            &text,
            "gpt2giga_time_to_first_token_seconds_count",
            &[("dialect", "anthropic")]
        ),
        1.0
    );
    assert_eq!(sum(&text, "gpt2giga_active_streams", &[]), 0.0);

    // Tokens from GigaChat's usage, in and out.
    let tok = "gpt2giga_tokens_total";
    assert!(sum(&text, tok, &[("direction", "input"), ("model", "gpt-obs")]) >= 2.0);
    assert!(sum(&text, tok, &[("direction", "output"), ("model", "gpt-obs")]) >= 2.0);
    assert!(
        sum(
            &text,
            tok,
            &[("direction", "output"), ("model", "claude-obs")]
        ) >= 2.0
    );

    // Client counters.
    assert_eq!(
        sum(&text, "gpt2giga_upstream_token_fetches_total", &[]),
        p.ctl().oauth_token_count() as f64
    );
    assert!(sum(&text, "gpt2giga_upstream_token_fetches_total", &[]) >= 1.0);
    assert_eq!(sum(&text, "gpt2giga_upstream_retries_total", &[]), 0.0);
    assert!(text.contains("gpt2giga_build_info{version=\""));
    assert!(text.contains("# TYPE gpt2giga_request_duration_seconds histogram"));
    assert!(text.contains("# TYPE gpt2giga_requests_total counter"));
}

#[tokio::test]
async fn overhead_excludes_the_time_spent_waiting_on_gigachat() {
    let p = TestProxy::start().await;
    p.ctl().set_latency(Duration::from_millis(300));
    p.ctl().push_replies([Reply::text("a"), Reply::text("b")]);
    for _ in 0..2 {
        let (s, _, v) = json_of(
            p.post("/v1/chat/completions", &chat("gpt-obs", false))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    let text = scrape(&p.url, None).await;
    let total = sum(
        &text,
        "gpt2giga_request_duration_seconds_sum",
        &[("route", "/chat/completions")],
    );
    let upstream = sum(
        &text,
        "gpt2giga_upstream_request_duration_seconds_sum",
        &[("operation", "chat")],
    );
    let overhead = sum(
        &text,
        "gpt2giga_proxy_overhead_seconds_sum",
        &[("dialect", "openai")],
    );
    assert!(total >= 0.6, "{text}");
    assert!(upstream >= 0.6, "{text}");
    assert!(
        overhead < 0.3,
        "overhead {overhead} s should exclude the 0.6 s upstream wait\n{text}"
    );
    assert!(overhead <= total - upstream + 0.001, "{text}");
}

#[tokio::test]
async fn upstream_errors_and_retries_are_counted() {
    let p = TestProxy::start_with(
        &[
            "--gigachat.max-retries",
            "1",
            "--gigachat.retry-backoff-factor",
            "0.01",
        ],
        &[],
    )
    .await;
    p.ctl().push_replies([Reply::text("after a retry")]);
    p.ctl()
        .inject_fault(Fault::status(500).path_suffix("/chat/completions"));
    let (s, _, v) = json_of(p.post("/v1/chat/completions", &chat("m", false)).await).await;
    assert_eq!(s, 200, "{v}");

    p.ctl()
        .inject_fault(Fault::status(503).times(2).path_suffix("/chat/completions"));
    let (failed, _, v) = json_of(p.post("/v1/chat/completions", &chat("m", false)).await).await;
    assert!(failed.is_server_error(), "{v}");

    p.ctl()
        .inject_fault(Fault::status(404).path_suffix("/chat/completions"));
    let (s, _, v) = json_of(p.post("/v1/chat/completions", &chat("m", true)).await).await;
    assert_eq!(s, 404, "{v}");

    let text = scrape(&p.url, None).await;
    assert_eq!(
        sum(&text, "gpt2giga_upstream_retries_total", &[]),
        2.0,
        "{text}"
    );
    let err = "gpt2giga_upstream_errors_total";
    assert_eq!(
        sum(&text, err, &[("operation", "chat"), ("status", "503")]),
        1.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &text,
            err,
            &[("operation", "chat_stream"), ("status", "404")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(sum(&text, err, &[("status", "500")]), 0.0);
    assert_eq!(
        sum(
            &text,
            "gpt2giga_requests_total",
            &[("status", failed.as_str()), ("model", "m")]
        ),
        1.0
    );
}

#[tokio::test]
async fn active_streams_gauge_follows_open_streams() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(1);
    p.ctl().set_chunk_delay(Duration::from_millis(100));
    p.ctl().push_reply(Reply::text("y".repeat(600)));
    let resp = p
        .post("/v1/chat/completions", &chat("gpt-long", true))
        .await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    body.next().await.unwrap().unwrap();
    let text = scrape(&p.url, None).await;
    assert_eq!(
        sum(&text, "gpt2giga_active_streams", &[("dialect", "openai")]),
        1.0,
        "{text}"
    );
    // The client hangs up: the gauge goes back to zero.
    drop(body);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(&p.url, None).await;
        if sum(&text, "gpt2giga_active_streams", &[]) == 0.0 {
            // The abandoned stream's duration was recorded when its body was dropped.
            assert_eq!(
                sum(
                    &text,
                    "gpt2giga_request_duration_seconds_count",
                    &[("route", "/chat/completions")]
                ),
                1.0
            );
            break;
        }
        assert!(Instant::now() < deadline, "gauge stuck: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_are_behind_the_api_key_when_it_is_on_and_stay_in_prod() {
    let p = TestProxy::start_with(&[], KEY_ENV).await;
    let (s, _, _) = text_of(p.get("/metrics").await).await;
    assert_eq!(s, 401);
    let text = scrape(&p.url, Some(KEY)).await;
    assert!(text.contains("gpt2giga_requests_total"));
    let r = http()
        .get(p.at("/metrics"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "Prometheus sends the key as a bearer token"
    );

    let prod =
        TestProxy::start_with(&[], &[("GPT2GIGA_MODE", "PROD"), ("GPT2GIGA_API_KEY", KEY)]).await;
    scrape(&prod.url, Some(KEY)).await;
}

// ---- DEV / PROD gating, keys, allow-list ----------------------------------------------------

const DEV_ONLY: &[&str] = &[
    "/docs",
    "/redoc",
    "/openapi.json",
    "/logs",
    "/logs/10",
    "/logs/stream",
    "/logs/html",
];

#[tokio::test]
async fn docs_and_logs_are_absent_in_prod() {
    let p =
        TestProxy::start_with(&[], &[("GPT2GIGA_MODE", "PROD"), ("GPT2GIGA_API_KEY", KEY)]).await;
    for path in DEV_ONLY {
        let r = http()
            .get(p.at(path))
            .header("x-api-key", KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path} must not exist in PROD");
    }
}

#[tokio::test]
async fn data_endpoints_need_the_key_and_pages_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("g.log");
    std::fs::write(&log, "first line\nsecond line\nthird line\n").unwrap();
    let p = TestProxy::start_with(&["--proxy.log-filename", log.to_str().unwrap()], KEY_ENV).await;
    for path in ["/logs/2", "/logs", "/logs/stream", "/openapi.json"] {
        let (s, _, v) = json_of(p.get(path).await).await;
        assert_eq!(s, 401, "{path}: {v}");
        assert_eq!(v["error"]["type"], "authentication_error");
    }
    for path in ["/logs/html", "/docs", "/redoc"] {
        let (s, h, body) = text_of(p.get(path).await).await;
        assert_eq!(s, 200, "{path}");
        assert_eq!(content_type(&h), "text/html; charset=utf-8");
        assert!(body.contains("<script>"), "{path}");
    }
    let get = |path: &str| http().get(p.at(path)).header("x-api-key", KEY).send();
    let (s, h, text) = text_of(get("/logs/2").await.unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(content_type(&h), "text/plain; charset=utf-8");
    assert_eq!(text, "second line\nthird line\n");
    let (s, _, text) = text_of(get("/logs?lines=1").await.unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(text, "third line\n");
    let (s, _, text) = text_of(get("/logs/100000").await.unwrap()).await;
    assert_eq!(s, 200, "n is capped, not refused");
    assert_eq!(text.lines().count(), 3);
    let (s, _, _) = text_of(get("/logs/lots").await.unwrap()).await;
    assert_eq!(s, 400);
    let r = http()
        .get(p.at(&format!("/openapi.json?x-api-key={KEY}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The stream: SSE, opens with a comment.
    let r = get("/logs/stream").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        content_type(r.headers()),
        "text/event-stream; charset=utf-8"
    );
    let mut body = r.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains(": connected"));
    // A line logged now reaches the open stream.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = String::new();
    while !seen.contains("data: stream-probe-42") {
        gpt2giga::logging::publish("stream-probe-42");
        if let Ok(Some(Ok(chunk))) =
            tokio::time::timeout(Duration::from_millis(200), body.next()).await
        {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(Instant::now() < deadline, "{seen}");
    }
}

#[tokio::test]
async fn missing_log_file_is_404() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("absent.log");
    let p = TestProxy::start_with(&["--proxy.log-filename", log.to_str().unwrap()], &[]).await;
    let (s, _, text) = text_of(p.get("/logs/5").await).await;
    assert_eq!(s, 404);
    assert!(text.contains("not found"), "{text}");
}

#[tokio::test]
async fn ip_allowlist_checks_the_peer_address_not_forwarded_headers() {
    let blocked = TestProxy::start_with(
        &["--proxy.logs-ip-allowlist", "10.9.8.7,203.0.113.0/24"],
        &[],
    )
    .await;
    for path in ["/logs/5", "/logs/stream", "/logs/html", "/logs"] {
        let r = http()
            .get(blocked.at(path))
            .header("X-Forwarded-For", "10.9.8.7")
            .header("X-Real-IP", "203.0.113.9")
            .header("Forwarded", "for=10.9.8.7")
            .send()
            .await
            .unwrap();
        let (s, _, v) = json_of(r).await;
        assert_eq!(
            s, 403,
            "{path}: a forged X-Forwarded-For must not pass: {v}"
        );
        assert_eq!(v["error"]["code"], "ip_not_allowed");
    }
    // Other endpoints are not affected.
    let (s, _, _) = json_of(blocked.get("/health").await).await;
    assert_eq!(s, 200);
    let (s, _, _) = text_of(blocked.get("/docs").await).await;
    assert_eq!(s, 200);

    let allowed = TestProxy::start_with(
        &[
            "--proxy.logs-ip-allowlist",
            "[\"10.0.0.0/8\", \"127.0.0.0/8\"]",
        ],
        &[],
    )
    .await;
    let (s, _, _) = text_of(allowed.get("/logs/html").await).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn an_invalid_allowlist_entry_stops_the_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let err = gpt2giga::config::Config::load_from(
        common::argv(&["--proxy.logs-ip-allowlist", "10.0.0.1,intranet"]),
        &std::collections::HashMap::new(),
        dir.path(),
    )
    .map(|_| ())
    .expect_err("must fail");
    let msg = err.to_string();
    assert!(msg.contains("logs-ip-allowlist"), "{msg}");
    assert!(msg.contains("intranet"), "{msg}");
}

// ---- OpenAPI --------------------------------------------------------------------------------

fn doc_paths(doc: &Value) -> BTreeSet<String> {
    doc["paths"].as_object().unwrap().keys().cloned().collect()
}

/// Every `.route("…")` in the server's source files.
fn routes_in_source() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let re = regex::Regex::new(r#"\.route\(\s*"([^"]+)""#).unwrap();
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let src = std::fs::read_to_string(&path).unwrap();
            // Test modules declare routes of their own.
            let src = src.split("#[cfg(test)]").next().unwrap_or("");
            for c in re.captures_iter(src) {
                out.insert(c[1].to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn openapi_describes_every_route_of_the_router() {
    let p = TestProxy::start().await;
    let (s, h, doc) = json_of(p.get("/openapi.json").await).await;
    assert_eq!(s, 200);
    assert!(content_type(&h).starts_with("application/json"));
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let paths = doc_paths(&doc);
    let routes = routes_in_source();
    assert!(routes.len() >= 15, "{routes:?}");
    for route in &routes {
        // Gemini's `{model}:method` catch-alls (axum cannot match a parameter followed
        // by `:method` in one segment) are documented as the methods they serve.
        if let Some(prefix) = route.strip_suffix("/{*rest}") {
            let documented = if prefix == "/tunedModels" {
                "/v1beta/models/{model}:generateContent"
            } else {
                &format!("/v1beta{prefix}/{{model}}:generateContent")
            };
            assert!(
                paths.contains(documented),
                "route {route}: {documented} is not in openapi.json"
            );
            continue;
        }
        assert!(
            paths.contains(route),
            "route {route} is not in openapi.json"
        );
    }
    // The API routes also live under /v1.
    for api in [
        "/chat/completions",
        "/models",
        "/models/{id}",
        "/embeddings",
        "/responses",
        "/responses/{id}",
        "/responses/{id}/input_items",
        "/messages",
        "/messages/count_tokens",
    ] {
        assert!(paths.contains(&format!("/v1{api}")), "/v1{api}");
    }
    // Error envelopes are described and used.
    assert!(doc.pointer("/components/schemas/OpenAIError").is_some());
    assert!(doc.pointer("/components/schemas/AnthropicError").is_some());
    assert_eq!(
        doc.pointer("/paths/~1v1~1messages/post/responses/400/$ref"),
        Some(&json!("#/components/responses/AnthropicError"))
    );
    assert_eq!(
        doc.pointer(
            "/paths/~1chat~1completions/post/requestBody/content/application~1json/schema/$ref"
        ),
        Some(&json!("#/components/schemas/ChatCompletionRequest"))
    );
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let p = TestProxy::start().await;
    let (_, _, doc) = json_of(p.get("/openapi.json").await).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let url = p.at(&path.replace("{id}", "x").replace("{n}", "5"));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut req = http().request(m, &url);
            if method == "post" {
                req = req.json(&json!({}));
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let body = if path == "/logs/stream" {
                String::new()
            } else {
                resp.text().await.unwrap()
            };
            assert_ne!(status, 405, "{method} {path}: method not routed");
            assert!(
                !(status == 404 && body.contains("no route for")),
                "{method} {path} is documented but not routed"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked}");
}

/// The other direction, against the router itself: on every documented path, each
/// method the document does not list is refused with 405 — so no routed method is
/// missing from the document (HEAD is left out: axum answers it for every GET).
#[tokio::test]
async fn every_routed_method_of_a_documented_path_is_documented() {
    let p = TestProxy::start().await;
    let (_, _, doc) = json_of(p.get("/openapi.json").await).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let documented: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let url = p.at(&path.replace("{id}", "x").replace("{n}", "5"));
        for method in ["get", "post", "put", "patch", "delete"] {
            if documented.contains(method) || (method == "get" && path == "/logs/stream") {
                continue;
            }
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = http().request(m, &url).send().await.unwrap();
            let status = resp.status();
            // Paths shared with Gemini's model methods answer an unrouted method with a
            // 404 "no route for …" in the path's dialect instead of an empty 405.
            let body = resp.text().await.unwrap();
            let not_routed = status == 405 || (status == 404 && body.contains("no route for"));
            assert!(
                not_routed,
                "{method} {path} is routed but not documented: {status} {body}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 100, "{checked}");
}

#[tokio::test]
async fn viewer_pages_are_self_contained() {
    let p = TestProxy::start().await;
    for path in ["/docs", "/redoc", "/logs/html"] {
        let (s, h, body) = text_of(p.get(path).await).await;
        assert_eq!(s, 200);
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        for external in [
            "src=\"http",
            "href=\"http",
            "src=\"//",
            "href=\"//",
            "@import",
            "url(",
        ] {
            assert!(!body.contains(external), "{path} loads {external}");
        }
        assert!(!body.contains("https://"), "{path} names an external URL");
    }
}

// ---- the binary: log file, live stream, redaction -------------------------------------------

struct Running {
    child: Child,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real binary in front of `mock`, logging at DEBUG to a temporary file.
async fn run_binary(mock: &MockServer, format: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs").join("gpt2giga.log");
    let port = common::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_gpt2giga"))
        .env_clear()
        .current_dir(dir.path())
        .env("GIGACHAT_CREDENTIALS", common::credentials())
        .env("GPT2GIGA_ENABLE_API_KEY_AUTH", "true")
        .env("GPT2GIGA_API_KEY", KEY)
        .args([
            "--proxy.host",
            "127.0.0.1",
            "--proxy.port",
            &port.to_string(),
            "--proxy.log-level",
            "DEBUG",
            "--proxy.log-format",
            format,
            "--proxy.log-filename",
            log.to_str().unwrap(),
            "--proxy.pass-model",
            "true",
            "--gigachat.base-url",
            &mock.base_url(),
            "--gigachat.auth-url",
            &mock.auth_url(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http().get(format!("{}/health", running.base)).send().await
            && r.status() == 200
        {
            return running;
        }
        if let Some(status) = running.child.try_wait().unwrap() {
            panic!("gpt2giga exited early: {status}");
        }
        assert!(Instant::now() < deadline, "gpt2giga did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Requests whose traces carry secrets: in the path (access log, INFO) and in a
/// model name and a field name that the DEBUG lines repeat.
async fn leak_attempts(base: &str, mock: &MockServer) {
    let h = http();
    for path in [
        "/v1/models/giga-cred-c2VjcmV0LWNyZWQ6c2VjcmV0:GIGACHAT_API_PERS",
        "/v1/models/giga-auth-accesstoken-XYZ123",
        "/v1/models/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrIn0.c2lnbmF0dXJl",
        &format!("/v1/models/{KEY}"),
        "/v1/models/marker-access-line",
    ] {
        let r = h
            .get(format!("{base}{path}"))
            .header("x-api-key", KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    mock.control().push_reply(Reply::text("ok"));
    let r = h
        .post(format!("{base}/v1/chat/completions"))
        .header("x-api-key", KEY)
        .json(&json!({
            "model": "giga-user-alice:hunter2-pw",
            "api_key=sk-live-field-999": 1,
            "messages": [{"role": "user", "content": BODY_MARKER}],
        }))
        .send()
        .await
        .unwrap();
    // With --proxy.pass-model the emulator may not know this "model": any answer will do,
    // the point is the DEBUG lines on the way.
    assert!(r.status() == 200 || r.status() == 404, "{}", r.status());
}

/// Message content: never logged, not even at DEBUG.
const BODY_MARKER: &str = "message-body-marker-5521";

const LEAKS: &[&str] = &[
    BODY_MARKER,
    KEY,
    "c2VjcmV0LWNyZWQ6c2VjcmV0",
    "accesstoken-XYZ123",
    "eyJzdWIiOiJsZWFrIn0",
    "hunter2-pw",
    "sk-live-field-999",
];

fn assert_no_leaks(what: &str, text: &str, credentials: &str) {
    for secret in LEAKS.iter().copied().chain([credentials]) {
        assert!(
            !text.contains(secret),
            "{what} contains the secret {secret:?}:\n{text}"
        );
    }
}

/// Polls `/logs/{n}` until `needle` shows up (the file is written in the background).
async fn tail_until(base: &str, n: usize, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = http()
            .get(format!("{base}/logs/{n}"))
            .header("x-api-key", KEY)
            .send()
            .await
            .unwrap();
        let (s, _, text) = text_of(r).await;
        if s == 200 && text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{needle} never appeared: {s} {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn logs_are_redacted_in_the_file_the_tail_and_the_live_stream() {
    let mock = MockServer::start().await.unwrap();
    let run = run_binary(&mock, "text").await;

    // Watch the live stream while the secrets go by.
    let r = http()
        .get(format!("{}/logs/stream", run.base))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut live = r.bytes_stream();
    live.next().await.unwrap().unwrap();
    leak_attempts(&run.base, &mock).await;
    let mut streamed = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !streamed.contains("ignoring unknown chat.completions field") {
        if let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(1), live.next()).await
        {
            streamed.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(Instant::now() < deadline, "live stream: {streamed}");
    }
    assert!(streamed.contains("data: "), "{streamed}");
    assert!(streamed.contains("giga-cred-***"), "{streamed}");
    assert!(streamed.contains("giga-auth-***"), "{streamed}");
    assert!(streamed.contains("/v1/models/***"), "{streamed}");
    assert!(
        streamed.contains("/v1/models/marker-access-line"),
        "{streamed}"
    );
    assert_no_leaks("the live stream", &streamed, &common::credentials());

    let tail = tail_until(&run.base, 200, "ignoring unknown chat.completions field").await;
    assert!(tail.contains("/v1/models/marker-access-line"), "{tail}");
    assert!(
        tail.contains("DEBUG"),
        "DEBUG lines are logged at DEBUG: {tail}"
    );
    assert_no_leaks("/logs/200", &tail, &common::credentials());
    // The whole file (start-up summary included).
    let file = std::fs::read_to_string(&run.log).unwrap();
    assert!(file.contains("effective configuration"), "{file}");
    assert_no_leaks("the log file", &file, &common::credentials());
    // The GigaChat access token the proxy used never appears either.
    let token = mock
        .control()
        .last_request("/chat/completions")
        .unwrap()
        .header("authorization")
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_string();
    assert!(token.len() > 8);
    assert!(!file.contains(&token));
    assert!(!streamed.contains(&token));
}

#[tokio::test]
async fn json_log_lines_stay_json_after_redaction() {
    let mock = MockServer::start().await.unwrap();
    let run = run_binary(&mock, "json").await;
    leak_attempts(&run.base, &mock).await;
    let tail = tail_until(&run.base, 500, "ignoring unknown chat.completions field").await;
    assert_no_leaks("/logs/500 (json)", &tail, &common::credentials());
    let mut access = 0;
    for line in tail.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        if v["fields"]["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/v1/models/"))
        {
            access += 1;
        }
    }
    assert!(access >= 5, "{tail}");
    assert!(
        tail.contains(r#""path":"/v1/models/giga-cred-***""#),
        "{tail}"
    );
}

#[tokio::test]
async fn an_open_log_stream_does_not_hold_up_shutdown() {
    let mock = MockServer::start().await.unwrap();
    let mut run = run_binary(&mock, "text").await;
    let r = http()
        .get(format!("{}/logs/stream", run.base))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut live = r.bytes_stream();
    live.next().await.unwrap().unwrap();
    let started = Instant::now();
    let term = Command::new("kill")
        .args(["-TERM", &run.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // The stream ends, and the process exits well before the 30 s grace period.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = live.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the log stream did not end on shutdown");
    loop {
        if let Some(status) = run.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "gpt2giga did not exit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
