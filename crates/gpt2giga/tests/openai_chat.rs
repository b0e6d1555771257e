//! OpenAI Chat Completions through the proxy: what the client gets and what GigaChat
//! (the emulator) receives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestProxy, delta_text, http, json_of, openai_frames, openai_stream, text_of};
use gigachat_mock::{BLACKLIST_TEXT, Reply};
use serde_json::{Value, json};

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

fn chat(messages: Value) -> Value {
    json!({"model": "gpt-4o", "messages": messages})
}

fn streaming(mut body: Value) -> Value {
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    body
}

async fn completion(p: &TestProxy, body: &Value) -> Value {
    let (status, _, v) = json_of(p.post("/v1/chat/completions", body).await).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn stream(p: &TestProxy, body: &Value) -> Vec<Value> {
    openai_stream(p.post("/v1/chat/completions", body).await).await
}

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object",
                       "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}})
}

fn time_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}})
}

/// Finish reasons of the chunks that carry one.
fn finishes(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| f["choices"][0]["finish_reason"].as_str())
        .map(str::to_string)
        .collect()
}

// ---- basics ---------------------------------------------------------------------------------

#[tokio::test]
async fn non_stream_text_answer() {
    let p = TestProxy::start_with(&["--gigachat.model", "GigaChat-2-Pro"], &[]).await;
    p.ctl().push_reply(Reply::text("Hi there!"));
    let v = completion(&p, &chat(json!([user("Hello")]))).await;
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"), "{v}");
    assert_eq!(v["model"], "gpt-4o");
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Hi there!");
    assert_eq!(choice["finish_reason"], "stop");
    assert!(choice["message"].get("tool_calls").is_none());
    let u = &v["usage"];
    assert!(u["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(u["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        u["total_tokens"].as_u64().unwrap(),
        u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap()
    );

    let sent = p.last_chat();
    assert_eq!(sent["model"], "GigaChat-2-Pro");
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": "Hello"}])
    );
    assert_ne!(sent["stream"], true);
    assert_eq!(p.chat_bodies().len(), 1);
}

#[tokio::test]
async fn system_and_developer_messages_are_merged_first() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("ok"));
    let body = chat(json!([
        {"role": "system", "content": "Be brief."},
        user("first"),
        {"role": "assistant", "content": "noted"},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
        user("second"),
    ]));
    completion(&p, &body).await;
    let sent = p.last_chat();
    assert_eq!(sent["model"], "GigaChat");
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4, "{sent}");
    assert_eq!(msgs[0]["role"], "system");
    assert_eq!(msgs[0]["content"], "Be brief.\n\nAnswer in English.");
    assert_eq!(msgs[1], json!({"role": "user", "content": "first"}));
    assert_eq!(msgs[2]["role"], "assistant");
    assert_eq!(msgs[2]["content"], "noted");
    assert_eq!(msgs[3], json!({"role": "user", "content": "second"}));
}

#[tokio::test]
async fn stream_with_usage() {
    let p = TestProxy::start().await;
    let text = "Hello streaming world, in pieces.";
    p.ctl().push_reply(Reply::text(text));
    p.ctl().set_chunk_size(5);
    let frames = stream(&p, &streaming(chat(json!([user("go")])))).await;
    let chunks = &frames[..frames.len() - 1];
    assert!(chunks.len() >= 4, "{frames:?}");
    // Role in the first chunk only.
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks[1..]
            .iter()
            .all(|c| c["choices"][0]["delta"].get("role").is_none())
    );
    for c in chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["id"], chunks[0]["id"]);
        assert_eq!(c["model"], "gpt-4o");
    }
    assert!(chunks[0]["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(delta_text(&frames, "content"), text);
    assert_eq!(finishes(&frames), vec!["stop"]);
    // The finish chunk comes before the usage chunk, which has no choices.
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    let u = &usage["usage"];
    assert!(u["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        u["total_tokens"].as_u64().unwrap(),
        u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
    // Only the usage chunk carries usage.
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c.get("usage").is_none_or(Value::is_null))
    );

    let sent = p.last_chat();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["model"], "GigaChat");
}

