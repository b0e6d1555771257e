//! Cassette replay machinery: loading the recorded exchanges (`tests/cassettes/*.yaml`),
//! rebuilding the bytes that were on the wire, sending recorded requests to the emulator,
//! comparing answers with masks ([`compare`]) and serving recorded answers to our client
//! ([`server`]). What is compared and masked is explained in `tests/cassettes.rs`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod compare;
pub mod server;

use std::path::PathBuf;

use base64::Engine as _;
use gigachat_mock::{MockConfig, MockServer, ModelSpec, Reply, ScriptedCall};
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

/// The authorization key, user and password the replays authenticate with (the recorded
/// ones are redacted).
pub const KEY: &str = "Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQ=";
pub const USER: &str = "demo-user";
pub const PASSWORD: &str = "demo-password";
/// The scope of every recorded OAuth call: `scope=REDACTED` stands for it, and the
/// recorded `Content-Length: 23` is exactly `scope=GIGACHAT_API_PERS`.
pub const SCOPE: &str = "GIGACHAT_API_PERS";

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cassettes")
}

/// Names (without `.yaml`) of every stored cassette.
pub fn all_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".yaml").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

#[derive(Debug, Clone)]
pub struct Cassette {
    pub name: String,
    pub interactions: Vec<Interaction>,
}

