//! Property tests for the answer encoders: for random `ir::Event` sequences (reasoning and
//! text chunks interleaved, tool calls, usage, every finish reason), each dialect's JSON
//! answer is what a client reassembles from the same encoder's stream.
//!
//! The reassembly follows the official SDKs: OpenAI's `ChatCompletionStreamState`
//! (deltas accumulated per choice and per tool-call index), Anthropic's
//! `MessageStream` (`message_start` snapshot, `content_block_start`/`_delta`/`_stop`,
//! then `message_delta`), and for Responses the `response.completed` object, checked
//! against the reassembly of the deltas and the `output_item.done` items.
//!
//! Each case runs one encoder with frames on and compares its stream with its own final
//! object (same ids), then runs a second encoder through the non-streaming driver
//! (`encoder::answer`, frames off) and compares that body with the first modulo the ids
//! and timestamps each encoder generates. Case counts are modest (`PROPTEST_CASES` raises
//! them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use bytes::BytesMut;
use gpt2giga::dialect::anthropic::request::EncodeOptions as AnthropicOptions;
use gpt2giga::dialect::anthropic::response::MessageEncoder;
use gpt2giga::dialect::encoder::{Encoder, answer};
use gpt2giga::dialect::gemini::request::EncodeOptions as GeminiOptions;
use gpt2giga::dialect::gemini::response::{ContentEncoder, Framing};
use gpt2giga::dialect::openai::chat_request::EncodeOptions as ChatOptions;
use gpt2giga::dialect::openai::chat_response::CompletionEncoder;
use gpt2giga::dialect::openai_responses::request::{Echo, ToolKind};
use gpt2giga::dialect::openai_responses::response::{ResponseEncoder, Shape};
use gpt2giga::ir::EventStream;
use gpt2giga::ir::{
    Builtin, BuiltinCall, BuiltinOutcome, Citation, Event, FinishReason, GeneratedImage, Source,
    ToolCall, Usage,
};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------- strategies

#[derive(Debug, Clone)]
enum Step {
    Reasoning(String),
    Text(String),
    Call(&'static str, String),
    /// A built-in run: its kind, progress events, sources, whether it succeeded.
    Builtin(Builtin, usize, usize, bool),
    /// Citations of the text so far: spans picked by these numbers.
    Cite(Vec<(usize, usize)>),
}

/// A chunk of text: mostly short runs with characters JSON must escape, sometimes empty.
fn chunk() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z0-9 ,.!?\n\"\\\\{}\u{e9}\u{65e5}\u{1F600}]{1,12}",
        1 => Just(String::new()),
    ]
}

/// Function tools, a Responses custom tool and a namespaced one.
fn tool_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["get_weather", "apply_patch", "ns__lookup"])
}

/// Object arguments, and the odd shapes a model may produce.
fn arguments() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => chunk().prop_map(|t| json!({"city": t}).to_string()),
        2 => chunk().prop_map(|t| json!({"input": t}).to_string()),
        1 => Just("{}".to_string()),
        1 => Just("[1,2]".to_string()),
        1 => Just("\"text\"".to_string()),
        1 => Just("not json".to_string()),
    ]
}

fn builtin() -> impl Strategy<Value = Builtin> {
    prop::sample::select(vec![
        Builtin::WebSearch,
        Builtin::CodeInterpreter,
        Builtin::ImageGeneration,
        Builtin::UrlFetch,
    ])
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => chunk().prop_map(Step::Reasoning),
        4 => chunk().prop_map(Step::Text),
        1 => (tool_name(), arguments()).prop_map(|(n, a)| Step::Call(n, a)),
        1 => (builtin(), 0usize..3, 0usize..3, any::<bool>())
            .prop_map(|(b, p, n, ok)| Step::Builtin(b, p, n, ok)),
        1 => prop::collection::vec((0usize..64, 0usize..64), 1..3).prop_map(Step::Cite),
    ]
}