#[tokio::test]
async fn stream_without_include_usage_has_no_usage_chunk() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("short"));
    let body = json!({"model": "gpt-4o", "stream": true, "messages": [user("x")]});
    let frames = stream(&p, &body).await;
    assert!(
        frames[..frames.len() - 1]
            .iter()
            .all(|c| c["choices"].as_array().is_some_and(|a| a.len() == 1))
    );
    assert_eq!(delta_text(&frames, "content"), "short");
}

#[tokio::test]
async fn pass_model_sends_the_clients_model() {
    let p = TestProxy::start_with(&["--proxy.pass-model", "true"], &[]).await;
    p.ctl().push_reply(Reply::text("max speaking"));
    let mut body = chat(json!([user("hi")]));
    body["model"] = json!("GigaChat-2-Max");
    let v = completion(&p, &body).await;
    assert_eq!(v["model"], "GigaChat-2-Max");
    assert_eq!(v["choices"][0]["message"]["content"], "max speaking");
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Max");
}

// ---- tools ----------------------------------------------------------------------------------

#[tokio::test]
async fn tool_call_non_stream() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::function_call(
        "get_weather",
        json!({"city": "Kazan"}),
    ));
    let mut body = chat(json!([user("weather in Kazan?")]));
    body["tools"] = json!([weather_tool()]);
    let v = completion(&p, &body).await;
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let calls = choice["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["type"], "function");
    assert!(calls[0]["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args = calls[0]["function"]["arguments"]
        .as_str()
        .expect("string arguments");
    assert_eq!(
        serde_json::from_str::<Value>(args).unwrap(),
        json!({"city": "Kazan"})
    );

    let sent = p.last_chat();
    let f = &sent["functions"][0];
    assert_eq!(f["name"], "get_weather");
    assert_eq!(f["description"], "Current weather in a city");
    assert_eq!(f["parameters"]["properties"]["city"]["type"], "string");
    assert_eq!(sent["function_call"], "auto");
    assert!(sent.get("tools").is_none());
}

#[tokio::test]
async fn tool_call_stream() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::function_call(
        "get_weather",
        json!({"city": "Kazan"}),
    ));
    let mut body = streaming(chat(json!([user("weather in Kazan?")])));
    body["tools"] = json!([weather_tool()]);
    let frames = stream(&p, &body).await;
    assert_eq!(frames[0]["choices"][0]["delta"]["role"], "assistant");
    let calls: Vec<&Value> = frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(calls.len(), 1, "{frames:?}");
    let c = &calls[0][0];
    assert_eq!(c["index"], 0);
    assert_eq!(c["type"], "function");
    assert!(c["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(c["function"]["name"], "get_weather");
    let args = c["function"]["arguments"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(args).unwrap(),
        json!({"city": "Kazan"})
    );
    assert_eq!(finishes(&frames), vec!["tool_calls"]);
    assert_eq!(delta_text(&frames, "content"), "");
    assert_eq!(p.last_chat()["functions"][0]["name"], "get_weather");
}

#[tokio::test]
async fn parallel_tool_calls_in_history_pair_by_id() {
    // Results in reverse order, named by id — or only by function name, as Qwen-Agent
    // sends them: both reach GigaChat paired with their calls.
    let by_id = [
        json!({"role": "tool", "tool_call_id": "call_t", "content": "12:00"}),
        json!({"role": "tool", "tool_call_id": "call_w", "content": "{\"temp\":5}"}),
    ];
    let by_name = [
        json!({"role": "tool", "name": "get_time", "content": "12:00"}),
        json!({"role": "tool", "name": "get_weather", "content": "{\"temp\":5}"}),
    ];
    for results in [by_id, by_name] {
        let p = TestProxy::start().await;
        p.ctl().push_reply(Reply::text("It is 5 degrees at noon."));
        let mut body = chat(json!([
            user("weather and time?"),
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_w", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Moscow\"}"}},
                {"id": "call_t", "type": "function",
                 "function": {"name": "get_time", "arguments": "{\"tz\":\"UTC\"}"}}]},
            results[0].clone(),
            results[1].clone(),
        ]));
        body["tools"] = json!([weather_tool(), time_tool()]);
        let v = completion(&p, &body).await;
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "It is 5 degrees at noon."
        );

        let sent = p.last_chat();
        let msgs = sent["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 5, "{sent}");
        assert_eq!(
            msgs[0],
            json!({"role": "user", "content": "weather and time?"})
        );

        assert_eq!(msgs[1]["role"], "assistant");
        assert_eq!(msgs[1]["function_call"]["name"], "get_weather");
        assert_eq!(
            msgs[1]["function_call"]["arguments"],
            json!({"city": "Moscow"})
        );
        assert_eq!(msgs[2]["role"], "function");
        assert_eq!(msgs[2]["name"], "get_weather");
        let c: Value = serde_json::from_str(msgs[2]["content"].as_str().unwrap()).unwrap();
        assert_eq!(c, json!({"temp": 5}));

        assert_eq!(msgs[3]["role"], "assistant");
        assert_eq!(msgs[3]["function_call"]["name"], "get_time");
        assert_eq!(msgs[3]["function_call"]["arguments"], json!({"tz": "UTC"}));
        assert_eq!(msgs[4]["role"], "function");
        assert_eq!(msgs[4]["name"], "get_time");
        let c: Value = serde_json::from_str(msgs[4]["content"].as_str().unwrap()).unwrap();
        assert_eq!(c, json!({"result": "12:00"}));
    }
}

