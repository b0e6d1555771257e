//! Anthropic Messages (+ count_tokens) through the proxy: answers, the streaming event
//! grammar, tool loops, errors — and what GigaChat (the emulator) received.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::{
    Proxy, ReplayUpstream, TestProxy, anthropic_events, bodies, config_for, content_type,
    event_shape, http, json_of, text_of,
};
use gigachat_mock::tokens::count_tokens;
use gigachat_mock::{BLACKLIST_TEXT, Fault, Reply, StreamFault, StreamFaultKind};
use serde_json::{Value, json};

fn request(messages: Value) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": messages})
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

fn weather_tool() -> Value {
    json!({"name": "get_weather", "description": "Weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}})
}

fn time_tool() -> Value {
    json!({"name": "get_time",
           "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}})
}

async fn message(p: &TestProxy, body: &Value) -> Value {
    let (status, _, v) = json_of(p.post("/v1/messages", body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert!(v["id"].as_str().unwrap().starts_with("msg_"), "{v}");
    v
}

async fn stream_events(url: &str, body: &Value) -> Vec<(String, Value)> {
    let mut body = body.clone();
    body["stream"] = json!(true);
    let r = http().post(url).json(&body).send().await.unwrap();
    let (status, headers, text) = text_of(r).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        content_type(&headers).starts_with("text/event-stream"),
        "{headers:?}"
    );
    anthropic_events(&text)
}

/// Concatenation of the `delta.<field>` strings of one block's deltas.
fn block_text(events: &[(String, Value)], index: u64, field: &str) -> String {
    events
        .iter()
        .filter(|(e, v)| e == "content_block_delta" && v["index"] == index)
        .filter_map(|(_, v)| v["delta"][field].as_str())
        .collect()
}

/// `[start, delta×n, stop]` for block `i` collapsed to `start delta… stop` strings.
fn collapse(shape: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in shape {
        if out.last() == Some(s) && s.starts_with("content_block_delta") {
            continue;
        }
        out.push(s.clone());
    }
    out
}

// ---- answers --------------------------------------------------------------------------------

#[tokio::test]
async fn non_stream_text() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("Hello from GigaChat!"));
    let v = message(&p, &request(json!([user("Hi")]))).await;
    assert_eq!(v["model"], "claude-sonnet-4-5");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "Hello from GigaChat!"}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["stop_sequence"], Value::Null);
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 0);

    let sent = p.last_chat();
    assert_eq!(sent["model"], "GigaChat");
    assert_eq!(sent["messages"], json!([{"role": "user", "content": "Hi"}]));
    assert_eq!(sent["max_tokens"], 256);
}

