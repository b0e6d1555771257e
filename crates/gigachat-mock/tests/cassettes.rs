//! Every recorded cassette (`tests/cassettes/*.yaml`, real GigaChat traffic) replayed
//! three ways:
//!
//! **(a) against the emulator.** Each recorded request — token calls included, in the
//! recorded order — is sent as the SDK sent it (redacted credentials filled in), after
//! scripting the recorded answer (text, stream pieces or function call) where the
//! emulator can be told what to say. The emulator must answer with the recorded status,
//! `Content-Type`, presence of `X-Request-Id`/`X-Session-Id`, and the recorded body
//! byte for byte — compact JSON, key order, SSE framing — except at masked paths, where
//! the emulated value only has to have the recorded structure (same type; same keys in
//! the same order; same array lengths). What is masked, and why:
//!
//! | mask | why |
//! |---|---|
//! | `created` (v1), `created_at` (v2) | the time of the answer |
//! | `usage` | token counts come from the emulator's own tokenizer, not GigaChat's |
//! | `messages/*/tool_state_id` (v2) | a fresh UUIDv7 per answer |
//! | `object` (v1, April cassettes only) | `chat.completions` then, `chat.completion` in January; the emulator sends the January value (§3.5: clients must not rely on it) |
//! | `data/*/embedding`, `data/*/usage/prompt_tokens` | vectors and counts are computed, not learnt |
//! | built-in tools: `messages/*/content/*/text`, `…/inline_data/sources/*/url`, `…/title`, `…/files/*/id` | the built-ins answer with canned text, sources and a stored file |
//! | token calls: `access_token`/`expires_at`, `tok`/`exp` | issued tokens; the recorded ones are scrubbed |
//!
//! The April cassettes' `/token` answers were rewritten by the scrubber into the OAuth
//! shape; there only the emulator's `{"tok","exp"}` shape is checked (see
//! `replay::compare::token_answer`). JSON bodies were re-spaced by the recorder; the bytes
//! compared against are the compact form, which the recorded `Content-Length` confirms
//! for every body (404 error bodies end with a newline: one byte more than compact).
//!
//! **(b) our client's requests.** `gigachat::Client` makes the same call (built by hand
//! from its types, as a caller would) against a replay server that answers with the
//! recorded bytes; the requests it sends must equal the recorded ones — method, path,
//! JSON body as a value, and the headers listed in `replay::server::check_request`. This
//! is what catches a wrong field name or shape in `gigachat::types`.
//!
//! **(c) our client's decoding.** What the client decodes from the recorded bytes must
//! re-encode to the recorded JSON (no field lost or renamed), and a few values are
//! checked through the typed API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod replay;

use futures::StreamExt as _;
use gigachat::types::{EmbeddingsRequest, TokensCountRequest, v1, v2};
use gigachat::{Error, RequestContext};
use replay::compare::difference;
use replay::server::replay_client;
use replay::{Cassette, Step, load, replay_emulator};
use serde::Serialize;
use serde_json::{Value, json};

const NO_MASK: &[&str] = &[];
const V1_JSON: &[&str] = &["created", "usage"];
const V1_JSON_APRIL: &[&str] = &["created", "usage", "object"];
const V1_STREAM: &[&str] = &["created", "usage"];
const EMBEDDINGS: &[&str] = &["data/*/embedding", "data/*/usage/prompt_tokens"];
const V2_JSON: &[&str] = &["created_at", "usage"];
const V2_WITH_STATE: &[&str] = &["created_at", "usage", "messages/*/tool_state_id"];
const V2_STREAM: &[&str] = &["created_at", "usage"];
const V2_BUILTIN: &[&str] = &[
    "created_at",
    "usage",
    "messages/*/tool_state_id",
    "messages/*/content/*/text",
    "messages/*/content/*/inline_data/sources/*/url",
    "messages/*/content/*/inline_data/sources/*/title",
    "messages/*/content/*/files/*/id",
];

