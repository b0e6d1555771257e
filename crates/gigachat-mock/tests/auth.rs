//! OAuth, user/password tokens, bearer checks, expiry, fail-next-401, request ids.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use gigachat_mock::{MockConfig, TokenShape};
use serde_json::{Value, json};

#[tokio::test]
async fn oauth_issues_access_token_shape_by_default() {
    let srv = server().await;
    let resp = oauth(
        &srv,
        Some(&format!("Basic {}", key())),
        Some(RQUID),
        "scope=GIGACHAT_API_PERS",
    )
    .await;
    assert_eq!(resp.status(), 200);
    // The OAuth host (unlike the API host) names no charset (recorded).
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["access_token", "expires_at"]);
    let exp = v["expires_at"].as_i64().unwrap();
    let expected = now_ms() + 1_800_000;
    assert!((exp - expected).abs() < 60_000, "expires_at in ms: {exp}");
    assert_eq!(srv.control().oauth_token_count(), 1);
    assert_eq!(srv.control().password_token_count(), 0);

    let token = v["access_token"].as_str().unwrap();
    assert_eq!(get(&srv, token, "/models").await.status(), 200);
}

#[tokio::test]
async fn oauth_tok_shape_and_bearer_key() {
    let srv = server().await;
    srv.control().set_token_shape(TokenShape::Tok);
    srv.control().set_token_ttl(Duration::from_secs(60));
    let resp = oauth(
        &srv,
        Some(&format!("Bearer {}", key())),
        Some(RQUID),
        "scope=GIGACHAT_API_B2B",
    )
    .await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["tok", "exp"]);
    let exp = v["exp"].as_i64().unwrap();
    assert!(
        (exp - (now_ms() / 1000 + 60)).abs() < 30,
        "exp in seconds: {exp}"
    );
}

#[tokio::test]
async fn oauth_error_codes() {
    let srv = server_with(MockConfig {
        credentials: Some(key()),
        scope: Some("GIGACHAT_API_PERS".into()),
        ..MockConfig::default()
    })
    .await;
    let basic = format!("Basic {}", key());

    let (s, b) = status_text(oauth(&srv, Some(&basic), Some(RQUID), "").await).await;
    assert_eq!(
        (s, b.as_str()),
        (400, r#"{"code":5,"message":"scope is empty"}"#)
    );

    let (s, b) = status_text(oauth(&srv, Some(&basic), Some(RQUID), "scope=SOMETHING").await).await;
    assert_eq!(
        (s, b.as_str()),
        (400, r#"{"code":1,"message":"scope data format invalid"}"#)
    );

    let (s, b) =
        status_text(oauth(&srv, Some(&basic), Some(RQUID), "scope=GIGACHAT_API_CORP").await).await;
    assert_eq!(
        (s, b.as_str()),
        (
            400,
            r#"{"code":7,"message":"scope from db not fully includes consumed scope"}"#
        )
    );

    let other = base64::engine::general_purpose::STANDARD.encode("other:key");
    let (s, b) = status_text(
        oauth(
            &srv,
            Some(&format!("Basic {other}")),
            Some(RQUID),
            "scope=GIGACHAT_API_PERS",
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, b.as_str()),
        (
            401,
            r#"{"code":6,"message":"credentials doesn't match db data"}"#
        )
    );

    let (s, b) = status_text(
        oauth(
            &srv,
            Some("Basic !!!not-base64!!!"),
            Some(RQUID),
            "scope=GIGACHAT_API_PERS",
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, b.as_str()),
        (
            401,
            r#"{"code":4,"message":"Can't decode 'Authorization' header"}"#
        )
    );

    let (s, _) =
        status_text(oauth(&srv, Some(&basic), None, "scope=GIGACHAT_API_PERS").await).await;
    assert_eq!(s, 400);
    let (s, _) = status_text(
        oauth(
            &srv,
            Some(&basic),
            Some("not-a-uuid"),
            "scope=GIGACHAT_API_PERS",
        )
        .await,
    )
    .await;
    assert_eq!(s, 400);

    assert_eq!(srv.control().oauth_token_count(), 0);
    let (s, _) =
        status_text(oauth(&srv, Some(&basic), Some(RQUID), "scope=GIGACHAT_API_PERS").await).await;
    assert_eq!(s, 200);
    assert_eq!(srv.control().oauth_token_count(), 1);
}

#[tokio::test]
async fn password_token_endpoint() {
    let srv = server_with(MockConfig {
        user: Some("alice".into()),
        password: Some("s3cret".into()),
        ..MockConfig::default()
    })
    .await;
    for prefix in ["/api/v1", "/v1"] {
        let resp = client()
            .post(format!("{}{prefix}/token", srv.origin()))
            .basic_auth("alice", Some("s3cret"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        assert!(v["tok"].is_string());
        assert!(
            v["exp"].as_i64().unwrap() < 10_000_000_000,
            "exp in seconds"
        );
        let token = v["tok"].as_str().unwrap();
        assert_eq!(get(&srv, token, "/models").await.status(), 200);
    }
    let resp = client()
        .post(format!("{}/token", srv.base_url()))
        .basic_auth("alice", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(srv.control().password_token_count(), 2);
    assert_eq!(srv.control().oauth_token_count(), 0);
}

#[tokio::test]
async fn api_requires_a_known_token() {
    let srv = server().await;
    let resp = client()
        .get(format!("{}/models", srv.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_text(resp).await,
        (
            401,
            "{\"status\":401,\"message\":\"Unauthorized\"}\n".to_string()
        )
    );
    let (s, b) = status_text(get(&srv, "made-up", "/models").await).await;
    assert_eq!(
        (s, b.as_str()),
        (401, "{\"status\":401,\"message\":\"Unauthorized\"}\n")
    );
    let v2 = post_v2(&srv, "made-up", &json!({"model":"GigaChat","messages":[]})).await;
    assert_eq!(v2.status(), 401);

    let static_token = srv.control().issue_static_token();
    assert_eq!(get(&srv, &static_token, "/models").await.status(), 200);

    srv.control().set_accept_any_token(true);
    assert_eq!(get(&srv, "made-up", "/models").await.status(), 200);
}

#[tokio::test]
async fn tokens_expire() {
    let srv = server().await;
    srv.control().set_token_ttl(Duration::from_secs(1));
    let token = token(&srv).await;
    assert_eq!(get(&srv, &token, "/models").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (s, b) = status_text(get(&srv, &token, "/models").await).await;
    assert_eq!(
        (s, b.as_str()),
        (401, "{\"status\":401,\"message\":\"Token has expired\"}\n")
    );
}

#[tokio::test]
async fn fail_next_401_then_recover() {
    let srv = server().await;
    let token = token(&srv).await;
    srv.control().fail_next_401(2);
    assert_eq!(get(&srv, &token, "/models").await.status(), 401);
    assert_eq!(get(&srv, &token, "/balance").await.status(), 401);
    assert_eq!(get(&srv, &token, "/models").await.status(), 200);
}

#[tokio::test]
async fn request_and_session_ids() {
    let srv = server().await;
    let token = token(&srv).await;
    let resp = client()
        .get(format!("{}/models", srv.base_url()))
        .bearer_auth(&token)
        .header("X-Request-ID", "my-request")
        .header("X-Session-ID", "my-session")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "my-request");
    assert_eq!(resp.headers()["x-session-id"], "my-session");
    let resp = get(&srv, &token, "/nope").await;
    assert_eq!(resp.status(), 404);
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(uuid::Uuid::parse_str(&rid).unwrap().get_version_num(), 4);
    assert!(resp.headers().contains_key("x-session-id"));
}
