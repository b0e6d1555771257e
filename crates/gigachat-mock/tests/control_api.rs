//! Recording, the `/__mock` HTTP control API and embedding the router in-process.

mod common;

use common::*;
use gigachat_mock::{MockConfig, MockControl, Reply};
use serde_json::{Value, json};

#[tokio::test]
async fn recording_captures_requests() {
    let srv = server().await;
    let t = token(&srv).await;
    let resp = client()
        .post(format!("{}/chat/completions?trace=1", srv.base_url()))
        .bearer_auth(&t)
        .header("X-Client-ID", "c-42")
        .json(&json!({"model": "GigaChat", "messages": [{"role": "user", "content": "record me"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rec = srv.control().last_request("/chat/completions").unwrap();
    assert_eq!(rec.method, "POST");
    assert_eq!(rec.path, "/api/v1/chat/completions");
    assert_eq!(rec.query.as_deref(), Some("trace=1"));
    assert_eq!(rec.header("x-client-id"), Some("c-42"));
    assert_eq!(rec.status, 200);
    assert_eq!(rec.json().unwrap()["messages"][0]["content"], "record me");
    let all = srv.control().requests();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].path, "/api/v2/oauth");
    assert_eq!(all[0].text(), "scope=GIGACHAT_API_PERS");

    // Capacity bounds the buffer; 0 disables recording.
    srv.control().set_record_capacity(1);
    get(&srv, &t, "/models").await;
    assert_eq!(srv.control().requests().len(), 1);
    srv.control().set_record_capacity(0);
    srv.control().clear_requests();
    get(&srv, &t, "/models").await;
    assert!(srv.control().requests().is_empty());
    assert!(srv.control().request_count() >= 4);
}

#[tokio::test]
async fn http_control_api() {
    let srv = server().await;
    let t = token(&srv).await;
    assert_eq!(
        control(&srv, reqwest::Method::GET, "/health", None).await,
        (200, json!({"status": "ok"}))
    );

    // Replies (single and array).
    let (s, v) = control(
        &srv,
        reqwest::Method::POST,
        "/replies",
        Some(json!({"type": "text", "text": "from python"})),
    )
    .await;
    assert_eq!((s, v["queued"].clone()), (200, json!(1)));
    control(
        &srv,
        reqwest::Method::POST,
        "/replies",
        Some(json!([{"type": "blacklist"}])),
    )
    .await;
    let chat = json!({"model": "GigaChat", "messages": [{"role": "user", "content": "x"}]});
    let v: Value = post(&srv, &t, "/chat/completions", &chat)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "from python");
    let v: Value = post(&srv, &t, "/chat/completions", &chat)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "blacklist");
    assert_eq!(
        control(
            &srv,
            reqwest::Method::POST,
            "/replies",
            Some(json!({"type": "nope"}))
        )
        .await
        .0,
        400
    );

    // Rules.
    control(&srv, reqwest::Method::POST, "/rules", Some(json!({"matcher": {"last_user_starts_with": "ping"}, "reply": {"type": "text", "text": "pong"}}))).await;
    let v: Value = post(
        &srv,
        &t,
        "/chat/completions",
        &json!({"model": "GigaChat", "messages": [{"role": "user", "content": "ping!"}]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "pong");

    // Faults.
    control(
        &srv,
        reqwest::Method::POST,
        "/faults",
        Some(json!({"status": 500, "path_suffix": "/models"})),
    )
    .await;
    assert_eq!(get(&srv, &t, "/models").await.status(), 500);
    assert_eq!(get(&srv, &t, "/models").await.status(), 200);
    control(
        &srv,
        reqwest::Method::POST,
        "/stream-fault",
        Some(json!({"kind": "wrong_content_type", "times": 1})),
    )
    .await;
    let mut sreq = chat.clone();
    sreq["stream"] = json!(true);
    let resp = post(&srv, &t, "/chat/completions", &sreq).await;
    assert_eq!(
        resp.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    control(
        &srv,
        reqwest::Method::POST,
        "/fail-401",
        Some(json!({"count": 1})),
    )
    .await;
    assert_eq!(get(&srv, &t, "/models").await.status(), 401);

    // Config.
    let (s, v) = control(
        &srv,
        reqwest::Method::POST,
        "/config",
        Some(json!({"chunk_size": 3, "token_shape": "tok", "latency_ms": 0})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["chunk_size"].clone(), v["token_shape"].clone()),
        (json!(3), json!("tok"))
    );
    assert_eq!(srv.control().config().chunk_size, 3);
    let (_, v) = control(&srv, reqwest::Method::GET, "/config", None).await;
    assert_eq!(v["token_ttl_secs"], 1800);
    assert_eq!(
        control(
            &srv,
            reqwest::Method::POST,
            "/config",
            Some(json!({"bogus": 1}))
        )
        .await
        .0,
        400
    );
    let tok = oauth(
        &srv,
        Some(&format!("Basic {}", key())),
        Some(RQUID),
        "scope=GIGACHAT_API_PERS",
    )
    .await;
    let tv: Value = tok.json().await.unwrap();
    assert!(tv["tok"].is_string());

    // Tokens.
    let (_, v) = control(
        &srv,
        reqwest::Method::POST,
        "/tokens",
        Some(json!({"token": "fixed-token"})),
    )
    .await;
    assert_eq!(v["access_token"], "fixed-token");
    assert_eq!(get(&srv, "fixed-token", "/models").await.status(), 200);

    // Requests and stats.
    let (_, v) = control(
        &srv,
        reqwest::Method::GET,
        "/requests?path_suffix=/chat/completions&limit=1",
        None,
    )
    .await;
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["json"]["stream"], true);
    assert_eq!(list[0]["path"], "/api/v1/chat/completions");
    let (_, stats) = control(&srv, reqwest::Method::GET, "/stats", None).await;
    assert_eq!(stats["oauth_tokens"], 2);
    assert_eq!(stats["chat_requests"], 4);

    // Reset restores the start config and zeroes counters; tokens stay valid.
    control(&srv, reqwest::Method::POST, "/reset", None).await;
    let (_, stats) = control(&srv, reqwest::Method::GET, "/stats", None).await;
    assert_eq!(
        (stats["oauth_tokens"].clone(), stats["recorded"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(srv.control().config(), MockConfig::default());
    assert_eq!(get(&srv, &t, "/models").await.status(), 200);
    // Control calls are neither recorded nor authenticated.
    assert_eq!(srv.control().requests().len(), 1);
}

#[tokio::test]
async fn router_embeds_in_process() {
    let ctl = MockControl::new(MockConfig {
        accept_any_token: true,
        ..MockConfig::default()
    });
    let app = gigachat_mock::router(ctl.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    ctl.push_reply(Reply::text("embedded"));
    let v: Value = client()
        .post(format!("http://{addr}/api/v1/chat/completions"))
        .bearer_auth("anything")
        .json(&json!({"model": "GigaChat", "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "embedded");
    assert_eq!(ctl.chat_request_count(), 1);
    task.abort();
}
