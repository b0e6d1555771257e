//! Shared harness for the proxy's integration tests: the real server started in-process
//! on a random loopback port against a `gigachat_mock::MockServer` (or a tiny replay
//! upstream), HTTP helpers, and SSE parsers for both dialects.
//!
//! [`procs`] starts real processes instead (the `gpt2giga` and `gigachat-mock` binaries,
//! `redis-server`, `nginx`) for the multi-process tests.
//!
//! Every test file includes it with `mod common;`; not every file uses every helper.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod procs;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use gigachat_mock::{MockControl, MockServer};
use gpt2giga::app::AppState;
use gpt2giga::config::Config;
use gpt2giga::server::{self, ServeError};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The authorization key the proxy presents to the emulator (`base64(id:secret)`).
pub fn credentials() -> String {
    base64::engine::general_purpose::STANDARD.encode("test-client-id:test-client-secret")
}

/// `["gpt2giga", args…]`.
pub fn argv(args: &[&str]) -> Vec<String> {
    std::iter::once("gpt2giga")
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

/// A configuration pointed at `base_url` / `auth_url`, listening on 127.0.0.1:0, with
/// `GIGACHAT_CREDENTIALS` set; `args` and `env` are added (and win). No `.env` is read.
pub fn config_for(base_url: &str, auth_url: &str, args: &[&str], env: &[(&str, &str)]) -> Config {
    let mut all = vec![
        "--proxy.host",
        "127.0.0.1",
        "--proxy.port",
        "0",
        "--gigachat.base-url",
        base_url,
        "--gigachat.auth-url",
        auth_url,
    ];
    all.extend_from_slice(args);
    let creds = credentials();
    let mut envmap: HashMap<String, String> = HashMap::new();
    envmap.insert("GIGACHAT_CREDENTIALS".into(), creds);
    for (k, v) in env {
        envmap.insert((*k).to_string(), (*v).to_string());
    }
    let dir = tempfile::tempdir().unwrap();
    Config::load_from(argv(&all), &envmap, dir.path())
        .unwrap_or_else(|e| panic!("config {all:?}: {e}"))
}

/// A running proxy: its address, and the handle to stop it.
pub struct Proxy {
    pub url: String,
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl Proxy {
    /// Binds 127.0.0.1:<random> and serves `config` until shut down.
    pub async fn start(config: Config) -> Proxy {
        let grace = config.proxy.shutdown_timeout();
        let limits = server::conn::Limits::from_settings(&config.proxy);
        let host = config.proxy.host.clone();
        let port = config.proxy.port;
        let client =
            gigachat::Client::new(config.gigachat.to_client_config()).expect("GigaChat client");
        let state = AppState::new(config, client).unwrap_or_else(|e| panic!("state: {e}"));
        state
            .start_traffic_log()
            .await
            .unwrap_or_else(|e| panic!("traffic log: {e}"));
        let listener = server::bind(&host, port).await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = rx.await;
        };
        let task = tokio::spawn(server::serve(
            listener,
            server::app(state),
            limits,
            shutdown,
            grace,
        ));
        Proxy {
            url: format!("http://{addr}"),
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Asks the server to stop accepting and drain (returns at once).
    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Triggers shutdown and waits (bounded) for `serve` to return.
    pub async fn stop(&mut self) -> Result<(), ServeError> {
        self.trigger_shutdown();
        let task = self.task.take().expect("already stopped");
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("serve did not return within 30 s after shutdown")
            .expect("serve task panicked")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.trigger_shutdown();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The proxy in front of a fresh emulator.
pub struct TestProxy {
    pub url: String,
    pub mock: MockServer,
    pub proxy: Proxy,
}

impl TestProxy {
    /// Default settings.
    pub async fn start() -> TestProxy {
        Self::start_with(&[], &[]).await
    }

    /// Extra CLI `args` and environment `env`.
    pub async fn start_with(args: &[&str], env: &[(&str, &str)]) -> TestProxy {
        let mock = MockServer::start().await.expect("emulator");
        Self::start_on(mock, args, env).await
    }

    /// In front of an already started emulator.
    pub async fn start_on(mock: MockServer, args: &[&str], env: &[(&str, &str)]) -> TestProxy {
        let config = config_for(&mock.base_url(), &mock.auth_url(), args, env);
        let proxy = Proxy::start(config).await;
        TestProxy {
            url: proxy.url.clone(),
            mock,
            proxy,
        }
    }

    /// The emulator's control handle.
    pub fn ctl(&self) -> &MockControl {
        self.mock.control()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// POSTs JSON to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        http().post(self.at(path)).json(body).send().await.unwrap()
    }

    /// POSTs `body` with `"stream": true` to `path` and returns the named SSE events
    /// (Anthropic and Responses framing), checking for a 200.
    pub async fn events(&self, path: &str, body: &Value) -> Vec<(String, Value)> {
        let mut body = body.clone();
        body["stream"] = Value::Bool(true);
        let (status, _, text) = text_of(self.post(path, &body).await).await;
        assert_eq!(status, 200, "{text}");
        anthropic_events(&text)
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        http().get(self.at(path)).send().await.unwrap()
    }

    /// Parsed bodies of the chat requests the emulator received, oldest first.
    pub fn chat_bodies(&self) -> Vec<Value> {
        bodies(self.ctl(), "/chat/completions")
    }

    /// The last chat request body the emulator received.
    pub fn last_chat(&self) -> Value {
        self.ctl()
            .last_request("/chat/completions")
            .expect("the emulator received no chat request")
            .json()
            .expect("chat body is JSON")
    }
}

/// Parsed bodies of the recorded requests whose path ends with `suffix`.
pub fn bodies(ctl: &MockControl, suffix: &str) -> Vec<Value> {
    ctl.requests()
        .into_iter()
        .filter(|r| r.path.ends_with(suffix))
        .map(|r| r.json().unwrap_or(Value::Null))
        .collect()
}

/// A loopback HTTP client that never follows redirects and ignores proxy variables.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Status, headers and JSON body of a response.
pub async fn json_of(resp: reqwest::Response) -> (StatusCode, HeaderMap, Value) {
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let v =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text:?}"));
    (status, headers, v)
}

/// Status, headers and text body of a response.
pub async fn text_of(resp: reqwest::Response) -> (StatusCode, HeaderMap, String) {
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

pub fn content_type(h: &HeaderMap) -> String {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// OpenAI SSE: the JSON of every `data:` frame; `[DONE]` becomes the string "[DONE]".
pub fn openai_frames(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            let data = f
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data frame: {f:?}"));
            if data == "[DONE]" {
                Value::String("[DONE]".into())
            } else {
                serde_json::from_str(data).unwrap_or_else(|e| panic!("bad frame {data:?}: {e}"))
            }
        })
        .collect()
}

/// The frames of a successful OpenAI stream answer, `[DONE]` included, checking the
/// framing: status 200, `text/event-stream`, every frame a `data:` line, `[DONE]` last.
pub async fn openai_stream(resp: reqwest::Response) -> Vec<Value> {
    let (status, headers, text) = text_of(resp).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        content_type(&headers).starts_with("text/event-stream"),
        "{headers:?}"
    );
    let frames = openai_frames(&text);
    assert_eq!(frames.last().unwrap(), "[DONE]", "{text}");
    frames
}

/// Concatenated `choices[0].delta.<field>` strings of OpenAI chunks.
pub fn delta_text(frames: &[Value], field: &str) -> String {
    frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"][field].as_str())
        .collect()
}

/// Anthropic SSE: `(event, data)` pairs, `ping` events dropped; checks that the `event:`
/// name equals the data's `type`.
pub fn anthropic_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            let (ev, data) = f
                .split_once('\n')
                .unwrap_or_else(|| panic!("bad event {f:?}"));
            let ev = ev
                .strip_prefix("event: ")
                .unwrap_or_else(|| panic!("no event line: {f:?}"));
            let data = data
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("no data line: {f:?}"));
            let v: Value =
                serde_json::from_str(data).unwrap_or_else(|e| panic!("bad data {data:?}: {e}"));
            assert_eq!(v["type"], ev, "event name and data type differ: {f:?}");
            (ev.to_string(), v)
        })
        .filter(|(ev, _)| ev != "ping")
        .collect()
}