/// A 1×1 PNG as a `data:` URL.
const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Tool messages with `image_url` parts (Zed's `images` capability, OpenHands with
/// vision): each result stays its function message (text as before), and the images
/// follow the turn's results in user messages, one image each, labelled.
#[tokio::test]
async fn tool_message_images_follow_the_function_results() {
    let p = TestProxy::start().await;
    p.ctl()
        .push_reply(Reply::text("Two screenshots and a file."));
    let tools = json!([
        {"type": "function", "function": {"name": "read_file",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "screenshot",
            "parameters": {"type": "object", "properties": {}}}},
    ]);
    let mut body = chat(json!([
        user("Look at the app."),
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}},
            {"id": "call_b", "type": "function",
             "function": {"name": "screenshot", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_b", "content": [
            {"type": "text", "text": "window"},
            {"type": "image_url", "image_url": {"url": PNG}},
            {"type": "image_url", "image_url": {"url": PNG, "detail": "high"}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "hello"},
        user("What do you see?"),
    ]));
    body["tools"] = tools;
    let v = completion(&p, &body).await;
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Two screenshots and a file."
    );

    let sent = p.last_chat();
    let m = sent["messages"].as_array().unwrap();
    let shape: Vec<(&str, &str)> = m
        .iter()
        .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(
        shape,
        [
            ("user", "Look at the app."),
            ("assistant", ""),
            ("function", r#"{"result":"hello"}"#),
            ("assistant", ""),
            ("function", r#"{"result":"window"}"#),
            ("user", "Image 1 of 2 returned by screenshot (call 2 of 2):"),
            ("user", "Image 2 of 2 returned by screenshot (call 2 of 2):"),
            ("user", "What do you see?"),
        ],
        "{sent}"
    );
    assert_eq!(m[2]["name"], "read_file");
    assert_eq!(m[4]["name"], "screenshot");
    let (a, b) = (&m[5]["attachments"], &m[6]["attachments"]);
    assert_eq!(a.as_array().unwrap().len(), 1, "{sent}");
    // The same bytes are uploaded once and attached twice.
    assert_eq!(a, b);
    assert_eq!(p.ctl().upload_count(), 1);
    assert!(m[7].get("attachments").is_none(), "{sent}");
}

#[tokio::test]
async fn tool_result_without_id_is_400_when_ambiguous() {
    // Two open calls of that name: 400 naming the message, GigaChat not called.
    let p = TestProxy::start().await;
    let mut body = chat(json!([
        user("two cities?"),
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "a", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Moscow\"}"}},
            {"id": "b", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Omsk\"}"}}]},
        {"role": "tool", "name": "get_weather", "content": "5"},
    ]));
    body["tools"] = json!([weather_tool()]);
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "messages[2].tool_call_id");
    assert!(p.chat_bodies().is_empty());
}

