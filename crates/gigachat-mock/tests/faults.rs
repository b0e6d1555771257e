//! Fault and timing knobs.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt as _;
use gigachat_mock::{Fault, Reply, StreamFault, StreamFaultKind};
use serde_json::{Value, json};

fn stream_req() -> Value {
    json!({"model": "GigaChat", "messages": [{"role": "user", "content": "count"}], "stream": true})
}

fn chat_req() -> Value {
    json!({"model": "GigaChat", "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn injected_status_with_retry_after_on_matching_path() {
    let srv = server().await;
    let t = token(&srv).await;
    srv.control().inject_fault(
        Fault::status(429)
            .retry_after("2")
            .times(2)
            .path_suffix("/chat/completions"),
    );
    assert_eq!(get(&srv, &t, "/models").await.status(), 200);
    for _ in 0..2 {
        let resp = post(&srv, &t, "/chat/completions", &chat_req()).await;
        assert_eq!(resp.headers()["retry-after"], "2");
        assert!(resp.headers().contains_key("x-request-id"));
        assert_eq!(
            status_text(resp).await,
            (
                429,
                "{\"status\":429,\"message\":\"Too many requests\"}\n".into()
            )
        );
    }
    assert_eq!(
        post(&srv, &t, "/chat/completions", &chat_req())
            .await
            .status(),
        200
    );

    srv.control().inject_fault(Fault::status(503).raw(
        "text/html",
        "<html><body>503 Service Unavailable</body></html>",
    ));
    let resp = get(&srv, &t, "/models").await;
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert_eq!(
        status_text(resp).await,
        (
            503,
            "<html><body>503 Service Unavailable</body></html>".into()
        )
    );

    srv.control().inject_fault(
        Fault::status(402).json(json!({"status": 402, "message": "Payment Required"})),
    );
    let (s, b) = status_text(post(&srv, &t, "/chat/completions", &chat_req()).await).await;
    assert_eq!(
        (s, b.as_str()),
        (402, r#"{"status":402,"message":"Payment Required"}"#)
    );

    // Faults apply to the OAuth endpoint too (a client's token fetch can be retried).
    srv.control()
        .inject_fault(Fault::status(500).path_suffix("/oauth"));
    let resp = oauth(
        &srv,
        Some(&format!("Basic {}", key())),
        Some(RQUID),
        "scope=GIGACHAT_API_PERS",
    )
    .await;
    assert_eq!(resp.status(), 500);
}

#[tokio::test]
async fn disconnect_mid_stream_is_a_body_error() {
    let srv = server().await;
    srv.control().set_chunk_size(2);
    let t = token(&srv).await;
    srv.control().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Disconnect { after_chunks: 2 },
        1,
    )));
    srv.control().push_reply(Reply::text("abcdefghij"));
    let resp = post(&srv, &t, "/chat/completions", &stream_req()).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut received = Vec::new();
    let mut error = None;
    while let Some(item) = body.next().await {
        match item {
            Ok(b) => received.extend_from_slice(&b),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(error.is_some(), "expected a body error, got a clean end");
    let text = String::from_utf8(received).unwrap();
    assert_eq!(frames(&text).len(), 2, "{text}");
    assert!(!text.contains("[DONE]"));
    // The fault was for one stream only.
    let body = post(&srv, &t, "/chat/completions", &stream_req())
        .await
        .text()
        .await
        .unwrap();
    assert!(body.ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn truncated_final_frame_and_wrong_content_type() {
    let srv = server().await;
    let t = token(&srv).await;
    srv.control()
        .set_stream_fault(Some(StreamFault::times(StreamFaultKind::TruncateFinal, 1)));
    let body = post(&srv, &t, "/chat/completions", &stream_req())
        .await
        .text()
        .await
        .unwrap();
    assert!(!body.contains("[DONE]"));
    assert!(!body.ends_with("\n\n"));
    assert!(body.contains("\"role\":\"assistant\""));

    srv.control()
        .set_stream_fault(Some(StreamFault::times(StreamFaultKind::TruncateFinal, 1)));
    let body = post_v2(&srv, &t, &json!({"model": "GigaChat", "messages": [{"role": "user", "content": [{"text": "x"}]}], "stream": true})).await.text().await.unwrap();
    assert!(
        body.contains("event: response.message.done") && !body.ends_with("\n\n"),
        "{body}"
    );

    srv.control()
        .set_stream_fault(Some(StreamFault::always(StreamFaultKind::WrongContentType)));
    for _ in 0..2 {
        let resp = post(&srv, &t, "/chat/completions", &stream_req()).await;
        assert_eq!(
            resp.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        assert!(resp.text().await.unwrap().starts_with("data: "));
    }
    srv.control().set_stream_fault(None);
    let resp = post(&srv, &t, "/chat/completions", &stream_req()).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
}

#[tokio::test]
async fn stalled_stream_times_out_the_client() {
    let srv = server().await;
    let t = token(&srv).await;
    srv.control().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Stall { after_chunks: 1 },
        1,
    )));
    let started = Instant::now();
    let resp = client()
        .post(format!("{}/chat/completions", srv.base_url()))
        .bearer_auth(&t)
        .timeout(Duration::from_millis(500))
        .json(&stream_req())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let err = resp.text().await.unwrap_err();
    assert!(
        err.is_timeout() || err.is_body() || err.is_decode(),
        "{err:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
    // The server keeps serving.
    assert_eq!(
        post(&srv, &t, "/chat/completions", &chat_req())
            .await
            .status(),
        200
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn concurrency_limit_per_token() {
    let srv = server().await;
    srv.control().set_concurrency_limit(Some(1));
    srv.control().set_chunk_size(1);
    srv.control().set_chunk_delay(Duration::from_millis(100));
    let t = token(&srv).await;
    let other = token(&srv).await;
    srv.control().push_reply(Reply::text("abcd"));
    // Holds its slot until the body is fully read (~0.5 s).
    let first = post(&srv, &t, "/chat/completions", &stream_req()).await;
    assert_eq!(first.status(), 200);
    let (s, b) = status_text(post(&srv, &t, "/chat/completions", &chat_req()).await).await;
    assert_eq!(
        (s, b.as_str()),
        (429, "{\"status\":429,\"message\":\"Too many requests\"}\n")
    );
    // Another token has its own budget.
    assert_eq!(
        post(&srv, &other, "/chat/completions", &chat_req())
            .await
            .status(),
        200
    );
    let body = first.text().await.unwrap();
    assert!(body.ends_with("data: [DONE]\n\n"));
    // The slot is released once the stream is done.
    let mut ok = false;
    for _ in 0..50 {
        if post(&srv, &t, "/chat/completions", &chat_req())
            .await
            .status()
            == 200
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok);
    assert!(srv.control().stats().rejected_429 >= 1);
}

#[tokio::test]
async fn latency_and_chunk_delay() {
    let srv = server().await;
    let t = token(&srv).await;
    srv.control().set_latency(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(get(&srv, &t, "/models").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    srv.control().set_latency(Duration::ZERO);

    srv.control().set_chunk_size(1);
    srv.control().set_chunk_delay(Duration::from_millis(50));
    srv.control().push_reply(Reply::text("abcd"));
    let started = Instant::now();
    let body = post(&srv, &t, "/chat/completions", &stream_req())
        .await
        .text()
        .await
        .unwrap();
    // 4 deltas + final + [DONE] = 6 frames, 5 gaps.
    assert_eq!(frames(&body).len(), 6);
    assert!(started.elapsed() >= Duration::from_millis(250));
}

/// Waits (up to 5 s) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "not within 5 s: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn in_flight_high_water_mark() {
    let srv = server().await;
    let t = token(&srv).await;
    let ctl = srv.control();
    assert_eq!((ctl.in_flight(), ctl.max_in_flight()), (0, 0));

    // Three overlapping JSON answers, held by the latency; JSON keeps its Content-Length.
    ctl.set_latency(Duration::from_millis(300));
    let req = chat_req();
    let calls = (0..3).map(|_| post(&srv, &t, "/chat/completions", &req));
    for resp in futures::future::join_all(calls).await {
        assert_eq!(resp.status(), 200);
        assert!(resp.content_length().is_some(), "{:?}", resp.headers());
        resp.text().await.unwrap();
    }
    eventually("in_flight back to 0", || ctl.in_flight() == 0).await;
    assert_eq!(ctl.max_in_flight(), 3);

    // Only chat routes count; v2 chat does.
    ctl.reset_max_in_flight();
    assert_eq!(ctl.max_in_flight(), 0);
    assert_eq!(get(&srv, &t, "/models").await.status(), 200);
    assert_eq!(ctl.max_in_flight(), 0);
    let v2 = json!({"model": "GigaChat-3-Ultra", "messages": [{"content": [{"text": "hi"}], "role": "user"}]});
    assert_eq!(post_v2(&srv, &t, &v2).await.status(), 200);
    assert_eq!(ctl.max_in_flight(), 1);
    ctl.set_latency(Duration::ZERO);

    // A stream counts until its last frame has been sent…
    ctl.reset_max_in_flight();
    ctl.set_chunk_size(1);
    ctl.set_chunk_delay(Duration::from_millis(50));
    ctl.push_reply(Reply::text("abcd"));
    let resp = post(&srv, &t, "/chat/completions", &stream_req()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(ctl.in_flight(), 1, "the head is out, the body is not");
    assert!(resp.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    eventually("in_flight back to 0 after the stream", || {
        ctl.in_flight() == 0
    })
    .await;
    assert_eq!(ctl.max_in_flight(), 1);

    // …or until the client goes away.
    ctl.push_reply(Reply::text("x".repeat(200)));
    let resp = post(&srv, &t, "/chat/completions", &stream_req()).await;
    let mut body = resp.bytes_stream();
    assert!(body.next().await.unwrap().is_ok());
    assert_eq!(ctl.in_flight(), 1);
    drop(body);
    eventually("in_flight back to 0 after the client left", || {
        ctl.in_flight() == 0
    })
    .await;

    // Over HTTP: the stats, the dedicated reset and `/__mock/reset`.
    let (s, stats) = control(&srv, reqwest::Method::GET, "/stats", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (&stats["in_flight"], &stats["max_in_flight"]),
        (&json!(0), &json!(1))
    );
    assert_eq!(
        control(&srv, reqwest::Method::POST, "/max-in-flight/reset", None).await,
        (200, json!({"in_flight": 0, "max_in_flight": 0}))
    );
    assert_eq!(
        post(&srv, &t, "/chat/completions", &chat_req())
            .await
            .status(),
        200
    );
    assert_eq!(ctl.stats().max_in_flight, 1);
    control(&srv, reqwest::Method::POST, "/reset", None).await;
    let (_, stats) = control(&srv, reqwest::Method::GET, "/stats", None).await;
    assert_eq!(stats["max_in_flight"], 0);
}
