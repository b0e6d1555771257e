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
