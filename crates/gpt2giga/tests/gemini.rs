//! The Gemini API through the proxy: generateContent (JSON, SSE, JSON-array stream),
//! function calling round trips, structured output, thinking, countTokens, embeddings,
//! models, errors and auth — and what GigaChat (the emulator) received.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestProxy, bodies, content_type, http, json_of, text_of};
use gigachat_mock::tokens::count_tokens;
use gigachat_mock::{Fault, Reply, StreamFault, StreamFaultKind};
use serde_json::{Value, json};

const GEN: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

fn user(text: &str) -> Value {
    json!({"role": "user", "parts": [{"text": text}]})
}

fn request(contents: Value) -> Value {
    json!({"contents": contents})
}

fn weather_tool() -> Value {
    json!({"functionDeclarations": [
        {"name": "get_weather", "description": "Weather in a city",
         "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                        "required": ["city"]}},
        {"name": "get_time",
         "parametersJsonSchema": {"type": "object", "properties": {"tz": {"type": "string"}}}}
    ]})
}

async fn generate(p: &TestProxy, path: &str, body: &Value) -> Value {
    let (status, _, v) = json_of(p.post(path, body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["candidates"][0]["index"], 0, "{v}");
    assert_eq!(v["candidates"][0]["content"]["role"], "model", "{v}");
    assert!(!v["responseId"].as_str().unwrap().is_empty());
    v
}

/// `data:` frames of an `alt=sse` stream.
fn sse_frames(text: &str) -> Vec<Value> {
    text.split("\r\n\r\n")
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            let data = f
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data frame: {f:?}"));
            serde_json::from_str(data).unwrap_or_else(|e| panic!("bad frame {data:?}: {e}"))
        })
        .collect()
}

async fn stream_sse(p: &TestProxy, body: &Value) -> Vec<Value> {
    let r = http()
        .post(p.at(&format!("{STREAM}?alt=sse")))
        .json(body)
        .send()
        .await
        .unwrap();
    let (status, headers, text) = text_of(r).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        content_type(&headers).starts_with("text/event-stream"),
        "{headers:?}"
    );
    sse_frames(&text)
}