#[tokio::test]
async fn unanswered_tool_call_is_400() {
    let p = TestProxy::start().await;
    let body = chat(json!([
        user("weather?"),
        {"role": "assistant", "tool_calls": [
            {"id": "call_w", "type": "function",
             "function": {"name": "get_weather", "arguments": "{}"}}]},
        user("well?"),
    ]));
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(p.chat_bodies().is_empty());
}

#[tokio::test]
async fn reserved_tool_name_is_aliased_upstream_and_mapped_back() {
    let p = TestProxy::start().await;
    let tool = json!({"type": "function", "function": {
        "name": "web_search",
        "parameters": {"type": "object",
                       "properties": {"query": {"type": "string"}},
                       "required": ["query"]}}});
    // Forced call: the emulator calls the (aliased) function with generated arguments.
    let mut body = chat(json!([user("search the web for rust")]));
    body["tools"] = json!([tool]);
    body["tool_choice"] = json!({"type": "function", "function": {"name": "web_search"}});
    let v = completion(&p, &body).await;
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "web_search", "{v}");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!(args["query"].is_string(), "{args}");

    let sent = p.last_chat();
    let alias = sent["functions"][0]["name"].as_str().unwrap().to_string();
    assert_ne!(alias, "web_search");
    assert_eq!(sent["function_call"], json!({"name": alias}));

    // The call and its result in history travel under the same alias.
    p.ctl().push_reply(Reply::text("Rust is a language."));
    let id = call["id"].as_str().unwrap();
    let mut body2 = chat(json!([
        user("search the web for rust"),
        {"role": "assistant", "content": null, "tool_calls": [call.clone()]},
        {"role": "tool", "tool_call_id": id, "content": "{\"hits\":3}"},
    ]));
    body2["tools"] = json!([tool]);
    let v2 = completion(&p, &body2).await;
    assert_eq!(
        v2["choices"][0]["message"]["content"],
        "Rust is a language."
    );
    let sent = p.last_chat();
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(msgs[1]["function_call"]["name"], alias.as_str());
    assert_eq!(msgs[2]["role"], "function");
    assert_eq!(msgs[2]["name"], alias.as_str());
    assert_eq!(sent["functions"][0]["name"], alias.as_str());
}

// ---- reasoning, finish reasons ---------------------------------------------------------------

