//! Property tests for hostile input: every dialect decoder (and the request builder
//! behind it) takes arbitrary JSON — random values, and structured near-valid requests
//! — without panicking, and every refusal is a 4xx, never a 500. `parse_json` takes
//! arbitrary bytes. Case counts are modest so this runs in seconds (`PROPTEST_CASES`
//! raises them for a longer hunt).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use gpt2giga::dialect::anthropic::request as anthropic;
use gpt2giga::dialect::gemini::request as gemini;
use gpt2giga::dialect::openai::{chat_request, embeddings};
use gpt2giga::dialect::openai_responses::request as responses;
use gpt2giga::dialect::parse_json;
use gpt2giga::error::ProxyError;
use gpt2giga::ir;
use gpt2giga::upstream::request::{Options, StructuredOutput, build};
use gpt2giga::upstream::stop::StopFilter;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(200);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------- strategies

/// Strings a decoder may branch on, plus arbitrary text.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "", "user", "assistant", "system", "developer", "tool", "function", "text",
            "image_url", "input_audio", "file", "image", "document", "tool_use",
            "tool_result", "thinking", "redacted_thinking", "input_text", "output_text",
            "input_image", "input_file", "refusal", "message", "function_call",
            "function_call_output", "custom_tool_call", "custom_tool_call_output",
            "reasoning", "item_reference", "auto", "none", "required", "any", "object",
            "string", "array", "json_schema", "json_object", "base64", "url", "float",
            "custom", "namespace", "web_search", "call_1", "toolu_1", "f", "g",
            "#/$defs/a", "#/definitions/b", "data:image/png;base64,iVBORw0KGgo=",
            "data:,hello", "data:text/plain;base64,!!!", "http://127.0.0.1/x.png",
            "https://example.com/a.pdf", "GIGACHAT_API_PERS", "low", "high", "xhigh",
            "minimal", "enabled", "adaptive", "{\"a\":1}", "{", "[DONE]", "\u{0}",
            "é", "日本", "\u{1F600}",
        ])
        .prop_map(str::to_string),
        1 => any::<String>(),
        1 => "\\PC{0,40}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        prop::sample::select(vec![0i64, -1, 1, 2, 4096, 100_001, i64::MAX, i64::MIN])
            .prop_map(Value::from),
        Just(json!(1e308)),
        Just(json!(0.5)),
    ]
}

/// Keys the decoders read, plus random ones.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "type", "role", "content", "text", "name", "arguments", "id", "call_id",
            "tool_call_id", "tool_use_id", "tool_calls", "function", "parameters",
            "properties", "items", "required", "anyOf", "oneOf", "allOf", "$ref", "$defs",
            "enum", "format", "source", "data", "media_type", "url", "image_url",
            "file_data", "filename", "input", "output", "input_schema", "description",
            "is_error", "summary", "encrypted_content", "schema", "strict", "json_schema",
            "tools", "tool_choice", "messages", "model", "stream", "stop", "n",
        ])
        .prop_map(str::to_string),
        1 => "[a-z_]{1,8}",
    ]
}

/// Any JSON value, bounded in depth and size.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z ,.!?]{0,24}",
        1 => word(),
    ]
}

/// A small valid JSON Schema (object at the top), or something hostile.
fn schema() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (text(), prop::sample::select(vec!["string", "integer", "number", "boolean"]))
            .prop_map(|(d, t)| json!({
                "type": "object",
                "properties": {"city": {"type": t, "description": d}, "tags": {"type": "array"}},
                "required": ["city"],
            })),
        1 => (word(), arb_json()).prop_map(|(n, s)| json!({
            "type": "object",
            "properties": {n: s, "r": {"$ref": "#/$defs/a"}},
            "$defs": {"a": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/a"}]}},
            "required": ["r", 5],
        })),
        1 => arb_json(),
    ]
}

fn call_id() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["call_1", "call_2", "call_3"])
}

