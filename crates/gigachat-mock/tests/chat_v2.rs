//! v2 chat: shape, validation, tools, built-ins, named-event SSE.

mod common;
mod replay;

use common::*;
use gigachat_mock::{Reply, ScriptedCall};
use serde_json::{Value, json};

fn user(text: &str) -> Value {
    json!({"model": "GigaChat-3-Ultra", "messages": [{"content": [{"text": text}], "role": "user"}]})
}

fn order_tools() -> Value {
    json!([{"functions": {"specifications": [{
        "name": "get_order_status",
        "description": "Get delivery status for an order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string", "description": "Order identifier."}}, "required": ["order_id"]},
        "return_parameters": {"type": "object", "properties": {"order_id": {"type": "string"}, "status": {"type": "string"}, "eta": {"type": "string"}}, "required": ["order_id", "status", "eta"]}
    }]}}])
}

#[tokio::test]
async fn text_reply_has_the_recorded_shape() {
    let srv = server().await;
    let t = token(&srv).await;
    for url in [
        srv.v2_chat_url(),
        format!("{}/v2/chat/completions", srv.origin()),
    ] {
        srv.control().push_reply(Reply::text("Hello"));
        let resp = client()
            .post(url)
            .bearer_auth(&t)
            .json(&user("Say 'Hello'"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.unwrap();
        assert!(
            body.starts_with(r#"{"model":"GigaChat-3-Ultra:32.3.18.5","created_at":"#),
            "{body}"
        );
        assert!(body.contains(r#""messages":[{"role":"assistant","content":[{"text":"Hello"}]}],"finish_reason":"stop","usage":{"input_tokens":"#), "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let u = &v["usage"];
        assert_eq!(
            u["input_tokens"],
            u["input_tokens_details"]["prompt_tokens"]
        );
        assert_eq!(
            u["total_tokens"].as_u64().unwrap(),
            u["input_tokens"].as_u64().unwrap() + u["output_tokens"].as_u64().unwrap()
        );
        assert!(v.get("thread_id").is_none());
    }
    // storage → thread_id
    let mut req = user("hi");
    req["storage"] = json!({});
    let v: Value = post_v2(&srv, &t, &req).await.json().await.unwrap();
    assert!(v["thread_id"].is_string());
}

async fn expect_error(
    srv: &gigachat_mock::MockServer,
    t: &str,
    body: Value,
    status: u16,
    message: &str,
) {
    let (s, text) = status_text(post_v2(srv, t, &body).await).await;
    // API-host errors end with a newline (recorded Content-Length, see src/http.rs).
    let expected = format!("{}\n", json!({"status": status, "message": message}));
    assert_eq!((s, text), (status, expected), "request: {body}");
}

#[tokio::test]
async fn validation_errors() {
    let srv = server().await;
    srv.control().set_unavailable_tools(["code_interpreter"]);
    let t = token(&srv).await;
    expect_error(
        &srv,
        &t,
        json!({"model":"GigaChat","messages":[{"role":"user","content":"plain string"}]}),
        400,
        "Your request contains invalid JSON syntax.",
    )
    .await;
    expect_error(
        &srv,
        &t,
        json!({"model":"Nope","messages":[{"role":"user","content":[{"text":"x"}]}]}),
        404,
        "No such model",
    )
    .await;
    expect_error(
        &srv, &t,
        json!({"model":"GigaChat","messages":[
            {"role":"user","content":[{"text":"x"}]},
            {"role":"assistant","content":[{"function_call":{"name":"get_order_status","arguments":"{\"order_id\":\"A\"}"}}]},
            {"role":"tool","content":[{"function_result":{"name":"get_order_status","result":{"ok":true}}}]}],
            "tools": order_tools()}),
        400, "Your request contains invalid JSON syntax.",
    ).await;
    expect_error(
        &srv, &t,
        json!({"model":"GigaChat","messages":[
            {"role":"user","content":[{"text":"x"}]},
            {"role":"assistant","content":[{"function_call":{"name":"get_order_status","arguments":{}}}]},
            {"role":"tool","content":[{"function_result":{"result":{"ok":true}}}]}]}),
        400, "Your request contains invalid JSON syntax.",
    ).await;
    expect_error(
        &srv, &t,
        json!({"model":"GigaChat","messages":[
            {"role":"user","content":[{"text":"x"}]},
            {"role":"tool","content":[{"function_result":{"name":"f","result":{"ok":true}}}]}]}),
        422, "Invalid params: every assistant function result must have an assistant function call in history",
    ).await;
    let mut req = user("x");
    req["tools"] = json!([{"spreadsheet": {}}]);
    expect_error(&srv, &t, req.clone(), 404, "Unknown tool spreadsheet").await;
    req["tools"] = json!([{"code_interpreter": {}}]);
    expect_error(
        &srv,
        &t,
        req.clone(),
        422,
        "Tool code_interpreter is unavailable",
    )
    .await;
    req["tools"] = json!([{"functions": {"specifications": [{"name": "Плохое_Имя", "parameters": {"type": "object", "properties": {}}}]}}]);
    expect_error(&srv, &t, req.clone(), 422, "Invalid params: Invalid function names. Only Latin letters (A-Z or a-z), underscore (_), hyphen (-), dot (.) and digits (not leading) are allowed.: [Плохое_Имя]").await;
    let mut req = user("x");
    req["model_options"] = json!({"response_format": {"type": "json"}});
    expect_error(
        &srv,
        &t,
        req.clone(),
        400,
        "Unknown type \"json\" in response_format",
    )
    .await;
    req["model_options"] = json!({"response_format": {"type": "json_schema"}});
    expect_error(
        &srv,
        &t,
        req.clone(),
        400,
        "Empty schema with json format type is not supported",
    )
    .await;
    req["model_options"] = json!({"repetition_penalty": -1});
    expect_error(
        &srv,
        &t,
        req,
        422,
        "Invalid params: repetition_penalty must be in range (0, +inf)",
    )
    .await;
}

/// Unscripted, a forced function is called with arguments generated from its schema and
/// the function result is answered by the default text: both answers have the recorded
/// shape (byte for byte but for the generated values).
#[tokio::test]
async fn forced_function_roundtrip_has_the_recorded_shape() {
    let c = replay::load("test_primary_chat_function_tool_roundtrip");
    replay::replay_emulator(
        &c,
        &[
            replay::Step::unscripted(&[
                "created_at",
                "usage",
                "messages/*/tool_state_id",
                "messages/*/content/*/function_call/arguments/order_id",
            ]),
            replay::Step::unscripted(&[
                "created_at",
                "usage",
                "messages/*/tool_state_id",
                "messages/*/content/*/text",
            ]),
        ],
    )
    .await;
}

#[tokio::test]
async fn function_results_under_tool_or_function_role() {
    let srv = server().await;
    let t = token(&srv).await;
    let state = "019e8373-dc9a-7883-af60-ebb20b79e1e1";
    for role in ["tool", "function"] {
        let turn2 = json!({"model": "GigaChat-3-Ultra", "messages": [
            {"content": [{"text": "Check order A-1024 and answer naturally."}], "role": "user"},
            {"content": [{"function_call": {"name": "get_order_status", "arguments": {"order_id": "A-1024"}}}], "tools_state_id": state, "role": "assistant"},
            {"content": [{"function_result": {"name": "get_order_status", "result": {"order_id": "A-1024", "status": "packed", "eta": "tomorrow"}}}], "functions_state_id": state, "role": role}
        ], "tools": order_tools()});
        let v: Value = post_v2(&srv, &t, &turn2).await.json().await.unwrap();
        assert_eq!(v["finish_reason"], "stop", "{v}");
        let text = v["messages"][0]["content"][0]["text"].as_str().unwrap();
        assert!(
            text.contains("get_order_status") && text.contains("packed"),
            "{text}"
        );
        assert!(v["messages"][0]["tool_state_id"].is_string());
    }
}

#[tokio::test]
async fn several_scripted_calls() {
    let srv = server().await;
    let t = token(&srv).await;
    srv.control().push_reply(Reply::FunctionCalls(vec![
        ScriptedCall {
            name: "a".into(),
            arguments: json!({"x": 1}),
        },
        ScriptedCall {
            name: "b".into(),
            arguments: json!({}),
        },
    ]));
    let v: Value = post_v2(&srv, &t, &user("go")).await.json().await.unwrap();
    let parts = v["messages"][0]["content"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1]["function_call"]["name"], "b");
    // Results for both calls are accepted.
    let turn2 = json!({"model": "GigaChat", "messages": [
        {"role": "user", "content": [{"text": "go"}]},
        {"role": "assistant", "content": [{"function_call": {"name": "a", "arguments": {"x": 1}}}, {"function_call": {"name": "b", "arguments": {}}}]},
        {"role": "tool", "content": [{"function_result": {"name": "a", "result": "{\"r\":1}"}}]},
        {"role": "tool", "content": [{"function_result": {"name": "b", "result": {"r": 2}}}]}
    ]});
    let v: Value = post_v2(&srv, &t, &turn2).await.json().await.unwrap();
    assert_eq!(
        v["messages"][0]["content"][0]["text"],
        "The function b returned: {\"r\":2}"
    );
}

#[tokio::test]
async fn builtin_tools() {
    let srv = server().await;
    let t = token(&srv).await;
    let mut req = user("What is new in Python?");
    req["tool_config"] = json!({"mode": "forced", "tool_name": "web_search"});
    req["tools"] = json!([{"web_search": {"type": "actual_info_web_search"}}]);
    let v: Value = post_v2(&srv, &t, &req).await.json().await.unwrap();
    let part = &v["messages"][0]["content"][0];
    assert!(part["text"].as_str().unwrap().contains("[sources=[1]]"));
    let keys: Vec<&String> = part["inline_data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["images", "sources"]);
    assert!(part["inline_data"]["sources"]["1"]["url"].is_string());
    assert!(v["messages"][0]["tool_state_id"].is_string());

    // Image generation: the file is stored for the caller's X-Client-ID.
    let mut req = user("Draw a cat");
    req["tool_config"] = json!({"mode": "forced", "tool_name": "image_generate"});
    req["tools"] = json!([{"image_generate": {}}]);
    let body = client()
        .post(srv.v2_chat_url())
        .bearer_auth(&t)
        .header("X-Client-ID", "alice")
        .json(&req)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains(r#""mime":"image/jpeg","target":"image"}]}"#),
        "{body}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    let id = v["messages"][0]["content"][0]["files"][0]["id"]
        .as_str()
        .unwrap();
    assert!(v["messages"][0]["content"][1]["text"].is_string());
    let fetch = |client_id: &'static str| {
        client()
            .get(format!("{}/files/{id}/content", srv.base_url()))
            .bearer_auth(&t)
            .header("X-Client-ID", client_id)
            .send()
    };
    let resp = fetch("alice").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    assert_eq!(fetch("bob").await.unwrap().status(), 404);

    // Auto mode with only built-ins uses them; code interpreter answers text.
    let mut req = user("Sum the first 20 primes");
    req["tool_config"] = json!({"mode": "auto"});
    req["tools"] = json!([{"code_interpreter": {}}]);
    let v: Value = post_v2(&srv, &t, &req).await.json().await.unwrap();
    assert!(
        v["messages"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("sandbox")
    );
    for tool in ["url_content_extraction", "model_3d_generate"] {
        let mut req = user("https://example.com/page please");
        req["tool_config"] = json!({"mode": "forced", "tool_name": tool});
        req["tools"] = json!([{ tool: {} }]);
        let resp = post_v2(&srv, &t, &req).await;
        assert_eq!(resp.status(), 200, "{tool}");
    }
}

#[tokio::test]
async fn regex_and_json_schema_formats() {
    let srv = server().await;
    let t = token(&srv).await;
    let mut req = user("Generate one support ticket code.");
    req["model_options"] =
        json!({"response_format": {"type": "regex", "regex": "[A-Z]{3}-\\d{4}"}});
    let v: Value = post_v2(&srv, &t, &req).await.json().await.unwrap();
    assert_eq!(v["messages"][0]["content"][0]["text"], "AAA-1111");
    req["model_options"] = json!({"response_format": {"type": "json_schema", "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}}});
    let v: Value = post_v2(&srv, &t, &req).await.json().await.unwrap();
    assert_eq!(
        v["messages"][0]["content"][0]["text"],
        "{\n    \"ok\": true\n}"
    );
}

#[tokio::test]
async fn stream_framing() {
    let srv = server().await;
    srv.control().set_chunk_size(4);
    let t = token(&srv).await;
    srv.control().push_reply(Reply::text("1, 2, 3"));
    let mut req = user("Count from 1 to 3");
    req["stream"] = json!(true);
    let resp = post_v2(&srv, &t, &req).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = resp.text().await.unwrap();
    assert!(!body.contains("[DONE]"));
    let fr = frames(&body);
    assert_eq!(fr.len(), 3, "{body}");
    assert!(fr[0].starts_with("event: response.message.delta\ndata: {\"model\":\"GigaChat-3-Ultra:32.3.18.5\",\"created_at\":"));
    assert_eq!(
        data_json(fr[0])["messages"],
        json!([{"role": "assistant", "content": [{"text": "1, 2"}]}])
    );
    assert_eq!(data_json(fr[1])["messages"][0]["content"][0]["text"], ", 3");
    assert!(fr[2].starts_with("event: response.message.done\n"));
    let done = data_json(fr[2]);
    let keys: Vec<&String> = done.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["model", "created_at", "finish_reason", "usage"]);

    // Function call: only the done event, carrying the call.
    srv.control().push_reply(Reply::function_call(
        "get_order_status",
        json!({"order_id": "A-1024"}),
    ));
    let body = post_v2(&srv, &t, &req).await.text().await.unwrap();
    let fr = frames(&body);
    assert_eq!(fr.len(), 1, "{body}");
    let done = data_json(fr[0]);
    assert_eq!(done["finish_reason"], "function_call");
    assert_eq!(
        done["messages"][0]["content"][0]["function_call"]["name"],
        "get_order_status"
    );
    assert!(done["messages"][0]["tool_state_id"].is_string());

    // Built-in: tool events precede the deltas.
    let mut req = user("Draw");
    req["stream"] = json!(true);
    req["tool_config"] = json!({"mode": "forced", "tool_name": "image_generate"});
    req["tools"] = json!([{"image_generate": {}}]);
    let body = post_v2(&srv, &t, &req).await.text().await.unwrap();
    let fr = frames(&body);
    assert!(fr[0].starts_with("event: response.tool.in_progress\n"));
    assert!(fr[1].starts_with("event: response.tool.completed\n"));
    assert!(fr[2].contains("\"files\":[{\"id\":"));
    assert!(
        fr.last()
            .unwrap()
            .starts_with("event: response.message.done\n")
    );
}