#[tokio::test]
async fn reasoning_non_stream_and_stream() {
    let p = TestProxy::start().await;
    p.ctl().push_replies([
        Reply::reasoning("Six times seven.", "42"),
        Reply::reasoning("Six times seven.", "42"),
    ]);
    let mut body = chat(json!([user("6*7?")]));
    body["reasoning_effort"] = json!("minimal");
    let v = completion(&p, &body).await;
    let m = &v["choices"][0]["message"];
    assert_eq!(m["reasoning_content"], "Six times seven.");
    assert_eq!(m["content"], "42");
    assert_eq!(p.last_chat()["reasoning_effort"], "low");

    p.ctl().set_chunk_size(4);
    body["reasoning_effort"] = json!("xhigh");
    let frames = stream(&p, &streaming(body)).await;
    assert_eq!(delta_text(&frames, "reasoning_content"), "Six times seven.");
    assert_eq!(delta_text(&frames, "content"), "42");
    // Reasoning comes first and the role rides on the very first chunk.
    assert_eq!(frames[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(frames[0]["choices"][0]["delta"]["reasoning_content"].is_string());
    assert_eq!(p.last_chat()["reasoning_effort"], "high");
}

#[tokio::test]
async fn blacklist_is_content_filter() {
    let p = TestProxy::start().await;
    p.ctl().push_replies([Reply::Blacklist, Reply::Blacklist]);
    let v = completion(&p, &chat(json!([user("bad")]))).await;
    assert_eq!(v["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(v["choices"][0]["message"]["content"], BLACKLIST_TEXT);
    let frames = stream(&p, &streaming(chat(json!([user("bad")])))).await;
    assert_eq!(finishes(&frames), vec!["content_filter"]);
    assert_eq!(delta_text(&frames, "content"), BLACKLIST_TEXT);
    assert_eq!(p.chat_bodies().len(), 2);
}

#[tokio::test]
async fn length_finish_and_max_tokens() {
    let p = TestProxy::start().await;
    p.ctl().push_replies([
        Reply::Length("Truncated answ".into()),
        Reply::Length("Truncated answ".into()),
    ]);
    let mut body = chat(json!([user("long story")]));
    body["max_completion_tokens"] = json!(50);
    let v = completion(&p, &body).await;
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["choices"][0]["message"]["content"], "Truncated answ");
    assert_eq!(p.last_chat()["max_tokens"], 50);

    let mut body = streaming(chat(json!([user("long story")])));
    body["max_tokens"] = json!(60);
    let frames = stream(&p, &body).await;
    assert_eq!(finishes(&frames), vec!["length"]);
    assert_eq!(p.last_chat()["max_tokens"], 60);
}

#[tokio::test]
async fn stop_sequences_non_stream() {
    let p = TestProxy::start().await;
    p.ctl()
        .push_reply(Reply::text("alpha beta STOP gamma delta"));
    let mut body = chat(json!([user("x")]));
    body["stop"] = json!(["STOP", "never"]);
    let v = completion(&p, &body).await;
    assert_eq!(v["choices"][0]["message"]["content"], "alpha beta ");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    // GigaChat has no stop parameter: the proxy enforces it.
    assert!(p.last_chat().get("stop").is_none());
}

#[tokio::test]
async fn stop_sequences_across_chunk_boundaries() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(2);
    p.ctl()
        .push_reply(Reply::text("alpha beta STOP gamma delta"));
    let mut body = streaming(chat(json!([user("x")])));
    body["stop"] = json!("STOP");
    let frames = stream(&p, &body).await;
    assert_eq!(delta_text(&frames, "content"), "alpha beta ");
    assert_eq!(finishes(&frames), vec!["stop"]);
    // Usage chunk still arrives.
    assert_eq!(frames[frames.len() - 2]["choices"], json!([]));
    assert!(p.last_chat().get("stop").is_none());
}

#[tokio::test]
async fn temperature_zero_becomes_top_p_zero() {
    let p = TestProxy::start().await;
    let mut body = chat(json!([user("x")]));
    body["temperature"] = json!(0);
    completion(&p, &body).await;
    let sent = p.last_chat();
    assert_eq!(sent["top_p"], 0.0);
    assert!(sent.get("temperature").is_none(), "{sent}");

    body["temperature"] = json!(0.7);
    body["top_p"] = json!(0.9);
    completion(&p, &body).await;
    let sent = p.last_chat();
    assert_eq!(sent["temperature"], 0.7);
    assert_eq!(sent["top_p"], 0.9);
}

#[tokio::test]
async fn json_schema_response_format_is_native() {
    let p = TestProxy::start().await;
    let schema = json!({"type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"], "additionalProperties": false});
    let mut body = chat(json!([user("a person")]));
    body["response_format"] = json!({"type": "json_schema",
        "json_schema": {"name": "person", "schema": schema, "strict": true}});
    let v = completion(&p, &body).await;
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(content)
        .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {content}"));
    assert!(parsed["name"].is_string(), "{parsed}");
    assert!(parsed["age"].is_i64(), "{parsed}");

    let sent = p.last_chat();
    let rf = &sent["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["strict"], true);
    assert_eq!(rf["schema"]["properties"]["name"]["type"], "string");
    assert!(sent.get("functions").is_none());
}

#[tokio::test]
async fn json_object_is_native_structured_output() {
    let p = TestProxy::start().await;
    let mut body = chat(json!([user("a person")]));
    body["response_format"] = json!({"type": "json_object"});
    let v = completion(&p, &body).await;
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(content)
        .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {content}"));
    assert!(parsed.is_object(), "{parsed}");
    let sent = p.last_chat();
    assert_eq!(
        sent["response_format"],
        json!({"type": "json_schema", "schema": {"type": "object"}, "strict": false})
    );
    // The instruction is only the function-mode fallback.
    assert!(
        !sent.to_string().contains("valid JSON object only"),
        "{sent}"
    );
}

#[tokio::test]
async fn json_object_in_function_mode_keeps_the_instruction() {
    let p = TestProxy::start_with(&["--proxy.structured-output", "function"], &[]).await;
    p.ctl().push_reply(Reply::text("{\"a\":1}"));
    let mut body = chat(json!([user("x")]));
    body["response_format"] = json!({"type": "json_object"});
    let v = completion(&p, &body).await;
    assert_eq!(v["choices"][0]["message"]["content"], "{\"a\":1}");
    let sent = p.last_chat();
    assert!(sent.get("response_format").is_none(), "{sent}");
    assert!(
        sent.to_string().contains("valid JSON object only"),
        "{sent}"
    );
}

#[tokio::test]
async fn json_object_answer_in_a_code_fence_is_unwrapped() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("```json\n{\"a\":1}\n```"));
    let mut body = chat(json!([user("x")]));
    body["response_format"] = json!({"type": "json_object"});
    let v = completion(&p, &body).await;
    assert_eq!(v["choices"][0]["message"]["content"], "{\"a\":1}");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");

    // The Responses API's text.format json_object takes the same path.
    p.ctl().push_reply(Reply::text("```json\n{\"b\":2}\n```"));
    let (status, _, v) = json_of(
        p.post(
            "/v1/responses",
            &json!({"model": "gpt-4o", "input": "x", "text": {"format": {"type": "json_object"}}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["output"][0]["content"][0]["text"], "{\"b\":2}", "{v}");
}

#[tokio::test]
async fn json_object_answer_that_is_not_json_is_a_502() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("Sure! The answer is 42."));
    let mut body = chat(json!([user("x")]));
    body["response_format"] = json!({"type": "json_object"});
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 502, "{v}");
    assert_eq!(v["error"]["type"], "server_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not return valid JSON"),
        "{v}"
    );

    // Streams pass through as they come.
    p.ctl().push_reply(Reply::text("```json\n{\"a\":1}\n```"));
    body["stream"] = json!(true);
    let (status, _, text) = text_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        delta_text(&openai_frames(&text), "content"),
        "```json\n{\"a\":1}\n```"
    );
}