fn tool_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["f", "g", "web_search", "get weather"])
}

fn arguments() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => text().prop_map(|t| json!({"city": t}).to_string()),
        1 => word(),
    ]
}

const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Replaces or removes a few nodes of a valid request: near-miss input.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the n-th node (pre-order) with a random value.
    Replace(prop::sample::Index, Value),
    /// Remove one member of the n-th node (a key of an object, an item of an array).
    Remove(prop::sample::Index, prop::sample::Index),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(
        prop_oneof![
            (any::<prop::sample::Index>(), arb_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
            (any::<prop::sample::Index>(), any::<prop::sample::Index>())
                .prop_map(|(i, k)| Mutation::Remove(i, k)),
        ],
        1..3,
    )
}

fn nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(nodes).sum(),
        Value::Object(o) => o.values().map(nodes).sum(),
        _ => 0,
    }
}

/// Applies `m` to the `n`-th node in pre-order; true once applied.
fn apply(v: &mut Value, n: &mut usize, m: &Mutation) -> bool {
    if *n == 0 {
        match m {
            Mutation::Replace(_, new) => *v = new.clone(),
            Mutation::Remove(_, k) => match v {
                Value::Array(a) if !a.is_empty() => {
                    a.remove(k.index(a.len()));
                }
                Value::Object(o) if !o.is_empty() => {
                    let key = o.keys().nth(k.index(o.len())).cloned().unwrap_or_default();
                    o.remove(&key);
                }
                _ => {}
            },
        }
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|c| apply(c, n, m)),
        Value::Object(o) => o.values_mut().any(|c| apply(c, n, m)),
        _ => false,
    }
}

fn mutate(mut v: Value, ms: Vec<Mutation>) -> Value {
    for m in ms {
        let at = match &m {
            Mutation::Replace(i, _) | Mutation::Remove(i, _) => i.index(nodes(&v)),
        };
        let mut n = at;
        apply(&mut v, &mut n, &m);
    }
    v
}

/// Arbitrary JSON, a valid request, or a valid request with a few nodes broken.
fn hostile<S: Strategy<Value = Value> + 'static>(valid: fn() -> S) -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => arb_json().boxed(),
        2 => valid().boxed(),
        3 => (valid(), mutations()).prop_map(|(v, ms)| mutate(v, ms)).boxed(),
    ]
}

fn maybe(v: Option<Value>, key: &str, into: &mut Value) {
    if let Some(v) = v {
        into[key] = v;
    }
}

// ---- OpenAI Chat Completions

fn openai_user_content() -> impl Strategy<Value = Value> {
    let part = prop_oneof![
        3 => text().prop_map(|t| json!({"type": "text", "text": t})),
        1 => Just(json!({"type": "image_url", "image_url": {"url": PNG, "detail": "low"}})),
        1 => Just(json!({"type": "image_url", "image_url": {"url": "http://127.0.0.1/a.png"}})),
        1 => Just(json!({"type": "file", "file": {"filename": "a.txt", "file_data": "data:text/plain;base64,aGk="}})),
        1 => Just(json!({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}})),
    ];
    prop_oneof![
        text().prop_map(Value::String),
        prop::collection::vec(part, 1..4).prop_map(Value::Array),
    ]
}

fn openai_message() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => (prop::sample::select(vec!["system", "developer"]), text())
            .prop_map(|(r, t)| json!({"role": r, "content": t})),
        3 => openai_user_content().prop_map(|c| json!({"role": "user", "content": c})),
        1 => (prop::option::of(text()), prop::collection::vec((call_id(), tool_name(), arguments()), 0..3))
            .prop_map(|(t, calls)| {
                let mut m = json!({"role": "assistant", "content": t});
                if !calls.is_empty() {
                    m["tool_calls"] = calls
                        .into_iter()
                        .map(|(id, n, a)| json!({"id": id, "type": "function", "function": {"name": n, "arguments": a}}))
                        .collect();
                }
                m
            }),
        1 => (call_id(), text()).prop_map(|(id, t)| json!({"role": "tool", "tool_call_id": id, "content": t})),
    ]
}