#[tokio::test]
async fn stream_text_grammar() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(4);
    let text = "Streaming words arrive in small pieces.";
    p.ctl().push_reply(Reply::text(text));
    let events = stream_events(&p.at("/v1/messages"), &request(json!([user("Go")]))).await;
    let shape = event_shape(&events);
    assert!(
        shape
            .iter()
            .filter(|s| *s == "content_block_delta[0]")
            .count()
            > 3,
        "{shape:?}"
    );
    assert_eq!(
        collapse(&shape),
        vec![
            "message_start",
            "content_block_start[0]",
            "content_block_delta[0]",
            "content_block_stop[0]",
            "message_delta",
            "message_stop"
        ]
    );
    let start = &events[0].1["message"];
    assert!(start["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(start["model"], "claude-sonnet-4-5");
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert_eq!(
        events[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert!(
        events
            .iter()
            .filter(|(e, _)| e == "content_block_delta")
            .all(|(_, v)| v["delta"]["type"] == "text_delta")
    );
    assert_eq!(block_text(&events, 0, "text"), text);
    let delta = &events[events.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["delta"]["stop_sequence"], Value::Null);
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);

    // message_start's input_tokens come from GigaChat's own counter.
    let counted = bodies(p.ctl(), "/tokens/count");
    assert_eq!(counted.len(), 1);
    let want: u64 = counted[0]["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| count_tokens(t.as_str().unwrap()))
        .sum();
    assert_eq!(start["usage"]["input_tokens"], want);
    assert_eq!(p.last_chat()["stream"], true);
}

#[tokio::test]
async fn stream_reasoning_then_text() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(4);
    p.ctl().push_reply(Reply::reasoning(
        "Six times seven is 42.",
        "The answer is 42.",
    ));
    let mut body = request(json!([user("6*7?")]));
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 5000});
    let events = stream_events(&p.at("/v1/messages"), &body).await;
    let shape = event_shape(&events);
    assert_eq!(
        collapse(&shape),
        vec![
            "message_start",
            "content_block_start[0]",
            "content_block_delta[0]",
            "content_block_stop[0]",
            "content_block_start[1]",
            "content_block_delta[1]",
            "content_block_stop[1]",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[1].1["content_block"]["type"], "thinking");
    let deltas0: Vec<&Value> = events
        .iter()
        .filter(|(e, v)| e == "content_block_delta" && v["index"] == 0)
        .map(|(_, v)| &v["delta"])
        .collect();
    // Thinking deltas, then exactly one signature delta right before the block stops.
    let last = deltas0.last().unwrap();
    assert_eq!(last["type"], "signature_delta");
    assert!(!last["signature"].as_str().unwrap().is_empty());
    assert!(
        deltas0[..deltas0.len() - 1]
            .iter()
            .all(|d| d["type"] == "thinking_delta")
    );
    assert_eq!(block_text(&events, 0, "thinking"), "Six times seven is 42.");
    let text_start = events
        .iter()
        .find(|(e, v)| e == "content_block_start" && v["index"] == 1)
        .unwrap();
    assert_eq!(text_start.1["content_block"]["type"], "text");
    assert_eq!(block_text(&events, 1, "text"), "The answer is 42.");
    assert_eq!(p.last_chat()["reasoning_effort"], "medium");
}

#[tokio::test]
async fn non_stream_reasoning_is_a_thinking_block() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::reasoning("Hmm.", "Yes."));
    let mut body = request(json!([user("?")]));
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 20000});
    let v = message(&p, &body).await;
    let c = v["content"].as_array().unwrap();
    assert_eq!(c.len(), 2, "{v}");
    assert_eq!(c[0]["type"], "thinking");
    assert_eq!(c[0]["thinking"], "Hmm.");
    assert!(!c[0]["signature"].as_str().unwrap().is_empty());
    assert_eq!(c[1], json!({"type": "text", "text": "Yes."}));
    assert_eq!(p.last_chat()["reasoning_effort"], "high");
}