/// A source of a search (a few URLs repeat, so citations share them).
fn source(n: usize) -> Source {
    Source {
        url: format!("https://example.com/{}", n % 3),
        title: n
            .is_multiple_of(2)
            .then(|| format!("Page \"{n}\" \u{65e5}")),
    }
}

fn usage() -> impl Strategy<Value = Usage> {
    (
        0u64..5000,
        0u64..5000,
        0u64..6000,
        prop::option::of(0u64..1000),
    )
        .prop_map(|(input, output, cached, reasoning)| Usage {
            input_tokens: input,
            output_tokens: output,
            cached_tokens: cached,
            reasoning_tokens: reasoning,
            web_searches: 0,
        })
}

fn finish() -> impl Strategy<Value = FinishReason> {
    prop_oneof![
        Just(FinishReason::Stop),
        Just(FinishReason::Length),
        Just(FinishReason::ToolCalls),
        Just(FinishReason::ContentFilter),
        prop::sample::select(vec!["END", "\n\n", "\u{65e5}"])
            .prop_map(|s| FinishReason::StopSequence(s.to_string())),
    ]
}

/// An answer as `upstream` yields it: content events, then usage and the finish reason
/// (either may be missing, usage may repeat; the last one counts).
fn events() -> impl Strategy<Value = Vec<Event>> {
    (
        prop::collection::vec(step(), 0..12),
        prop::collection::vec(usage(), 0..3),
        prop::option::of(finish()),
        any::<bool>(),
    )
        .prop_map(|(steps, usages, finish, finish_first)| {
            let mut out: Vec<Event> = Vec::new();
            let mut text = String::new();
            for (i, s) in steps.into_iter().enumerate() {
                match s {
                    Step::Reasoning(r) => out.push(Event::Reasoning(r)),
                    Step::Text(t) => {
                        text.push_str(&t);
                        out.push(Event::Text(t));
                    }
                    Step::Call(name, arguments) => out.push(Event::ToolCall(ToolCall {
                        id: format!("call_{i}"),
                        name: name.to_string(),
                        arguments,
                    })),
                    Step::Builtin(kind, progress, sources, ok) => {
                        let call = BuiltinCall {
                            id: format!("b{i}"),
                            kind,
                            query: format!("query \"{i}\""),
                        };
                        out.push(Event::BuiltinStarted(call.clone()));
                        for _ in 0..progress {
                            out.push(Event::BuiltinProgress(call.clone()));
                        }
                        out.push(Event::BuiltinDone(BuiltinOutcome {
                            call,
                            ok,
                            sources: (0..sources).map(|n| source(i + n)).collect(),
                            images: if kind == Builtin::ImageGeneration && ok {
                                vec![GeneratedImage {
                                    file_id: format!("f{i}"),
                                    mime: "image/jpeg".into(),
                                    data: "/9j/4AAQ".into(),
                                }]
                            } else {
                                Vec::new()
                            },
                        }));
                    }
                    Step::Cite(spans) => {
                        // Char boundaries of the text so far.
                        let bounds: Vec<usize> = text
                            .char_indices()
                            .map(|(b, _)| b)
                            .chain([text.len()])
                            .collect();
                        let cites: Vec<Citation> = spans
                            .into_iter()
                            .enumerate()
                            .filter_map(|(k, (a, b))| {
                                let (a, b) = (bounds[a % bounds.len()], bounds[b % bounds.len()]);
                                (a < b).then(|| Citation {
                                    source: source(k),
                                    start: a,
                                    end: b,
                                })
                            })
                            .collect();
                        if !cites.is_empty() {
                            out.push(Event::Citations(cites));
                        }
                    }
                }
            }
            let mut tail: Vec<Event> = usages.into_iter().map(Event::Usage).collect();
            if let Some(f) = finish {
                if finish_first {
                    tail.insert(0, Event::Finish(f));
                } else {
                    tail.push(Event::Finish(f));
                }
            }
            out.extend(tail);
            out
        })
}

// ---------------------------------------------------------------- running the encoders