/// Every cassette this file replays; `every_cassette_is_replayed` holds it to the folder.
const REPLAYED: [&str; 33] = [
    "test_achat_model_not_found",
    "test_achat_parse_json_schema",
    "test_achat_response_format_json_schema",
    "test_achat_simple",
    "test_aembeddings_multiple",
    "test_aembeddings_single",
    "test_aget_model",
    "test_aget_model_not_found",
    "test_aget_models",
    "test_astream_simple",
    "test_atokens_count_multiple",
    "test_atokens_count_single",
    "test_chat_model_not_found",
    "test_chat_parse_json_schema",
    "test_chat_response_format_json_schema",
    "test_chat_simple",
    "test_embeddings_multiple",
    "test_embeddings_single",
    "test_get_model",
    "test_get_model_not_found",
    "test_get_models",
    "test_primary_achat_create_simple",
    "test_primary_achat_parse_json_schema",
    "test_primary_achat_stream_simple",
    "test_primary_chat_builtin_tools",
    "test_primary_chat_create_simple",
    "test_primary_chat_function_tool_roundtrip",
    "test_primary_chat_parse_json_schema",
    "test_primary_chat_regex_format",
    "test_primary_chat_stream_simple",
    "test_stream_simple",
    "test_tokens_count_multiple",
    "test_tokens_count_single",
];

#[test]
fn every_cassette_is_replayed() {
    assert_eq!(replay::all_names(), REPLAYED);
}

fn ctx() -> RequestContext {
    RequestContext::default()
}

/// (c): the decoded value re-encodes to the recorded JSON.
fn decodes_to(decoded: &impl Serialize, recorded: &Value, what: &str) {
    let value = serde_json::to_value(decoded).unwrap();
    if let Some(d) = difference(&value, recorded, "") {
        panic!("{what}: decoded answer differs from the recording at {d}");
    }
}

/// Each API call scripted with its recorded answer, with the same masks.
fn scripted(c: &Cassette, masks: &'static [&'static str]) -> Vec<Step> {
    c.api()
        .into_iter()
        .map(|it| Step::scripted(it, masks))
        .collect()
}

/// The recorded answer of the n-th API call.
fn answer(c: &Cassette, n: usize) -> Value {
    c.api()[n].response.json()
}

fn user_v1(text: &str) -> v1::ChatRequest {
    v1::ChatRequest {
        model: "GigaChat".into(),
        messages: vec![v1::Message::new(v1::Role::User, text)],
        ..Default::default()
    }
}