#[tokio::test]
async fn tool_use_non_stream_and_stream() {
    let p = TestProxy::start().await;
    p.ctl().push_replies([
        Reply::function_call("get_weather", json!({"city": "Kazan"})),
        Reply::function_call("get_weather", json!({"city": "Kazan"})),
    ]);
    let mut body = request(json!([user("Weather in Kazan?")]));
    body["tools"] = json!([weather_tool()]);

    let v = message(&p, &body).await;
    assert_eq!(v["stop_reason"], "tool_use");
    let c = v["content"].as_array().unwrap();
    assert_eq!(c.len(), 1, "{v}");
    assert_eq!(c[0]["type"], "tool_use");
    assert!(c[0]["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(c[0]["name"], "get_weather");
    assert_eq!(c[0]["input"], json!({"city": "Kazan"}));
    let sent = p.last_chat();
    assert_eq!(sent["functions"][0]["name"], "get_weather");
    assert_eq!(sent["functions"][0]["description"], "Weather in a city");
    assert_eq!(
        sent["functions"][0]["parameters"]["properties"]["city"]["type"],
        "string"
    );
    assert_eq!(sent["function_call"], "auto");

    let events = stream_events(&p.at("/v1/messages"), &body).await;
    assert_eq!(
        event_shape(&events),
        vec![
            "message_start",
            "content_block_start[0]",
            "content_block_delta[0]",
            "content_block_stop[0]",
            "message_delta",
            "message_stop"
        ]
    );
    let block = &events[1].1["content_block"];
    assert_eq!(block["type"], "tool_use");
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(block["name"], "get_weather");
    assert_eq!(block["input"], json!({}));
    let delta = &events[2].1["delta"];
    assert_eq!(delta["type"], "input_json_delta");
    let input: Value = serde_json::from_str(delta["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"city": "Kazan"}));
    assert_eq!(events[4].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(p.chat_bodies().len(), 2);
}

#[tokio::test]
async fn text_block_closes_before_the_tool_block_opens() {
    // The emulator sends a call whole with empty content, so a real text+call answer is
    // replayed from a tiny upstream.
    let frames = vec![
        Bytes::from_static(b"data: {\"choices\":[{\"delta\":{\"content\":\"Let me check.\",\"role\":\"assistant\"},\"index\":0}],\"created\":1768996176,\"model\":\"GigaChat:2.0.28.2\",\"object\":\"chat.completion\"}\n\n"),
        Bytes::from_static(b"data: {\"choices\":[{\"delta\":{\"content\":\"\",\"function_call\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Kazan\"}},\"functions_state_id\":\"0b5e9bfb-0000-4000-8000-000000000001\"},\"index\":0,\"finish_reason\":\"function_call\"}],\"created\":1768996176,\"model\":\"GigaChat:2.0.28.2\",\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":9,\"total_tokens\":39,\"precached_prompt_tokens\":0}}\n\n"),
        Bytes::from_static(b"data: [DONE]\n\n"),
    ];
    let up = ReplayUpstream::start(frames).await;
    let proxy = Proxy::start(config_for(&up.base_url(), &up.auth_url(), &[], &[])).await;
    let mut body = request(json!([user("Weather in Kazan?")]));
    body["tools"] = json!([weather_tool()]);
    let events = stream_events(&format!("{}/v1/messages", proxy.url), &body).await;
    assert_eq!(
        event_shape(&events),
        vec![
            "message_start",
            "content_block_start[0]",
            "content_block_delta[0]",
            "content_block_stop[0]",
            "content_block_start[1]",
            "content_block_delta[1]",
            "content_block_stop[1]",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[1].1["content_block"]["type"], "text");
    assert_eq!(block_text(&events, 0, "text"), "Let me check.");
    assert_eq!(events[4].1["content_block"]["type"], "tool_use");
    assert_eq!(events[4].1["content_block"]["name"], "get_weather");
    let input: Value =
        serde_json::from_str(events[5].1["delta"]["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"city": "Kazan"}));
    let delta = &events[7].1;
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(delta["usage"]["output_tokens"], 9);
    assert_eq!(delta["usage"]["input_tokens"], 30);

    let sent = up.chat_bodies();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["stream"], true);
    assert_eq!(sent[0]["functions"][0]["name"], "get_weather");
}

// ---- tool history ---------------------------------------------------------------------------

#[tokio::test]
async fn tool_loop_pairs_results_by_id() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("5 degrees at noon."));
    let mut body = request(json!([
        user("Weather and time in Moscow?"),
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking both."},
            {"type": "tool_use", "id": "toolu_w", "name": "get_weather", "input": {"city": "Moscow"}},
            {"type": "tool_use", "id": "toolu_t", "name": "get_time", "input": {"tz": "MSK"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_t", "content": "12:00"},
            {"type": "tool_result", "tool_use_id": "toolu_w",
             "content": [{"type": "text", "text": "{\"temp\":5}"}]}]},
    ]));
    body["tools"] = json!([weather_tool(), time_tool()]);
    let v = message(&p, &body).await;
    assert_eq!(v["content"][0]["text"], "5 degrees at noon.");

    let sent = p.last_chat();
    let m = sent["messages"].as_array().unwrap();
    assert_eq!(m.len(), 5, "{sent}");
    assert_eq!(m[0]["role"], "user");
    assert_eq!(m[1]["role"], "assistant");
    assert_eq!(m[1]["content"], "Checking both.");
    assert_eq!(m[1]["function_call"]["name"], "get_weather");
    assert_eq!(
        m[1]["function_call"]["arguments"],
        json!({"city": "Moscow"})
    );
    assert_eq!(m[2]["role"], "function");
    assert_eq!(m[2]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(m[2]["content"].as_str().unwrap()).unwrap(),
        json!({"temp": 5})
    );
    assert_eq!(m[3]["role"], "assistant");
    assert_eq!(m[3]["function_call"]["name"], "get_time");
    assert_eq!(m[3]["function_call"]["arguments"], json!({"tz": "MSK"}));
    assert_eq!(m[4]["role"], "function");
    assert_eq!(m[4]["name"], "get_time");
    assert_eq!(
        serde_json::from_str::<Value>(m[4]["content"].as_str().unwrap()).unwrap(),
        json!({"result": "12:00"})
    );
}

#[tokio::test]
async fn error_results_are_wrapped() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("Sorry, no such city."));
    let mut body = request(json!([
        user("Weather in Atlantis?"),
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Atlantis"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true,
             "content": "city not found"}]},
    ]));
    body["tools"] = json!([weather_tool()]);
    message(&p, &body).await;
    let m = p.last_chat()["messages"].clone();
    assert_eq!(m[2]["role"], "function");
    assert_eq!(
        serde_json::from_str::<Value>(m[2]["content"].as_str().unwrap()).unwrap(),
        json!({"error": "city not found"})
    );
}

