//! GigaChat's built-in tools behind the clients' hosted/server tools: web search in every
//! dialect (JSON and stream), its sources and citations in each client's own shapes,
//! forced built-ins, an unavailable built-in, hosted tools with no equivalent — and what
//! the emulator received (v2, even with the proxy in its default v1 mode).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestProxy, anthropic_events, http, json_of, openai_frames, text_of};
use serde_json::{Value, json};

const V2_PATH: &str = "/v2/chat/completions";

/// The last chat request, which must have gone to v2.
fn last_v2(p: &TestProxy) -> Value {
    let r = p.ctl().last_request("/chat/completions").expect("no chat");
    assert!(r.path.ends_with(V2_PATH), "went to {}", r.path);
    r.json().unwrap()
}

/// `text[start..end]` by character indexes (OpenAI's annotation indexes).
fn chars(text: &str, start: &Value, end: &Value) -> String {
    let (s, e) = (
        start.as_u64().unwrap() as usize,
        end.as_u64().unwrap() as usize,
    );
    text.chars().skip(s).take(e - s).collect()
}

const CITED: &str = "the emulator found two relevant pages";

// ---- OpenAI Responses ----------------------------------------------------------------------

#[tokio::test]
async fn responses_web_search_json_items_and_annotations() {
    let p = TestProxy::start().await;
    let body = json!({"model": "gpt-4o", "input": "latest python", "store": false,
        "tools": [{"type": "web_search_preview", "search_context_size": "low"}]});
    let (status, _, v) = json_of(p.post("/v1/responses", &body).await).await;
    assert_eq!(status, 200, "{v}");
    let sent = last_v2(&p);
    assert_eq!(sent["tools"], json!([{"web_search": {}}]));
    assert_eq!(sent["tool_config"], json!({"mode": "auto"}));

    let out = v["output"].as_array().unwrap();
    assert_eq!(out.len(), 2, "{v}");
    assert_eq!(out[0]["type"], "web_search_call");
    assert_eq!(out[0]["status"], "completed");
    assert!(out[0]["id"].as_str().unwrap().starts_with("ws_"));
    assert_eq!(out[0]["action"]["type"], "search");
    assert_eq!(out[0]["action"]["query"], "latest python");
    assert_eq!(out[0]["action"]["sources"].as_array().unwrap().len(), 2);
    let part = &out[1]["content"][0];
    let text = part["text"].as_str().unwrap();
    assert!(!text.contains("[sources"), "{text}");
    assert!(text.ends_with("pages."), "{text}");
    let ann = part["annotations"].as_array().unwrap();
    assert_eq!(ann.len(), 2, "{v}");
    assert_eq!(ann[0]["type"], "url_citation");
    assert_eq!(
        ann[0]["url"],
        "https://example.com/gigachat-emulator/search-result-1"
    );
    assert_eq!(ann[1]["title"], "Emulated search result 2");
    let cited = chars(text, &ann[0]["start_index"], &ann[0]["end_index"]);
    assert!(
        cited.starts_with("Here is what") && cited.ends_with(CITED),
        "{cited}"
    );

    // Forced, and in history the past run is skipped.
    let mut forced = body.clone();
    forced["tool_choice"] = json!({"type": "web_search_preview"});
    forced["input"] = json!([
        {"role": "user", "content": "latest python"},
        out[0].clone(),
        out[1].clone(),
        {"role": "user", "content": "and rust?"}
    ]);
    let (status, _, v) = json_of(p.post("/v1/responses", &forced).await).await;
    assert_eq!(status, 200, "{v}");
    let sent = last_v2(&p);
    assert_eq!(
        sent["tool_config"],
        json!({"mode": "forced", "tool_name": "web_search"})
    );
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
}

