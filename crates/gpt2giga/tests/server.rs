//! The server skeleton: probes, request ids and context propagation, path
//! normalisation, unknown routes, graceful shutdown, bind errors, and the binary itself
//! (`--help`, invalid values, `--demo`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestProxy, http, json_of, openai_frames};
use gigachat_mock::Reply;
use gpt2giga::server::{self, ServeError};
use serde_json::{Value, json};

fn chat_body(text: &str) -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn probes_answer_200_without_touching_gigachat() {
    let p = TestProxy::start().await;
    let (status, _, v) = json_of(p.get("/health").await).await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "ok");

    let (status, _, v) = json_of(p.get("/ping").await).await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "ok");
    let (status, _, _) = json_of(http().post(p.at("/ping")).send().await.unwrap()).await;
    assert_eq!(status, 200);

    let r = http().head(p.at("/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (status, _, v) = json_of(p.get("/").await).await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "ok");

    // Probes never reach GigaChat (not even for a token).
    assert!(p.ctl().requests().is_empty(), "{:?}", p.ctl().requests());
    assert_eq!(p.ctl().oauth_token_count(), 0);
}

#[tokio::test]
async fn sane_request_id_is_echoed_and_propagated_with_session_and_client_ids() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("ok"));
    let r = http()
        .post(p.at("/v1/chat/completions"))
        .header("X-Request-ID", "client-req-42")
        .header("X-Session-ID", "session-7")
        .header("X-Client-ID", "client-9")
        .json(&chat_body("hi"))
        .send()
        .await
        .unwrap();
    let (status, headers, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(headers["x-request-id"], "client-req-42");
    assert_eq!(v["choices"][0]["message"]["content"], "ok");

    let rec = p.ctl().last_request("/chat/completions").unwrap();
    assert_eq!(rec.header("x-request-id"), Some("client-req-42"));
    assert_eq!(rec.header("x-session-id"), Some("session-7"));
    assert_eq!(rec.header("x-client-id"), Some("client-9"));
}