/// A 1×1 PNG (70 bytes).
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Claude Code's `Read` on a PNG answers with a `tool_result` holding only an image
/// block. GigaChat's function results are JSON and its attachments live on user
/// messages: the function result says where the image is, and a user message right
/// after it carries the uploaded image.
#[tokio::test]
async fn tool_result_images_follow_the_function_result() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("A red square."));
    let read = json!({"name": "Read", "description": "Reads a file from the local filesystem.",
        "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}},
                         "required": ["file_path"]}});
    let mut body = request(json!([
        user("What is in logo.png?"),
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_01", "name": "Read",
             "input": {"file_path": "/repo/logo.png"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": PNG_B64}}]}]},
    ]));
    body["tools"] = json!([read]);
    let v = message(&p, &body).await;
    assert_eq!(v["content"][0]["text"], "A red square.");

    let sent = p.last_chat();
    let m = sent["messages"].as_array().unwrap();
    let roles: Vec<&str> = m.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "function", "user"], "{sent}");
    assert_eq!(m[1]["function_call"]["name"], "Read");
    assert_eq!(m[2]["name"], "Read");
    assert_eq!(
        serde_json::from_str::<Value>(m[2]["content"].as_str().unwrap()).unwrap(),
        json!({"result": "1 image, attached after the function results"})
    );
    assert!(m[2].get("attachments").is_none(), "{sent}");
    assert_eq!(m[3]["content"], "Image returned by Read:");
    let ids = m[3]["attachments"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{sent}");
    let id = ids[0].as_str().unwrap();
    // The PNG was uploaded to GigaChat, and the attachment is that file.
    let uploads: Vec<_> = p
        .ctl()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/files"))
        .collect();
    assert_eq!(uploads.len(), 1);
    let raw = String::from_utf8_lossy(&uploads[0].body).into_owned();
    assert!(raw.contains("Content-Type: image/png"), "{raw}");
    let (status, _, file) = json_of(p.get(&format!("/v1/files/{id}")).await).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["bytes"], 70, "{file}");

    // Streamed, the same history reaches GigaChat (the upload is reused).
    p.ctl().push_reply(Reply::text("A red square."));
    let events = stream_events(&p.at("/v1/messages"), &body).await;
    assert_eq!(block_text(&events, 0, "text"), "A red square.");
    assert_eq!(p.last_chat()["messages"], sent["messages"]);
    assert_eq!(p.ctl().upload_count(), 1);

    // An unsupported image is still a 400 naming the part, before GigaChat is asked.
    let chats = p.chat_bodies().len();
    body["messages"][2]["content"][0]["content"][0]["source"]["data"] =
        json!("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");
    body["messages"][2]["content"][0]["content"][0]["source"]["media_type"] = json!("image/gif");
    let (status, _, e) = json_of(p.post("/v1/messages", &body).await).await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["type"], "error");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("image/gif"),
        "{e}"
    );
    assert_eq!(p.chat_bodies().len(), chats);
}

