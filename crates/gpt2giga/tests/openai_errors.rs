//! GigaChat failures as the OpenAI client sees them: statuses, envelopes, `Retry-After`,
//! streams that fail before and after their first byte, and no secrets in error bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestProxy, content_type, json_of, openai_frames, text_of};
use gigachat_mock::{Fault, MockServer, Reply, StreamFault, StreamFaultKind};
use serde_json::{Value, json};

fn body(stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream,
           "messages": [{"role": "user", "content": "hello"}]})
}

/// No upstream URL, token or credential in a client-facing error body.
fn assert_no_secrets(p: &TestProxy, text: &str) {
    assert!(!text.contains("http://"), "URL in error body: {text}");
    assert!(!text.contains("https://"), "URL in error body: {text}");
    assert!(
        !text.contains(&p.mock.addr().to_string()),
        "upstream address in error body: {text}"
    );
    assert!(
        !text.contains("/api/v1"),
        "upstream path in error body: {text}"
    );
    assert!(
        !text.contains(&common::credentials()),
        "credentials in error body: {text}"
    );
    if let Some(token) = p
        .ctl()
        .requests()
        .iter()
        .find_map(|r| r.header("authorization"))
        .and_then(|a| a.strip_prefix("Bearer "))
    {
        assert!(!text.contains(token), "access token in error body: {text}");
    }
}

fn expected_type(status: u16) -> &'static str {
    match status {
        400 | 404 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 | 403 => "permission_error",
        429 => "rate_limit_error",
        _ => "server_error",
    }
}

const CASES: &[(u16, u16)] = &[
    (400, 400),
    (402, 402),
    (403, 403),
    (404, 404),
    (413, 413),
    (422, 422),
    (429, 429),
    (500, 502),
    (503, 503),
];

#[tokio::test]
async fn upstream_statuses_map_non_stream() {
    let p = TestProxy::start().await;
    for &(up, down) in CASES {
        let mut fault = Fault::status(up).path_suffix("/chat/completions");
        if up == 429 {
            fault = fault.retry_after("7");
        }
        p.ctl().inject_fault(fault);
        let before = p.chat_bodies().len();
        let (status, headers, text) =
            text_of(p.post("/v1/chat/completions", &body(false)).await).await;
        assert_eq!(status.as_u16(), down, "upstream {up}: {text}");
        assert!(content_type(&headers).starts_with("application/json"));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["error"]["type"],
            expected_type(down),
            "upstream {up}: {v}"
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&up.to_string()),
            "{v}"
        );
        if up == 402 {
            assert_eq!(v["error"]["code"], "insufficient_quota");
        }
        if up == 429 {
            assert_eq!(headers["retry-after"], "7");
            assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        }
        assert_no_secrets(&p, &text);
        // Exactly one upstream attempt (no retries configured), which got the fault.
        assert_eq!(p.chat_bodies().len(), before + 1);
        let rec = p.ctl().last_request("/chat/completions").unwrap();
        assert_eq!(rec.status, up);
        assert_eq!(rec.json().unwrap()["messages"][0]["content"], "hello");
    }
}

#[tokio::test]
async fn upstream_statuses_map_before_the_first_stream_byte() {
    let p = TestProxy::start().await;
    for &(up, down) in CASES {
        let mut fault = Fault::status(up).path_suffix("/chat/completions");
        if up == 429 {
            fault = fault.retry_after("7");
        }
        p.ctl().inject_fault(fault);
        let (status, headers, text) =
            text_of(p.post("/v1/chat/completions", &body(true)).await).await;
        assert_eq!(status.as_u16(), down, "upstream {up}: {text}");
        assert!(
            content_type(&headers).starts_with("application/json"),
            "upstream {up}: {headers:?}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["error"]["type"],
            expected_type(down),
            "upstream {up}: {v}"
        );
        if up == 429 {
            assert_eq!(headers["retry-after"], "7");
        }
        assert_no_secrets(&p, &text);
        let rec = p.ctl().last_request("/chat/completions").unwrap();
        assert_eq!(rec.status, up);
        assert_eq!(rec.json().unwrap()["stream"], true);
    }
}

