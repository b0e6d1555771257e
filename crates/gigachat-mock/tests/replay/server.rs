//! A replay server for our client: it answers each request with the recorded answer of
//! the matching recorded call (same method and path, first not yet used) — status,
//! `Content-Type`, `X-Request-Id` and the wire bytes — and keeps what the client sent.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use gigachat::{Client, ClientConfig, Secret};
use serde_json::Value;

use super::compare::difference;
use super::{Cassette, Interaction, KEY, Kind, PASSWORD, SCOPE, USER};

/// The `User-Agent` the official SDK sends (our client is told to send it too, so that
/// the header can be compared).
pub const SDK_USER_AGENT: &str = "GigaChat-python-lib";

/// One request the client sent, and which recorded call answered it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub answered_by: Option<usize>,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Log {
    used: Vec<bool>,
    captured: Vec<Captured>,
}

#[derive(Clone)]
struct Shared {
    cassette: Arc<Cassette>,
    log: Arc<Mutex<Log>>,
}

async fn answer(State(s): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let mut log = s.log.lock().unwrap();
    let hit = s
        .cassette
        .interactions
        .iter()
        .enumerate()
        .position(|(i, it)| {
            !log.used[i] && it.request.method == method && it.request.local_path() == path
        });
    log.captured.push(Captured {
        method,
        path,
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect(),
        body,
        answered_by: hit,
    });
    let Some(i) = hit else {
        let mut resp = Response::new(Body::from("no recorded call matches"));
        *resp.status_mut() = StatusCode::IM_A_TEAPOT;
        return resp;
    };
    log.used[i] = true;
    let rs = &s.cassette.interactions[i].response;
    let mut resp = Response::new(Body::from(rs.wire_bytes()));
    *resp.status_mut() = StatusCode::from_u16(rs.status).unwrap();
    for name in ["content-type", "x-request-id", "x-session-id"] {
        if let Some(v) = rs.header(name) {
            resp.headers_mut()
                .insert(name, HeaderValue::from_str(v).unwrap());
        }
    }
    resp
}

/// Runs `calls` with our client against a replay of `cassette`, then checks that the
/// client made exactly the recorded calls, in order, with the recorded requests (see
/// [`check_request`]). The SDK fetched a token before *every* call in the June cassettes
/// (its seconds-vs-milliseconds expiry bug, wire reference §1.6 item 7); our client
/// fetches one and reuses it, so later recorded token calls stay unused.
pub async fn replay_client<F, Fut, T>(cassette: &Cassette, calls: F) -> T
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = T>,
{
    let shared = Shared {
        cassette: Arc::new(cassette.clone()),
        log: Arc::new(Mutex::new(Log {
            used: vec![false; cassette.interactions.len()],
            captured: Vec::new(),
        })),
    };
    let app = Router::new().fallback(answer).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut config = ClientConfig {
        base_url: format!("{origin}/api/v1"),
        auth_url: format!("{origin}/api/v2/oauth"),
        scope: SCOPE.to_string(),
        timeout: Duration::from_secs(10),
        user_agent: SDK_USER_AGENT.to_string(),
        ..ClientConfig::default()
    };
    match cassette.token_kind() {
        Kind::OAuth => config.credentials = Some(Secret::new(KEY)),
        _ => {
            config.user = Some(USER.to_string());
            config.password = Some(Secret::new(PASSWORD));
        }
    }
    let result = calls(Client::new(config).unwrap()).await;
    server.abort();

    let log = shared.log.lock().unwrap();
    let answered: Vec<usize> = log
        .captured
        .iter()
        .map(|c| {
            c.answered_by.unwrap_or_else(|| {
                panic!("{}: unrecorded call {} {}", cassette.name, c.method, c.path)
            })
        })
        .collect();
    let first_token = cassette
        .interactions
        .iter()
        .position(|i| i.kind() != Kind::Api)
        .unwrap();
    let expected: Vec<usize> = (0..cassette.interactions.len())
        .filter(|i| *i == first_token || cassette.interactions[*i].kind() == Kind::Api)
        .collect();
    assert_eq!(
        answered, expected,
        "{}: the recorded calls, in order",
        cassette.name
    );
    for (c, i) in log.captured.iter().zip(answered) {
        check_request(c, &cassette.interactions[i], &cassette.name);
    }
    result
}

fn eq_header(c: &Captured, it: &Interaction, name: &str, what: &str) {
    assert_eq!(
        c.header(name),
        it.request.header(name),
        "{what}: header {name}"
    );
}

/// Our client's request against the recorded one:
///
/// * method and path;
/// * OAuth: `Authorization: Basic <key>` (the recorded value is redacted; §1.1),
///   a UUID `RqUID`, the recorded `Content-Type`, and `scope=GIGACHAT_API_PERS` — the
///   recorded `Content-Length` (23) is its length;
/// * `/token`: `Basic base64(user:password)`, an empty body with `Content-Length: 0`, no
///   `RqUID` and no `Content-Type`, as recorded;
/// * API calls: `Authorization`, `Content-Type`, `User-Agent` and, for streams,
///   `Accept` and `Cache-Control` equal to the recorded values, and the JSON body equal
///   as a value (key order and spacing are the encoder's business: the SDK spaces its
///   JSON, we send it compact).
///
/// Not compared: `Host`, `Connection`, `Accept-Encoding`, `Content-Length` of JSON
/// bodies (spacing), `Cookie` (a session cookie the SDK echoed back), and `Accept` on
/// non-stream calls (the SDK sends `*/*`, we send `application/json`; both are fine,
/// §1.1).
pub fn check_request(c: &Captured, it: &Interaction, cassette: &str) {
    let rq = &it.request;
    let what = format!("{cassette}: {} {}", rq.method, rq.path());
    assert_eq!(c.method, rq.method, "{what}: method");
    assert_eq!(c.path, rq.local_path(), "{what}: path");
    match it.kind() {
        Kind::OAuth => {
            assert_eq!(
                c.header("authorization"),
                Some(format!("Basic {KEY}").as_str())
            );
            let rquid = c.header("rquid").unwrap();
            assert!(rq.header("rquid").is_some());
            assert_eq!(uuid::Uuid::parse_str(rquid).unwrap().get_version_num(), 4);
            eq_header(c, it, "content-type", &what);
            assert_eq!(&c.body[..], format!("scope={SCOPE}").as_bytes());
            assert_eq!(
                Some(c.body.len().to_string().as_str()),
                rq.header("content-length")
            );
        }
        Kind::PasswordToken => {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
            assert_eq!(
                c.header("authorization"),
                Some(format!("Basic {basic}").as_str())
            );
            assert!(c.body.is_empty());
            eq_header(c, it, "content-length", &what);
            eq_header(c, it, "content-type", &what);
            assert_eq!(c.header("rquid"), None);
        }
        Kind::Api => {
            for name in ["authorization", "content-type", "user-agent"] {
                eq_header(c, it, name, &what);
            }
            if rq.is_stream() {
                eq_header(c, it, "accept", &what);
                eq_header(c, it, "cache-control", &what);
            }
            if rq.body.is_empty() {
                assert!(c.body.is_empty(), "{what}: no body");
            } else {
                let sent: Value = serde_json::from_slice(&c.body).unwrap();
                if let Some(d) = difference(&sent, &rq.json(), "") {
                    panic!(
                        "{what}: body differs from the recording at {d}\n  sent:     {sent}\n  recorded: {}",
                        rq.json()
                    );
                }
            }
        }
    }
}