/// The encoder with frames on: its SSE body and its own final object.
fn stream<E: Encoder>(mut enc: E, events: &[Event]) -> (String, Value) {
    let mut out = BytesMut::new();
    enc.start(Some(&mut out));
    for e in events {
        enc.event(e.clone(), Some(&mut out));
    }
    enc.end(Some(&mut out));
    let body = String::from_utf8(out.to_vec()).unwrap();
    (body, serde_json::to_value(enc.finish()).unwrap())
}

/// The non-streaming answer exactly as a handler makes it: `encoder::answer`.
fn json_answer<E: Encoder>(enc: E, events: &[Event]) -> Value {
    let items: Vec<_> = events.iter().cloned().map(Ok).collect();
    let events: EventStream = Box::pin(futures::stream::iter(items));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let body = rt.block_on(async {
        let resp = answer(events, enc).await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.into_body().collect().await.unwrap().to_bytes()
    });
    serde_json::from_slice(&body).unwrap()
}

/// Replaces generated values (every `id`, `created`, `created_at`) by placeholders in
/// order of appearance, so two encoders' answers compare modulo their own ids.
fn modulo_ids(v: &Value) -> Value {
    fn walk(v: &Value, seen: &mut HashMap<String, usize>) -> Value {
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| {
                        let v = match (k.as_str(), v) {
                            ("id", Value::String(s)) => {
                                let n = seen.len();
                                json!(format!("<id {}>", *seen.entry(s.clone()).or_insert(n)))
                            }
                            ("created" | "created_at", Value::Number(_)) => json!(0),
                            _ => walk(v, seen),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|v| walk(v, seen)).collect()),
            other => other.clone(),
        }
    }
    walk(v, &mut HashMap::new())
}

/// `event: name\ndata: json` frames.
fn named_frames(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| {
            let (event, data) = f.split_once('\n').unwrap();
            let name = event.strip_prefix("event: ").unwrap().to_string();
            let data = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            (name, data)
        })
        .collect()
}

fn push_str(slot: &mut Value, s: &str) {
    let mut text = slot.as_str().unwrap_or_default().to_string();
    text.push_str(s);
    *slot = Value::String(text);
}

// ---------------------------------------------------------------- Chat Completions

/// `ChatCompletionStreamState`: deltas accumulate per choice; `content` and
/// `reasoning_content` concatenate (absent until a delta carries them), tool calls by
/// `index` (id, type and name from their first delta, arguments concatenated);
/// `finish_reason` and `usage` as sent.
fn chat_reassemble(body: &str) -> Value {
    let mut head: Option<(Value, Value, Value)> = None;
    let mut message = Map::new();
    let mut tool_calls: Vec<Value> = Vec::new();
    let mut finish = Value::Null;
    let mut usage = Value::Null;
    let mut done = false;
    for frame in body.split("\n\n").filter(|f| !f.is_empty()) {
        assert!(!done, "a frame after [DONE]: {frame}");
        if frame.starts_with(':') {
            // An SSE comment (a built-in at work): clients skip it.
            continue;
        }
        let data = frame.strip_prefix("data: ").unwrap();
        if data == "[DONE]" {
            done = true;
            continue;
        }
        let chunk: Value = serde_json::from_str(data).unwrap();
        assert_eq!(chunk["object"], "chat.completion.chunk");
        let this = (
            chunk["id"].clone(),
            chunk["created"].clone(),
            chunk["model"].clone(),
        );
        assert_eq!(head.get_or_insert_with(|| this.clone()), &this);
        if let Some(u) = chunk.get("usage") {
            usage = u.clone();
        }
        for choice in chunk["choices"].as_array().unwrap() {
            assert_eq!(choice["index"], 0);
            for (k, v) in choice["delta"].as_object().unwrap() {
                match k.as_str() {
                    "role" => {
                        assert!(!message.contains_key("role"), "role sent twice");
                        message.insert(k.clone(), v.clone());
                    }
                    "content" | "reasoning_content" => {
                        push_str(
                            message.entry(k.clone()).or_insert(json!("")),
                            v.as_str().unwrap(),
                        );
                    }
                    "annotations" => {
                        // accumulate_delta: the first list is taken, later ones appended.
                        let acc = message.entry(k.clone()).or_insert(json!([]));
                        acc.as_array_mut()
                            .unwrap()
                            .extend(v.as_array().unwrap().iter().cloned());
                    }
                    "tool_calls" => {
                        for tc in v.as_array().unwrap() {
                            let index = tc["index"].as_u64().unwrap() as usize;
                            if index == tool_calls.len() {
                                tool_calls.push(json!({
                                    "id": tc["id"], "type": tc["type"],
                                    "function": {"name": tc["function"]["name"], "arguments": ""},
                                }));
                            }
                            let call = tool_calls.get_mut(index).expect("tool indexes in order");
                            push_str(
                                &mut call["function"]["arguments"],
                                tc["function"]["arguments"].as_str().unwrap_or_default(),
                            );
                        }
                    }
                    other => panic!("unexpected delta key {other}"),
                }
            }
            if !choice["finish_reason"].is_null() {
                assert!(finish.is_null(), "finish_reason sent twice");
                finish = choice["finish_reason"].clone();
            }
        }
    }
    assert!(done, "no [DONE]");
    let (id, created, model) = head.unwrap();
    json!({
        "id": id, "created": created, "model": model,
        "role": message.get("role"),
        "content": message.get("content"),
        "reasoning_content": message.get("reasoning_content"),
        "tool_calls": tool_calls,
        "annotations": message.get("annotations").cloned().unwrap_or(json!([])),
        "finish_reason": finish,
        "usage": usage,
    })
}

