//! The proxy's own API-key check (`GPT2GIGA_ENABLE_API_KEY_AUTH` / `GPT2GIGA_API_KEY`,
//! always on in PROD).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestProxy, config_for, http, json_of};
use gigachat_mock::{MockServer, Reply};
use gpt2giga::app::AppState;
use serde_json::{Value, json};

const KEY_ENV: &[(&str, &str)] = &[
    ("GPT2GIGA_ENABLE_API_KEY_AUTH", "true"),
    ("GPT2GIGA_API_KEY", "k1"),
];

fn openai_body() -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
}

fn anthropic_body() -> Value {
    json!({"model": "claude-x", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn missing_or_wrong_key_is_401_in_the_callers_dialect() {
    let p = TestProxy::start_with(&[], KEY_ENV).await;

    let (status, _, v) = json_of(p.post("/v1/chat/completions", &openai_body()).await).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["type"], "authentication_error", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("API key"));

    let (status, _, v) = json_of(p.post("/v1/messages", &anthropic_body()).await).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["error"]["type"], "authentication_error", "{v}");

    let r = http()
        .post(p.at("/v1/chat/completions"))
        .header("x-api-key", "wrong")
        .json(&openai_body())
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 401);
    assert_eq!(v["error"]["message"], "invalid API key");

    let (status, _, _) = json_of(p.get("/v1/models").await).await;
    assert_eq!(status, 401);

    // Nothing reached GigaChat.
    assert!(p.ctl().requests().is_empty(), "{:?}", p.ctl().requests());
}

#[tokio::test]
async fn key_is_accepted_as_header_bearer_or_query() {
    let p = TestProxy::start_with(&[], KEY_ENV).await;
    p.ctl()
        .push_replies([Reply::text("a"), Reply::text("b"), Reply::text("c")]);

    let r = http()
        .post(p.at("/v1/chat/completions"))
        .header("x-api-key", "k1")
        .json(&openai_body())
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "a");

    let r = http()
        .post(p.at("/v1/chat/completions"))
        .bearer_auth("k1")
        .json(&openai_body())
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "b");

    let r = http()
        .post(p.at("/v1/messages?x-api-key=k1"))
        .json(&anthropic_body())
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["content"][0]["text"], "c");

    let chats = p.ctl().requests();
    let chats: Vec<_> = chats
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .collect();
    assert_eq!(chats.len(), 3);
    for rec in chats {
        // The proxy key is never forwarded: GigaChat gets the proxy's own token.
        let auth = rec.header("authorization").unwrap();
        assert!(auth.starts_with("Bearer "), "{auth}");
        assert_ne!(auth, "Bearer k1");
        assert!(rec.header("x-api-key").is_none());
        assert!(!rec.query.as_deref().unwrap_or("").contains("k1"));
    }
}

#[tokio::test]
async fn probes_stay_open() {
    let p = TestProxy::start_with(&[], KEY_ENV).await;
    for path in ["/health", "/ping", "/"] {
        assert_eq!(p.get(path).await.status(), 200, "{path}");
    }
    assert!(p.ctl().requests().is_empty());
}

#[tokio::test]
async fn prod_without_a_key_refuses_to_start() {
    let mock = MockServer::start().await.unwrap();
    let config = config_for(
        &mock.base_url(),
        &mock.auth_url(),
        &["--proxy.mode", "PROD"],
        &[],
    );
    let client = gigachat::Client::new(config.gigachat.to_client_config()).unwrap();
    let err = match AppState::new(config, client) {
        Ok(_) => panic!("PROD without an API key must not start"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("GPT2GIGA_API_KEY"), "{err}");

    // With a key, PROD starts and enforces it.
    let p = TestProxy::start_on(
        mock,
        &["--proxy.mode", "PROD"],
        &[("GPT2GIGA_API_KEY", "prod-key")],
    )
    .await;
    assert_eq!(
        p.post("/v1/chat/completions", &openai_body())
            .await
            .status(),
        401
    );
    let r = http()
        .post(p.at("/v1/chat/completions"))
        .header("x-api-key", "prod-key")
        .json(&openai_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(common::bodies(p.ctl(), "/chat/completions").len(), 1);
}