/// Parts of every frame, in order.
fn parts(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .flat_map(|f| {
            f["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn text_of_parts(parts: &[Value], thought: bool) -> String {
    parts
        .iter()
        .filter(|p| p["thought"].as_bool().unwrap_or(false) == thought)
        .filter_map(|p| p["text"].as_str())
        .collect()
}

// ---- answers --------------------------------------------------------------------------------

#[tokio::test]
async fn generate_content_text_and_what_gigachat_got() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("Hello from GigaChat!"));
    let body = json!({
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [user("Hi")],
        "generationConfig": {"temperature": 0.5, "topP": 0.8, "topK": 3,
                             "maxOutputTokens": 64, "candidateCount": 1},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    });
    let v = generate(&p, GEN, &body).await;
    assert_eq!(
        v["candidates"][0]["content"]["parts"],
        json!([{"text": "Hello from GigaChat!"}])
    );
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    assert_eq!(v["modelVersion"], "gemini-2.5-flash");
    let u = &v["usageMetadata"];
    let prompt = u["promptTokenCount"].as_u64().unwrap();
    let cand = u["candidatesTokenCount"].as_u64().unwrap();
    assert!(prompt > 0 && cand > 0, "{u}");
    assert_eq!(u["totalTokenCount"].as_u64().unwrap(), prompt + cand);

    let sent = p.last_chat();
    assert_eq!(sent["model"], "GigaChat");
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(
        sent["messages"][1],
        json!({"role": "user", "content": "Hi"})
    );
    assert_eq!(sent["temperature"], 0.5);
    assert_eq!(sent["top_p"], 0.8);
    assert_eq!(sent["max_tokens"], 64);
    assert!(sent.get("top_k").is_none());
    assert_ne!(sent["stream"], true);
}

#[tokio::test]
async fn model_prefixes_encodings_and_v1() {
    let p = TestProxy::start().await;
    p.ctl()
        .push_replies([Reply::text("a"), Reply::text("b"), Reply::text("c")]);
    let body = request(json!([user("x")]));
    for (path, want) in [
        (
            "/v1beta/models/models%2Fgemini-2.5-pro:generateContent",
            "a",
        ),
        ("/v1beta/tunedModels/my-tuned:generateContent", "b"),
        ("/v1/models/gemini-2.5-flash:generateContent", "c"),
    ] {
        let v = generate(&p, path, &body).await;
        assert_eq!(
            v["candidates"][0]["content"]["parts"][0]["text"], want,
            "{path}"
        );
    }
    assert_eq!(p.chat_bodies().len(), 3);
}

#[tokio::test]
async fn pass_model_sends_the_named_model() {
    let p = TestProxy::start_with(&["--proxy.pass-model", "true"], &[]).await;
    p.ctl().push_reply(Reply::text("ok"));
    let v = generate(
        &p,
        "/v1beta/models/GigaChat-2-Max:generateContent",
        &request(json!([user("x")])),
    )
    .await;
    assert_eq!(v["modelVersion"], "GigaChat-2-Max");
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Max");
}

#[tokio::test]
async fn sse_stream_frames_are_responses_with_usage_last() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(4);
    let text = "one two three four five six";
    p.ctl().push_reply(Reply::text(text));
    let frames = stream_sse(&p, &request(json!([user("count")]))).await;
    assert!(frames.len() > 3, "{frames:?}");
    assert_eq!(text_of_parts(&parts(&frames), false), text);
    for f in &frames[..frames.len() - 1] {
        assert!(f["candidates"][0].get("finishReason").is_none(), "{f}");
        assert!(f.get("usageMetadata").is_none(), "{f}");
        // Every frame carries a non-empty part (what the SDKs' chat sessions check).
        assert!(
            !f["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
                .is_empty()
        );
        assert_eq!(f["responseId"], frames[0]["responseId"]);
    }
    let last = frames.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert!(last["usageMetadata"]["totalTokenCount"].as_u64().unwrap() > 0);
    assert_eq!(p.last_chat()["stream"], true);
}

#[tokio::test]
async fn json_array_stream_without_alt_sse() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(5);
    p.ctl().push_reply(Reply::text("streamed as an array"));
    let r = p.post(STREAM, &request(json!([user("x")]))).await;
    let (status, headers, text) = text_of(r).await;
    assert_eq!(status, 200, "{text}");
    assert!(content_type(&headers).starts_with("application/json"));
    assert!(text.starts_with('['), "{text}");
    let frames: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(frames.len() > 1);
    assert_eq!(
        text_of_parts(&parts(&frames), false),
        "streamed as an array"
    );
    assert_eq!(
        frames.last().unwrap()["candidates"][0]["finishReason"],
        "STOP"
    );
}

#[tokio::test]
async fn thinking_parts_only_with_include_thoughts() {
    let p = TestProxy::start().await;
    p.ctl().push_replies([
        Reply::reasoning("Let me think.", "42."),
        Reply::reasoning("Hidden.", "43."),
        Reply::reasoning("Streamed.", "44."),
    ]);
    let mut body = request(json!([user("answer?")]));
    body["generationConfig"] =
        json!({"thinkingConfig": {"thinkingBudget": 20000, "includeThoughts": true}});
    let v = generate(&p, GEN, &body).await;
    assert_eq!(
        v["candidates"][0]["content"]["parts"],
        json!([{"text": "Let me think.", "thought": true}, {"text": "42."}])
    );
    assert_eq!(p.last_chat()["reasoning_effort"], "high");

    body["generationConfig"] = json!({"thinkingConfig": {"thinkingBudget": 1000}});
    let v = generate(&p, GEN, &body).await;
    assert_eq!(
        v["candidates"][0]["content"]["parts"],
        json!([{"text": "43."}])
    );
    assert_eq!(p.last_chat()["reasoning_effort"], "low");

    body["generationConfig"] = json!({"thinkingConfig": {"includeThoughts": true}});
    let frames = stream_sse(&p, &body).await;
    let ps = parts(&frames);
    assert_eq!(text_of_parts(&ps, true), "Streamed.");
    assert_eq!(text_of_parts(&ps, false), "44.");

    body["generationConfig"] = json!({"thinkingConfig": {"thinkingBudget": 0}});
    p.ctl().push_reply(Reply::text("fast"));
    generate(&p, GEN, &body).await;
    assert!(p.last_chat().get("reasoning_effort").is_none());
}