#[derive(Debug, Clone)]
pub struct Interaction {
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What a recorded call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST /api/v2/oauth` with an authorization key and a form `scope`.
    OAuth,
    /// The user/password `POST {base}/token`. The recorder rewrote its URI to the OAuth
    /// one, but the request betrays it: an empty body (`Content-Length: 0`), no `RqUID`,
    /// no form content type, and an answer from the API host (`x-request-id`, nginx).
    /// The wire reference reads them the same way (§1.3, §1.6 item 7).
    PasswordToken,
    /// Everything under the API base.
    Api,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The path part of the recorded URI.
    pub fn path(&self) -> &str {
        let rest = self
            .uri
            .split_once("://")
            .map_or(self.uri.as_str(), |(_, r)| r);
        rest.find('/').map_or("/", |i| &rest[i..])
    }

    pub fn kind(&self) -> Kind {
        if self.path() != "/api/v2/oauth" {
            Kind::Api
        } else if self.header("content-length") == Some("0") {
            Kind::PasswordToken
        } else {
            Kind::OAuth
        }
    }

    /// Where the call goes on a local server (emulator or replay server).
    pub fn local_path(&self) -> String {
        match self.kind() {
            Kind::OAuth => "/api/v2/oauth".into(),
            Kind::PasswordToken => "/api/v1/token".into(),
            Kind::Api => self.path().into(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub fn is_stream(&self) -> bool {
        self.header("accept") == Some("text/event-stream")
    }
}

impl RecordedResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    pub fn is_sse(&self) -> bool {
        self.content_type() == Some("text/event-stream")
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// Token bodies were rewritten by the recorder's scrubber (`"REDACTED"`).
    pub fn is_scrubbed(&self) -> bool {
        self.body.contains("REDACTED")
    }

    /// The body as it was on the wire. Streams were stored byte for byte. JSON bodies
    /// were re-spaced by the recorder (`", "`, `": "`, `\u` escapes); GigaChat sends
    /// compact UTF-8, and the recorded `Content-Length` proves it: every JSON answer is
    /// exactly its compact form, except the 404 error bodies, which are one byte longer —
    /// the trailing newline restored here. Scrubbed token bodies are returned compact.
    pub fn wire_bytes(&self) -> Vec<u8> {
        if self.is_sse() {
            return self.body.as_bytes().to_vec();
        }
        let mut bytes = serde_json::to_vec(&self.json()).unwrap();
        if let Some(len) = self.header("content-length")
            && !self.is_scrubbed()
        {
            let len: usize = len.parse().unwrap();
            match len.checked_sub(bytes.len()) {
                Some(0) => {}
                Some(1) => bytes.push(b'\n'),
                _ => panic!(
                    "recorded Content-Length {len} does not fit the compact body ({} bytes)",
                    bytes.len()
                ),
            }
        }
        bytes
    }

    /// The `data:` payloads of a stream (without `[DONE]`), with their event names.
    pub fn sse_events(&self) -> Vec<(Option<String>, Value)> {
        compare::frames(self.body.as_bytes())
            .iter()
            .filter_map(|f| {
                let (event, data) = compare::frame_parts(f);
                (data != "[DONE]").then(|| (event, serde_json::from_str(&data).unwrap()))
            })
            .collect()
    }
}

impl Interaction {
    pub fn kind(&self) -> Kind {
        self.request.kind()
    }
}

impl Cassette {
    /// The calls under the API base (not the token calls), in order.
    pub fn api(&self) -> Vec<&Interaction> {
        self.interactions
            .iter()
            .filter(|i| i.kind() == Kind::Api)
            .collect()
    }

    /// The first token call (OAuth or `/token`).
    pub fn token_kind(&self) -> Kind {
        self.interactions
            .iter()
            .map(Interaction::kind)
            .find(|k| *k != Kind::Api)
            .unwrap()
    }
}

/// Loads `tests/cassettes/<name>.yaml`.
pub fn load(name: &str) -> Cassette {
    let text = std::fs::read_to_string(dir().join(format!("{name}.yaml"))).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let interactions = docs[0]["interactions"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|i| {
            let rq = &i["request"];
            let rs = &i["response"];
            Interaction {
                request: RecordedRequest {
                    method: scalar(&rq["method"]),
                    uri: scalar(&rq["uri"]),
                    headers: headers(&rq["headers"]),
                    body: scalar(&rq["body"]),
                },
                response: RecordedResponse {
                    status: rs["status"]["code"].as_i64().unwrap() as u16,
                    headers: headers(&rs["headers"]),
                    body: scalar(&rs["body"]["string"]),
                },
            }
        })
        .collect();
    Cassette {
        name: name.to_string(),
        interactions,
    }
}

fn scalar(y: &Yaml) -> String {
    match y {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null | Yaml::BadValue => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// `Name: [value, …]` maps, flattened; a repeated header keeps every value.
fn headers(y: &Yaml) -> Vec<(String, String)> {
    let Some(map) = y.as_hash() else {
        return Vec::new();
    };
    map.iter()
        .flat_map(|(k, v)| {
            let name = scalar(k);
            v.as_vec()
                .unwrap()
                .iter()
                .map(move |v| (name.clone(), scalar(v)))
                .collect::<Vec<_>>()
        })
        .collect()
}

// ----- the emulator side --------------------------------------------------------------------

/// The emulator config for a cassette: the default models, with every chat model's
/// version taken from the recorded `model` echo (`GigaChat-3-Ultra:32.3.7.3` in April,
/// `…:32.3.18.5` in June); when the cassette lists the models, exactly that list.
pub fn config_for(cassette: &Cassette) -> MockConfig {
    let mut cfg = MockConfig::default();
    for it in cassette.api() {
        let r = &it.response;
        if it.request.path() == "/api/v1/models" {
            let listed = r.json()["data"].as_array().unwrap().clone();
            cfg.models = listed
                .iter()
                .map(|m| {
                    let id = m["id"].as_str().unwrap();
                    let kind = m["type"].as_str().unwrap();
                    let version = cfg
                        .models
                        .iter()
                        .find(|s| s.id == id)
                        .map_or("1.0".to_string(), |s| s.version.clone());
                    ModelSpec::new(id, kind, version)
                })
                .collect();
        }
        let echoes: Vec<Value> = if r.is_sse() {
            r.sse_events().into_iter().map(|(_, v)| v).collect()
        } else if r.status == 200 && !r.body.starts_with('[') {
            vec![r.json()]
        } else {
            Vec::new()
        };
        for echo in echoes {
            if let Some((id, version)) = echo["model"].as_str().and_then(|m| m.split_once(':'))
                && let Some(spec) = cfg.models.iter_mut().find(|s| s.id == id)
            {
                spec.version = version.to_string();
            }
        }
    }
    cfg
}

/// The reply that makes the emulator say what GigaChat said: the recorded text (stream
/// pieces kept as they were) or the recorded function call(s).
pub fn recorded_reply(it: &Interaction) -> Reply {
    let r = &it.response;
    let v2 = it.request.path().contains("/v2/");
    if r.is_sse() {
        let pieces: Vec<String> = r
            .sse_events()
            .iter()
            .filter_map(|(_, v)| {
                let piece = if v2 {
                    &v["messages"][0]["content"][0]["text"]
                } else {
                    &v["choices"][0]["delta"]["content"]
                };
                piece.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
            })
            .collect();
        return Reply::Chunks(pieces);
    }
    let v = r.json();
    let (text, calls) = if v2 {
        let parts = v["messages"][0]["content"].as_array().unwrap().clone();
        let calls: Vec<ScriptedCall> = parts
            .iter()
            .filter_map(|p| p.get("function_call"))
            .map(|c| ScriptedCall {
                name: c["name"].as_str().unwrap().to_string(),
                arguments: c["arguments"].clone(),
            })
            .collect();
        let text = parts
            .iter()
            .find_map(|p| p["text"].as_str())
            .map(str::to_owned);
        (text, calls)
    } else {
        let msg = &v["choices"][0]["message"];
        let calls = msg
            .get("function_call")
            .map(|c| ScriptedCall {
                name: c["name"].as_str().unwrap().to_string(),
                arguments: c["arguments"].clone(),
            })
            .into_iter()
            .collect();
        (msg["content"].as_str().map(str::to_owned), calls)
    };
    match (calls.len(), text) {
        (0, Some(text)) => Reply::Text(text),
        (1, _) => Reply::function_call(calls[0].name.clone(), calls[0].arguments.clone()),
        (_, _) => Reply::FunctionCalls(calls),
    }
}

/// What one recorded API call expects of the emulator.
#[derive(Debug, Clone)]
pub struct Step {
    /// Scripted before the call (`None`: the emulator answers on its own).
    pub reply: Option<Reply>,
    /// Paths whose values the emulator generates itself (see `compare::masked`).
    pub masks: &'static [&'static str],
}

impl Step {
    /// The recorded answer scripted, `masks` generated.
    pub fn scripted(it: &Interaction, masks: &'static [&'static str]) -> Self {
        Self {
            reply: Some(recorded_reply(it)),
            masks,
        }
    }

    /// Nothing scripted.
    pub fn unscripted(masks: &'static [&'static str]) -> Self {
        Self { reply: None, masks }
    }
}

/// An answer of the emulator.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Headers that describe the connection or the original host, not the call.
const NOT_REPLAYED: [&str; 4] = ["host", "content-length", "connection", "authorization"];

/// Sends a recorded request to the emulator as the SDK sent it: same method, path,
/// headers and body, with the redacted parts filled in (`Authorization: Basic <key>` and
/// `scope=GIGACHAT_API_PERS` for OAuth, `Basic user:password` for `/token`, the last
/// issued `Bearer` token for API calls).
pub async fn send(srv: &MockServer, it: &Interaction, token: Option<&str>) -> Answer {
    let rq = &it.request;
    let method = reqwest::Method::from_bytes(rq.method.as_bytes()).unwrap();
    let mut req = http().request(method, format!("{}{}", srv.origin(), rq.local_path()));
    for (k, v) in &rq.headers {
        if !NOT_REPLAYED.iter().any(|n| k.eq_ignore_ascii_case(n)) {
            req = req.header(k, v);
        }
    }
    let (authorization, body) = match it.kind() {
        Kind::OAuth => {
            assert_eq!(rq.body, "scope=REDACTED");
            (format!("Basic {KEY}"), format!("scope={SCOPE}"))
        }
        Kind::PasswordToken => {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
            (format!("Basic {basic}"), String::new())
        }
        Kind::Api => (format!("Bearer {}", token.unwrap()), rq.body.clone()),
    };
    let resp = req
        .header("authorization", authorization)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap().to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// Headers of the transport, not of the answer (the recorded ones vary by front end).
const TRANSPORT_HEADERS: [&str; 3] = ["content-length", "transfer-encoding", "date"];

/// Replays a whole cassette against a fresh emulator: every token call and every API
/// call in the recorded order, `steps` giving the script and masks of each API call.
/// Checks status, `Content-Type`, that every other header the emulator sends was in the
/// recorded answer too, the presence of the request/session ids, and the body.
pub async fn replay_emulator(cassette: &Cassette, steps: &[Step]) {
    let api = cassette.api();
    assert_eq!(api.len(), steps.len(), "one step per recorded API call");
    let srv = MockServer::start_with(config_for(cassette)).await.unwrap();
    let mut token: Option<String> = None;
    let mut step = steps.iter();
    for (n, it) in cassette.interactions.iter().enumerate() {
        let what = format!(
            "{} #{n} {} {}",
            cassette.name,
            it.request.method,
            it.request.path()
        );
        let masks: &[&str] = if it.kind() == Kind::Api {
            let s = step.next().unwrap();
            if let Some(reply) = &s.reply {
                srv.control().push_reply(reply.clone());
            }
            s.masks
        } else {
            &[]
        };
        let got = send(&srv, it, token.as_deref()).await;
        let rs = &it.response;
        assert_eq!(got.status, rs.status, "{what}: status");
        let content_type = got.headers.get("content-type").map(|v| v.to_str().unwrap());
        assert_eq!(content_type, rs.content_type(), "{what}: Content-Type");
        for name in got.headers.keys() {
            assert!(
                TRANSPORT_HEADERS.contains(&name.as_str()) || rs.header(name.as_str()).is_some(),
                "{what}: header {name} was not in the recorded answer"
            );
        }
        for id in ["x-request-id", "x-session-id"] {
            assert_eq!(
                got.headers.contains_key(id),
                rs.header(id).is_some(),
                "{what}: {id} present as recorded"
            );
        }
        match it.kind() {
            Kind::OAuth | Kind::PasswordToken => {
                token = Some(compare::token_answer(&got.body, rs, it.kind(), &what));
            }
            Kind::Api if rs.is_sse() => compare::sse(&got.body, &rs.wire_bytes(), masks, &what),
            Kind::Api => compare::json(&got.body, &rs.wire_bytes(), masks, &what),
        }
        assert_eq!(
            srv.control().pending_replies(),
            0,
            "{what}: the scripted reply was used"
        );
    }
    srv.shutdown().await;
}
