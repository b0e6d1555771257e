//! Every dialect over GigaChat's v2 chat contract (`--proxy.gigachat-api-mode v2`, or an
//! alias's `api_mode`): text, streams, several function calls in one turn and their
//! results sent back in one message, reasoning, structured output, cached tokens — what
//! the client got and what the emulator received at `/v2/chat/completions`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestProxy, anthropic_events, delta_text, json_of, openai_frames, text_of};
use gigachat_mock::{Reply, ScriptedCall};
use serde_json::{Value, json};

const V2_PATH: &str = "/v2/chat/completions";

async fn v2_proxy() -> TestProxy {
    TestProxy::start_with(&["--proxy.gigachat-api-mode", "v2"], &[]).await
}

/// Bodies of the v2 chat requests the emulator received (and none on v1).
fn v2_bodies(p: &TestProxy) -> Vec<Value> {
    let all = p.ctl().requests();
    assert!(
        all.iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .all(|r| r.path.ends_with(V2_PATH)),
        "a chat request went to v1: {:?}",
        all.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    all.into_iter()
        .filter(|r| r.path.ends_with(V2_PATH))
        .map(|r| r.json().unwrap())
        .collect()
}

fn last_v2(p: &TestProxy) -> Value {
    v2_bodies(p).pop().expect("no v2 chat request")
}

fn two_calls() -> Reply {
    Reply::FunctionCalls(vec![
        ScriptedCall {
            name: "get_weather".into(),
            arguments: json!({"city": "Kazan"}),
        },
        ScriptedCall {
            name: "get_time".into(),
            arguments: json!({"tz": "Europe/Moscow"}),
        },
    ])
}

/// The assistant message with both calls and the one tool message with both results, as
/// GigaChat must have received them.
fn assert_round_trip_sent(sent: &Value) {
    let msgs = sent["messages"].as_array().unwrap();
    let n = msgs.len();
    let assistant = &msgs[n - 2];
    assert_eq!(assistant["role"], "assistant", "{sent}");
    let calls: Vec<&Value> = assistant["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.get("function_call"))
        .collect();
    assert_eq!(calls.len(), 2, "{sent}");
    assert_eq!(calls[0]["name"], "get_weather");
    assert_eq!(calls[0]["arguments"], json!({"city": "Kazan"}));
    assert_eq!(calls[1]["name"], "get_time");
    let tool = &msgs[n - 1];
    assert_eq!(tool["role"], "tool", "{sent}");
    let results = tool["content"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{sent}");
    assert_eq!(results[0]["function_result"]["name"], "get_weather");
    assert_eq!(results[0]["function_result"]["result"], json!({"t": 27}));
    assert_eq!(results[1]["function_result"]["name"], "get_time");
    assert_eq!(
        results[1]["function_result"]["result"],
        json!({"result": "12:00"})
    );
}

// ---- OpenAI Chat Completions ---------------------------------------------------------------

fn chat_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "get_time",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}
    ])
}

async fn completion(p: &TestProxy, body: &Value) -> Value {
    let (status, _, v) = json_of(p.post("/v1/chat/completions", body).await).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn chat_stream(p: &TestProxy, body: &Value) -> Vec<Value> {
    let mut body = body.clone();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, _, text) = text_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 200, "{text}");
    openai_frames(&text)
}

#[tokio::test]
async fn chat_completions_text_stream_and_options_over_v2() {
    let p = v2_proxy().await;
    p.ctl().set_precached_tokens(3);
    let body = json!({"model": "gpt-4o", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello there"}],
        "temperature": 0.5, "top_p": 0.9, "max_tokens": 100});
    let v = completion(&p, &body).await;
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("You said: Hello there"), "{v}");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
    let sent = last_v2(&p);
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "system", "content": [{"text": "Be brief."}]},
            {"role": "user", "content": [{"text": "Hello there"}]}
        ])
    );
    assert_eq!(
        sent["model_options"],
        json!({"temperature": 0.5, "top_p": 0.9, "max_tokens": 100})
    );

    p.ctl().set_chunk_size(5);
    let frames = chat_stream(&p, &body).await;
    assert_eq!(frames.last().unwrap(), "[DONE]");
    assert_eq!(delta_text(&frames, "content"), text);
    let usage = frames
        .iter()
        .find(|f| f["usage"].is_object())
        .expect("a usage chunk");
    assert_eq!(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
    assert_eq!(last_v2(&p)["stream"], true);
}