#[tokio::test]
async fn structured_output_with_response_schema() {
    let p = TestProxy::start().await;
    p.ctl()
        .push_reply(Reply::text(r#"{"name":"Kazan","population":1300000}"#));
    let mut body = request(json!([user("a city")]));
    body["generationConfig"] = json!({
        "responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {
            "name": {"type": "STRING"}, "population": {"type": "INTEGER", "nullable": true}},
            "required": ["name"], "propertyOrdering": ["name", "population"]}
    });
    let v = generate(&p, GEN, &body).await;
    let text = v["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    let parsed: Value = serde_json::from_str(text).unwrap();
    assert_eq!(parsed["name"], "Kazan");
    let sent = p.last_chat();
    let rf = &sent["response_format"];
    assert_eq!(rf["type"], "json_schema", "{sent}");
    assert_eq!(rf["schema"]["type"], "object");
    assert_eq!(rf["schema"]["properties"]["name"]["type"], "string");
    assert_eq!(rf["schema"]["properties"]["population"]["type"], "integer");
    assert!(rf["schema"].get("propertyOrdering").is_none());
}

// ---- function calling -----------------------------------------------------------------------

#[tokio::test]
async fn function_call_answer_and_declarations_sent() {
    let p = TestProxy::start().await;
    p.ctl().push_replies([
        Reply::function_call("get_weather", json!({"city": "Kazan"})),
        Reply::function_call("get_time", json!({"tz": "UTC"})),
    ]);
    let mut body = request(json!([user("weather in Kazan?")]));
    body["tools"] = json!([weather_tool()]);
    body["toolConfig"] = json!({"functionCallingConfig": {"mode": "ANY"}});
    let v = generate(&p, GEN, &body).await;
    let fc = &v["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(fc["name"], "get_weather");
    assert_eq!(fc["args"], json!({"city": "Kazan"}));
    assert!(!fc["id"].as_str().unwrap().is_empty());
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");

    let sent = p.last_chat();
    let functions = sent["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 2);
    assert_eq!(functions[0]["name"], "get_weather");
    assert_eq!(functions[0]["description"], "Weather in a city");
    assert_eq!(functions[0]["parameters"]["type"], "object");
    assert_eq!(
        functions[0]["parameters"]["properties"]["city"]["type"],
        "string"
    );
    assert_eq!(
        functions[1]["parameters"]["properties"]["tz"]["type"],
        "string"
    );

    // Streamed: the call is one part of the last frame.
    let frames = stream_sse(&p, &body).await;
    let ps = parts(&frames);
    let calls: Vec<&Value> = ps.iter().filter_map(|p| p.get("functionCall")).collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["name"], "get_time");
    assert_eq!(calls[0]["args"], json!({"tz": "UTC"}));
    let last = frames.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert!(last["candidates"][0]["content"]["parts"][0]["functionCall"].is_object());
}

#[tokio::test]
async fn history_with_several_calls_and_results_reaches_gigachat_in_order() {
    let p = TestProxy::start().await;
    p.ctl()
        .push_reply(Reply::text("Kazan is warm, Perm is cold; it is noon."));
    let mut body = request(json!([
        user("weather in Kazan and Perm, and the time?"),
        {"role": "model", "parts": [
            {"text": "Checking.", "thoughtSignature": "c2ln"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Kazan"}}},
            {"functionCall": {"id": "call-t", "name": "get_time", "args": {"tz": "UTC"}}},
            {"functionCall": {"name": "get_weather", "args": {"city": "Perm"}}}
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"id": "call-t", "name": "get_time", "response": {"output": "noon"}}},
            {"functionResponse": {"name": "get_weather", "response": {"output": "warm"}}},
            {"functionResponse": {"name": "get_weather", "response": {"output": "cold"}}}
        ]}
    ]));
    body["tools"] = json!([weather_tool()]);
    let v = generate(&p, GEN, &body).await;
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["text"],
        "Kazan is warm, Perm is cold; it is noon."
    );
    let sent = p.last_chat();
    let msgs: Vec<Value> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!({"role": m["role"], "content": m["content"], "fc": m.get("function_call"), "name": m.get("name")})
        })
        .collect();
    assert_eq!(msgs.len(), 7, "{msgs:#?}");
    assert_eq!(msgs[0]["role"], "user");
    // Each call is followed by its own result (GigaChat v1 takes one call per turn).
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(msgs[1]["content"], "Checking.");
    assert_eq!(
        msgs[1]["fc"],
        json!({"name": "get_weather", "arguments": {"city": "Kazan"}})
    );
    assert_eq!(msgs[2]["role"], "function");
    assert_eq!(msgs[2]["name"], "get_weather");
    assert!(msgs[2]["content"].as_str().unwrap().contains("warm"));
    assert_eq!(msgs[3]["fc"]["name"], "get_time");
    assert!(msgs[4]["content"].as_str().unwrap().contains("noon"));
    assert_eq!(msgs[5]["fc"]["arguments"], json!({"city": "Perm"}));
    assert!(msgs[6]["content"].as_str().unwrap().contains("cold"));
}

