//! The requests IDE extensions and GUI agents send, replayed against the proxy in front
//! of the emulator: one test per application, each built from that application's public
//! source (file and version cited above the test). Every test runs the model listing the
//! application makes (where it makes one), a streaming (or, where the application does not
//! stream, a JSON) turn in which GigaChat calls one of the application's tools, and the
//! follow-up turn carrying the tool's result in the application's own history shape. It
//! checks the answer the way the application parses it and what GigaChat received.
//!
//! The guides in `integrations/<app>/README.md` point here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestProxy, http, json_of, openai_stream};
use gigachat_mock::{Matcher, Reply, Rule};
use serde_json::{Value, json};

// ---- helpers --------------------------------------------------------------------------------

/// POSTs `body` to `/v1/chat/completions` (with `auth` as the bearer key when given) and
/// returns the SSE frames, checking the stream's framing: `text/event-stream`, every frame
/// a `data:` line, `[DONE]` last.
async fn stream(p: &TestProxy, body: &Value, auth: Option<&str>) -> Vec<Value> {
    let mut req = http().post(p.at("/v1/chat/completions")).json(body);
    if let Some(key) = auth {
        req = req.bearer_auth(key);
    }
    let mut frames = openai_stream(req.send().await.unwrap()).await;
    frames.pop(); // [DONE]
    frames
}

/// The one tool call of a streamed answer, checked the way the Vercel AI SDK
/// (`@ai-sdk/openai-compatible`, Cline), Zed's `OpenAiEventMapper` and the `openai` npm
/// SDK (Continue) accumulate it: the first delta of a call carries `index`, `id`, `type`
/// and `function.name`; arguments concatenate to a JSON object. Returns (id, name,
/// parsed arguments).
fn streamed_tool_call(chunks: &[Value]) -> (String, String, Value) {
    let deltas: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .collect();
    assert!(!deltas.is_empty(), "no tool call delta in {chunks:?}");
    let first = deltas[0];
    assert_eq!(first["index"], 0, "{first}");
    assert_eq!(first["type"], "function", "{first}");
    let id = first["id"].as_str().expect("the first delta has an id");
    let name = first["function"]["name"]
        .as_str()
        .expect("the first delta names the function");
    assert!(
        deltas.iter().all(|d| d["index"] == 0),
        "one call expected: {deltas:?}"
    );
    let args: String = deltas
        .iter()
        .filter_map(|d| d["function"]["arguments"].as_str())
        .collect();
    let parsed: Value = serde_json::from_str(&args).expect("arguments are JSON");
    assert!(parsed.is_object(), "{parsed}");
    (id.to_string(), name.to_string(), parsed)
}

/// Finish reasons of the chunks that carry one.
fn finishes(chunks: &[Value]) -> Vec<String> {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .map(str::to_string)
        .collect()
}

/// The text of a streamed answer.
fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

/// With `stream_options.include_usage`: the last chunk has `choices: []` and the usage
/// (prompt, completion and total tokens adding up), and no other chunk carries usage.
fn assert_usage_chunk_last(chunks: &[Value]) {
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]), "{last}");
    let u = &last["usage"];
    let (prompt, completion) = (
        u["prompt_tokens"].as_u64().unwrap(),
        u["completion_tokens"].as_u64().unwrap(),
    );
    assert!(prompt > 0 && completion > 0, "{u}");
    assert_eq!(u["total_tokens"].as_u64().unwrap(), prompt + completion);
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c.get("usage").is_none_or(Value::is_null)),
        "usage before the last chunk: {chunks:?}"
    );
}

/// The GigaChat request whose history ends with a function result.
fn follow_up_request(p: &TestProxy) -> Value {
    p.chat_bodies()
        .into_iter()
        .rev()
        .find(|b| {
            b["messages"]
                .as_array()
                .and_then(|m| m.last())
                .is_some_and(|m| m["role"] == "function")
        })
        .expect("GigaChat received no request ending with a function result")
}