#[tokio::test]
async fn chat_completions_parallel_calls_and_results_in_one_message() {
    let p = v2_proxy().await;
    p.ctl().push_reply(two_calls());
    let mut body = json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "weather and time?"}], "tools": chat_tools()});
    let v = completion(&p, &body).await;
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let calls = v["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(calls.len(), 2, "{v}");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert_eq!(calls[1]["function"]["name"], "get_time");
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    let sent = last_v2(&p);
    assert_eq!(sent["tool_config"], json!({"mode": "auto"}));
    assert_eq!(
        sent["tools"][0]["functions"]["specifications"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Results come back in the other order: matched by id.
    let msgs = body["messages"].as_array_mut().unwrap();
    msgs.push(v["choices"][0]["message"].clone());
    msgs.push(json!({"role": "tool", "tool_call_id": calls[1]["id"], "content": "12:00"}));
    msgs.push(json!({"role": "tool", "tool_call_id": calls[0]["id"], "content": "{\"t\":27}"}));
    let v = completion(&p, &body).await;
    assert!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("returned"),
        "{v}"
    );
    assert_round_trip_sent(&last_v2(&p));

    // Streamed: both calls arrive, each with its own index.
    p.ctl().push_reply(two_calls());
    body["messages"] = json!([{"role": "user", "content": "weather and time?"}]);
    body["tool_choice"] = json!({"type": "function", "function": {"name": "get_time"}});
    let frames = chat_stream(&p, &body).await;
    let streamed: Vec<&Value> = frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .collect();
    assert_eq!(streamed.len(), 2, "{frames:?}");
    assert_eq!(streamed[0]["index"], 0);
    assert_eq!(streamed[1]["index"], 1);
    assert_eq!(
        last_v2(&p)["tool_config"],
        json!({"mode": "forced", "function_name": "get_time"})
    );
}

#[tokio::test]
async fn chat_completions_reasoning_and_structured_output_over_v2() {
    let p = v2_proxy().await;
    p.ctl().push_replies([
        Reply::reasoning("Six times seven.", "42"),
        Reply::reasoning("Six times seven.", "42"),
    ]);
    let mut body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "6*7?"}],
        "reasoning_effort": "medium"});
    let v = completion(&p, &body).await;
    assert_eq!(
        v["choices"][0]["message"]["reasoning_content"],
        "Six times seven."
    );
    assert_eq!(v["choices"][0]["message"]["content"], "42");
    assert_eq!(
        last_v2(&p)["model_options"]["reasoning"],
        json!({"effort": "medium"})
    );
    let frames = chat_stream(&p, &body).await;
    assert_eq!(delta_text(&frames, "reasoning_content"), "Six times seven.");
    assert_eq!(delta_text(&frames, "content"), "42");

    body["reasoning_effort"] = json!(null);
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "answer",
        "strict": true, "schema": {"type": "object", "properties": {"n": {"type": "integer"}},
        "required": ["n"]}}});
    let v = completion(&p, &body).await;
    let parsed: Value =
        serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert!(parsed["n"].is_i64(), "{v}");
    let rf = &last_v2(&p)["model_options"]["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["strict"], true);
    assert_eq!(rf["schema"]["properties"]["n"]["type"], "integer");
}

#[tokio::test]
async fn alias_api_mode_picks_the_contract_per_model() {
    let aliases = r#"{"new-*": {"model": "GigaChat-2-Max", "api_mode": "v2"}, "old": {"model": "GigaChat-2", "api_mode": "v1"}}"#;
    let p = TestProxy::start_with(&["--proxy.model-aliases", aliases], &[]).await;
    let body = |m: &str| json!({"model": m, "messages": [{"role": "user", "content": "hi"}]});
    completion(&p, &body("new-model")).await;
    let r = p.ctl().last_request("/chat/completions").unwrap();
    assert!(r.path.ends_with(V2_PATH), "{}", r.path);
    completion(&p, &body("old")).await;
    let r = p.ctl().last_request("/chat/completions").unwrap();
    assert!(!r.path.ends_with(V2_PATH), "{}", r.path);
    completion(&p, &body("gpt-4o")).await;
    let r = p.ctl().last_request("/chat/completions").unwrap();
    assert!(!r.path.ends_with(V2_PATH), "default v1: {}", r.path);

    // And the reverse: v2 by default, v1 for one alias.
    let p = TestProxy::start_with(
        &[
            "--proxy.model-aliases",
            aliases,
            "--proxy.gigachat-api-mode",
            "v2",
        ],
        &[],
    )
    .await;
    completion(&p, &body("old")).await;
    let r = p.ctl().last_request("/chat/completions").unwrap();
    assert!(!r.path.ends_with(V2_PATH), "{}", r.path);
    completion(&p, &body("gpt-4o")).await;
    let r = p.ctl().last_request("/chat/completions").unwrap();
    assert!(r.path.ends_with(V2_PATH), "{}", r.path);
}