/// Event names with the block index where there is one: `content_block_delta[1]`.
pub fn event_shape(events: &[(String, Value)]) -> Vec<String> {
    events
        .iter()
        .map(|(ev, v)| match v.get("index").and_then(Value::as_u64) {
            Some(i) => format!("{ev}[{i}]"),
            None => ev.clone(),
        })
        .collect()
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---- a replaying upstream -------------------------------------------------------------------

/// A minimal GigaChat stand-in that answers every v1 chat request with the given SSE
/// frames, byte for byte, one body chunk per frame; plus a fixed OAuth token and a
/// `/tokens/count` that uses the emulator's counting rule. Records chat request bodies.
pub struct ReplayUpstream {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Value>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

#[derive(Clone)]
struct ReplayState {
    frames: Arc<Vec<Bytes>>,
    received: Arc<Mutex<Vec<Value>>>,
}

impl ReplayUpstream {
    pub async fn start(frames: Vec<Bytes>) -> ReplayUpstream {
        use axum::Router;
        use axum::routing::post;
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = ReplayState {
            frames: Arc::new(frames),
            received: received.clone(),
        };
        let app = Router::new()
            .route("/api/v2/oauth", post(replay_oauth))
            .route("/api/v1/chat/completions", post(replay_chat))
            .route("/api/v1/tokens/count", post(replay_count))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        ReplayUpstream {
            addr,
            received,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    pub fn auth_url(&self) -> String {
        format!("http://{}/api/v2/oauth", self.addr)
    }

    pub fn chat_bodies(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for ReplayUpstream {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Splits an SSE body into its frames, each keeping its `\n\n` terminator.
pub fn sse_frames(body: &[u8]) -> Vec<Bytes> {
    let text = std::str::from_utf8(body).unwrap();
    text.split_inclusive("\n\n")
        .map(|f| Bytes::copy_from_slice(f.as_bytes()))
        .collect()
}

async fn replay_oauth() -> Response {
    axum::Json(json!({"access_token": "replay-access-token", "expires_at": 4102444800000u64}))
        .into_response()
}

async fn replay_chat(
    axum::extract::State(s): axum::extract::State<ReplayState>,
    body: Bytes,
) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.received.lock().unwrap().push(v);
    let frames: Vec<Result<Bytes, Infallible>> = s.frames.iter().cloned().map(Ok).collect();
    let mut r = Body::from_stream(futures::stream::iter(frames)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    r
}

async fn replay_count(body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let counts: Vec<Value> = v["input"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    let t = t.as_str().unwrap_or("");
                    json!({
                        "object": "tokens",
                        "tokens": gigachat_mock::tokens::count_tokens(t),
                        "characters": gigachat_mock::tokens::count_chars(t),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    axum::Json(Value::Array(counts)).into_response()
}