fn openai_chat() -> impl Strategy<Value = Value> {
    let tool = (tool_name(), text(), schema()).prop_map(|(n, d, s)| {
        json!({"type": "function", "function": {"name": n, "description": d, "parameters": s}})
    });
    (
        prop::collection::vec(openai_message(), 1..6),
        prop::option::of(prop::collection::vec(tool, 1..3).prop_map(Value::from)),
        prop::option::of(prop_oneof![
            prop::sample::select(vec!["auto", "none", "required"]).prop_map(Value::from),
            tool_name().prop_map(|n| json!({"type": "function", "function": {"name": n}})),
        ]),
        prop::option::of(prop_oneof![
            Just(json!({"type": "text"})),
            Just(json!({"type": "json_object"})),
            (schema(), any::<bool>()).prop_map(|(s, strict)| json!({"type": "json_schema", "json_schema": {"name": "out", "schema": s, "strict": strict}})),
        ]),
        prop::option::of(prop_oneof![
            text().prop_map(Value::from),
            prop::collection::vec(text(), 0..4).prop_map(Value::from),
        ]),
        (prop::option::of(0.0f64..2.0), prop::option::of(1u32..4096), any::<bool>(), prop::option::of(
            prop::sample::select(vec!["none", "minimal", "low", "medium", "high", "xhigh"]),
        )),
    )
        .prop_map(|(messages, tools, tool_choice, format, stop, (temp, max, stream, effort))| {
            let mut r = json!({"model": "gpt-4o", "messages": messages, "stream": stream});
            maybe(tools, "tools", &mut r);
            maybe(tool_choice, "tool_choice", &mut r);
            maybe(format, "response_format", &mut r);
            maybe(stop, "stop", &mut r);
            maybe(temp.map(Value::from), "temperature", &mut r);
            maybe(max.map(Value::from), "max_completion_tokens", &mut r);
            maybe(effort.map(Value::from), "reasoning_effort", &mut r);
            r
        })
}

// ---- Anthropic Messages

fn anthropic_message() -> impl Strategy<Value = Value> {
    let user_block = prop_oneof![
        3 => text().prop_map(|t| json!({"type": "text", "text": t})),
        1 => Just(json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG.trim_start_matches("data:image/png;base64,")}})),
        1 => Just(json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}})),
        1 => (call_id(), text(), any::<bool>()).prop_map(|(id, t, e)| json!({"type": "tool_result", "tool_use_id": id, "content": [{"type": "text", "text": t}], "is_error": e})),
    ];
    let assistant_block = prop_oneof![
        text().prop_map(|t| json!({"type": "text", "text": t})),
        (call_id(), tool_name(), text()).prop_map(
            |(id, n, t)| json!({"type": "tool_use", "id": id, "name": n, "input": {"city": t}})
        ),
        text().prop_map(|t| json!({"type": "thinking", "thinking": t, "signature": "sig"})),
    ];
    prop_oneof![
        text().prop_map(|t| json!({"role": "user", "content": t})),
        prop::collection::vec(user_block, 1..4).prop_map(|b| json!({"role": "user", "content": b})),
        prop::collection::vec(assistant_block, 1..3)
            .prop_map(|b| json!({"role": "assistant", "content": b})),
    ]
}