fn user_v2(text: &str) -> v2::ChatRequest {
    v2::ChatRequest {
        model: Some("GigaChat-3-Ultra".into()),
        messages: vec![v2::Message {
            role: "user".into(),
            content: vec![v2::ContentPart::text(text)],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn assert_not_found(err: Error, c: &Cassette) {
    let recorded_id = c.api()[0]
        .response
        .header("x-request-id")
        .map(str::to_owned);
    match err {
        Error::Api {
            status,
            message,
            request_id,
            ..
        } => assert_eq!(
            (status, message.as_str(), request_id),
            (404, "No such model", recorded_id)
        ),
        other => panic!("{}: {other}", c.name),
    }
}

// ----- v1 chat ----------------------------------------------------------------------------

async fn chat_simple(name: &str) {
    let c = load(name);
    replay_emulator(&c, &scripted(&c, V1_JSON)).await;
    let resp = replay_client(&c, |g| async move {
        g.chat(&user_v1("Say 'Hello' and nothing else"), &ctx())
            .await
            .unwrap()
    })
    .await;
    decodes_to(&resp, &answer(&c, 0), name);
    assert_eq!(resp.choices[0].message.content.as_deref(), Some("Hello."));
    assert_eq!(resp.usage.unwrap().precached_prompt_tokens, 2);
}

#[tokio::test]
async fn test_chat_simple() {
    chat_simple("test_chat_simple").await;
}

#[tokio::test]
async fn test_achat_simple() {
    chat_simple("test_achat_simple").await;
}

async fn chat_model_not_found(name: &str) {
    let c = load(name);
    replay_emulator(&c, &[Step::unscripted(NO_MASK)]).await;
    let err = replay_client(&c, |g| async move {
        let mut req = user_v1("Hello");
        req.model = "NonExistentModel".into();
        g.chat(&req, &ctx()).await.unwrap_err()
    })
    .await;
    assert_not_found(err, &c);
}

#[tokio::test]
async fn test_chat_model_not_found() {
    chat_model_not_found("test_chat_model_not_found").await;
}

#[tokio::test]
async fn test_achat_model_not_found() {
    chat_model_not_found("test_achat_model_not_found").await;
}

/// The April v1 structured-output calls (two schema styles).
async fn chat_json_schema(name: &str, schema: Value) {
    let c = load(name);
    replay_emulator(&c, &scripted(&c, V1_JSON_APRIL)).await;
    let resp = replay_client(&c, |g| async move {
        let mut req = user_v1("Return {\"answer\":\"ok\",\"n\":3} exactly.");
        req.model = "GigaChat-3-Ultra".into();
        req.response_format = Some(v1::ResponseFormat {
            kind: "json_schema".into(),
            schema: Some(schema),
            strict: Some(true),
        });
        g.chat(&req, &ctx()).await.unwrap()
    })
    .await;
    decodes_to(&resp, &answer(&c, 0), name);
    assert_eq!(resp.object, "chat.completions");
    let content = resp.choices[0].message.content.as_deref().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(content).unwrap(),
        json!({"answer": "ok", "n": 3})
    );
}

fn pydantic_schema() -> Value {
    json!({"properties": {"answer": {"title": "Answer", "type": "string"}, "n": {"maximum": 10, "minimum": 0, "title": "N", "type": "integer"}}, "required": ["answer", "n"], "title": "Out", "type": "object"})
}

fn plain_schema() -> Value {
    json!({"type": "object", "properties": {"answer": {"type": "string"}, "n": {"type": "integer"}}, "required": ["answer", "n"], "additionalProperties": false})
}

#[tokio::test]
async fn test_chat_parse_json_schema() {
    chat_json_schema("test_chat_parse_json_schema", pydantic_schema()).await;
}

#[tokio::test]
async fn test_achat_parse_json_schema() {
    chat_json_schema("test_achat_parse_json_schema", pydantic_schema()).await;
}

#[tokio::test]
async fn test_chat_response_format_json_schema() {
    chat_json_schema("test_chat_response_format_json_schema", plain_schema()).await;
}

#[tokio::test]
async fn test_achat_response_format_json_schema() {
    chat_json_schema("test_achat_response_format_json_schema", plain_schema()).await;
}

async fn stream_simple(name: &str) {
    let c = load(name);
    replay_emulator(&c, &scripted(&c, V1_STREAM)).await;
    let chunks = replay_client(&c, |g| async move {
        let stream = g
            .chat_stream(&user_v1("Count from 1 to 3"), &ctx())
            .await
            .unwrap();
        stream.map(Result::unwrap).collect::<Vec<_>>().await
    })
    .await;
    let frames = c.api()[0].response.sse_events();
    assert_eq!(
        chunks.len(),
        frames.len(),
        "{name}: one chunk per frame, [DONE] ends it"
    );
    for (chunk, (_, frame)) in chunks.iter().zip(&frames) {
        decodes_to(chunk, frame, name);
    }
    let last = chunks.last().unwrap();
    assert_eq!(last.choices[0].finish_reason.as_deref(), Some("stop"));
    assert!(last.usage.is_some());
}

#[tokio::test]
async fn test_stream_simple() {
    stream_simple("test_stream_simple").await;
}

#[tokio::test]
async fn test_astream_simple() {
    stream_simple("test_astream_simple").await;
}

// ----- embeddings, tokens/count, models ------------------------------------------------------

async fn embeddings(name: &str, input: &[&str]) {
    let c = load(name);
    replay_emulator(&c, &[Step::unscripted(EMBEDDINGS)]).await;
    let input: Vec<String> = input.iter().map(|s| s.to_string()).collect();
    let resp = replay_client(&c, |g| async move {
        let req = EmbeddingsRequest {
            input,
            model: "Embeddings".into(),
        };
        g.embeddings(&req, &ctx()).await.unwrap()
    })
    .await;
    decodes_to(&resp, &answer(&c, 0), name);
    assert!(resp.data.iter().all(|e| e.embedding.len() == 1024));
}

#[tokio::test]
async fn test_embeddings_single() {
    embeddings("test_embeddings_single", &["Hello, world!"]).await;
}

#[tokio::test]
async fn test_aembeddings_single() {
    embeddings("test_aembeddings_single", &["Hello, world!"]).await;
}

#[tokio::test]
async fn test_embeddings_multiple() {
    embeddings("test_embeddings_multiple", &["First text", "Second text"]).await;
}

#[tokio::test]
async fn test_aembeddings_multiple() {
    embeddings("test_aembeddings_multiple", &["First text", "Second text"]).await;
}

/// `/tokens/count` is compared unmasked: the emulator's counting rule reproduces the
/// recorded counts.
async fn tokens_count(name: &str, input: &[&str]) {
    let c = load(name);
    replay_emulator(&c, &[Step::unscripted(NO_MASK)]).await;
    let input: Vec<String> = input.iter().map(|s| s.to_string()).collect();
    let counts = replay_client(&c, |g| async move {
        let req = TokensCountRequest {
            model: "GigaChat".into(),
            input,
        };
        g.tokens_count(&req, &ctx()).await.unwrap()
    })
    .await;
    decodes_to(&counts, &answer(&c, 0), name);
}

#[tokio::test]
async fn test_tokens_count_single() {
    tokens_count("test_tokens_count_single", &["Hello, world!"]).await;
}

#[tokio::test]
async fn test_atokens_count_single() {
    tokens_count("test_atokens_count_single", &["Hello, world!"]).await;
}

#[tokio::test]
async fn test_tokens_count_multiple() {
    tokens_count("test_tokens_count_multiple", &["First text", "Second text"]).await;
}

#[tokio::test]
async fn test_atokens_count_multiple() {
    tokens_count(
        "test_atokens_count_multiple",
        &["First text", "Second text"],
    )
    .await;
}

async fn get_models(name: &str) {
    let c = load(name);
    replay_emulator(&c, &[Step::unscripted(NO_MASK)]).await;
    let list = replay_client(&c, |g| async move { g.models(&ctx()).await.unwrap() }).await;
    decodes_to(&list, &answer(&c, 0), name);
    assert_eq!(list.data.len(), 20);
    assert_eq!(list.data[0].kind.as_deref(), Some("chat"));
}

#[tokio::test]
async fn test_get_models() {
    get_models("test_get_models").await;
}

#[tokio::test]
async fn test_aget_models() {
    get_models("test_aget_models").await;
}

async fn get_model(name: &str) {
    let c = load(name);
    replay_emulator(&c, &[Step::unscripted(NO_MASK)]).await;
    let model = replay_client(
        &c,
        |g| async move { g.model("GigaChat", &ctx()).await.unwrap() },
    )
    .await;
    decodes_to(&model, &answer(&c, 0), name);
}

#[tokio::test]
async fn test_get_model() {
    get_model("test_get_model").await;
}

#[tokio::test]
async fn test_aget_model() {
    get_model("test_aget_model").await;
}

async fn get_model_not_found(name: &str) {
    let c = load(name);
    replay_emulator(&c, &[Step::unscripted(NO_MASK)]).await;
    let err = replay_client(&c, |g| async move {
        g.model("NonExistentModel", &ctx()).await.unwrap_err()
    })
    .await;
    assert_not_found(err, &c);
}

#[tokio::test]
async fn test_get_model_not_found() {
    get_model_not_found("test_get_model_not_found").await;
}

#[tokio::test]
async fn test_aget_model_not_found() {
    get_model_not_found("test_aget_model_not_found").await;
}

// ----- v2 chat ("primary") ----------------------------------------------------------------

async fn primary_create_simple(name: &str) {
    let c = load(name);
    replay_emulator(&c, &scripted(&c, V2_JSON)).await;
    let resp = replay_client(&c, |g| async move {
        g.chat_v2(&user_v2("Say 'Hello' and nothing else"), &ctx())
            .await
            .unwrap()
    })
    .await;
    decodes_to(&resp, &answer(&c, 0), name);
    assert_eq!(resp.messages[0].content[0].text.as_deref(), Some("Hello"));
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn test_primary_chat_create_simple() {
    primary_create_simple("test_primary_chat_create_simple").await;
}

#[tokio::test]
async fn test_primary_achat_create_simple() {
    primary_create_simple("test_primary_achat_create_simple").await;
}

async fn primary_parse_json_schema(name: &str) {
    let c = load(name);
    replay_emulator(&c, &scripted(&c, V2_JSON)).await;
    let resp = replay_client(&c, |g| async move {
        let mut req = user_v2("Return {\"answer\":\"ok\",\"n\":3} exactly.");
        req.model_options = Some(v2::ModelOptions {
            response_format: Some(v2::ResponseFormat {
                kind: "json_schema".into(),
                schema: Some(json!({"description": "Structured answer returned by response_format=json_schema.", "properties": {"answer": {"title": "Answer", "type": "string"}, "n": {"maximum": 10, "minimum": 0, "title": "N", "type": "integer"}}, "required": ["answer", "n"], "title": "StructuredAnswer", "type": "object"})),
                strict: Some(true),
                regex: None,
            }),
            ..Default::default()
        });
        g.chat_v2(&req, &ctx()).await.unwrap()
    })
    .await;
    decodes_to(&resp, &answer(&c, 0), name);
}

#[tokio::test]
async fn test_primary_chat_parse_json_schema() {
    primary_parse_json_schema("test_primary_chat_parse_json_schema").await;
}

#[tokio::test]
async fn test_primary_achat_parse_json_schema() {
    primary_parse_json_schema("test_primary_achat_parse_json_schema").await;
}

async fn primary_stream_simple(name: &str) {
    let c = load(name);
    replay_emulator(&c, &scripted(&c, V2_STREAM)).await;
    let events = replay_client(&c, |g| async move {
        let stream = g
            .chat_v2_stream(&user_v2("Count from 1 to 3"), &ctx())
            .await
            .unwrap();
        stream.map(Result::unwrap).collect::<Vec<_>>().await
    })
    .await;
    let frames = c.api()[0].response.sse_events();
    assert_eq!(events.len(), frames.len(), "{name}: one event per frame");
    for (event, (name_recorded, frame)) in events.iter().zip(&frames) {
        assert_eq!(Some(&event.event), name_recorded.as_ref());
        decodes_to(&event.data, frame, name);
    }
    assert_eq!(
        events[0].data.messages[0].content[0].text.as_deref(),
        Some("1, 2, 3")
    );
}

#[tokio::test]
async fn test_primary_chat_stream_simple() {
    primary_stream_simple("test_primary_chat_stream_simple").await;
}

#[tokio::test]
async fn test_primary_achat_stream_simple() {
    primary_stream_simple("test_primary_achat_stream_simple").await;
}

#[tokio::test]
async fn test_primary_chat_regex_format() {
    let c = load("test_primary_chat_regex_format");
    replay_emulator(&c, &scripted(&c, V2_JSON)).await;
    let resp = replay_client(&c, |g| async move {
        let mut req = user_v2("Generate one support ticket code.");
        req.model_options = Some(v2::ModelOptions {
            response_format: Some(v2::ResponseFormat {
                kind: "regex".into(),
                schema: None,
                strict: None,
                regex: Some("[A-Z]{3}-\\d{4}".into()),
            }),
            ..Default::default()
        });
        g.chat_v2(&req, &ctx()).await.unwrap()
    })
    .await;
    decodes_to(&resp, &answer(&c, 0), &c.name);
    assert_eq!(
        resp.messages[0].content[0].text.as_deref(),
        Some("TKT-2023")
    );
}

fn order_function() -> v1::Function {
    v1::Function {
        name: "get_order_status".into(),
        description: Some("Get delivery status for an order.".into()),
        parameters: Some(
            json!({"type": "object", "properties": {"order_id": {"type": "string", "description": "Order identifier."}}, "required": ["order_id"]}),
        ),
        few_shot_examples: None,
        return_parameters: Some(
            json!({"type": "object", "properties": {"order_id": {"type": "string"}, "status": {"type": "string"}, "eta": {"type": "string"}}, "required": ["order_id", "status", "eta"]}),
        ),
    }
}

#[tokio::test]
async fn test_primary_chat_function_tool_roundtrip() {
    let c = load("test_primary_chat_function_tool_roundtrip");
    replay_emulator(&c, &scripted(&c, V2_WITH_STATE)).await;
    let (first, second) = replay_client(&c, |g| async move {
        let tools = Some(vec![v2::Tool::Functions {
            specifications: vec![order_function()],
        }]);
        let mut req = user_v2("Check order A-1024 and answer naturally.");
        req.tools = tools.clone();
        req.tool_config = Some(v2::ToolConfig {
            mode: "forced".into(),
            tool_name: None,
            function_name: Some("get_order_status".into()),
        });
        let first = g.chat_v2(&req, &ctx()).await.unwrap();
        // Turn 2, as the SDK sends it: the call echoed back with the state id under
        // `tools_state_id`, and the result in a `tool` message carrying the same id.
        let call = first.messages[0].content[0].function_call.clone().unwrap();
        let state = first.messages[0].state_id().map(str::to_owned);
        let mut req = user_v2("Check order A-1024 and answer naturally.");
        req.tools = tools;
        req.messages.push(v2::Message {
            role: "assistant".into(),
            tools_state_id: state.clone(),
            content: vec![v2::ContentPart {
                function_call: Some(call),
                ..Default::default()
            }],
            ..Default::default()
        });
        req.messages.push(v2::Message {
            role: "tool".into(),
            tools_state_id: state,
            content: vec![v2::ContentPart {
                function_result: Some(v2::FunctionResult {
                    name: "get_order_status".into(),
                    result: json!({"order_id": "A-1024", "status": "packed", "eta": "tomorrow"}),
                }),
                ..Default::default()
            }],
            ..Default::default()
        });
        let second = g.chat_v2(&req, &ctx()).await.unwrap();
        (first, second)
    })
    .await;
    decodes_to(&first, &answer(&c, 0), &c.name);
    decodes_to(&second, &answer(&c, 1), &c.name);
    assert_eq!(first.finish_reason.as_deref(), Some("function_call"));
    assert_eq!(
        first.messages[0].tool_state_id.as_deref(),
        Some("019e8373-dc9a-7883-af60-ebb20b79e1e1")
    );
}

/// Web search, code interpreter, URL extraction and image generation, each answered by
/// the emulator's own built-in (nothing scripted): structure compared, canned content
/// masked.
#[tokio::test]
async fn test_primary_chat_builtin_tools() {
    let c = load("test_primary_chat_builtin_tools");
    let steps: Vec<Step> = (0..4).map(|_| Step::unscripted(V2_BUILTIN)).collect();
    replay_emulator(&c, &steps).await;
    let answers = replay_client(&c, |g| async move {
        let forced = |tool: &str| {
            Some(v2::ToolConfig {
                mode: "forced".into(),
                tool_name: Some(tool.into()),
                function_name: None,
            })
        };
        let mut out = Vec::new();
        let mut req = user_v2("What is new in the latest stable Python release?");
        req.tool_config = forced("web_search");
        req.tools = Some(vec![v2::Tool::WebSearch(json!({"type": "actual_info_web_search"}))]);
        out.push(g.chat_v2(&req, &ctx()).await.unwrap());
        let mut req = user_v2("Calculate the sum of the first 20 prime numbers. Use code.");
        req.tool_config = Some(v2::ToolConfig {
            mode: "auto".into(),
            tool_name: None,
            function_name: None,
        });
        req.tools = Some(vec![v2::Tool::CodeInterpreter(json!({}))]);
        out.push(g.chat_v2(&req, &ctx()).await.unwrap());
        let mut req = user_v2(
            "Read https://docs.python.org/3/library/pathlib.html and list three use cases for pathlib.",
        );
        req.tool_config = forced("url_content_extraction");
        req.tools = Some(vec![v2::Tool::UrlContentExtraction(json!({}))]);
        out.push(g.chat_v2(&req, &ctx()).await.unwrap());
        let mut req = user_v2("Create a simple square icon concept for a Python SDK release.");
        req.tool_config = forced("image_generate");
        req.tools = Some(vec![v2::Tool::ImageGenerate(json!({}))]);
        out.push(g.chat_v2(&req, &ctx()).await.unwrap());
        out
    })
    .await;
    for (n, resp) in answers.iter().enumerate() {
        decodes_to(resp, &answer(&c, n), &c.name);
    }
    let sources = answers[0].messages[0].content[0]
        .inline_data
        .as_ref()
        .unwrap();
    assert_eq!(
        sources["sources"]["2"]["url"],
        "https://realpython.com/python-news-february-2026/"
    );
    let file = &answers[3].messages[0].content[0].files.as_ref().unwrap()[0];
    assert_eq!(
        (file.mime.as_deref(), file.target.as_deref()),
        (Some("image/jpeg"), Some("image"))
    );
}