#[tokio::test]
async fn unauthorized_twice_reauthenticates_once_then_gives_up() {
    let p = TestProxy::start().await;
    for stream in [false, true] {
        let before_oauth = p.ctl().oauth_token_count();
        let before_chats = p.chat_bodies().len();
        p.ctl().fail_next_401(2);
        let (status, headers, text) =
            text_of(p.post("/v1/chat/completions", &body(stream)).await).await;
        assert_eq!(status, 401, "{text}");
        assert!(content_type(&headers).starts_with("application/json"));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["type"], "authentication_error");
        assert_no_secrets(&p, &text);
        // Two chat attempts, one fresh token in between.
        assert_eq!(p.chat_bodies().len(), before_chats + 2, "stream={stream}");
        assert!(
            p.ctl().oauth_token_count() > before_oauth,
            "no re-authentication (stream={stream})"
        );
        assert!(p.ctl().oauth_token_count() <= before_oauth + 2);
    }
}

#[tokio::test]
async fn unauthorized_once_is_healed_by_reauthentication() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("after re-auth"));
    p.ctl().fail_next_401(1);
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body(false)).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "after re-auth");
    let recs: Vec<_> = p
        .ctl()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].status, 401);
    assert_eq!(recs[1].status, 200);
    assert_eq!(p.ctl().oauth_token_count(), 2);
}

#[tokio::test]
async fn mid_stream_disconnect_is_an_error_frame_then_done() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(3);
    p.ctl().push_reply(Reply::text(
        "this answer will be cut off somewhere in the middle",
    ));
    p.ctl().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Disconnect { after_chunks: 2 },
        1,
    )));
    let (status, headers, text) = text_of(p.post("/v1/chat/completions", &body(true)).await).await;
    assert_eq!(status, 200);
    assert!(content_type(&headers).starts_with("text/event-stream"));
    let frames = openai_frames(&text);
    let n = frames.len();
    assert!(n >= 3, "{text}");
    assert_eq!(frames[n - 1], "[DONE]");
    let err = &frames[n - 2]["error"];
    assert!(err.is_object(), "no error frame before [DONE]: {text}");
    assert_eq!(err["type"], "server_error");
    assert!(err["message"].is_string());
    // What arrived before the break was delivered.
    let got = common::delta_text(&frames, "content");
    assert!(!got.is_empty());
    assert!("this answer will be cut off somewhere in the middle".starts_with(&got));
    assert!(
        frames
            .iter()
            .all(|f| f["choices"][0]["finish_reason"].is_null())
    );
    assert_no_secrets(&p, &text);
    assert_eq!(p.last_chat()["stream"], true);
}

#[tokio::test]
async fn unreachable_gigachat_is_502_without_its_url() {
    let mock = MockServer::start().await.unwrap();
    let dead = common::free_port();
    let base = format!("http://127.0.0.1:{dead}/api/v1");
    let config = common::config_for(&base, &mock.auth_url(), &[], &[]);
    let proxy = common::Proxy::start(config).await;
    for stream in [false, true] {
        let r = common::http()
            .post(format!("{}/v1/chat/completions", proxy.url))
            .json(&body(stream))
            .send()
            .await
            .unwrap();
        let (status, _, text) = text_of(r).await;
        assert_eq!(status, 502, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["type"], "server_error");
        assert!(!text.contains("http://"), "{text}");
        assert!(!text.contains(&dead.to_string()), "{text}");
        assert!(!text.contains(&common::credentials()), "{text}");
    }
    // The proxy did authenticate against the (reachable) OAuth endpoint.
    assert!(mock.control().oauth_token_count() >= 1);
    let token = mock
        .control()
        .last_request("/oauth")
        .unwrap()
        .header("authorization")
        .unwrap()
        .to_string();
    assert!(token.ends_with(&common::credentials()));
}