/// The same view of a `chat.completion` object.
fn chat_view(v: &Value, with_usage: bool) -> Value {
    assert_eq!(v["object"], "chat.completion");
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1);
    let m = &choices[0]["message"];
    json!({
        "id": v["id"], "created": v["created"], "model": v["model"],
        "role": m["role"],
        "content": m["content"],
        "reasoning_content": m.get("reasoning_content"),
        "tool_calls": m.get("tool_calls").cloned().unwrap_or(json!([])),
        "annotations": m["annotations"],
        "finish_reason": choices[0]["finish_reason"],
        "usage": if with_usage { v["usage"].clone() } else { Value::Null },
    })
}

fn check_chat(events: &[Event], include_usage: bool) {
    let opts = || ChatOptions {
        model: "gpt-4o".into(),
        include_usage,
    };
    let (body, own) = stream(CompletionEncoder::new(opts()), events);
    assert_eq!(
        chat_reassemble(&body),
        chat_view(&own, include_usage),
        "stream:\n{body}"
    );
    let json = json_answer(CompletionEncoder::new(opts()), events);
    assert_eq!(modulo_ids(&json), modulo_ids(&own));
}

// ---------------------------------------------------------------- Anthropic Messages

/// `MessageStream`: the `message_start` snapshot; blocks appended by
/// `content_block_start` at the next index and grown by their deltas (the input JSON
/// parsed at the block's stop); `message_delta` sets the stop reason, stop sequence
/// and usage.
fn anthropic_reassemble(body: &str) -> Value {
    let mut message: Option<Value> = None;
    let mut open: Option<usize> = None;
    let mut input_json = String::new();
    let mut stopped = false;
    for (name, data) in named_frames(body) {
        assert!(!stopped, "an event after message_stop: {name}");
        assert_eq!(data["type"], name.as_str());
        if name == "message_start" {
            assert!(message.is_none(), "message_start twice");
            message = Some(data["message"].clone());
            continue;
        }
        let m = message.as_mut().expect("message_start first");
        let index = data["index"].as_u64().map(|i| i as usize);
        match name.as_str() {
            "content_block_start" => {
                assert!(open.is_none(), "a block opened inside another");
                let content = m["content"].as_array_mut().unwrap();
                assert_eq!(index, Some(content.len()));
                content.push(data["content_block"].clone());
                open = index;
                input_json.clear();
            }
            "content_block_delta" => {
                assert_eq!(index, open, "a delta outside its open block");
                let block = &mut m["content"][index.unwrap()];
                let d = &data["delta"];
                match d["type"].as_str().unwrap() {
                    "text_delta" => push_str(&mut block["text"], d["text"].as_str().unwrap()),
                    "thinking_delta" => {
                        push_str(&mut block["thinking"], d["thinking"].as_str().unwrap())
                    }
                    "signature_delta" => block["signature"] = d["signature"].clone(),
                    "citations_delta" => {
                        if block.get("citations").is_none_or(Value::is_null) {
                            block["citations"] = json!([]);
                        }
                        block["citations"]
                            .as_array_mut()
                            .unwrap()
                            .push(d["citation"].clone());
                    }
                    "input_json_delta" => input_json.push_str(d["partial_json"].as_str().unwrap()),
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                assert_eq!(index, open, "a stop for a block that is not open");
                let block = &mut m["content"][index.unwrap()];
                if (block["type"] == "tool_use" || block["type"] == "server_tool_use")
                    && !input_json.is_empty()
                {
                    block["input"] = serde_json::from_str(&input_json).unwrap();
                }
                open = None;
            }
            "message_delta" => {
                assert!(open.is_none(), "message_delta with a block open");
                m["stop_reason"] = data["delta"]["stop_reason"].clone();
                m["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                for (k, v) in data["usage"].as_object().unwrap() {
                    m["usage"][k] = v.clone();
                }
            }
            "message_stop" => stopped = true,
            "ping" => {}
            other => panic!("unexpected event {other}"),
        }
    }
    assert!(stopped, "no message_stop");
    message.unwrap()
}

fn check_anthropic(events: &[Event], input_tokens: u64) {
    let opts = || AnthropicOptions {
        model: "claude-sonnet-4-5".into(),
        thinking: true,
    };
    let (body, own) = stream(MessageEncoder::new(opts(), input_tokens), events);
    assert_eq!(anthropic_reassemble(&body), own, "stream:\n{body}");
    let json = json_answer(MessageEncoder::new(opts(), input_tokens), events);
    assert_eq!(modulo_ids(&json), modulo_ids(&own));
}

// ---------------------------------------------------------------- Responses

fn shape() -> Shape {
    let mut kinds = HashMap::new();
    kinds.insert("apply_patch".to_string(), ToolKind::Custom);
    kinds.insert(
        "ns__lookup".to_string(),
        ToolKind::Namespaced("ns".into(), "lookup".into()),
    );
    Shape::new(Echo {
        model: "gpt-5".into(),
        store: true,
        encrypted_reasoning: true,
        tool_kinds: kinds,
        ..Default::default()
    })
}

/// What a Responses stream says: the final response of `response.completed` (or
/// `.incomplete`), the items rebuilt from `output_item.added` and the deltas, and the
/// `output_item.done` items.
struct ResponsesStream {
    last: Value,
    rebuilt: Vec<Value>,
    done: Vec<Value>,
}

fn responses_reassemble(body: &str) -> ResponsesStream {
    let mut items: Vec<Value> = Vec::new();
    let mut done: Vec<Value> = Vec::new();
    let mut last: Option<Value> = None;
    for (seq, (name, data)) in named_frames(body).into_iter().enumerate() {
        assert!(last.is_none(), "an event after the final one: {name}");
        assert_eq!(data["type"], name.as_str());
        assert_eq!(data["sequence_number"], seq as u64, "{name}");
        let index = data["output_index"].as_u64().map(|i| i as usize);
        if let Some(i) = index
            && name != "response.output_item.added"
        {
            assert_eq!(i + 1, items.len(), "{name} is not about the last item");
            if let Some(id) = data.get("item_id") {
                assert_eq!(id, &items[i]["id"], "{name}");
            }
        }
        let item = index.and_then(|i| items.get_mut(i));
        match (name.as_str(), item) {
            ("response.created" | "response.in_progress", _) => {
                assert_eq!(data["response"]["status"], "in_progress");
                assert_eq!(data["response"]["output"], json!([]));
            }
            ("response.output_item.added", _) => {
                assert_eq!(index, Some(items.len()), "items are added in order");
                assert_eq!(done.len(), items.len(), "the previous item is done");
                items.push(data["item"].clone());
            }
            ("response.reasoning_summary_part.added", Some(item)) => {
                let summary = item["summary"].as_array_mut().unwrap();
                assert_eq!(data["summary_index"], summary.len() as u64);
                summary.push(data["part"].clone());
            }
            ("response.reasoning_summary_text.delta", Some(item)) => {
                let i = data["summary_index"].as_u64().unwrap() as usize;
                push_str(
                    &mut item["summary"][i]["text"],
                    data["delta"].as_str().unwrap(),
                );
            }
            ("response.reasoning_summary_text.done", Some(item)) => {
                let i = data["summary_index"].as_u64().unwrap() as usize;
                assert_eq!(item["summary"][i]["text"], data["text"]);
            }
            ("response.reasoning_summary_part.done", Some(item)) => {
                let i = data["summary_index"].as_u64().unwrap() as usize;
                assert_eq!(item["summary"][i], data["part"]);
            }
            ("response.content_part.added", Some(item)) => {
                let content = item["content"].as_array_mut().unwrap();
                assert_eq!(data["content_index"], content.len() as u64);
                content.push(data["part"].clone());
            }
            ("response.output_text.delta", Some(item)) => {
                let i = data["content_index"].as_u64().unwrap() as usize;
                push_str(
                    &mut item["content"][i]["text"],
                    data["delta"].as_str().unwrap(),
                );
            }
            ("response.output_text.done", Some(item)) => {
                let i = data["content_index"].as_u64().unwrap() as usize;
                assert_eq!(item["content"][i]["text"], data["text"]);
            }
            ("response.content_part.done", Some(item)) => {
                let i = data["content_index"].as_u64().unwrap() as usize;
                assert_eq!(item["content"][i], data["part"]);
            }
            ("response.function_call_arguments.delta", Some(item)) => {
                push_str(&mut item["arguments"], data["delta"].as_str().unwrap());
            }
            ("response.function_call_arguments.done", Some(item)) => {
                assert_eq!(item["arguments"], data["arguments"]);
            }
            ("response.custom_tool_call_input.delta", Some(item)) => {
                push_str(&mut item["input"], data["delta"].as_str().unwrap());
            }
            ("response.custom_tool_call_input.done", Some(item)) => {
                assert_eq!(item["input"], data["input"]);
            }
            ("response.output_text.annotation.added", Some(item)) => {
                let i = data["content_index"].as_u64().unwrap() as usize;
                let list = item["content"][i]["annotations"].as_array_mut().unwrap();
                assert_eq!(data["annotation_index"], list.len() as u64);
                list.push(data["annotation"].clone());
            }
            (
                "response.web_search_call.in_progress"
                | "response.web_search_call.searching"
                | "response.web_search_call.completed"
                | "response.code_interpreter_call.in_progress"
                | "response.code_interpreter_call.interpreting"
                | "response.code_interpreter_call.completed"
                | "response.image_generation_call.in_progress"
                | "response.image_generation_call.generating"
                | "response.image_generation_call.partial_image"
                | "response.image_generation_call.completed",
                Some(item),
            ) => {
                let kind = name
                    .strip_prefix("response.")
                    .and_then(|n| n.split('.').next())
                    .unwrap();
                assert_eq!(item["type"], kind, "{name}");
            }
            ("response.output_item.done", Some(_)) => {
                assert_eq!(index, Some(done.len()), "items are done in order");
                done.push(data["item"].clone());
            }
            ("response.completed" | "response.incomplete", _) => {
                let status = name.strip_prefix("response.").unwrap();
                assert_eq!(data["response"]["status"], status);
                last = Some(data["response"].clone());
            }
            (other, _) => panic!("unexpected event {other} at output index {index:?}"),
        }
    }
    ResponsesStream {
        last: last.expect("no response.completed"),
        rebuilt: items,
        done,
    }
}

/// An item without what only its finished form carries (status, encrypted reasoning; a
/// built-in run's results, which its `output_item.done` brings).
fn essence(item: &Value) -> Value {
    let mut item = item.clone();
    if let Some(o) = item.as_object_mut() {
        o.remove("status");
        o.remove("encrypted_content");
        if o.get("type").and_then(Value::as_str).is_some_and(|t| {
            matches!(
                t,
                "web_search_call" | "code_interpreter_call" | "image_generation_call"
            )
        }) {
            o.retain(|k, _| k == "id" || k == "type");
        }
    }
    item
}

fn check_responses(events: &[Event]) {
    let (body, own) = stream(ResponseEncoder::new(shape()), events);
    let s = responses_reassemble(&body);
    assert_eq!(s.last, own, "stream:\n{body}");
    let output = own["output"].as_array().unwrap();
    assert_eq!(&s.done, output, "output_item.done items are the output");
    let rebuilt: Vec<Value> = s.rebuilt.iter().map(essence).collect();
    let finished: Vec<Value> = output.iter().map(essence).collect();
    assert_eq!(rebuilt, finished, "the deltas add up to the output");
    let json = json_answer(ResponseEncoder::new(shape()), events);
    assert_eq!(modulo_ids(&json), modulo_ids(&own));
}

// ---------------------------------------------------------------- Gemini

/// The google-genai chat sessions' accumulation: the parts of every frame in order
/// (adjacent texts of one kind joined, the empty filler part of a last frame left out);
/// finish reason, usage, model version and response id from the frames (every frame
/// names the same response).
fn gemini_reassemble(frames: &[Value]) -> Value {
    let mut parts: Vec<Value> = Vec::new();
    let mut candidate = Map::new();
    let mut top = Map::new();
    for (i, f) in frames.iter().enumerate() {
        let last = i + 1 == frames.len();
        let c = &f["candidates"][0];
        assert_eq!(c["content"]["role"], "model");
        assert_eq!(c["index"], 0);
        assert_eq!(
            c.get("finishReason").is_some(),
            last,
            "finishReason only last: {f}"
        );
        assert_eq!(
            f.get("usageMetadata").is_some(),
            last,
            "usage only last: {f}"
        );
        let frame_parts = c["content"]["parts"].as_array().unwrap();
        assert_eq!(frame_parts.len(), 1, "one part per frame: {f}");
        for p in frame_parts {
            if p.get("text") == Some(&json!("")) && p.get("thought").is_none() {
                assert!(last, "an empty part before the last frame: {f}");
                continue;
            }
            match (parts.last_mut(), p.get("text")) {
                (Some(prev), Some(Value::String(t)))
                    if prev.get("text").is_some() && prev.get("thought") == p.get("thought") =>
                {
                    push_str(&mut prev["text"], t);
                }
                _ => parts.push(p.clone()),
            }
        }
        for k in ["finishReason", "finishMessage", "groundingMetadata"] {
            if let Some(v) = c.get(k) {
                candidate.insert(k.into(), v.clone());
            }
        }
        for k in ["usageMetadata", "modelVersion", "responseId"] {
            if let Some(v) = f.get(k) {
                if let Some(prev) = top.get(k).filter(|_| k == "responseId") {
                    assert_eq!(prev, v, "one response id");
                }
                top.insert(k.into(), v.clone());
            }
        }
    }
    candidate.insert("content".into(), json!({"parts": parts, "role": "model"}));
    candidate.insert("index".into(), json!(0));
    top.insert("candidates".into(), json!([Value::Object(candidate)]));
    Value::Object(top)
}

fn check_gemini(events: &[Event], include_thoughts: bool, sse: bool) {
    let opts = || GeminiOptions {
        model: "gemini-2.5-flash".into(),
        include_thoughts,
    };
    let framing = if sse {
        Framing::Sse
    } else {
        Framing::JsonArray
    };
    let (body, own) = stream(ContentEncoder::new(opts(), framing), events);
    let frames: Vec<Value> = if sse {
        body.split("\r\n\r\n")
            .filter(|f| !f.is_empty())
            .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap())
            .collect()
    } else {
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not one JSON array ({e}): {body}"))
    };
    assert_eq!(gemini_reassemble(&frames), own, "stream:\n{body}");
    let json = json_answer(ContentEncoder::new(opts(), framing), events);
    let strip = |v: &Value| {
        let mut v = v.clone();
        v["responseId"] = json!("");
        v
    };
    assert_eq!(strip(&json), strip(&own));
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn chat_json_is_the_accumulated_stream(events in events(), include_usage: bool) {
        check_chat(&events, include_usage);
    }

    #[test]
    fn anthropic_json_is_the_accumulated_stream(events in events(), input_tokens in 0u64..100) {
        check_anthropic(&events, input_tokens);
    }

    #[test]
    fn gemini_json_is_the_accumulated_stream(events in events(), thoughts: bool, sse: bool) {
        check_gemini(&events, thoughts, sse);
    }

    #[test]
    fn responses_json_is_the_completed_response(events in events()) {
        check_responses(&events);
    }
}