#[tokio::test]
async fn missing_or_insane_request_id_is_replaced_by_a_uuid() {
    let p = TestProxy::start().await;
    // No id at all.
    let (status, headers, _) = json_of(p.post("/v1/chat/completions", &chat_body("a")).await).await;
    assert_eq!(status, 200);
    let id = headers["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let rec = p.ctl().last_request("/chat/completions").unwrap();
    assert_eq!(rec.header("x-request-id"), Some(id.as_str()));
    assert!(rec.header("x-session-id").is_none());
    assert!(rec.header("x-client-id").is_none());

    // An id with a space and an over-long id are not trusted.
    for bad in ["has space", &"x".repeat(200)] {
        let r = http()
            .post(p.at("/v1/chat/completions"))
            .header("X-Request-ID", bad)
            .json(&chat_body("b"))
            .send()
            .await
            .unwrap();
        let (status, headers, _) = json_of(r).await;
        assert_eq!(status, 200);
        let got = headers["x-request-id"].to_str().unwrap().to_string();
        assert_ne!(got, bad);
        assert!(uuid::Uuid::parse_str(&got).is_ok(), "{got}");
        let rec = p.ctl().last_request("/chat/completions").unwrap();
        assert_eq!(rec.header("x-request-id"), Some(got.as_str()));
    }
}

#[tokio::test]
async fn request_id_is_echoed_on_errors_and_sent_on_every_upstream_call() {
    let p = TestProxy::start_with(
        &[],
        &[
            ("GPT2GIGA_ENABLE_API_KEY_AUTH", "true"),
            ("GPT2GIGA_API_KEY", "k"),
        ],
    )
    .await;
    let r = http()
        .get(p.at("/nope"))
        .header("x-request-id", "rid-404")
        .header("x-api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-request-id"], "rid-404");
    let r = http()
        .get(p.at("/v1/models"))
        .header("x-request-id", "rid-401")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-request-id"], "rid-401");
    assert!(p.ctl().requests().is_empty());

    // An Anthropic stream makes two GigaChat calls (tokens/count for message_start and
    // the chat itself): both carry the client's id. Prefix + query survive normalisation.
    let r = http()
        .post(p.at("/custom/v1/messages?beta=true"))
        .header("x-api-key", "k")
        .header("x-request-id", "rid-anthropic")
        .json(
            &json!({"model": "claude-x", "stream": true, "max_tokens": 10,
                      "messages": [{"role": "user", "content": "x"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], "rid-anthropic");
    assert!(r.text().await.unwrap().contains("message_stop"));
    let ids = |suffix: &str| -> Vec<Option<String>> {
        p.ctl()
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .map(|r| r.header("x-request-id").map(str::to_string))
            .collect()
    };
    assert_eq!(ids("/chat/completions"), vec![Some("rid-anthropic".into())]);
    assert_eq!(ids("/tokens/count"), vec![Some("rid-anthropic".into())]);

    let r = http()
        .post(p.at("/v1/embeddings"))
        .header("x-api-key", "k")
        .header("x-request-id", "rid-emb")
        .json(&json!({"model": "m", "input": ["a", "b"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(ids("/embeddings"), vec![Some("rid-emb".into())]);
}

#[tokio::test]
async fn prefixed_paths_are_normalised_in_place() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("via api prefix"));
    let r = p.post("/api/v1/chat/completions", &chat_body("x")).await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "via api prefix");
    assert_eq!(p.chat_bodies().len(), 1);

    let (status, _, v) = json_of(p.get("/openai/v1/models").await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "list");
    assert!(p.ctl().last_request("/models").is_some());

    p.ctl().push_reply(Reply::text("via custom prefix"));
    let r = p
        .post(
            "/custom/prefix/v1/messages",
            &json!({"model": "claude-x", "max_tokens": 50,
                    "messages": [{"role": "user", "content": "y"}]}),
        )
        .await;
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "via custom prefix");
    assert_eq!(p.chat_bodies().len(), 2);
    assert_eq!(p.last_chat()["messages"][0]["content"], "y");
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let p = TestProxy::start().await;
    for path in ["/nope", "/v1/unknown", "/v1/chat/completions/extra"] {
        let r = p.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = p.post("/v1/completions", &json!({"prompt": "x"})).await;
    assert_eq!(r.status(), 404);
    assert!(p.ctl().requests().is_empty());
}

#[tokio::test]
async fn graceful_shutdown_lets_a_stream_finish_then_refuses_connections() {
    let mut p = TestProxy::start().await;
    let text = "one two three four five six seven eight nine ten eleven twelve thirteen";
    p.ctl().push_reply(Reply::text(text));
    p.ctl().set_chunk_size(4);
    p.ctl().set_chunk_delay(Duration::from_millis(100));
    let mut resp = http()
        .post(p.at("/v1/chat/completions"))
        .json(&json!({"model": "gpt-4o", "stream": true,
                      "messages": [{"role": "user", "content": "count"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The stream has started.
    let mut body = String::new();
    let first = resp.chunk().await.unwrap().expect("a first chunk");
    body.push_str(std::str::from_utf8(&first).unwrap());

    p.proxy.trigger_shutdown();
    // New connections are refused soon after the signal, while the stream (about two
    // seconds of frames) is still being served.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpStream::connect(p.proxy.addr).await {
            Err(_) => break,
            Ok(_) if Instant::now() > deadline => {
                panic!("still accepting connections 10 s after shutdown")
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    // The in-flight stream still completes fully.
    while let Some(c) = resp
        .chunk()
        .await
        .expect("the stream completes after shutdown")
    {
        body.push_str(std::str::from_utf8(&c).unwrap());
    }
    let frames = openai_frames(&body);
    assert_eq!(frames.last().unwrap(), "[DONE]");
    assert_eq!(common::delta_text(&frames, "content"), text);
    assert!(
        frames
            .iter()
            .any(|f| f["choices"][0]["finish_reason"] == "stop")
    );
    assert_eq!(p.last_chat()["stream"], true);
    assert_eq!(p.chat_bodies().len(), 1);

    // Draining finished: serve returns cleanly and the port stays closed.
    p.proxy.stop().await.expect("serve ends cleanly");
    assert!(tokio::net::TcpStream::connect(p.proxy.addr).await.is_err());
    assert!(http().get(p.at("/health")).send().await.is_err());
}

#[tokio::test]
async fn request_body_limit_is_the_configured_one() {
    // Default cap: 10 MiB. A 3 MiB body is well inside it.
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("big ok"));
    let big = "a".repeat(3 * 1024 * 1024);
    let (status, _, text) =
        common::text_of(p.post("/v1/chat/completions", &chat_body(&big)).await).await;
    assert_eq!(
        status,
        200,
        "a 3 MiB body is under the default 10 MiB --proxy.max-request-body-bytes: {}",
        &text[..text.len().min(200)]
    );
    let sent = p.last_chat();
    assert_eq!(
        sent["messages"][0]["content"].as_str().unwrap().len(),
        big.len()
    );

    // A smaller configured cap is enforced, with a JSON error in the dialect's envelope.
    let p = TestProxy::start_with(&["--proxy.max-request-body-bytes", "1000"], &[]).await;
    let (status, headers, text) = common::text_of(
        p.post("/v1/chat/completions", &chat_body(&"b".repeat(2000)))
            .await,
    )
    .await;
    assert_eq!(status, 413, "{text}");
    assert!(
        common::content_type(&headers).starts_with("application/json"),
        "{headers:?} {text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    assert!(p.chat_bodies().is_empty());
}

#[tokio::test]
async fn cors_is_answered_with_the_default_wildcard() {
    let p = TestProxy::start().await;
    let r = http()
        .request(reqwest::Method::OPTIONS, p.at("/v1/chat/completions"))
        .header("Origin", "http://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "CORS preflight answered {} {:?}",
        r.status(),
        r.headers()
    );
    let allow = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(
        matches!(allow.as_deref(), Some("*" | "http://app.example")),
        "{:?}",
        r.headers()
    );

    let r = http()
        .post(p.at("/v1/chat/completions"))
        .header("Origin", "http://app.example")
        .json(&chat_body("cors"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().contains_key("access-control-allow-origin"),
        "{:?}",
        r.headers()
    );
    // The preflight never reached GigaChat; the POST did.
    assert_eq!(p.chat_bodies().len(), 1);
}

#[tokio::test]
async fn port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = server::bind("127.0.0.1", port).await.unwrap_err();
    assert!(
        matches!(&err, ServeError::PortInUse { port: p, .. } if *p == port),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&port.to_string()), "{msg}");
    assert!(msg.contains("--proxy.port"), "{msg}");
}

// ---- the binary -----------------------------------------------------------------------------

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gpt2giga"));
    c.env_clear().current_dir(std::env::temp_dir());
    c
}

#[test]
fn help_lists_the_flags_and_exits_0() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--env-path",
        "--demo",
        "--proxy.host",
        "--proxy.port",
        "--proxy.mode",
        "--proxy.pass-model",
        "--proxy.api-key",
        "--gigachat.credentials",
        "--gigachat.base-url",
        "--gigachat.auth-url",
        "--gigachat.model",
        "--gigachat.timeout",
    ] {
        assert!(
            stdout.contains(flag),
            "--help does not list {flag}:\n{stdout}"
        );
    }
}

#[test]
fn invalid_value_exits_non_zero_naming_the_flag() {
    let out = bin().args(["--proxy.port", "abc"]).output().unwrap();
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--proxy.port"), "{stderr}");
    assert!(stderr.contains("abc"), "{stderr}");
}

#[cfg(feature = "demo")]
#[tokio::test]
async fn demo_mode_serves_emulator_answers_and_stops_on_sigterm() {
    demo_serves_and_stops(false).await;
}

/// On one CPU the proxy runs everything on one thread (no multi-thread runtime): the
/// same answers, the same graceful stop.
#[cfg(feature = "demo")]
#[tokio::test]
async fn on_one_cpu_the_proxy_serves_and_stops_the_same_on_one_thread() {
    demo_serves_and_stops(true).await;
}

#[cfg(feature = "demo")]
async fn demo_serves_and_stops(one_cpu: bool) {
    let port = common::free_port();
    let logs = tempfile::tempdir().unwrap();
    let log_file = logs.path().join("nested").join("gpt2giga.log");
    let mut cmd = if one_cpu {
        let mut c = Command::new(common::procs::find_program("taskset", "util-linux"));
        c.env_clear().current_dir(std::env::temp_dir());
        c.args(["-c", "0", env!("CARGO_BIN_EXE_gpt2giga")]);
        c
    } else {
        bin()
    };
    let mut child = cmd
        .args([
            "--demo",
            "--proxy.host",
            "127.0.0.1",
            "--proxy.port",
            &port.to_string(),
            "--proxy.log-filename",
            log_file.to_str().unwrap(),
            "--proxy.log-max-size",
            "4096",
            "--proxy.shutdown-ready-delay-secs",
            "1.5",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = loop {
        if let Ok(r) = http().get(format!("{base}/health")).send().await
            && r.status() == 200
        {
            break r.json::<Value>().await.unwrap();
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("gpt2giga --demo exited early: {status}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("gpt2giga --demo did not become healthy within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health["mode"], "demo");
    if one_cpu {
        // The main thread and the log writer; a multi-thread runtime adds its workers.
        let threads = std::fs::read_dir(format!("/proc/{}/task", child.id()))
            .unwrap()
            .count();
        assert_eq!(threads, 2, "threads on one CPU");
    }

    let r = http()
        .post(format!("{base}/v1/chat/completions"))
        .json(&chat_body("Hello demo"))
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        content.contains("Hello from the GigaChat emulator"),
        "{content}"
    );
    assert!(content.contains("Hello demo"), "{content}");
    let mut streamed = chat_body("Hello stream");
    streamed["stream"] = json!(true);
    let r = http()
        .post(format!("{base}/v1/chat/completions"))
        .json(&streamed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sse = r.text().await.unwrap();
    assert!(sse.contains("Hello stream"), "{sse}");
    assert!(sse.trim_end().ends_with("data: [DONE]"), "{sse}");

    // Enough access-log lines to rotate the 4 KiB log file at least once.
    for _ in 0..40 {
        http().get(format!("{base}/ping")).send().await.unwrap();
    }

    let (status, _, v) = json_of(http().get(format!("{base}/ready")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{v}");

    // SIGTERM (graceful) through the `kill` utility; SIGKILL as a fallback.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    if !term.is_ok_and(|s| s.success()) {
        child.kill().unwrap();
    }
    // Not ready first (load balancers stop sending), still serving during the delay.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _, v) = json_of(http().get(format!("{base}/ready")).send().await.unwrap()).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["not_ready"], serde_json::json!(["shutdown"]), "{v}");
    let r = http().get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http()
        .post(format!("{base}/v1/chat/completions"))
        .json(&chat_body("still here"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("gpt2giga did not exit within 30 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit after SIGTERM: {status}");
    // The log file got the access log, was rotated by size, and ends with the stop.
    let current = std::fs::read_to_string(&log_file).unwrap();
    assert!(current.contains("gpt2giga stopped"), "{current}");
    let rotated = logs.path().join("nested").join("gpt2giga.log.1");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("path=/ping"), "{old}");
    assert!(
        !current.contains('\u{1b}'),
        "no terminal colours in the file"
    );
    assert!(
        http().get(format!("{base}/health")).send().await.is_err(),
        "still serving after exit"
    );
}

/// Without the `demo` feature, `--demo` is refused with a clear message.
#[cfg(not(feature = "demo"))]
#[test]
fn demo_without_the_feature_says_how_to_get_it() {
    let out = bin()
        .args(["--demo", "--proxy.port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this build has no demo emulator; rebuild with the demo feature"),
        "{stderr}"
    );
}