#[tokio::test]
async fn oauth_failure_is_reported_without_credentials() {
    let p = TestProxy::start().await;
    p.ctl().inject_fault(
        Fault::status(401)
            .path_suffix("/oauth")
            .times(2)
            .json(json!({"code": 6, "message": "credentials doesn't match db data"})),
    );
    let (status, _, text) = text_of(p.post("/v1/chat/completions", &body(false)).await).await;
    // The proxy's own credentials were refused: a 5xx saying so, never the caller's
    // `invalid_api_key`.
    assert_eq!(status, 502, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["type"], "server_error");
    assert_ne!(v["error"]["code"], "invalid_api_key");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("proxy's own credentials"), "{msg}");
    assert_no_secrets(&p, &text);
    assert!(p.chat_bodies().is_empty());
    // Anthropic callers get their dialect's 5xx too.
    let (status, _, text) = text_of(
        p.post(
            "/v1/messages",
            &json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 502, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["type"], "api_error", "{v}");
    // Concurrent requests share one refused token request (one error log per refresh).
    p.ctl().clear_faults();
    p.ctl().inject_fault(
        Fault::status(401)
            .path_suffix("/oauth")
            .times(1)
            .json(json!({"code": 6, "message": "credentials doesn't match db data"})),
    );
    p.ctl().set_latency(std::time::Duration::from_millis(200));
    let fetches = p
        .ctl()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/oauth"))
        .count();
    let chat = body(false);
    let calls = (0..8).map(|_| p.post("/v1/chat/completions", &chat));
    let statuses: Vec<u16> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    let after = p
        .ctl()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/oauth"))
        .count();
    assert_eq!(
        after - fetches,
        1,
        "one token request for 8 waiting callers: {statuses:?}"
    );
    assert!(statuses.iter().all(|s| *s == 502), "{statuses:?}");
}

#[tokio::test]
async fn stalled_upstream_times_out_before_and_after_the_first_byte() {
    // --gigachat.timeout bounds the wait for the first byte and the gap between chunks.
    let p = TestProxy::start_with(&["--gigachat.timeout", "1"], &[]).await;
    p.ctl().set_chunk_size(4);

    p.ctl().push_reply(Reply::text("never arrives"));
    p.ctl().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Stall { after_chunks: 0 },
        1,
    )));
    let (status, headers, text) = text_of(p.post("/v1/chat/completions", &body(true)).await).await;
    assert_eq!(status, 504, "{text}");
    assert!(content_type(&headers).starts_with("application/json"));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], "timeout");
    assert_no_secrets(&p, &text);

    p.ctl()
        .push_reply(Reply::text("starts but then stalls forever"));
    p.ctl().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Stall { after_chunks: 2 },
        1,
    )));
    let (status, _, text) = text_of(p.post("/v1/chat/completions", &body(true)).await).await;
    assert_eq!(status, 200);
    let frames = openai_frames(&text);
    let n = frames.len();
    assert_eq!(frames[n - 1], "[DONE]");
    assert_eq!(frames[n - 2]["error"]["code"], "timeout", "{text}");
    assert_eq!(common::delta_text(&frames, "content"), "starts b");
    assert_eq!(p.chat_bodies().len(), 2);
}

#[tokio::test]
async fn truncated_final_frame_is_an_error_not_a_clean_finish() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(5);
    p.ctl()
        .push_reply(Reply::text("complete text but a broken ending"));
    p.ctl()
        .set_stream_fault(Some(StreamFault::times(StreamFaultKind::TruncateFinal, 1)));
    let (status, _, text) = text_of(p.post("/v1/chat/completions", &body(true)).await).await;
    assert_eq!(status, 200);
    let frames = openai_frames(&text);
    let n = frames.len();
    assert_eq!(frames[n - 1], "[DONE]");
    assert!(frames[n - 2]["error"].is_object(), "{text}");
    assert_eq!(
        common::delta_text(&frames, "content"),
        "complete text but a broken ending"
    );
    assert!(
        frames
            .iter()
            .all(|f| f["choices"][0]["finish_reason"].is_null()),
        "{text}"
    );
    assert_no_secrets(&p, &text);
}

#[tokio::test]
async fn unknown_passed_model_is_gigachats_404() {
    let p = TestProxy::start_with(&["--proxy.pass-model", "true"], &[]).await;
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body(false)).await).await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["code"], "not_found");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("No such model")
    );
    assert_eq!(p.last_chat()["model"], "gpt-4o");
    assert_eq!(
        p.ctl().last_request("/chat/completions").unwrap().status,
        404
    );
}