/// An answer cut by max_tokens while thinking: the JSON answers used to add an empty
/// text block (Anthropic) or an empty message (Responses) the streams did not have.
#[test]
fn reasoning_only_answers_agree() {
    let events = [
        Event::Reasoning("Let me think".into()),
        Event::Reasoning(" about it".into()),
        Event::Usage(Usage {
            input_tokens: 10,
            output_tokens: 5,
            cached_tokens: 0,
            reasoning_tokens: Some(5),
            web_searches: 0,
        }),
        Event::Finish(FinishReason::Length),
    ];
    check_chat(&events, true);
    check_anthropic(&events, 10);
    check_responses(&events);

    let opts = ChatOptions {
        model: "gpt-4o".into(),
        include_usage: false,
    };
    let v = json_answer(CompletionEncoder::new(opts), &events);
    let m = &v["choices"][0]["message"];
    assert_eq!(m["content"], "");
    assert_eq!(m["reasoning_content"], "Let me think about it");
    assert_eq!(v["choices"][0]["finish_reason"], "length");

    let opts = AnthropicOptions {
        model: "claude-sonnet-4-5".into(),
        thinking: true,
    };
    let v = json_answer(MessageEncoder::new(opts, 0), &events);
    let content = v["content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "{v}");
    assert_eq!(content[0]["type"], "thinking");
    assert_eq!(content[0]["thinking"], "Let me think about it");
    assert_eq!(v["stop_reason"], "max_tokens");

    let v = json_answer(ResponseEncoder::new(shape()), &events);
    assert_eq!(v["status"], "incomplete");
    assert_eq!(v["incomplete_details"]["reason"], "max_output_tokens");
    let output = v["output"].as_array().unwrap();
    assert_eq!(output.len(), 1, "{v}");
    assert_eq!(output[0]["type"], "reasoning");
    assert_eq!(output[0]["summary"][0]["text"], "Let me think about it");
}

/// Interleaved reasoning and text: both outputs keep arrival order, block by block.
#[test]
fn interleaved_answers_keep_arrival_order() {
    let events = [
        Event::Text("a".into()),
        Event::Reasoning("r".into()),
        Event::ToolCall(ToolCall {
            id: "call_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Kazan"}"#.into(),
        }),
        Event::Text("b".into()),
        Event::Finish(FinishReason::Stop),
    ];
    check_chat(&events, false);
    check_anthropic(&events, 0);
    check_responses(&events);
    let opts = AnthropicOptions {
        model: "claude-sonnet-4-5".into(),
        thinking: true,
    };
    let v = json_answer(MessageEncoder::new(opts, 0), &events);
    let kinds: Vec<&str> = v["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "thinking", "tool_use", "text"]);
    let v = json_answer(ResponseEncoder::new(shape()), &events);
    let kinds: Vec<&str> = v["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["message", "reasoning", "function_call", "message"]);
}
