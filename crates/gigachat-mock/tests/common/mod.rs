//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use gigachat_mock::{MockConfig, MockServer};
use serde_json::Value;

pub const KEY_PLAIN: &str = "client-id:client-secret";

pub fn key() -> String {
    base64::engine::general_purpose::STANDARD.encode(KEY_PLAIN)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub async fn server() -> MockServer {
    MockServer::start().await.unwrap()
}

pub async fn server_with(cfg: MockConfig) -> MockServer {
    MockServer::start_with(cfg).await.unwrap()
}

pub const RQUID: &str = "8da54264-2463-42be-9aa7-c844d5e45180";

/// Raw OAuth call.
pub async fn oauth(
    srv: &MockServer,
    auth: Option<&str>,
    rquid: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut req = client()
        .post(srv.auth_url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    if let Some(r) = rquid {
        req = req.header("RqUID", r);
    }
    req.send().await.unwrap()
}

/// A token obtained through the OAuth endpoint.
pub async fn token(srv: &MockServer) -> String {
    let resp = oauth(
        srv,
        Some(&format!("Basic {}", key())),
        Some(RQUID),
        "scope=GIGACHAT_API_PERS",
    )
    .await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    v.get("access_token")
        .or_else(|| v.get("tok"))
        .and_then(Value::as_str)
        .unwrap()
        .to_string()
}

/// POST JSON to `{base_url}{path}` with a bearer token.
pub async fn post(srv: &MockServer, token: &str, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{}", srv.base_url(), path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// POST JSON to the v2 chat URL.
pub async fn post_v2(srv: &MockServer, token: &str, body: &Value) -> reqwest::Response {
    client()
        .post(srv.v2_chat_url())
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// GET `{base_url}{path}` with a bearer token.
pub async fn get(srv: &MockServer, token: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{}", srv.base_url(), path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Status and body text.
pub async fn status_text(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// Splits an SSE body into frames (without the trailing blank line).
pub fn frames(body: &str) -> Vec<&str> {
    body.split("\n\n").filter(|f| !f.is_empty()).collect()
}

/// The JSON of a `data: ` frame.
pub fn data_json(frame: &str) -> Value {
    let line = frame.lines().find(|l| l.starts_with("data: ")).unwrap();
    serde_json::from_str(&line["data: ".len()..]).unwrap()
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Calls the `/__mock` control API; returns status and JSON body.
pub async fn control(
    srv: &MockServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, format!("{}{path}", srv.control_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

pub fn upload_form(name: &str, mime: &str, data: Vec<u8>) -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(data)
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap();
    reqwest::multipart::Form::new()
        .text("purpose", "general")
        .part("file", part)
}

pub async fn upload(
    srv: &gigachat_mock::MockServer,
    t: &str,
    client_id: Option<&str>,
    form: reqwest::multipart::Form,
) -> reqwest::Response {
    let mut req = client()
        .post(format!("{}/files", srv.base_url()))
        .bearer_auth(t)
        .multipart(form);
    if let Some(c) = client_id {
        req = req.header("X-Client-ID", c);
    }
    req.send().await.unwrap()
}