#[tokio::test]
async fn function_round_trip_with_the_returned_call() {
    let p = TestProxy::start().await;
    p.ctl().push_replies([
        Reply::function_call("get_weather", json!({"city": "Kazan"})),
        Reply::text("It is warm in Kazan."),
    ]);
    let mut body = request(json!([user("weather in Kazan?")]));
    body["tools"] = json!([weather_tool()]);
    let v = generate(&p, GEN, &body).await;
    let call = v["candidates"][0]["content"].clone();
    let fc = call["parts"][0]["functionCall"].clone();
    body["contents"].as_array_mut().unwrap().push(call);
    body["contents"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "function", "parts": [
        {"functionResponse": {"id": fc["id"], "name": "get_weather", "response": {"temp": 25}}}]}));
    let v = generate(&p, GEN, &body).await;
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["text"],
        "It is warm in Kazan."
    );
    let sent = p.last_chat();
    let m = sent["messages"].as_array().unwrap();
    assert_eq!(m[1]["function_call"]["name"], "get_weather");
    assert_eq!(m[2]["role"], "function");
    assert_eq!(m[2]["content"], r#"{"temp":25}"#);
}

// ---- countTokens, embeddings, models --------------------------------------------------------

#[tokio::test]
async fn count_tokens_uses_gigachats_counter() {
    let p = TestProxy::start().await;
    let (status, _, v) = json_of(
        p.post(
            "/v1beta/models/gemini-2.5-flash:countTokens",
            &request(json!([user("Hello, world!")])),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["totalTokens"], count_tokens("Hello, world!"));

    let body = json!({"generateContentRequest": {
        "model": "models/gemini-2.5-flash",
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [user("Hello, world!")],
        "tools": [weather_tool()]}});
    let (status, _, v) = json_of(
        p.post("/v1beta/models/gemini-2.5-flash:countTokens", &body)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let sent = bodies(p.ctl(), "/tokens/count");
    assert_eq!(sent.len(), 2);
    let inputs: Vec<&str> = sent[1]["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(inputs.contains(&"Be brief."), "{inputs:?}");
    assert!(
        inputs.iter().any(|t| t.contains("get_weather")),
        "{inputs:?}"
    );
    // "Hello, world!" was counted by the first call: remembered, not sent again.
    assert!(!inputs.contains(&"Hello, world!"), "{inputs:?}");
    let want: u64 =
        inputs.iter().map(|t| count_tokens(t)).sum::<u64>() + count_tokens("Hello, world!");
    assert_eq!(v["totalTokens"], want);
    assert!(p.chat_bodies().is_empty());
}

#[tokio::test]
async fn embed_and_batch_embed() {
    let p = TestProxy::start().await;
    let (status, _, v) = json_of(
        p.post(
            "/v1beta/models/gemini-embedding-001:embedContent",
            &json!({"content": {"parts": [{"text": "Hello"}]}, "taskType": "RETRIEVAL_QUERY"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let one = v["embedding"]["values"].as_array().unwrap().len();
    assert!(one > 8, "{v}");

    let (status, _, v) = json_of(
        p.post(
            "/v1beta/models/gemini-embedding-001:batchEmbedContents",
            &json!({"requests": [
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}},
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]},
                 "outputDimensionality": 4}
            ]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let e = v["embeddings"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0]["values"].as_array().unwrap().len(), one);
    let short: Vec<f64> = e[1]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(short.len(), 4);
    let norm: f64 = short.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "{norm}");

    let sent = bodies(p.ctl(), "/embeddings");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["input"], json!(["Hello"]));
    assert_eq!(sent[1]["input"], json!(["a", "b"]));
    assert_eq!(sent[1]["model"], "EmbeddingsGigaR");

    let (status, _, v) = json_of(
        p.post(
            "/v1beta/models/e:embedContent",
            &json!({"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "AA"}}]}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn models_list_pages_and_get() {
    let p = TestProxy::start().await;
    let (status, _, v) = json_of(p.get("/v1beta/models?pageSize=2").await).await;
    assert_eq!(status, 200, "{v}");
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert!(models[0]["name"].as_str().unwrap().starts_with("models/"));
    assert!(models[0]["supportedGenerationMethods"].is_array());
    let mut names: Vec<String> = models
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    let mut token = v["nextPageToken"].as_str().map(str::to_string);
    while let Some(t) = token {
        let (_, _, v) = json_of(
            p.get(&format!("/v1beta/models?pageSize=2&pageToken={t}"))
                .await,
        )
        .await;
        names.extend(
            v["models"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_string()),
        );
        token = v["nextPageToken"].as_str().map(str::to_string);
    }
    let (_, _, all) = json_of(p.get("/v1beta/models").await).await;
    assert_eq!(names.len(), all["models"].as_array().unwrap().len());
    assert!(names.contains(&"models/GigaChat".to_string()), "{names:?}");

    let (status, _, v) = json_of(p.get("/v1beta/models/GigaChat").await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["name"], "models/GigaChat");
    assert_eq!(
        v["supportedGenerationMethods"],
        json!(["generateContent", "streamGenerateContent", "countTokens"])
    );
    // Without --proxy.pass-model any name is served by the configured model.
    let (status, _, v) = json_of(p.get("/v1beta/models/models%2Fgemini-2.5-flash").await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["name"], "models/gemini-2.5-flash");
    assert!(v["displayName"].as_str().unwrap().contains("GigaChat"));

    // The Python SDK lists under `/v1`: a Gemini client gets Gemini's shape there,
    // everyone else OpenAI's.
    let r = http()
        .get(p.at("/v1/models?pageSize=1"))
        .header("x-goog-api-key", "any")
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["models"].as_array().unwrap().len(), 1, "{v}");
    assert!(v["nextPageToken"].is_string());
    let r = http()
        .get(p.at("/v1/models/GigaChat"))
        .header("x-goog-api-client", "google-genai-sdk/1.0")
        .send()
        .await
        .unwrap();
    let (_, _, v) = json_of(r).await;
    assert_eq!(v["name"], "models/GigaChat");
    let (_, _, v) = json_of(p.get("/v1/models").await).await;
    assert_eq!(v["object"], "list");

    let q = TestProxy::start_with(&["--proxy.pass-model", "true"], &[]).await;
    let (status, _, v) = json_of(q.get("/v1beta/models/gemini-2.5-flash").await).await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["status"], "NOT_FOUND");
}

// ---- errors ---------------------------------------------------------------------------------

#[tokio::test]
async fn client_mistakes_are_400_invalid_argument_naming_the_field() {
    let p = TestProxy::start().await;
    let base = request(json!([user("x")]));
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"generationConfig": {"candidateCount": 2}}),
            "candidateCount",
        ),
        (json!({"tools": [{"urlContext": {}}]}), "urlContext"),
        (json!({"tools": [{"codeExecution": {}}]}), "codeExecution"),
        (
            json!({"cachedContent": "cachedContents/x"}),
            "cachedContent",
        ),
        (
            json!({"generationConfig": {"responseModalities": ["AUDIO"]}}),
            "responseModalities",
        ),
        (json!({"contents": []}), "contents"),
        (json!({"contents": "nope"}), "contents"),
    ];
    for (patch, field) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, headers, v) = json_of(p.post(GEN, &body).await).await;
        assert_eq!(status, 400, "{field}: {v}");
        assert!(content_type(&headers).starts_with("application/json"));
        assert_eq!(v["error"]["code"], 400);
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT", "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(field), "{field}: {msg}");
    }
    let (_, _, v) = json_of(
        p.post(
            GEN,
            &json!({"tools": [{"fileSearch": {}}], "contents": [user("x")]}),
        )
        .await,
    )
    .await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no equivalent"),
        "{v}"
    );
    let r = http()
        .post(p.at(GEN))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert!(p.chat_bodies().is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods_are_404_not_found() {
    let p = TestProxy::start().await;
    for (method, path) in [
        ("GET", "/v1beta/files"),
        ("POST", "/v1beta/cachedContents"),
        ("POST", "/v1beta/models/gemini-2.5-flash:predict"),
        ("POST", "/v1beta/models/gemini-2.5-flash"),
        ("DELETE", "/v1beta/models"),
        ("DELETE", "/v1beta/models/gemini-2.5-flash"),
        ("GET", "/v1beta/models/gemini-2.5-flash:generateContent"),
        ("PUT", "/v1/models/x:generateContent"),
        ("GET", "/v1/models/x:generateContent"),
        ("POST", "/v1/models/GigaChat"),
    ] {
        let r = http()
            .request(method.parse().unwrap(), p.at(path))
            .send()
            .await
            .unwrap();
        let (status, _, v) = json_of(r).await;
        assert_eq!(status, 404, "{method} {path}: {v}");
        assert_eq!(v["error"]["status"], "NOT_FOUND", "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], 404);
    }
}

#[tokio::test]
async fn upstream_failures_keep_their_meaning() {
    let p = TestProxy::start().await;
    for stream in [false, true] {
        let path = if stream {
            format!("{STREAM}?alt=sse")
        } else {
            GEN.to_string()
        };
        let body = request(json!([user("x")]));
        p.ctl().inject_fault(
            Fault::status(429)
                .retry_after("3")
                .path_suffix("/chat/completions"),
        );
        let (status, headers, v) = json_of(p.post(&path, &body).await).await;
        assert_eq!(status, 429, "{v}");
        assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(headers["retry-after"], "3");

        p.ctl()
            .inject_fault(Fault::status(503).path_suffix("/chat/completions"));
        let (status, _, v) = json_of(p.post(&path, &body).await).await;
        assert_eq!(status, 503, "{v}");
        assert_eq!(v["error"]["status"], "UNAVAILABLE");

        p.ctl()
            .inject_fault(Fault::status(402).path_suffix("/chat/completions"));
        let (status, _, v) = json_of(p.post(&path, &body).await).await;
        assert_eq!(status, 402, "{v}");
        assert_eq!(v["error"]["code"], 402);
        assert!(!v.to_string().contains("http://"), "{v}");
    }
}

#[tokio::test]
async fn blacklist_is_safety_and_length_is_max_tokens() {
    let p = TestProxy::start().await;
    p.ctl()
        .push_replies([Reply::Blacklist, Reply::Length("cut".into())]);
    let v = generate(&p, GEN, &request(json!([user("x")]))).await;
    assert_eq!(v["candidates"][0]["finishReason"], "SAFETY");
    let v = generate(&p, GEN, &request(json!([user("x")]))).await;
    assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
}

#[tokio::test]
async fn mid_stream_failure_is_an_error_frame_then_the_end() {
    let p = TestProxy::start().await;
    p.ctl().set_chunk_size(3);
    p.ctl()
        .push_reply(Reply::text("a rather long answer that never finishes"));
    p.ctl().set_stream_fault(Some(StreamFault::times(
        StreamFaultKind::Disconnect { after_chunks: 2 },
        2,
    )));
    let frames = stream_sse(&p, &request(json!([user("go")]))).await;
    let last = frames.last().unwrap();
    assert!(last["error"]["status"].is_string(), "{frames:?}");
    assert!(!text_of_parts(&parts(&frames), false).is_empty());
    // The array framing closes the array with the error as its last element.
    p.ctl()
        .push_reply(Reply::text("a rather long answer that never finishes"));
    let (status, _, text) = text_of(p.post(STREAM, &request(json!([user("go")]))).await).await;
    assert_eq!(status, 200);
    let arr: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(arr.last().unwrap()["error"]["code"].is_number(), "{text}");
}

#[tokio::test]
async fn middleware_refusals_use_googles_envelope() {
    let p = TestProxy::start_with(
        &[
            "--proxy.max-request-body-bytes",
            "1000",
            "--proxy.max-concurrent-requests-per-model",
            "1",
            "--proxy.concurrency-queue-size",
            "0",
        ],
        &[],
    )
    .await;
    let big = request(json!([user(&"x".repeat(5000))]));
    let (status, _, v) = json_of(p.post(GEN, &big).await).await;
    assert_eq!(status, 413, "{v}");
    assert_eq!(v["error"]["code"], 413);
    assert!(v["error"]["status"].is_string());

    // The concurrency cap: a second request while one is in flight is a 429 at once.
    p.ctl()
        .set_chunk_delay(std::time::Duration::from_millis(300));
    p.ctl().set_chunk_size(2);
    p.ctl()
        .push_replies([Reply::text("slow answer here"), Reply::text("x")]);
    let first = {
        let url = p.at(&format!("{STREAM}?alt=sse"));
        tokio::spawn(async move {
            let r = http()
                .post(url)
                .json(&request(json!([user("a")])))
                .send()
                .await
                .unwrap();
            r.text().await.unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, headers, v) = json_of(p.post(GEN, &request(json!([user("b")]))).await).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    assert!(headers.contains_key("retry-after"));
    let text = first.await.unwrap();
    assert!(text.contains("finishReason"), "{text}");
}

// ---- auth and metrics -----------------------------------------------------------------------

const KEY_ENV: &[(&str, &str)] = &[
    ("GPT2GIGA_ENABLE_API_KEY_AUTH", "true"),
    ("GPT2GIGA_API_KEY", "k1"),
];

#[tokio::test]
async fn api_key_as_x_goog_api_key_or_key_query() {
    let p = TestProxy::start_with(&[], KEY_ENV).await;
    p.ctl().push_replies([Reply::text("a"), Reply::text("b")]);
    let body = request(json!([user("hi")]));

    let (status, _, v) = json_of(p.post(GEN, &body).await).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-goog-api-key"),
        "{v}"
    );
    let r = http()
        .post(p.at(GEN))
        .header("x-goog-api-key", "wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 401);
    assert_eq!(v["error"]["message"], "invalid API key");
    // Unknown routes behind the key are refused in Google's envelope too.
    let (status, _, v) = json_of(p.get("/v1beta/files").await).await;
    assert_eq!(status, 401);
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
    // The shared `/v1/models` answers a Gemini client (the SDK's default path) in
    // Google's envelope; an OpenAI client keeps OpenAI's.
    let r = http()
        .get(p.at("/v1/models"))
        .header("x-goog-api-key", "wrong")
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 401);
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED", "{v}");
    let (status, _, v) = json_of(p.get("/v1/models").await).await;
    assert_eq!(status, 401);
    assert!(v["error"]["status"].is_null(), "{v}");
    assert_eq!(v["error"]["type"], "authentication_error", "{v}");

    let r = http()
        .post(p.at(GEN))
        .header("x-goog-api-key", "k1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["candidates"][0]["content"]["parts"][0]["text"], "a");

    let r = http()
        .post(p.at(&format!("{STREAM}?alt=sse&key=k1")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, _, text) = text_of(r).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"b\""), "{text}");

    for rec in p
        .ctl()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
    {
        assert!(rec.header("x-goog-api-key").is_none());
        assert_ne!(rec.header("authorization"), Some("Bearer k1"));
        assert!(!rec.query.as_deref().unwrap_or("").contains("k1"));
    }
}

#[tokio::test]
async fn pass_token_identity_in_x_goog_api_key() {
    let p = TestProxy::start_with(&["--proxy.pass-token", "true"], &[]).await;
    p.ctl().push_reply(Reply::text("yours"));
    let token = p.ctl().issue_static_token();
    let r = http()
        .post(p.at(GEN))
        .header("x-goog-api-key", format!("giga-auth-{token}"))
        .json(&request(json!([user("hi")])))
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    let rec = p.ctl().last_request("/chat/completions").unwrap();
    assert_eq!(
        rec.header("authorization"),
        Some(&*format!("Bearer {token}"))
    );
    let r = http()
        .post(p.at(GEN))
        .header("x-goog-api-key", "giga-nope-x")
        .json(&request(json!([user("hi")])))
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn metrics_label_gemini_routes() {
    let p = TestProxy::start().await;
    p.ctl().push_reply(Reply::text("x"));
    generate(&p, GEN, &request(json!([user("x")]))).await;
    let (_, _, text) = text_of(p.get("/metrics").await).await;
    let line = text
        .lines()
        .find(|l| {
            l.contains(r#"route="/v1beta/models/{model}:generateContent""#)
                && l.contains(r#"dialect="gemini""#)
        })
        .unwrap_or_else(|| panic!("no gemini route in /metrics:\n{text}"));
    assert!(
        line.contains("gemini-2.5-flash") || line.contains("model="),
        "{line}"
    );
}