#[tokio::test]
async fn system_blocks_and_system_messages_are_merged() {
    let p = TestProxy::start().await;
    let mut body = request(json!([
        {"role": "system", "content": "Third rule."},
        user("hi"),
    ]));
    body["system"] = json!([
        {"type": "text", "text": "First rule."},
        {"type": "text", "text": "Second rule.", "cache_control": {"type": "ephemeral"}},
    ]);
    message(&p, &body).await;
    let m = p.last_chat()["messages"].clone();
    assert_eq!(
        m,
        json!([
            {"role": "system", "content": "First rule.\n\nSecond rule.\n\nThird rule."},
            {"role": "user", "content": "hi"}
        ])
    );
}

#[tokio::test]
async fn stop_sequences_and_finish_reasons() {
    let p = TestProxy::start().await;
    p.ctl().push_replies([
        Reply::text("one two END three"),
        Reply::Blacklist,
        Reply::Length("cut".into()),
    ]);
    let mut body = request(json!([user("count")]));
    body["stop_sequences"] = json!(["END"]);
    let v = message(&p, &body).await;
    assert_eq!(v["content"][0]["text"], "one two ");
    assert_eq!(v["stop_reason"], "stop_sequence");
    assert_eq!(v["stop_sequence"], "END");
    assert!(p.last_chat().get("stop_sequences").is_none());

    let v = message(&p, &request(json!([user("bad")]))).await;
    assert_eq!(v["stop_reason"], "refusal");
    assert_eq!(v["content"][0]["text"], BLACKLIST_TEXT);

    let v = message(&p, &request(json!([user("long")]))).await;
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(p.chat_bodies().len(), 3);
}

#[tokio::test]
async fn server_tools_without_a_gigachat_equivalent_are_refused() {
    let p = TestProxy::start().await;
    let mut body = request(json!([user("run it")]));
    body["tools"] = json!([{"type": "code_execution_20250825", "name": "code_execution"}]);
    let (status, _, v) = json_of(p.post("/v1/messages", &body).await).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("code_execution_20250825"),
        "{v}"
    );
    assert!(p.chat_bodies().is_empty());
}