fn anthropic_messages() -> impl Strategy<Value = Value> {
    let tool = (tool_name(), text(), schema())
        .prop_map(|(n, d, s)| json!({"name": n, "description": d, "input_schema": s}));
    (
        prop::collection::vec(anthropic_message(), 1..6),
        prop::option::of(prop_oneof![
            text().prop_map(Value::from),
            text().prop_map(|t| json!([{"type": "text", "text": t, "cache_control": {"type": "ephemeral"}}])),
        ]),
        prop::option::of(prop::collection::vec(tool, 1..3).prop_map(Value::from)),
        prop::option::of(prop_oneof![
            prop::sample::select(vec!["auto", "any", "none"]).prop_map(|t| json!({"type": t})),
            tool_name().prop_map(|n| json!({"type": "tool", "name": n})),
        ]),
        prop::option::of(prop_oneof![
            (0u32..40_000).prop_map(|b| json!({"type": "enabled", "budget_tokens": b})),
            Just(json!({"type": "adaptive"})),
            Just(json!({"type": "disabled"})),
        ]),
        prop::option::of(prop::collection::vec(text(), 0..3).prop_map(Value::from)),
        (1u32..8192, any::<bool>(), prop::option::of(0.0f64..1.0)),
    )
        .prop_map(|(messages, system, tools, choice, thinking, stops, (max, stream, temp))| {
            let mut r = json!({"model": "claude", "max_tokens": max, "stream": stream, "messages": messages});
            maybe(system, "system", &mut r);
            maybe(tools, "tools", &mut r);
            maybe(choice, "tool_choice", &mut r);
            maybe(thinking, "thinking", &mut r);
            maybe(stops, "stop_sequences", &mut r);
            maybe(temp.map(Value::from), "temperature", &mut r);
            r
        })
}

// ---- Gemini generateContent