// ---- refusals -------------------------------------------------------------------------------

#[tokio::test]
async fn n_greater_than_one_is_400_naming_n() {
    let p = TestProxy::start().await;
    let mut body = chat(json!([user("x")]));
    body["n"] = json!(2);
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["param"], "n");
    assert!(v["error"]["message"].as_str().unwrap().contains('n'));
    assert!(p.chat_bodies().is_empty());
}

#[tokio::test]
async fn malformed_json_is_400() {
    let p = TestProxy::start().await;
    let r = http()
        .post(p.at("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body("{\"model\": \"gpt-4o\", \"messages\": [")
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(p.ctl().requests().is_empty());
}

#[tokio::test]
async fn wrong_field_type_is_400_naming_the_field() {
    let p = TestProxy::start().await;
    let (status, _, v) = json_of(
        p.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "messages": 5}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "messages", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("messages"),
        "{v}"
    );

    let (status, _, v) = json_of(
        p.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": 7}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["param"]
            .as_str()
            .unwrap_or("")
            .starts_with("messages[0]"),
        "{v}"
    );
    assert!(p.ctl().requests().is_empty());
}

#[tokio::test]
async fn client_disconnect_cancels_the_upstream_stream() {
    use futures::StreamExt;
    use std::time::{Duration, Instant};
    let p = TestProxy::start().await;
    // One request in flight per token, and a stream that would take ~100 s to finish.
    p.ctl().set_concurrency_limit(Some(1));
    p.ctl().set_chunk_size(1);
    p.ctl().set_chunk_delay(Duration::from_millis(100));
    p.ctl().push_reply(Reply::text("x".repeat(1000)));
    let resp = p
        .post(
            "/v1/chat/completions",
            &streaming(chat(json!([user("long")]))),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("data:"));
    drop(body);

    // While the first stream held the emulator's only slot, a second request would be
    // refused with 429; it succeeds as soon as the proxy has hung up on GigaChat.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, v) = json_of(
            p.post("/v1/chat/completions", &chat(json!([user("next")])))
                .await,
        )
        .await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 429, "{v}");
        assert!(
            Instant::now() < deadline,
            "the upstream stream was not cancelled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