#[tokio::test]
async fn missing_max_tokens_is_400() {
    let p = TestProxy::start().await;
    let (status, _, v) = json_of(
        p.post(
            "/v1/messages",
            &json!({"model": "claude-x", "messages": [user("hi")]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens")
    );
    assert!(p.ctl().requests().is_empty());
}

// ---- errors ---------------------------------------------------------------------------------

#[tokio::test]
async fn upstream_errors_in_anthropics_envelope() {
    let p = TestProxy::start().await;
    for stream in [false, true] {
        let mut body = request(json!([user("hi")]));
        body["stream"] = json!(stream);

        p.ctl().inject_fault(
            Fault::status(429)
                .retry_after("3")
                .path_suffix("/chat/completions"),
        );
        let (status, headers, v) = json_of(p.post("/v1/messages", &body).await).await;
        assert_eq!(status, 429, "stream={stream}: {v}");
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "rate_limit_error");
        assert_eq!(headers["retry-after"], "3");
        assert_eq!(
            p.ctl().last_request("/chat/completions").unwrap().status,
            429
        );

        p.ctl()
            .inject_fault(Fault::status(503).path_suffix("/chat/completions"));
        let (status, _, v) = json_of(p.post("/v1/messages", &body).await).await;
        assert_eq!(status.as_u16(), 529, "stream={stream}: {v}");
        assert_eq!(v["error"]["type"], "overloaded_error");
        assert_eq!(
            p.ctl().last_request("/chat/completions").unwrap().status,
            503
        );

        // (Not `fail_next_401`: a stream also calls /tokens/count, which would eat one.)
        let before = p.chat_bodies().len();
        p.ctl()
            .inject_fault(Fault::status(401).times(2).path_suffix("/chat/completions"));
        let (status, _, v) = json_of(p.post("/v1/messages", &body).await).await;
        assert_eq!(status, 401, "stream={stream}: {v}");
        assert_eq!(v["error"]["type"], "authentication_error");
        assert_eq!(p.chat_bodies().len(), before + 2);
        let text = v.to_string();
        assert!(!text.contains("http://"), "{text}");
        assert!(!text.contains(&common::credentials()), "{text}");
    }
}

#[tokio::test]
async fn mid_stream_failure_is_an_error_event_then_the_end() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(3);
    p.ctl()
        .push_reply(Reply::text("a rather long answer that never finishes"));
    p.ctl().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Disconnect { after_chunks: 2 },
        1,
    )));
    let events = stream_events(&p.at("/v1/messages"), &request(json!([user("go")]))).await;
    let shape = event_shape(&events);
    assert_eq!(shape[0], "message_start");
    assert_eq!(shape.last().unwrap(), "error", "{shape:?}");
    assert!(!shape.iter().any(|s| s == "message_stop"), "{shape:?}");
    let err = &events.last().unwrap().1;
    assert_eq!(err["type"], "error");
    assert!(err["error"]["type"].is_string());
    assert!(!err.to_string().contains("http://"));
    assert!(!block_text(&events, 0, "text").is_empty());
    assert_eq!(p.last_chat()["stream"], true);
}

// ---- count_tokens, beta ---------------------------------------------------------------------

#[tokio::test]
async fn count_tokens_uses_gigachats_counter() {
    let p = TestProxy::start().await;
    let mut body = json!({"model": "claude-x", "system": "Be brief.",
                          "messages": [user("Hello, world!")]});
    body["tools"] = json!([weather_tool()]);
    let (status, _, v) = json_of(p.post("/v1/messages/count_tokens", &body).await).await;
    assert_eq!(status, 200, "{v}");
    let n = v["input_tokens"].as_u64().unwrap();

    let sent = bodies(p.ctl(), "/tokens/count");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["model"], "GigaChat");
    let inputs: Vec<&str> = sent[0]["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(inputs.contains(&"Be brief."), "{inputs:?}");
    assert!(inputs.contains(&"Hello, world!"), "{inputs:?}");
    assert!(
        inputs.iter().any(|t| t.contains("get_weather")),
        "{inputs:?}"
    );
    let want: u64 = inputs.iter().map(|t| count_tokens(t)).sum();
    assert_eq!(n, want);
    assert!(n >= count_tokens("Be brief.") + count_tokens("Hello, world!"));
    // Counting is not chatting.
    assert!(p.chat_bodies().is_empty());
}