fn gemini_content() -> impl Strategy<Value = Value> {
    let user_part = prop_oneof![
        3 => text().prop_map(|t| json!({"text": t})),
        1 => Just(json!({"inlineData": {"mimeType": "image/png", "data": PNG.trim_start_matches("data:image/png;base64,")}})),
        1 => Just(json!({"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}})),
        1 => (tool_name(), prop::option::of(call_id()), text()).prop_map(|(n, id, t)| {
            let mut fr = json!({"name": n, "response": {"output": t}});
            maybe(id.map(Value::from), "id", &mut fr);
            json!({"functionResponse": fr})
        }),
    ];
    let model_part = prop_oneof![
        text().prop_map(|t| json!({"text": t})),
        text().prop_map(|t| json!({"text": t, "thought": true})),
        (tool_name(), prop::option::of(call_id()), text()).prop_map(|(n, id, t)| {
            let mut fc = json!({"name": n, "args": {"city": t}});
            maybe(id.map(Value::from), "id", &mut fc);
            json!({"functionCall": fc})
        }),
    ];
    prop_oneof![
        prop::collection::vec(user_part, 1..4).prop_map(|p| json!({"role": "user", "parts": p})),
        prop::collection::vec(model_part, 1..4).prop_map(|p| json!({"role": "model", "parts": p})),
    ]
}

fn gemini_request() -> impl Strategy<Value = Value> {
    let declaration = (tool_name(), text(), schema(), any::<bool>()).prop_map(|(n, d, s, js)| {
        if js {
            json!({"name": n, "description": d, "parametersJsonSchema": s})
        } else {
            json!({"name": n, "description": d, "parameters": s})
        }
    });
    (
        prop::collection::vec(gemini_content(), 1..6),
        prop::option::of(text().prop_map(|t| json!({"parts": [{"text": t}]}))),
        prop::option::of(
            prop::collection::vec(declaration, 1..3)
                .prop_map(|d| json!([{"functionDeclarations": d}])),
        ),
        prop::option::of(
            (
                prop::sample::select(vec!["AUTO", "ANY", "NONE"]),
                prop::option::of(prop::collection::vec(tool_name(), 1..2)),
            )
                .prop_map(|(m, names)| {
                    let mut fc = json!({"mode": m});
                    maybe(names.map(Value::from), "allowedFunctionNames", &mut fc);
                    json!({"functionCallingConfig": fc})
                }),
        ),
        (
            prop::option::of(0.0f64..2.0),
            prop::option::of(1u32..8192),
            prop::option::of(-1i64..40_000),
            any::<bool>(),
            prop::option::of(schema()),
        ),
    )
        .prop_map(
            |(contents, system, tools, config, (temp, max, budget, thoughts, rs))| {
                let mut r = json!({"contents": contents});
                maybe(system, "systemInstruction", &mut r);
                maybe(tools, "tools", &mut r);
                maybe(config, "toolConfig", &mut r);
                let mut g = json!({});
                maybe(temp.map(Value::from), "temperature", &mut g);
                maybe(max.map(Value::from), "maxOutputTokens", &mut g);
                maybe(
                    budget.map(|b| json!({"thinkingBudget": b, "includeThoughts": thoughts})),
                    "thinkingConfig",
                    &mut g,
                );
                if let Some(s) = rs {
                    g["responseMimeType"] = json!("application/json");
                    g["responseSchema"] = s;
                }
                r["generationConfig"] = g;
                r
            },
        )
}

// ---- OpenAI Responses

fn responses_item() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (prop::sample::select(vec!["user", "system", "developer", "assistant"]), text())
            .prop_map(|(r, t)| {
                let kind = if r == "assistant" { "output_text" } else { "input_text" };
                json!({"type": "message", "role": r, "content": [{"type": kind, "text": t}]})
            }),
        1 => text().prop_map(|t| json!({"role": "user", "content": t})),
        1 => Just(json!({"role": "user", "content": [{"type": "input_image", "image_url": PNG}]})),
        1 => (call_id(), tool_name(), arguments()).prop_map(|(id, n, a)| json!({"type": "function_call", "call_id": id, "name": n, "arguments": a})),
        1 => (call_id(), text()).prop_map(|(id, t)| json!({"type": "function_call_output", "call_id": id, "output": t})),
        1 => (call_id(), text()).prop_map(|(id, t)| json!({"type": "custom_tool_call", "call_id": id, "name": "apply_patch", "input": t})),
        1 => (call_id(), text()).prop_map(|(id, t)| json!({"type": "custom_tool_call_output", "call_id": id, "output": t})),
        1 => text().prop_map(|t| json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": t}]})),
    ]
}

fn responses_create() -> impl Strategy<Value = Value> {
    let tool = prop_oneof![
        (tool_name(), schema())
            .prop_map(|(n, s)| json!({"type": "function", "name": n, "parameters": s})),
        Just(
            json!({"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}})
        ),
        Just(
            json!({"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "f", "parameters": {}}]})
        ),
        Just(json!({"type": "web_search"})),
    ];
    (
        prop_oneof![
            text().prop_map(Value::from),
            prop::collection::vec(responses_item(), 1..6).prop_map(Value::from),
        ],
        prop::option::of(text()),
        prop::option::of(prop::collection::vec(tool, 1..3).prop_map(Value::from)),
        prop::option::of(prop_oneof![
            Just(json!({"format": {"type": "json_object"}})),
            schema().prop_map(|s| json!({"format": {"type": "json_schema", "name": "o", "schema": s, "strict": true}})),
        ]),
        prop::option::of(prop::sample::select(vec!["low", "medium", "high", "minimal"])),
        (any::<bool>(), any::<bool>(), prop::option::of(1u32..4096)),
    )
        .prop_map(|(input, instructions, tools, text_format, effort, (stream, store, max))| {
            let mut r = json!({"model": "gpt-5", "input": input, "stream": stream, "store": store,
                               "include": ["reasoning.encrypted_content"]});
            maybe(instructions.map(Value::from), "instructions", &mut r);
            maybe(tools, "tools", &mut r);
            maybe(text_format, "text", &mut r);
            maybe(effort.map(|e| json!({"effort": e})), "reasoning", &mut r);
            maybe(max.map(Value::from), "max_output_tokens", &mut r);
            r
        })
}

// ---- Embeddings

fn embeddings_request() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            text().prop_map(Value::from),
            prop::collection::vec(text(), 1..4).prop_map(Value::from),
            prop::collection::vec(0u32..120_000, 1..6).prop_map(Value::from),
            prop::collection::vec(prop::collection::vec(any::<u32>(), 1..4), 1..3)
                .prop_map(Value::from),
        ],
        prop::sample::select(vec!["text-embedding-3-small", "gpt-4o", "unknown", ""]),
        prop::option::of(prop::sample::select(vec!["float", "base64", "int8"])),
        prop::option::of(0u32..4096),
    )
        .prop_map(|(input, model, format, dims)| {
            let mut r = json!({"input": input, "model": model});
            maybe(format.map(Value::from), "encoding_format", &mut r);
            maybe(dims.map(Value::from), "dimensions", &mut r);
            r
        })
}

// ---------------------------------------------------------------- checks

fn options() -> Vec<Options> {
    vec![
        Options {
            model: "GigaChat".into(),
            ..Options::default()
        },
        Options {
            model: "GigaChat".into(),
            enable_reasoning: true,
            structured_output: StructuredOutput::Function,
            profanity_check: Some(false),
            flags: vec!["f".into()],
            alias: gpt2giga::config::AliasSettings {
                model: Some("GigaChat-2".into()),
                max_tokens: Some(100),
                reasoning_effort: Some("high".into()),
                min_temperature: Some(0.1),
                max_temperature: Some(1.0),
                embeddings_model: None,
                api_mode: Some(gpt2giga::config::ApiMode::V2),
            },
            api_mode: gpt2giga::config::ApiMode::V2,
            media_per_message: 2,
        },
    ]
}

/// A refusal must be the client's fault (4xx), never a 500.
fn client_error(e: &ProxyError, input: &Value) -> Result<(), TestCaseError> {
    prop_assert!(
        e.status().is_client_error(),
        "status {} for {input}: {e}",
        e.status()
    );
    Ok(())
}

/// The request builder and the stop filter behind every dialect.
fn downstream(req: &ir::ChatRequest, input: &Value) -> Result<(), TestCaseError> {
    // One (fake) file id per message, so media parts are attachable.
    let files: Vec<Vec<String>> = req
        .messages
        .iter()
        .map(|_| vec!["file-1".to_string()])
        .collect();
    for o in options() {
        for f in [&[][..], &files[..]] {
            if let Err(e) = build(req, f, &o) {
                client_error(&e, input)?;
            }
            if let Err(e) = gpt2giga::upstream::request_v2::build(req, f, &o) {
                client_error(&e, input)?;
            }
        }
    }
    if let Some(mut stops) = StopFilter::new(&req.stop) {
        let mut out = Vec::new();
        for chunk in ["Hel", "lo wor", "ld é日本\u{1F600}", "", "end"] {
            stops.push(ir::Event::Text(chunk.to_string()), &mut out);
        }
    }
    Ok(())
}

fn bytes_of(v: &Value) -> Bytes {
    Bytes::from(v.to_string())
}

fn check_openai_chat(v: &Value) -> Result<(), TestCaseError> {
    match parse_json::<chat_request::ChatCompletionRequest>(&bytes_of(v)) {
        Err(e) => client_error(&e, v),
        Ok(wire) => match chat_request::decode(wire) {
            Err(e) => client_error(&e, v),
            Ok((req, _)) => downstream(&req, v),
        },
    }
}

fn check_anthropic(v: &Value) -> Result<(), TestCaseError> {
    match parse_json::<anthropic::MessagesRequest>(&bytes_of(v)) {
        Err(e) => client_error(&e, v),
        Ok(wire) => match anthropic::decode(wire) {
            Err(e) => client_error(&e, v),
            Ok((req, _)) => downstream(&req, v),
        },
    }
}

fn check_gemini(v: &Value) -> Result<(), TestCaseError> {
    match parse_json::<gemini::GenerateContentRequest>(&bytes_of(v)) {
        Err(e) => client_error(&e, v),
        Ok(wire) => match gemini::decode(wire, "gemini-2.5-flash", false) {
            Err(e) => client_error(&e, v),
            Ok((req, _)) => downstream(&req, v),
        },
    }
}

fn check_responses(v: &Value) -> Result<(), TestCaseError> {
    match parse_json::<responses::ResponsesRequest>(&bytes_of(v)) {
        Err(e) => client_error(&e, v),
        Ok(wire) => match responses::decode(wire) {
            Err(e) => client_error(&e, v),
            Ok(d) => downstream(&d.request, v),
        },
    }
}

fn check_embeddings(v: &Value) -> Result<(), TestCaseError> {
    match parse_json::<embeddings::EmbeddingsRequest>(&bytes_of(v)) {
        Err(e) => client_error(&e, v),
        Ok(wire) => match embeddings::decode(&wire) {
            Err(e) => client_error(&e, v),
            Ok((texts, _)) => {
                let n = texts.len();
                let batches = gpt2giga::upstream::embeddings::batches(texts);
                prop_assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), n);
                Ok(())
            }
        },
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn openai_chat_survives_anything(v in hostile(openai_chat)) {
        check_openai_chat(&v)?;
    }

    #[test]
    fn anthropic_messages_survive_anything(v in hostile(anthropic_messages)) {
        check_anthropic(&v)?;
    }

    #[test]
    fn gemini_requests_survive_anything(v in hostile(gemini_request)) {
        check_gemini(&v)?;
    }

    #[test]
    fn responses_survive_anything(v in hostile(responses_create)) {
        check_responses(&v)?;
    }

    #[test]
    fn embeddings_survive_anything(v in hostile(embeddings_request)) {
        check_embeddings(&v)?;
    }

    #[test]
    fn parse_json_survives_arbitrary_bytes(
        raw in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            // Valid requests with a slice overwritten: near-miss JSON.
            (openai_chat(), any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..8))
                .prop_map(|(v, at, junk)| {
                    let mut b = v.to_string().into_bytes();
                    let i = at.index(b.len().max(1)).min(b.len());
                    let end = (i + junk.len()).min(b.len());
                    b.splice(i..end, junk);
                    b
                }),
        ]
    ) {
        let body = Bytes::from(raw);
        for r in [
            parse_json::<Value>(&body).map(drop),
            parse_json::<chat_request::ChatCompletionRequest>(&body).map(drop),
            parse_json::<anthropic::MessagesRequest>(&body).map(drop),
            parse_json::<responses::ResponsesRequest>(&body).map(drop),
            parse_json::<embeddings::EmbeddingsRequest>(&body).map(drop),
        ] {
            if let Err(e) = r {
                prop_assert_eq!(e.status().as_u16(), 400, "{}", e);
            }
        }
    }
}

/// Nesting far past serde_json's recursion limit is a 400 for every request type
/// (and neither a stack overflow nor a 500).
#[test]
fn deep_nesting_is_refused_with_400() {
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let body = Bytes::from(format!(
        r#"{{"model":"m","messages":{deep},"input":{deep}}}"#
    ));
    let errors = [
        parse_json::<Value>(&body).map(drop),
        parse_json::<chat_request::ChatCompletionRequest>(&body).map(drop),
        parse_json::<anthropic::MessagesRequest>(&body).map(drop),
        parse_json::<responses::ResponsesRequest>(&body).map(drop),
        parse_json::<embeddings::EmbeddingsRequest>(&body).map(drop),
    ];
    for (i, r) in errors.into_iter().enumerate() {
        let e = r.unwrap_err();
        assert_eq!(e.status(), 400, "{e}");
        // Typed requests may stop earlier, at a type error; a `Value` reaches the limit.
        if i == 0 {
            assert!(e.to_string().contains("recursion limit"), "{e}");
        }
    }
}