#[tokio::test]
async fn responses_web_search_stream_events() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(7);
    let body = json!({"model": "gpt-4o", "input": "latest python", "store": false,
        "stream": true, "tools": [{"type": "web_search"}]});
    let (status, _, text) = text_of(p.post("/v1/responses", &body).await).await;
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains("[sources"), "{text}");
    let events = anthropic_events(&text);
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("no {n}: {names:?}"))
    };
    assert!(
        pos("response.web_search_call.in_progress") < pos("response.web_search_call.searching")
    );
    assert!(pos("response.web_search_call.searching") < pos("response.web_search_call.completed"));
    assert!(pos("response.web_search_call.completed") < pos("response.output_text.delta"));
    assert!(pos("response.output_text.delta") < pos("response.output_text.annotation.added"));
    assert_eq!(events[2].1["item"]["type"], "web_search_call");
    assert_eq!(events[2].1["item"]["status"], "in_progress");
    let annotations: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e == "response.output_text.annotation.added")
        .map(|(_, d)| &d["annotation"])
        .collect();
    assert_eq!(annotations.len(), 2);
    let streamed: String = events
        .iter()
        .filter(|(e, _)| e == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    let cited = chars(
        &streamed,
        &annotations[0]["start_index"],
        &annotations[0]["end_index"],
    );
    assert!(cited.ends_with(CITED), "{cited}");
    let done = &events.last().unwrap().1["response"];
    assert_eq!(done["output"][0]["type"], "web_search_call");
    assert_eq!(
        done["output"][1]["content"][0]["annotations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(done["output"][1]["content"][0]["text"], streamed);
}

#[tokio::test]
async fn unavailable_builtin_and_hosted_tools_without_equivalent_are_400() {
    let p = TestProxy::start().await;
    p.ctl().set_unavailable_tools(["web_search"]);
    let (status, _, v) = json_of(
        p.post(
            "/v1/responses",
            &json!({"model": "gpt-4o", "input": "x", "tools": [{"type": "web_search_preview"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("web_search_preview") && msg.contains("unavailable"),
        "{msg}"
    );
    assert_eq!(v["error"]["param"], "tools");

    let (status, _, v) = json_of(
        p.post(
            "/v1/messages",
            &json!({"model": "claude-x", "max_tokens": 100, "stream": true,
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
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
            .contains("web_search_20250305"),
        "{v}"
    );

    let (status, _, v) = json_of(
        p.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}],
                "web_search_options": {}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("web_search_options")
    );

    let before = p.ctl().chat_request_count();
    for tool in ["file_search", "computer_use_preview", "mcp"] {
        let (status, _, v) = json_of(
            p.post(
                "/v1/responses",
                &json!({"model": "gpt-4o", "input": "x", "tools": [{"type": tool}]}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 400, "{tool}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(tool),
            "{v}"
        );
        assert_eq!(v["error"]["param"], "tools[0].type");
    }
    assert_eq!(p.ctl().chat_request_count(), before);
}

// ---- OpenAI Chat Completions ---------------------------------------------------------------

#[tokio::test]
async fn chat_completions_web_search_options_annotations() {
    let p = TestProxy::start().await;
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "latest python"}],
        "web_search_options": {"search_context_size": "high"}});
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(last_v2(&p)["tools"], json!([{"web_search": {}}]));
    let m = &v["choices"][0]["message"];
    let text = m["content"].as_str().unwrap();
    assert!(!text.contains("[sources"), "{text}");
    let ann = m["annotations"].as_array().unwrap();
    assert_eq!(ann.len(), 2, "{v}");
    assert_eq!(ann[0]["type"], "url_citation");
    let c = &ann[0]["url_citation"];
    assert!(chars(text, &c["start_index"], &c["end_index"]).ends_with(CITED));
    assert_eq!(
        c["url"],
        "https://example.com/gigachat-emulator/search-result-1"
    );

    let mut s = body.clone();
    s["stream"] = json!(true);
    let (status, _, raw) = text_of(p.post("/v1/chat/completions", &s).await).await;
    assert_eq!(status, 200);
    assert!(raw.contains(": web_search in progress"), "{raw}");
    let data: String = raw
        .split("\n\n")
        .filter(|f| f.starts_with("data: "))
        .collect::<Vec<_>>()
        .join("\n\n");
    let frames = openai_frames(&data);
    let streamed: String = frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed, text);
    let ann: Vec<&Value> = frames
        .iter()
        .filter_map(|f| f["choices"][0]["delta"]["annotations"].as_array())
        .flatten()
        .collect();
    assert_eq!(ann.len(), 2);
}

// ---- Anthropic -----------------------------------------------------------------------------

#[tokio::test]
async fn anthropic_web_search_server_tool_blocks_citations_and_usage() {
    let p = TestProxy::start().await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 512,
        "messages": [{"role": "user", "content": "latest python"}],
        "tools": [{"type": "web_search_20260209", "name": "web_search", "max_uses": 3}]});
    let (status, _, v) = json_of(p.post("/v1/messages", &body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(last_v2(&p)["tools"], json!([{"web_search": {}}]));
    let c = v["content"].as_array().unwrap();
    assert_eq!(c[0]["type"], "server_tool_use", "{v}");
    assert_eq!(c[0]["name"], "web_search");
    assert_eq!(c[0]["input"]["query"], "latest python");
    let id = c[0]["id"].as_str().unwrap();
    assert!(id.starts_with("srvtoolu_"));
    assert_eq!(c[1]["type"], "web_search_tool_result");
    assert_eq!(c[1]["tool_use_id"], id);
    assert_eq!(c[1]["content"][0]["type"], "web_search_result");
    assert_eq!(c[1]["content"].as_array().unwrap().len(), 2);
    assert_eq!(c[2]["type"], "text");
    let text = c[2]["text"].as_str().unwrap();
    assert!(!text.contains("[sources"));
    let cites = c[2]["citations"].as_array().unwrap();
    assert_eq!(cites[0]["type"], "web_search_result_location");
    assert!(text.contains(cites[0]["cited_text"].as_str().unwrap()));
    assert_eq!(v["usage"]["server_tool_use"]["web_search_requests"], 1);

    // Stream grammar.
    let events = p.events("/v1/messages", &body).await;
    let starts: Vec<&str> = events
        .iter()
        .filter(|(e, _)| e == "content_block_start")
        .map(|(_, d)| d["content_block"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        ["server_tool_use", "web_search_tool_result", "text"]
    );
    let deltas: Vec<&str> = events
        .iter()
        .filter(|(e, _)| e == "content_block_delta")
        .map(|(_, d)| d["delta"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(deltas[0], "input_json_delta");
    assert_eq!(
        deltas.iter().filter(|d| **d == "citations_delta").count(),
        2
    );
    let (_, md) = events.iter().find(|(e, _)| e == "message_delta").unwrap();
    assert_eq!(md["usage"]["server_tool_use"]["web_search_requests"], 1);

    // Multi-turn: the server tool blocks come back in history and are skipped.
    let mut next = body.clone();
    next["messages"] = json!([
        {"role": "user", "content": "latest python"},
        {"role": "assistant", "content": v["content"]},
        {"role": "user", "content": "thanks"}
    ]);
    next["tool_choice"] = json!({"type": "tool", "name": "web_search"});
    let (status, _, v) = json_of(p.post("/v1/messages", &next).await).await;
    assert_eq!(status, 200, "{v}");
    let sent = last_v2(&p);
    assert_eq!(
        sent["tool_config"],
        json!({"mode": "forced", "tool_name": "web_search"})
    );
    assert_eq!(sent["messages"][1]["role"], "assistant");
    assert_eq!(sent["messages"][1]["content"], json!([{"text": text}]));
}

// ---- Gemini --------------------------------------------------------------------------------

#[tokio::test]
async fn gemini_google_search_grounding_metadata() {
    let p = TestProxy::start().await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "latest python"}]}],
        "tools": [{"googleSearch": {}}]});
    let (status, _, v) = json_of(
        p.post("/v1beta/models/gemini-2.5-flash:generateContent", &body)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(last_v2(&p)["tools"], json!([{"web_search": {}}]));
    let cand = &v["candidates"][0];
    let text = cand["content"]["parts"][0]["text"].as_str().unwrap();
    assert!(!text.contains("[sources"));
    let g = &cand["groundingMetadata"];
    assert_eq!(g["webSearchQueries"], json!(["latest python"]));
    assert_eq!(g["groundingChunks"].as_array().unwrap().len(), 2);
    assert_eq!(
        g["groundingChunks"][0]["web"]["uri"],
        "https://example.com/gigachat-emulator/search-result-1"
    );
    let support = &g["groundingSupports"][0];
    assert_eq!(support["groundingChunkIndices"], json!([0, 1]));
    let (s, e) = (
        support["segment"]["startIndex"].as_u64().unwrap() as usize,
        support["segment"]["endIndex"].as_u64().unwrap() as usize,
    );
    // Byte offsets, as Gemini counts them.
    assert_eq!(&text[s..e], support["segment"]["text"].as_str().unwrap());
    assert!(text[s..e].ends_with(CITED));

    let r = p
        .post(
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            &body,
        )
        .await;
    let (status, _, sse) = text_of(r).await;
    assert_eq!(status, 200, "{sse}");
    assert!(!sse.contains("[sources"));
    let last: Value = serde_json::from_str(
        sse.lines()
            .rev()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        last["candidates"][0]["groundingMetadata"]["groundingChunks"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

// ---- image generation, code interpreter, URL reading ---------------------------------------

#[tokio::test]
async fn responses_image_generation_returns_the_downloaded_image() {
    use base64::Engine as _;
    let p = TestProxy::start().await;
    let body = json!({"model": "gpt-4o", "input": "a red square", "store": false,
        "tools": [{"type": "image_generation", "size": "1024x1024"}],
        "tool_choice": {"type": "image_generation"}});
    let (status, _, v) = json_of(p.post("/v1/responses", &body).await).await;
    assert_eq!(status, 200, "{v}");
    let sent = last_v2(&p);
    assert_eq!(sent["tools"], json!([{"image_generate": {}}]));
    assert_eq!(
        sent["tool_config"],
        json!({"mode": "forced", "tool_name": "image_generate"})
    );
    // The proxy fetched the generated file from GigaChat's store.
    let fetched = p
        .ctl()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/content"))
        .count();
    assert_eq!(fetched, 1);
    let item = &v["output"][0];
    assert_eq!(item["type"], "image_generation_call", "{v}");
    assert_eq!(item["status"], "completed");
    assert!(item["id"].as_str().unwrap().starts_with("ig_"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(item["result"].as_str().unwrap())
        .unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "a JPEG");
    assert_eq!(item["output_format"], "jpeg");
    assert_eq!(v["output"][1]["type"], "message");
    assert!(
        v["output"][1]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("a red square")
    );

    let events = p.events("/v1/responses", &body).await;
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    for n in [
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
        "response.image_generation_call.partial_image",
        "response.image_generation_call.completed",
    ] {
        assert!(names.contains(&n), "{n}: {names:?}");
    }
    let done = &events.last().unwrap().1["response"];
    assert_eq!(done["output"][0]["result"], item["result"]);
}

#[tokio::test]
async fn code_interpreter_runs_show_in_streams() {
    let p = TestProxy::start().await;
    let body = json!({"model": "gpt-4o", "input": "sum of primes", "store": false,
        "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]});
    let (status, _, v) = json_of(p.post("/v1/responses", &body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(last_v2(&p)["tools"], json!([{"code_interpreter": {}}]));
    // GigaChat's JSON answer says nothing about the run: just the text.
    assert_eq!(v["output"][0]["type"], "message", "{v}");
    assert!(
        v["output"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("42")
    );

    let events = p.events("/v1/responses", &body).await;
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    for n in [
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
    ] {
        assert!(names.contains(&n), "{n}: {names:?}");
    }
    let done = &events.last().unwrap().1["response"];
    assert_eq!(done["output"][0]["type"], "code_interpreter_call");
    assert_eq!(done["output"][0]["status"], "completed");
    assert!(done["output"][0]["id"].as_str().unwrap().starts_with("ci_"));
    assert_eq!(done["output"][1]["type"], "message");
}

#[tokio::test]
async fn anthropic_web_fetch_reads_the_url() {
    let p = TestProxy::start().await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 512, "stream": true,
        "messages": [{"role": "user", "content": "summarise https://example.com/page"}],
        "tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]});
    let r = http()
        .post(p.at("/v1/messages"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, _, raw) = text_of(r).await;
    assert_eq!(status, 200, "{raw}");
    assert_eq!(
        last_v2(&p)["tools"],
        json!([{"url_content_extraction": {}}])
    );
    let events = anthropic_events(&raw);
    let blocks: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e == "content_block_start")
        .map(|(_, d)| &d["content_block"])
        .collect();
    assert_eq!(blocks[0]["type"], "server_tool_use", "{raw}");
    assert_eq!(blocks[0]["name"], "web_fetch");
    assert_eq!(blocks[1]["type"], "web_fetch_tool_result");
    assert_eq!(blocks[1]["content"]["url"], "https://example.com/page");
    assert_eq!(blocks[2]["type"], "text");
    let (_, input) = events
        .iter()
        .find(|(e, d)| e == "content_block_delta" && d["index"] == 0)
        .unwrap();
    assert_eq!(
        input["delta"]["partial_json"],
        r#"{"url":"https://example.com/page"}"#
    );
    let (_, md) = events.iter().find(|(e, _)| e == "message_delta").unwrap();
    assert_eq!(md["usage"]["server_tool_use"]["web_fetch_requests"], 1);
}

#[tokio::test]
async fn count_tokens_with_server_tools() {
    let p = TestProxy::start().await;
    let (status, _, v) = json_of(
        p.post(
            "/v1/messages/count_tokens",
            &json!({"model": "claude-x", "messages": [{"role": "user", "content": "latest python"}],
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
                "tool_choice": {"type": "tool", "name": "web_search"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["input_tokens"].as_u64().unwrap() > 0, "{v}");
    let (status, _, v) = json_of(
        p.post(
            "/v1beta/models/gemini-2.5-flash:countTokens",
            &json!({"generateContentRequest": {"model": "models/gemini-2.5-flash",
                "contents": [{"role": "user", "parts": [{"text": "latest python"}]}],
                "tools": [{"googleSearch": {}}]}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["totalTokens"].as_u64().unwrap() > 0, "{v}");
}