#[tokio::test]
async fn counted_texts_are_remembered_and_only_new_ones_are_counted() {
    let p = TestProxy::start().await;
    let inputs = |i: usize| -> Vec<String> {
        bodies(p.ctl(), "/tokens/count")[i]["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    let count = |messages: Value| {
        let body = json!({"model": "claude-x", "messages": messages});
        let p = &p;
        async move {
            let (status, _, v) = json_of(p.post("/v1/messages/count_tokens", &body).await).await;
            assert_eq!(status, 200, "{v}");
            v["input_tokens"].as_u64().unwrap()
        }
    };
    let first = json!([user("Hello, world!")]);
    assert_eq!(count(first.clone()).await, count_tokens("Hello, world!"));
    assert_eq!(inputs(0), ["Hello, world!"]);

    // The next turn resends the conversation: GigaChat counts only the new texts, the
    // total is still the whole conversation's.
    let next = json!([user("Hello, world!"),
                      {"role": "assistant", "content": "Hi there"},
                      user("How are you today?")]);
    let want = ["Hello, world!", "Hi there", "How are you today?"]
        .iter()
        .map(|t| count_tokens(t))
        .sum::<u64>();
    assert_eq!(count(next.clone()).await, want);
    assert_eq!(inputs(1), ["Hi there", "How are you today?"]);

    // Everything known: no call at all, the same answer; a stream's message_start too.
    assert_eq!(count(next.clone()).await, want);
    p.ctl().push_reply(Reply::text("fine"));
    let events = stream_events(
        &p.at("/v1/messages"),
        &json!({"model": "claude-x", "max_tokens": 64, "stream": true, "messages": first}),
    )
    .await;
    assert_eq!(
        events[0].1["message"]["usage"]["input_tokens"],
        count_tokens("Hello, world!")
    );
    assert_eq!(bodies(p.ctl(), "/tokens/count").len(), 2);
}

#[tokio::test]
async fn count_tokens_failure_is_an_error_not_zero() {
    let p = TestProxy::start().await;
    p.ctl()
        .inject_fault(Fault::status(500).path_suffix("/tokens/count"));
    let body = json!({"model": "claude-x", "messages": [user("Hello")]});
    let (status, _, v) = json_of(p.post("/v1/messages/count_tokens", &body).await).await;
    assert_eq!(status, 502, "{v}");
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "api_error");
    assert!(v.get("input_tokens").is_none());
    assert_eq!(p.ctl().last_request("/tokens/count").unwrap().status, 500);

    p.ctl()
        .inject_fault(Fault::status(429).path_suffix("/tokens/count"));
    let (status, _, v) = json_of(p.post("/v1/messages/count_tokens", &body).await).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(v["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn beta_query_is_accepted() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("beta ok"));
    let (status, _, v) = json_of(
        p.post("/v1/messages?beta=true", &request(json!([user("hi")])))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["content"][0]["text"], "beta ok");
    let (status, _, v) = json_of(
        p.post(
            "/v1/messages/count_tokens?beta=true",
            &json!({"model": "claude-x", "messages": [user("hi")]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["input_tokens"], count_tokens("hi"));
    assert_eq!(p.chat_bodies().len(), 1);
    assert_eq!(bodies(p.ctl(), "/tokens/count").len(), 1);
}

#[tokio::test]
async fn stream_survives_a_failed_prompt_count() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("still answered"));
    p.ctl()
        .inject_fault(Fault::status(500).path_suffix("/tokens/count"));
    let events = stream_events(&p.at("/v1/messages"), &request(json!([user("hi")]))).await;
    assert_eq!(events[0].1["message"]["usage"]["input_tokens"], 0);
    assert_eq!(block_text(&events, 0, "text"), "still answered");
    let delta = &events[events.len() - 2].1;
    // The final usage is GigaChat's real one.
    assert!(delta["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(events.last().unwrap().0, "message_stop");
    assert_eq!(p.ctl().last_request("/tokens/count").unwrap().status, 500);
    assert_eq!(p.chat_bodies().len(), 1);
}

#[tokio::test]
async fn invalid_requests_use_anthropics_envelope() {
    let p = TestProxy::start().await;
    let r = http()
        .post(p.at("/v1/messages"))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");

    let (status, _, v) = json_of(
        p.post(
            "/v1/messages",
            &json!({"model": "claude-x", "max_tokens": 10, "messages": 5}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("messages"));

    // A tool result that answers no tool use.
    let (status, _, v) = json_of(
        p.post(
            "/v1/messages",
            &request(json!([{"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_x", "content": "r"}]}])),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["error"]["message"].as_str().unwrap().contains("toolu_x"));
    assert!(p.ctl().requests().is_empty());
}