/// Checks the tail of a GigaChat v1 history: the assistant's `function_call` (arguments
/// as an object) followed by the `function` result of that name, whose content is the
/// tool's output wrapped as GigaChat takes it (`{"result": …}` for non-JSON text).
fn assert_call_and_result(sent: &Value, name: &str, args: &Value, output: &str) {
    let msgs = sent["messages"].as_array().unwrap();
    let n = msgs.len();
    assert!(n >= 2, "{sent}");
    let call = &msgs[n - 2];
    assert_eq!(call["role"], "assistant", "{sent}");
    assert_eq!(call["function_call"]["name"], name, "{sent}");
    assert_eq!(&call["function_call"]["arguments"], args, "{sent}");
    let result = &msgs[n - 1];
    assert_eq!(result["role"], "function", "{sent}");
    assert_eq!(result["name"], name, "{sent}");
    let content: Value = serde_json::from_str(result["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"result": output}), "{sent}");
}

/// Scripts one function call for the first turn and a closing text after its result.
fn script_tool_turn(p: &TestProxy, name: &str, args: Value, closing: &str) {
    p.ctl().push_reply(Reply::function_call(name, args));
    p.ctl().add_rule(Rule::new(
        Matcher::AfterFunctionResult,
        Reply::text(closing),
    ));
}

fn text_tool(name: &str, description: &str, params: &[&str]) -> Value {
    let props: serde_json::Map<String, Value> = params
        .iter()
        .map(|p| ((*p).to_string(), json!({"type": "string"})))
        .collect();
    json!({"type": "function", "function": {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": props, "required": params}}})
}

// ---- Cline ----------------------------------------------------------------------------------

/// Cline 4.1 (cline/cline `apps/vscode` 4.1.13, SDK `sdk/packages/llms` 0.0.78), provider
/// "OpenAI Compatible": `vendors/openai-compatible.ts` builds an `@ai-sdk/openai-compatible`
/// model with `includeUsage: true`, so every turn is `POST {base}/chat/completions` with
/// `stream: true`, `stream_options.include_usage`, `max_tokens`, `temperature`, `tools`
/// (`type: function`) and `tool_choice: "auto"`. The AI SDK's
/// `convert-to-openai-compatible-chat-messages.ts` writes the system prompt as a string,
/// a one-part user message as a string (several parts as `text` parts, with provider
/// options such as `cache_control` spread into the part — Cline's
/// `routing/anthropic-compatible.ts` adds `{"cache_control":{"type":"ephemeral"}}` plus a
/// `" "` filler part), the assistant turn as `content: ""` with `tool_calls`, and each
/// tool result as a string `role: "tool"` message. The model picker lists
/// `GET {base}/models` (`refreshOpenAiModels.ts`, ids only).
#[tokio::test]
async fn cline_openai_compatible() {
    let p = TestProxy::start().await;
    let (status, _, models) = json_of(p.get("/v1/models").await).await;
    assert_eq!(status, 200, "{models}");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(ids.contains(&"GigaChat"), "{ids:?}");

    let args = json!({"path": "hello.txt", "content": "hi"});
    script_tool_turn(&p, "write_to_file", args.clone(), "Created hello.txt.");
    let system = "You are Cline, a highly skilled software engineer.";
    let task = "<task>\nCreate hello.txt containing hi\n</task>";
    let user = json!({"role": "user", "content": [
        {"type": "text", "text": task, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": " "}]});
    let tools = json!([
        text_tool(
            "write_to_file",
            "Write content to a file at the specified path.",
            &["path", "content"]
        ),
        text_tool(
            "attempt_completion",
            "Present the result of the task to the user.",
            &["result"]
        ),
    ]);
    let mut body = json!({
        "model": "GigaChat",
        "max_tokens": 8192,
        "temperature": 0,
        "messages": [{"role": "system", "content": system}, user],
        "tools": tools,
        "tool_choice": "auto",
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    let chunks = stream(&p, &body, None).await;
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let (id, name, got) = streamed_tool_call(&chunks);
    assert_eq!((name.as_str(), &got), ("write_to_file", &args));
    assert_eq!(finishes(&chunks), ["tool_calls"]);
    assert_usage_chunk_last(&chunks);

    let first = p.last_chat();
    assert_eq!(first["model"], "GigaChat");
    assert_eq!(first["stream"], true);
    assert_eq!(first["messages"][0]["content"], system);
    // The cache_control part is read as text; the blank filler adds nothing.
    assert_eq!(first["messages"][1]["role"], "user");
    assert_eq!(
        first["messages"][1]["content"].as_str().unwrap().trim(),
        task
    );
    assert_eq!(first["function_call"], "auto");
    assert_eq!(first["max_tokens"], 8192);
    let names: Vec<&str> = first["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["write_to_file", "attempt_completion"]);

    let output = "The content was successfully saved to hello.txt.";
    body["messages"] = json!([
        {"role": "system", "content": system},
        user,
        {"role": "assistant", "content": "", "tool_calls": [{"id": id, "type": "function",
            "function": {"name": name, "arguments": got.to_string()}}]},
        {"role": "tool", "tool_call_id": id, "content": output},
    ]);
    let chunks = stream(&p, &body, None).await;
    assert_eq!(streamed_text(&chunks), "Created hello.txt.");
    assert_eq!(finishes(&chunks), ["stop"]);
    assert_usage_chunk_last(&chunks);
    assert_call_and_result(&follow_up_request(&p), "write_to_file", &args, output);
}

// ---- Zed ------------------------------------------------------------------------------------

/// Zed's `StreamOptions`, `ChoiceDelta`, `ResponseStreamEvent` and `Usage` from
/// zed-industries/zed `crates/open_ai/src/open_ai.rs`: Zed reads every `data:` line
/// other than `[DONE]` as `{"choices":[{"index","delta"?,"finish_reason"?}],"usage"?}`
/// (or `{"error":{"message"}}`), and a usage object must carry all three counts. Checks
/// one chunk against that shape.
fn assert_zed_parses(chunk: &Value) {
    let choices = chunk["choices"].as_array().expect("choices is an array");
    for c in choices {
        assert!(c["index"].as_u64().is_some(), "{chunk}");
        assert!(
            c.get("finish_reason")
                .is_none_or(|f| f.is_null() || f.is_string()),
            "{chunk}"
        );
        if let Some(d) = c.get("delta").filter(|d| !d.is_null()) {
            assert!(
                d.get("content")
                    .is_none_or(|t| t.is_null() || t.is_string())
            );
            assert!(d.get("role").is_none_or(|r| r == "assistant"), "{chunk}");
        }
    }
    if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
        for k in ["prompt_tokens", "completion_tokens", "total_tokens"] {
            assert!(u[k].as_u64().is_some(), "{k} missing: {chunk}");
        }
    }
}

/// Zed (zed-industries/zed, `crates/language_models/src/provider/open_ai_compatible.rs`
/// and `into_open_ai` in `crates/open_ai/src/completion.rs`, 2026 main): an
/// `openai_compatible` provider whose model keeps the default capabilities
/// (`chat_completions: true`, `parallel_tool_calls` and `prompt_cache_key` off) sends
/// `POST {api_url}/chat/completions` with `stream: true`, `stream_options:
/// {"include_usage": true}`, `max_completion_tokens` (the model's `max_output_tokens`),
/// `temperature` (1.0 unless the agent sets one), `tools` and no `tool_choice` from the
/// agent panel. A single text part is sent as a plain string; the assistant turn that
/// called a tool is `content: null` with `tool_calls`; a tool result is a `role: "tool"`
/// message with a string content. Zed lists no models (they are written in settings).
#[tokio::test]
async fn zed_openai_compatible() {
    let p = TestProxy::start().await;
    let args = json!({"path": "project/README.md"});
    script_tool_turn(&p, "read_file", args.clone(), "The README says hello.");
    let system = "You are a highly skilled software engineer with extensive knowledge.";
    let history = json!([
        {"role": "system", "content": system},
        {"role": "user", "content": "What does the README say?"},
    ]);
    let tools = json!([
        text_tool(
            "read_file",
            "Reads the content of the given file in the project.",
            &["path"]
        ),
        text_tool(
            "list_directory",
            "Lists files and directories in a given path.",
            &["path"]
        ),
    ]);
    let mut body = json!({
        "model": "GigaChat-2-Max",
        "messages": history,
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_completion_tokens": 8192,
        "temperature": 1.0,
        "tools": tools,
    });
    let chunks = stream(&p, &body, None).await;
    chunks.iter().for_each(assert_zed_parses);
    let (id, name, got) = streamed_tool_call(&chunks);
    assert_eq!((name.as_str(), &got), ("read_file", &args));
    assert_eq!(finishes(&chunks), ["tool_calls"]);
    assert_usage_chunk_last(&chunks);
    // The answer names the model Zed asked for.
    assert!(chunks.iter().all(|c| c["model"] == "GigaChat-2-Max"));

    let first = p.last_chat();
    assert_eq!(first["max_tokens"], 8192);
    assert_eq!(first["temperature"], 1.0);
    assert_eq!(first["function_call"], "auto");
    assert_eq!(
        first["messages"][0],
        json!({"role": "system", "content": system})
    );

    let output = "# Project\nhello";
    body["messages"] = json!([
        history[0], history[1],
        {"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function",
            "function": {"name": name, "arguments": got.to_string()}}]},
        {"role": "tool", "content": output, "tool_call_id": id},
    ]);
    let chunks = stream(&p, &body, None).await;
    chunks.iter().for_each(assert_zed_parses);
    assert_eq!(streamed_text(&chunks), "The README says hello.");
    assert_eq!(finishes(&chunks), ["stop"]);
    assert_usage_chunk_last(&chunks);
    assert_call_and_result(&follow_up_request(&p), "read_file", &args, output);

    // With `"images": true`, a tool returning an image sends an `image_url` part inside
    // the tool message. GigaChat takes attachments only on user messages: the text stays
    // the function result and the image follows it in a user message.
    p.ctl().push_reply(Reply::text("A logo."));
    body["messages"][3]["content"] = json!([
        {"type": "text", "text": "logo.png"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]);
    let chunks = stream(&p, &body, None).await;
    chunks.iter().for_each(assert_zed_parses);
    assert_eq!(streamed_text(&chunks), "A logo.");
    let sent = p.last_chat();
    let msgs = sent["messages"].as_array().unwrap();
    let n = msgs.len();
    assert_eq!(msgs[n - 2]["role"], "function", "{sent}");
    assert_eq!(msgs[n - 2]["content"], r#"{"result":"logo.png"}"#);
    assert_eq!(msgs[n - 1]["role"], "user", "{sent}");
    assert_eq!(msgs[n - 1]["content"], "Image returned by read_file:");
    assert_eq!(msgs[n - 1]["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(p.ctl().upload_count(), 1);
}

// ---- Continue -------------------------------------------------------------------------------

/// Continue (continuedev/continue 1.3.40, `provider: openai` with a custom `apiBase`):
/// `core/llm/openaiTypeConverters.ts` `toChatBody` sends `model`, `messages`,
/// `max_tokens`, `temperature`, `stream: true`, `stop` and `tools` (`strict` dropped when
/// unset), and `packages/openai-adapters/src/apis/OpenAI.ts` `modifyChatBody` adds
/// `stream_options: {"include_usage": true}`. An assistant turn that only called tools
/// carries `content: " "` (a space: "LM Studio … don't accept empty content"); tool
/// results are string `role: "tool"` messages. The model list is `GET {apiBase}/models`
/// through the `openai` npm SDK; autocomplete with `useLegacyCompletionsEndpoint: false`
/// is a chat request of the same shape.
#[tokio::test]
async fn continue_openai_provider() {
    let p = TestProxy::start().await;
    let (status, _, models) = json_of(p.get("/v1/models").await).await;
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["object"], "list");

    let args = json!({"filepath": "hello.py"});
    script_tool_turn(&p, "read_file", args.clone(), "It prints hi.");
    let system = "<important_rules>\n  You are in agent mode.\n</important_rules>";
    let history = json!([
        {"role": "system", "content": system},
        {"role": "user", "content": "What does hello.py print?"},
    ]);
    let mut body = json!({
        "messages": history,
        "model": "GigaChat",
        "max_tokens": 4096,
        "temperature": 0.7,
        "stream": true,
        "stop": ["<|endoftext|>"],
        "tools": [text_tool("read_file", "Use this tool to read the contents of a file.", &["filepath"])],
        "stream_options": {"include_usage": true},
    });
    let chunks = stream(&p, &body, None).await;
    let (id, name, got) = streamed_tool_call(&chunks);
    assert_eq!((name.as_str(), &got), ("read_file", &args));
    assert_eq!(finishes(&chunks), ["tool_calls"]);
    assert_usage_chunk_last(&chunks);
    let first = p.last_chat();
    assert_eq!(first["max_tokens"], 4096);
    assert_eq!(first["temperature"], 0.7);
    // Stop sequences are enforced by the proxy, not sent to GigaChat (which has none).
    assert!(first.get("stop").is_none(), "{first}");

    let output = "print('hi')\n";
    body["messages"] = json!([
        history[0], history[1],
        {"role": "assistant", "content": " ", "tool_calls": [{"id": id, "type": "function",
            "function": {"name": name, "arguments": got.to_string()}}]},
        {"role": "tool", "content": output, "tool_call_id": id},
    ]);
    let chunks = stream(&p, &body, None).await;
    assert_eq!(streamed_text(&chunks), "It prints hi.");
    assert_eq!(finishes(&chunks), ["stop"]);
    assert_usage_chunk_last(&chunks);
    let sent = follow_up_request(&p);
    assert_call_and_result(&sent, "read_file", &args, output);
    // The blank content travels with the function call.
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(msgs[msgs.len() - 2]["content"], " ", "{sent}");
}

// ---- OpenHands ------------------------------------------------------------------------------

/// OpenHands 0.62 (All-Hands-AI/OpenHands `openhands/llm/llm.py`,
/// `openhands/core/message.py`, `openhands/llm/model_features.py`), model
/// `openai/<name>` with a custom base URL: LiteLLM sends non-streaming
/// `POST {base}/chat/completions` with `temperature: 0.0` and `top_p: 1.0` (the
/// defaults of `llm_config.py`). With native tool calling (a model name in
/// `FUNCTION_CALLING_PATTERNS` such as `gpt-4o`, or `native_tool_calling = true`), every
/// message's content is a list of `text` parts, `tools` are sent, and a tool result is
/// `{"role":"tool","content":[…],"tool_call_id","name"}`. Without it (any other name,
/// e.g. `GigaChat`) the tools are described in the prompt, no `tools` are sent, and
/// `stop: ["</function"]` ends the answer at the end of the written-out call.
#[tokio::test]
async fn openhands_litellm() {
    let p = TestProxy::start().await;
    let parts = |t: &str| json!([{"type": "text", "text": t}]);
    let system = "You are OpenHands agent, a helpful AI assistant.";
    let bash = text_tool(
        "execute_bash",
        "Execute a bash command in the terminal.",
        &["command"],
    );

    // Native tool calling.
    let args = json!({"command": "python3 hello.py"});
    script_tool_turn(&p, "execute_bash", args.clone(), "The script printed hi.");
    let history = json!([
        {"content": parts(system), "role": "system"},
        {"content": parts("Run hello.py"), "role": "user"},
    ]);
    let mut body = json!({
        "model": "gpt-4o",
        "messages": history,
        "temperature": 0.0,
        "top_p": 1.0,
        "tools": [bash],
    });
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 200, "{v}");
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let call = &choice["message"]["tool_calls"][0];
    let id = call["id"].as_str().unwrap().to_string();
    assert_eq!(call["function"]["name"], "execute_bash");
    let got: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(got, args);
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let first = p.last_chat();
    assert_eq!(
        first["messages"][0],
        json!({"role": "system", "content": system})
    );
    assert_eq!(
        first["messages"][1],
        json!({"role": "user", "content": "Run hello.py"})
    );
    // temperature 0 is GigaChat's greedy decoding: top_p 0.
    assert_eq!(first["top_p"], 0.0);
    assert!(first.get("temperature").is_none(), "{first}");

    let output = "hi\n[The command completed with exit code 0.]";
    body["messages"] = json!([
        history[0], history[1],
        {"content": parts(""), "role": "assistant", "tool_calls": [{"id": id,
            "type": "function", "function": {"name": "execute_bash",
            "arguments": call["function"]["arguments"]}}]},
        {"content": parts(output), "role": "tool", "tool_call_id": id, "name": "execute_bash"},
    ]);
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "The script printed hi."
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_call_and_result(&follow_up_request(&p), "execute_bash", &args, output);

    // Prompted tool calling: the call is written out in the answer and the stop word cuts
    // it where OpenHands' parser expects (`fn_call_converter.py` re-adds `</function>`).
    p.ctl().clear_script();
    p.ctl().push_reply(Reply::text(
        "Let me run it.\n<function=execute_bash>\n<parameter=command>python3 hello.py</parameter>\n</function>\nextra",
    ));
    let body = json!({
        "model": "GigaChat",
        "messages": [
            {"content": format!("{system}\nYou have access to the following functions: execute_bash"), "role": "system"},
            {"content": "Run hello.py", "role": "user"},
        ],
        "temperature": 0.0,
        "top_p": 1.0,
        "stop": ["</function"],
    });
    let (status, _, v) = json_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Let me run it.\n<function=execute_bash>\n<parameter=command>python3 hello.py</parameter>\n"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let sent = p.last_chat();
    assert!(sent.get("functions").is_none(), "{sent}");
}

// ---- Cursor ---------------------------------------------------------------------------------

/// Cursor (closed source; <https://cursor.com/docs> "API keys" and the "Override OpenAI
/// Base URL" setting): with a custom OpenAI key and base URL, Cursor's own servers call
/// `{base}/chat/completions` with `Authorization: Bearer <key>`, so the proxy is exposed
/// to the internet and runs with its API key on. What can be checked without Cursor's
/// source: a request without the key is refused in OpenAI's envelope (Cursor's "Verify"
/// shows that message), and the OpenAI Chat Completions streaming tool turn and its
/// follow-up pass with the key.
#[tokio::test]
async fn cursor_override_base_url_with_api_key() {
    let key = "sk-cursor-test";
    let p = TestProxy::start_with(
        &[
            "--proxy.enable-api-key-auth",
            "true",
            "--proxy.api-key",
            key,
        ],
        &[],
    )
    .await;
    let body = json!({"model": "gpt-4o", "stream": true,
        "messages": [{"role": "user", "content": "hi"}]});
    let resp = http()
        .post(p.at("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(resp).await;
    assert_eq!(status, 401, "{v}");
    assert!(v["error"]["message"].as_str().is_some(), "{v}");
    assert!(
        p.chat_bodies().is_empty(),
        "GigaChat was called without the key"
    );

    // A Responses-style body (`input`, no `messages`), which public reports say Cursor
    // sends to /chat/completions for some models: a 400 naming the problem, in OpenAI's
    // envelope, and GigaChat is not called.
    let resp = http()
        .post(p.at("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": "gpt-5", "input": "hi", "stream": true}))
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(resp).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("messages"),
        "{v}"
    );
    assert!(p.chat_bodies().is_empty());

    let resp = http()
        .get(p.at("/v1/models"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let args = json!({"target_file": "src/main.rs"});
    script_tool_turn(&p, "read_file", args.clone(), "main.rs prints hello.");
    let history = json!([
        {"role": "system", "content": "You are a powerful agentic AI coding assistant."},
        {"role": "user", "content": "What does src/main.rs do?"},
    ]);
    let mut body = json!({
        "model": "gpt-4o",
        "messages": history,
        "stream": true,
        "stream_options": {"include_usage": true},
        "tools": [text_tool("read_file", "Read the contents of a file.", &["target_file"])],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
    });
    let chunks = stream(&p, &body, Some(key)).await;
    let (id, name, got) = streamed_tool_call(&chunks);
    assert_eq!((name.as_str(), &got), ("read_file", &args));
    assert_eq!(finishes(&chunks), ["tool_calls"]);
    assert_usage_chunk_last(&chunks);

    let output = "fn main() { println!(\"hello\"); }";
    body["messages"] = json!([
        history[0], history[1],
        {"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function",
            "function": {"name": name, "arguments": got.to_string()}}]},
        {"role": "tool", "tool_call_id": id, "content": output},
    ]);
    let chunks = stream(&p, &body, Some(key)).await;
    assert_eq!(streamed_text(&chunks), "main.rs prints hello.");
    assert_call_and_result(&follow_up_request(&p), "read_file", &args, output);
}
