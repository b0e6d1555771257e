//! v1 chat: JSON shape, validation, scripted replies, SSE framing.

mod common;
mod replay;

use common::*;
use gigachat_mock::{Matcher, Reply, Rule};
use serde_json::{Value, json};

fn user(text: &str) -> Value {
    json!({"model": "GigaChat", "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn default_reply_has_the_recorded_shape() {
    let srv = server().await;
    srv.control().set_precached_tokens(2);
    let t = token(&srv).await;
    let resp = post(
        &srv,
        &t,
        "/chat/completions",
        &user("Say 'Hello' and nothing else"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body = resp.text().await.unwrap();
    assert!(
        body.starts_with(r#"{"choices":[{"message":{"content":"Hello from the GigaChat emulator! You said: Say 'Hello' and nothing else","role":"assistant"},"index":0,"finish_reason":"stop"}],"created":"#),
        "{body}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["choices", "created", "model", "object", "usage"]);
    assert_eq!(v["model"], "GigaChat:2.0.28.2");
    assert_eq!(v["object"], "chat.completion");
    let u = &v["usage"];
    let ukeys: Vec<&String> = u.as_object().unwrap().keys().collect();
    assert_eq!(
        ukeys,
        [
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "precached_prompt_tokens"
        ]
    );
    assert_eq!(
        u["total_tokens"].as_u64().unwrap(),
        u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(u["precached_prompt_tokens"], 2);
    // Compact JSON, Cyrillic unescaped.
    srv.control().push_reply(Reply::text("Привет"));
    let body = post(&srv, &t, "/chat/completions", &user("x"))
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains(r#""content":"Привет""#), "{body}");
    assert!(!body.contains(": "));
}

#[tokio::test]
async fn both_prefixes_and_deterministic_usage() {
    let srv = server().await;
    let t = token(&srv).await;
    let a: Value = post(&srv, &t, "/chat/completions", &user("same text"))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = client()
        .post(format!("{}/v1/chat/completions", srv.origin()))
        .bearer_auth(&t)
        .json(&user("same text"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["usage"], b["usage"]);
    assert_eq!(a["choices"], b["choices"]);
}

async fn expect_error(
    srv: &gigachat_mock::MockServer,
    t: &str,
    body: Value,
    status: u16,
    message: &str,
) {
    let (s, text) = status_text(post(srv, t, "/chat/completions", &body).await).await;
    // API-host errors end with a newline (recorded Content-Length, see src/http.rs).
    let expected = format!("{}\n", json!({"status": status, "message": message}));
    assert_eq!((s, text), (status, expected), "request: {body}");
}

#[tokio::test]
async fn validation_errors() {
    let srv = server().await;
    let t = token(&srv).await;
    expect_error(
        &srv,
        &t,
        json!({"model":"NonExistentModel","messages":[{"role":"user","content":"Hello"}]}),
        404,
        "No such model",
    )
    .await;
    expect_error(
        &srv,
        &t,
        json!({"model":"Embeddings","messages":[{"role":"user","content":"Hello"}]}),
        404,
        "No such model",
    )
    .await;
    expect_error(
        &srv, &t,
        json!({"model":"GigaChat","messages":[{"role":"user","content":"a"},{"role":"system","content":"s"}]}),
        422, "Invalid params: system message must be the first message",
    ).await;
    expect_error(
        &srv, &t,
        json!({"model":"GigaChat","messages":[{"role":"system","content":"a"},{"role":"system","content":"s"},{"role":"user","content":"u"}]}),
        422, "Invalid params: system message must be the first message",
    ).await;
    expect_error(
        &srv, &t,
        json!({"model":"GigaChat","repetition_penalty":0,"messages":[{"role":"user","content":"a"}]}),
        422, "Invalid params: repetition_penalty must be in range (0, +inf)",
    ).await;
    expect_error(
        &srv,
        &t,
        json!({"model":"GigaChat","temperature":0,"messages":[{"role":"user","content":"a"}]}),
        422,
        "Invalid params: temperature must be in range (0, 2]",
    )
    .await;
    expect_error(
        &srv, &t,
        json!({"model":"GigaChat","messages":[{"role":"user","content":"a"}],"functions":[{"name":"Плохое_Имя","parameters":{"type":"object","properties":{}}}]}),
        422, "Invalid params: Invalid function names. Only Latin letters (A-Z or a-z), underscore (_), hyphen (-), dot (.) and digits (not leading) are allowed.: [Плохое_Имя]",
    ).await;
    expect_error(
        &srv, &t,
        json!({"model":"GigaChat","messages":[{"role":"user","content":"a"}],"functions":[{"name":"f","parameters":{"type":"object","properties":{"filter":{"type":"object"}}}}]}),
        422, "Field 'properties.filter.properties' is missing",
    ).await;
    expect_error(
        &srv, &t,
        json!({"model":"GigaChat","messages":[{"role":"user","content":"a"}],"response_format":{"type":"json"}}),
        400, "Unknown type \"json\" in response_format",
    ).await;
    expect_error(
        &srv,
        &t,
        json!({"model":"GigaChat","messages":[
            {"role":"user","content":"a"},
            {"role":"assistant","content":"","function_call":{"name":"f","arguments":{}}},
            {"role":"user","content":"b"}]}),
        422,
        "Invalid params: every assistant function call must have a result in history",
    )
    .await;
    let (s, _) = status_text(
        post(
            &srv,
            &t,
            "/chat/completions",
            &json!({"model":"GigaChat","messages":[
        {"role":"user","content":"a"},
        {"role":"assistant","content":"","function_call":{"name":"f","arguments":{}}},
        {"role":"function","content":"{\"a\":1}"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "function message without name");
    let (s, _) = status_text(
        post(
            &srv,
            &t,
            "/chat/completions",
            &json!({"model":"GigaChat","messages":[
        {"role":"user","content":"a"},
        {"role":"assistant","content":"","function_call":{"name":"f","arguments":{}}},
        {"role":"function","name":"f","content":"plain text"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "function content must be a JSON object");
    // null is absent
    let ok = post(&srv, &t, "/chat/completions", &json!({"model":"GigaChat","temperature":null,"messages":[{"role":"user","content":"a","name":null}]})).await;
    assert_eq!(ok.status(), 200);
    // temperature check can be switched off
    srv.control()
        .update_config(|c| c.validate_temperature = false);
    let ok = post(
        &srv,
        &t,
        "/chat/completions",
        &json!({"model":"GigaChat","temperature":0,"messages":[{"role":"user","content":"a"}]}),
    )
    .await;
    assert_eq!(ok.status(), 200);
}

/// Unscripted, a `json_schema` answer is an instance of the schema, formatted the way
/// GigaChat formats it — checked against the recorded answer to the same request.
#[tokio::test]
async fn json_schema_default_is_shaped_like_the_recorded_answer() {
    let c = replay::load("test_chat_response_format_json_schema");
    // All but the generated content (and time, usage, `object`), byte for byte.
    replay::replay_emulator(
        &c,
        &[replay::Step::unscripted(&[
            "created",
            "usage",
            "object",
            "choices/*/message/content",
        ])],
    )
    .await;
    // The content: the recorded keys and types, the recorded formatting.
    let srv = server_with(replay::config_for(&c)).await;
    let t = token(&srv).await;
    let it = c.api()[0];
    let got: Value = post(&srv, &t, "/chat/completions", &it.request.json())
        .await
        .json()
        .await
        .unwrap();
    let generated = got["choices"][0]["message"]["content"].as_str().unwrap();
    let recorded_answer = it.response.json();
    let recorded = recorded_answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap();
    let (g, r): (Value, Value) = (
        serde_json::from_str(generated).unwrap(),
        serde_json::from_str(recorded).unwrap(),
    );
    replay::compare::same_structure(&r, &g, "content").unwrap();
    assert_eq!(gigachat_mock::schema::pretty4(&r), recorded);
    assert_eq!(gigachat_mock::schema::pretty4(&g), generated);
}

#[tokio::test]
async fn function_call_reply_json_and_stream() {
    let srv = server().await;
    let t = token(&srv).await;
    let req = json!({
        "model": "GigaChat-2-Pro",
        "messages": [{"role": "user", "content": "Погода в Манжероке"}],
        "functions": [{"name": "weather_forecast", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}]
    });
    srv.control().push_reply(Reply::function_call(
        "weather_forecast",
        json!({"location": "Манжерок", "num_days": 10}),
    ));
    let v: Value = post(&srv, &t, "/chat/completions", &req)
        .await
        .json()
        .await
        .unwrap();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "function_call");
    let msg = &choice["message"];
    let keys: Vec<&String> = msg.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["content", "role", "function_call", "functions_state_id"]
    );
    assert_eq!(msg["content"], "");
    assert_eq!(
        msg["function_call"]["arguments"],
        json!({"location": "Манжерок", "num_days": 10})
    );
    let state = msg["functions_state_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(state).is_ok());

    let mut stream_req = req.clone();
    stream_req["stream"] = json!(true);
    srv.control().push_reply(Reply::function_call(
        "weather_forecast",
        json!({"location": "Казань"}),
    ));
    let body = post(&srv, &t, "/chat/completions", &stream_req)
        .await
        .text()
        .await
        .unwrap();
    let fr = frames(&body);
    assert_eq!(fr.len(), 2, "{body}");
    let chunk = data_json(fr[0]);
    assert_eq!(chunk["choices"][0]["finish_reason"], "function_call");
    assert_eq!(
        chunk["choices"][0]["delta"]["function_call"]["name"],
        "weather_forecast"
    );
    assert_eq!(chunk["choices"][0]["delta"]["role"], "assistant");
    assert!(chunk["usage"].is_object());
    assert_eq!(fr[1], "data: [DONE]");

    // Round trip: the default answer after a function result names the function.
    let req = json!({"model": "GigaChat", "messages": [
        {"role": "user", "content": "Погода?"},
        {"role": "assistant", "content": "", "function_call": {"name": "weather_forecast", "arguments": {"location": "Казань"}}, "functions_state_id": state},
        {"role": "function", "name": "weather_forecast", "content": "{\"temperature\":27}"}
    ]});
    let v: Value = post(&srv, &t, "/chat/completions", &req)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "The function weather_forecast returned: {\"temperature\":27}"
    );
}

#[tokio::test]
async fn forced_and_mentioned_functions_without_script() {
    let srv = server().await;
    let t = token(&srv).await;
    let functions = json!([{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    let req = json!({"model": "GigaChat", "messages": [{"role": "user", "content": "hi"}], "functions": functions, "function_call": {"name": "get_weather", "partial_arguments": {"city": "Kazan"}}});
    let v: Value = post(&srv, &t, "/chat/completions", &req)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["function_call"],
        json!({"name": "get_weather", "arguments": {"city": "Kazan"}})
    );
    let req = json!({"model": "GigaChat", "messages": [{"role": "user", "content": "use get_weather please"}], "functions": functions});
    let v: Value = post(&srv, &t, "/chat/completions", &req)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "function_call");
    let req = json!({"model": "GigaChat", "messages": [{"role": "user", "content": "use get_weather please"}], "functions": functions, "function_call": "none"});
    let v: Value = post(&srv, &t, "/chat/completions", &req)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn stream_framing_matches_the_recording() {
    let srv = server().await;
    srv.control().set_chunk_size(10);
    let t = token(&srv).await;
    let text = "Один, два, три — считаем до трёх вместе!";
    srv.control().push_reply(Reply::text(text));
    let mut req = user("Count from 1 to 3");
    req["stream"] = json!(true);
    let resp = post(&srv, &t, "/chat/completions", &req).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = resp.text().await.unwrap();
    assert!(body.ends_with("data: [DONE]\n\n"));
    let fr = frames(&body);
    assert_eq!(fr.len(), 4 + 1 + 1, "{body}");
    let mut collected = String::new();
    for (i, f) in fr[..fr.len() - 2].iter().enumerate() {
        assert!(
            f.starts_with("data: {\"choices\":[{\"delta\":{\"content\":"),
            "{f}"
        );
        let c = data_json(f);
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["choices", "created", "model", "object"]);
        assert_eq!(c["choices"][0]["delta"].get("role").is_some(), i == 0);
        assert!(c["choices"][0].get("finish_reason").is_none());
        collected.push_str(c["choices"][0]["delta"]["content"].as_str().unwrap());
    }
    assert_eq!(collected, text);
    let last = data_json(fr[fr.len() - 2]);
    assert_eq!(last["choices"][0]["delta"], json!({"content": ""}));
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    let keys: Vec<&String> = last.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["choices", "created", "model", "object", "usage"]);
}

#[tokio::test]
async fn reasoning_blacklist_and_length() {
    let srv = server().await;
    let t = token(&srv).await;
    srv.control()
        .push_reply(Reply::reasoning("Думаю…", "Ответ"));
    let v: Value = post(&srv, &t, "/chat/completions", &user("q"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["choices"][0]["message"],
        json!({"content": "Ответ", "reasoning_content": "Думаю…", "role": "assistant"})
    );

    srv.control().set_chunk_size(3);
    srv.control().push_reply(Reply::reasoning("abcdef", "xyz"));
    let mut req = json!({"model": "GigaChat-2-Reasoning", "messages": [{"role": "user", "content": "q"}], "stream": true});
    let body = post(&srv, &t, "/chat/completions", &req)
        .await
        .text()
        .await
        .unwrap();
    let fr = frames(&body);
    assert_eq!(
        data_json(fr[0])["choices"][0]["delta"],
        json!({"reasoning_content": "abc", "role": "assistant"})
    );
    assert_eq!(
        data_json(fr[1])["choices"][0]["delta"],
        json!({"reasoning_content": "def"})
    );
    assert_eq!(
        data_json(fr[2])["choices"][0]["delta"],
        json!({"content": "xyz"})
    );

    // Reasoning models reason by default.
    req["stream"] = json!(false);
    let v: Value = post(&srv, &t, "/chat/completions", &req)
        .await
        .json()
        .await
        .unwrap();
    assert!(v["choices"][0]["message"]["reasoning_content"].is_string());

    srv.control().push_reply(Reply::Blacklist);
    let v: Value = post(&srv, &t, "/chat/completions", &user("q"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "blacklist");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        gigachat_mock::BLACKLIST_TEXT
    );

    srv.control().push_reply(Reply::Length("Cut he".into()));
    let v: Value = post(&srv, &t, "/chat/completions", &user("q"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["choices"][0]["message"]["content"], "Cut he");

    srv.control()
        .push_reply(Reply::text("one two three four five"));
    let mut req = user("q");
    req["max_tokens"] = json!(2);
    let v: Value = post(&srv, &t, "/chat/completions", &req)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["choices"][0]["message"]["content"], "one two ");
    assert_eq!(v["usage"]["completion_tokens"], 2);
}

#[tokio::test]
async fn rules_then_queue_then_default() {
    let srv = server().await;
    let t = token(&srv).await;
    srv.control().add_rule(Rule::new(
        Matcher::LastUserContains("weather".into()),
        Reply::text("Sunny"),
    ));
    srv.control().push_reply(Reply::text("queued"));
    let content = |v: Value| {
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let v: Value = post(&srv, &t, "/chat/completions", &user("what weather?"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(content(v), "Sunny");
    let v: Value = post(&srv, &t, "/chat/completions", &user("other"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(content(v), "queued");
    let v: Value = post(&srv, &t, "/chat/completions", &user("other"))
        .await
        .json()
        .await
        .unwrap();
    assert!(content(v).starts_with("Hello from the GigaChat emulator!"));
    let v: Value = post(&srv, &t, "/chat/completions", &user("weather again"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(content(v), "Sunny");
}