// ---- OpenAI Responses ----------------------------------------------------------------------

async fn responses(p: &TestProxy, body: &Value) -> Value {
    let (status, _, v) = json_of(p.post("/v1/responses", body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "completed", "{v}");
    v
}

async fn responses_stream(p: &TestProxy, body: &Value) -> Vec<(String, Value)> {
    let mut body = body.clone();
    body["stream"] = json!(true);
    let (status, _, text) = text_of(p.post("/v1/responses", &body).await).await;
    assert_eq!(status, 200, "{text}");
    anthropic_events(&text)
}

fn responses_tools() -> Value {
    json!([
        {"type": "function", "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
        {"type": "function", "name": "get_time",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}
    ])
}

#[tokio::test]
async fn responses_text_stream_calls_reasoning_and_structured_output_over_v2() {
    let p = v2_proxy().await;
    p.ctl().set_precached_tokens(2);
    let v = responses(
        &p,
        &json!({"model": "gpt-4o", "input": "Hello", "store": false}),
    )
    .await;
    assert_eq!(v["output"][0]["type"], "message");
    let text = v["output"][0]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("You said: Hello"), "{v}");
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 2);
    assert_eq!(
        last_v2(&p)["messages"],
        json!([{"role": "user", "content": [{"text": "Hello"}]}])
    );

    let events = responses_stream(
        &p,
        &json!({"model": "gpt-4o", "input": "Hello", "store": false}),
    )
    .await;
    let streamed: String = events
        .iter()
        .filter(|(e, _)| e == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, text);
    assert_eq!(events.last().unwrap().0, "response.completed");

    // Two calls in one answer, then both outputs in one request.
    p.ctl().push_reply(two_calls());
    let body = json!({"model": "gpt-4o", "input": "weather and time?", "tools": responses_tools(),
        "store": false});
    let v = responses(&p, &body).await;
    let calls: Vec<Value> = v["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "function_call")
        .cloned()
        .collect();
    assert_eq!(calls.len(), 2, "{v}");
    let mut input = vec![json!({"role": "user", "content": "weather and time?"})];
    input.extend(calls.iter().cloned());
    input.push(json!({"type": "function_call_output", "call_id": calls[0]["call_id"], "output": "{\"t\":27}"}));
    input.push(
        json!({"type": "function_call_output", "call_id": calls[1]["call_id"], "output": "12:00"}),
    );
    responses(
        &p,
        &json!({"model": "gpt-4o", "input": input, "tools": responses_tools(), "store": false}),
    )
    .await;
    assert_round_trip_sent(&last_v2(&p));

    // Reasoning → a reasoning item; effort → model_options.reasoning.
    p.ctl()
        .push_reply(Reply::reasoning("Six times seven.", "42"));
    let v = responses(
        &p,
        &json!({"model": "gpt-4o", "input": "6*7?", "reasoning": {"effort": "high", "summary": "auto"}, "store": false}),
    )
    .await;
    assert_eq!(v["output"][0]["type"], "reasoning", "{v}");
    assert_eq!(v["output"][0]["summary"][0]["text"], "Six times seven.");
    assert_eq!(
        last_v2(&p)["model_options"]["reasoning"],
        json!({"effort": "high"})
    );

    // Structured output.
    let v = responses(
        &p,
        &json!({"model": "gpt-4o", "input": "n?", "store": false, "text": {"format": {
            "type": "json_schema", "name": "answer", "strict": true,
            "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}}),
    )
    .await;
    let parsed: Value =
        serde_json::from_str(v["output"][0]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert!(parsed["n"].is_i64(), "{v}");
    assert_eq!(
        last_v2(&p)["model_options"]["response_format"]["strict"],
        true
    );
}

// ---- Anthropic Messages --------------------------------------------------------------------

fn anthropic_tools() -> Value {
    json!([
        {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
        {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}}
    ])
}

async fn message(p: &TestProxy, body: &Value) -> Value {
    let (status, _, v) = json_of(p.post("/v1/messages", body).await).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn message_stream(p: &TestProxy, body: &Value) -> Vec<(String, Value)> {
    p.events("/v1/messages", body).await
}

#[tokio::test]
async fn anthropic_text_stream_tools_thinking_and_cache_over_v2() {
    let p = v2_proxy().await;
    p.ctl().set_precached_tokens(4);
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello"}]});
    let v = message(&p, &body).await;
    let text = v["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("You said: Hello"), "{v}");
    assert_eq!(v["usage"]["cache_read_input_tokens"], 4);
    let sent = last_v2(&p);
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": [{"text": "Be brief."}]})
    );
    assert_eq!(sent["model_options"]["max_tokens"], 256);

    let events = message_stream(&p, &body).await;
    let streamed: String = events
        .iter()
        .filter(|(e, d)| e == "content_block_delta" && d["delta"]["type"] == "text_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, text);
    assert_eq!(events.last().unwrap().0, "message_stop");

    // Parallel tool_use blocks; both results in one user message.
    p.ctl().push_reply(two_calls());
    let mut body = json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "tools": anthropic_tools(),
        "messages": [{"role": "user", "content": "weather and time?"}]});
    let v = message(&p, &body).await;
    assert_eq!(v["stop_reason"], "tool_use");
    let uses: Vec<Value> = v["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .cloned()
        .collect();
    assert_eq!(uses.len(), 2, "{v}");
    let msgs = body["messages"].as_array_mut().unwrap();
    msgs.push(json!({"role": "assistant", "content": v["content"]}));
    msgs.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": uses[0]["id"], "content": "{\"t\":27}"},
        {"type": "tool_result", "tool_use_id": uses[1]["id"], "content": "12:00"}]}));
    message(&p, &body).await;
    assert_round_trip_sent(&last_v2(&p));

    // Thinking.
    p.ctl()
        .push_reply(Reply::reasoning("Six times seven.", "42"));
    let v = message(
        &p,
        &json!({"model": "claude-sonnet-4-5", "max_tokens": 4096,
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "messages": [{"role": "user", "content": "6*7?"}]}),
    )
    .await;
    assert_eq!(v["content"][0]["type"], "thinking", "{v}");
    assert_eq!(v["content"][0]["thinking"], "Six times seven.");
    assert_eq!(v["content"][1]["text"], "42");
    assert!(last_v2(&p)["model_options"]["reasoning"]["effort"].is_string());

    // Structured output.
    let v = message(
        &p,
        &json!({"model": "claude-sonnet-4-5", "max_tokens": 256,
            "output_config": {"format": {"type": "json_schema", "schema": {"type": "object",
                "properties": {"n": {"type": "integer"}}, "required": ["n"]}}},
            "messages": [{"role": "user", "content": "n?"}]}),
    )
    .await;
    let parsed: Value = serde_json::from_str(v["content"][0]["text"].as_str().unwrap()).unwrap();
    assert!(parsed["n"].is_i64(), "{v}");
    let rf = &last_v2(&p)["model_options"]["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["schema"]["properties"]["n"]["type"], "integer");
}

// ---- Gemini --------------------------------------------------------------------------------

async fn generate(p: &TestProxy, body: &Value) -> Value {
    let (status, _, v) = json_of(
        p.post("/v1beta/models/gemini-2.5-flash:generateContent", body)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test]
async fn gemini_text_stream_calls_thoughts_schema_and_cache_over_v2() {
    let p = v2_proxy().await;
    p.ctl().set_precached_tokens(2);
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]});
    let v = generate(&p, &body).await;
    let text = v["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("You said: Hello"), "{v}");
    assert_eq!(v["usageMetadata"]["cachedContentTokenCount"], 2);
    assert_eq!(
        last_v2(&p)["messages"],
        json!([{"role": "user", "content": [{"text": "Hello"}]}])
    );

    let r = p
        .post(
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            &body,
        )
        .await;
    let (status, _, sse) = text_of(r).await;
    assert_eq!(status, 200, "{sse}");
    let streamed: String = sse
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|f| {
            f["candidates"][0]["content"]["parts"].as_array().map(|ps| {
                ps.iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<String>()
            })
        })
        .collect();
    assert_eq!(streamed, text);

    // Two functionCalls, then both functionResponses in one turn.
    p.ctl().push_reply(two_calls());
    let tools = json!([{"functionDeclarations": [
        {"name": "get_weather", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}},
        {"name": "get_time", "parameters": {"type": "OBJECT", "properties": {"tz": {"type": "STRING"}}}}]}]);
    let mut body = json!({"contents": [{"role": "user", "parts": [{"text": "weather and time?"}]}],
        "tools": tools});
    let v = generate(&p, &body).await;
    let parts = v["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .clone();
    let calls: Vec<&Value> = parts
        .iter()
        .filter(|p| p["functionCall"].is_object())
        .collect();
    assert_eq!(calls.len(), 2, "{v}");
    let contents = body["contents"].as_array_mut().unwrap();
    contents.push(json!({"role": "model", "parts": parts}));
    contents.push(json!({"role": "user", "parts": [
        {"functionResponse": {"id": calls[0]["functionCall"]["id"], "name": "get_weather", "response": {"t": 27}}},
        {"functionResponse": {"id": calls[1]["functionCall"]["id"], "name": "get_time", "response": {"result": "12:00"}}}]}));
    generate(&p, &body).await;
    assert_round_trip_sent(&last_v2(&p));

    // Thoughts and a response schema.
    p.ctl()
        .push_reply(Reply::reasoning("Six times seven.", "42"));
    let v = generate(
        &p,
        &json!({"contents": [{"role": "user", "parts": [{"text": "6*7?"}]}],
            "generationConfig": {"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}}}),
    )
    .await;
    let parts = &v["candidates"][0]["content"]["parts"];
    assert_eq!(
        parts[0],
        json!({"text": "Six times seven.", "thought": true}),
        "{v}"
    );
    assert_eq!(parts[1]["text"], "42");

    let v = generate(
        &p,
        &json!({"contents": [{"role": "user", "parts": [{"text": "n?"}]}],
            "generationConfig": {"responseMimeType": "application/json",
                "responseSchema": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}, "required": ["n"]}}}),
    )
    .await;
    let parsed: Value = serde_json::from_str(
        v["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(parsed["n"].is_i64(), "{v}");
    assert_eq!(
        last_v2(&p)["model_options"]["response_format"]["type"],
        "json_schema"
    );
}

#[tokio::test]
async fn gigachat_call_ids_are_carried_through_and_sent_back() {
    let p = v2_proxy().await;
    p.ctl().update_config(|c| c.v2_call_ids = true);
    p.ctl().push_reply(two_calls());
    let mut body = json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "weather and time?"}], "tools": chat_tools()});
    let v = completion(&p, &body).await;
    let calls = v["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap()
        .clone();
    let ids: Vec<&str> = calls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    // GigaChat's own ids (UUIDs), not ones the proxy made up.
    for id in &ids {
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
    let msgs = body["messages"].as_array_mut().unwrap();
    msgs.push(v["choices"][0]["message"].clone());
    msgs.push(json!({"role": "tool", "tool_call_id": ids[0], "content": "{\"t\":27}"}));
    msgs.push(json!({"role": "tool", "tool_call_id": ids[1], "content": "12:00"}));
    completion(&p, &body).await;
    let sent = last_v2(&p);
    assert_round_trip_sent(&sent);
    let n = sent["messages"].as_array().unwrap().len();
    let sent_ids: Vec<&str> = sent["messages"][n - 2]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["function_call"]["id"].as_str())
        .collect();
    assert_eq!(sent_ids, ids);

    // Ids the client made up are not GigaChat's to see.
    body["messages"] = json!([
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_mine", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Kazan\"}"}}]},
        {"role": "tool", "tool_call_id": "call_mine", "content": "{\"t\":27}"}
    ]);
    completion(&p, &body).await;
    let sent = last_v2(&p);
    assert!(
        sent["messages"][1]["content"][0]["function_call"]
            .get("id")
            .is_none(),
        "{sent}"
    );
}

#[tokio::test]
async fn images_are_uploaded_and_sent_as_a_files_part() {
    const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let p = v2_proxy().await;
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG}}]}]});
    completion(&p, &body).await;
    assert_eq!(p.ctl().upload_count(), 1);
    let sent = last_v2(&p);
    let content = sent["messages"][0]["content"].as_array().unwrap();
    assert_eq!(content[0], json!({"text": "What is this?"}));
    let files = content[1]["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{sent}");
    assert!(files[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
}
