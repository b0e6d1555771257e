//! OpenAI Responses request → `ir::ChatRequest` plus what the response side must echo.
//!
//! Translated: `input` (string, or items: messages with `input_text` / `input_image` /
//! `input_file` / `output_text` / `refusal` parts, `function_call`,
//! `function_call_output`, `custom_tool_call`, `custom_tool_call_output`, `reasoning`),
//! `instructions`, `tools` (`function`; `custom` → a GigaChat function taking one string
//! `input`; `namespace` → its functions flattened as `<namespace>__<name>`),
//! `tool_choice`, `text.format`, `reasoning.effort`, `max_output_tokens`, `temperature`,
//! `top_p`, `store`, `previous_response_id`, `include`, `stream`.
//! Echoed but otherwise ignored ([`IGNORED`]): `metadata`, `user`, `truncation`,
//! `prompt_cache_key`, `service_tier`, `safety_identifier`, `parallel_tool_calls`,
//! `reasoning.summary`, `client_metadata`, `stream_options`, `top_logprobs`,
//! `max_tool_calls`, `prompt_cache_retention`.
//! Hosted tools: `web_search` / `web_search_preview*`, `code_interpreter` and
//! `image_generation` become GigaChat's built-ins (v2: `web_search`, `code_interpreter`,
//! `image_generate`), forced by a matching `tool_choice`; past `web_search_call`,
//! `code_interpreter_call` and `image_generation_call` input items are knowingly skipped
//! (their results are in the answer text). Hosted tools GigaChat has no equivalent for
//! (`file_search`, `computer_use*`, `mcp`) are refused; tools the client runs itself that
//! GigaChat cannot describe (`local_shell`, `shell`, `apply_patch`, `tool_search`) are
//! knowingly skipped, since agents (Codex) offer them alongside their own tools.
//! Refused: `background`, `conversation`, `prompt`, `item_reference` items, unknown item
//! types.

use std::collections::HashMap;

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::dialect::{required_str, shown};
use crate::error::ProxyError;
use crate::ir;

pub(crate) const IGNORED: &[&str] = &[
    "metadata",
    "user",
    "truncation",
    "prompt_cache_key",
    "service_tier",
    "safety_identifier",
    "client_metadata",
    "stream_options",
    "top_logprobs",
    "max_tool_calls",
    "prompt_cache_retention",
    "prompt_cache_options",
    "context_management",
    "moderation",
    "image",
    "access_programs",
];

/// Client-run tool types GigaChat cannot describe, skipped on purpose.
pub(crate) const SKIPPED_TOOLS: &[&str] = &["local_shell", "shell", "apply_patch", "tool_search"];

/// Hosted tool types with no GigaChat equivalent (refused).
const UNSUPPORTED_HOSTED_TOOLS: &[&str] =
    &["file_search", "computer_use_preview", "computer_use", "mcp"];

/// The GigaChat built-in a hosted tool type maps to.
fn builtin_of_type(kind: &str) -> Option<ir::Builtin> {
    match kind {
        k if k.starts_with("web_search") => Some(ir::Builtin::WebSearch),
        "code_interpreter" => Some(ir::Builtin::CodeInterpreter),
        "image_generation" => Some(ir::Builtin::ImageGeneration),
        _ => None,
    }
}

/// Prefix of the opaque `encrypted_content` the proxy puts on reasoning items.
pub(crate) const REASONING_BLOB_PREFIX: &str = "gpt2giga.r1.";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResponsesRequest {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub input: Option<Value>,
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    #[serde(default)]
    pub tool_choice: Option<Value>,
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default)]
    pub text: Option<Value>,
    #[serde(default)]
    pub reasoning: Option<Value>,
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub store: Option<bool>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub previous_response_id: Option<String>,
    #[serde(default)]
    pub include: Option<Vec<String>>,
    #[serde(default)]
    pub background: Option<bool>,
    #[serde(default)]
    pub conversation: Option<Value>,
    #[serde(default)]
    pub prompt: Option<Value>,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub truncation: Option<String>,
    #[serde(default)]
    pub service_tier: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// How a GigaChat function maps back to a Responses tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolKind {
    Function,
    /// A custom (free-form input) tool: calls come back as `custom_tool_call`.
    Custom,
    /// A function inside a namespace: `(namespace, name)`.
    Namespaced(String, String),
}

/// Everything the response side needs besides the events.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    pub model: String,
    pub instructions: Option<String>,
    pub tools: Vec<Value>,
    pub tool_choice: Value,
    pub parallel_tool_calls: bool,
    pub text: Value,
    pub reasoning: Value,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub store: bool,
    pub previous_response_id: Option<String>,
    pub metadata: Value,
    pub user: Option<String>,
    pub truncation: String,
    pub service_tier: Option<String>,
    /// `include` asked for `reasoning.encrypted_content`.
    pub encrypted_reasoning: bool,
    /// Flattened GigaChat-side function name → Responses tool.
    pub tool_kinds: HashMap<String, ToolKind>,
}

/// The decoded request: the new turn's messages (to append to any stored history),
/// the input items as given (for `input_items`), and the echo.
pub struct Decoded {
    pub request: ir::ChatRequest,
    pub input_items: Vec<Value>,
    pub echo: Echo,
}

pub fn decode(req: ResponsesRequest) -> Result<Decoded, ProxyError> {
    for key in req.other.keys() {
        tracing::debug!(field = %key, known = IGNORED.contains(&key.as_str()), "ignoring responses field");
    }
    if req.background == Some(true) {
        return Err(ProxyError::invalid_param(
            "background responses are not supported by this proxy",
            "background",
        ));
    }
    if req.conversation.as_ref().is_some_and(|c| !c.is_null()) {
        return Err(ProxyError::invalid_param(
            "conversations are not supported; use previous_response_id",
            "conversation",
        ));
    }
    if req.prompt.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(ProxyError::invalid_param(
            "stored prompt templates are not supported; send input and instructions",
            "prompt",
        ));
    }
    let include = req.include.clone().unwrap_or_default();
    for inc in &include {
        if !matches!(
            inc.as_str(),
            "reasoning.encrypted_content" | "message.output_text.logprobs"
        ) {
            tracing::debug!(include = %inc, "ignoring include entry");
        }
    }
    if include.iter().any(|i| i == "message.output_text.logprobs") {
        return Err(ProxyError::invalid_param(
            "logprobs are not supported by GigaChat",
            "include",
        ));
    }

    let mut out = ir::ChatRequest {
        model: req.model.clone(),
        stream: req.stream.unwrap_or(false),
        temperature: req.temperature,
        top_p: req.top_p,
        max_tokens: req.max_output_tokens,
        parallel_tool_calls: req.parallel_tool_calls,
        ..Default::default()
    };
    if let Some(i) = req.instructions.as_ref().filter(|i| !i.is_empty()) {
        out.system.push(i.clone());
    }

    // Reasoning.
    if let Some(r) = &req.reasoning
        && let Some(effort) = r.get("effort").and_then(Value::as_str)
    {
        out.reasoning_effort = Some(
            match effort {
                "none" => "none",
                "minimal" | "low" => "low",
                "medium" => "medium",
                "high" | "xhigh" => "high",
                other => {
                    return Err(ProxyError::invalid_param(
                        format!("unknown reasoning.effort {other:?}"),
                        "reasoning.effort",
                    ));
                }
            }
            .to_string(),
        );
    }

    // Structured output.
    if let Some(format) = req.text.as_ref().and_then(|t| t.get("format")) {
        out.response_format = match format.get("type").and_then(Value::as_str) {
            None | Some("text") => ir::ResponseFormat::Text,
            Some("json_object") => ir::ResponseFormat::JsonObject,
            Some("json_schema") => ir::ResponseFormat::JsonSchema {
                name: format
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                schema: format.get("schema").cloned().ok_or_else(|| {
                    ProxyError::invalid_param(
                        "text.format.schema is required for json_schema",
                        "text.format.schema",
                    )
                })?,
                strict: format
                    .get("strict")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            Some(other) => {
                return Err(ProxyError::invalid_param(
                    format!("unknown text.format.type {other:?}"),
                    "text.format.type",
                ));
            }
        };
    }

    // Tools.
    let mut tool_kinds = HashMap::new();
    for (i, t) in req.tools.iter().flatten().enumerate() {
        let kind = t.get("type").and_then(Value::as_str).unwrap_or("function");
        if let Some(b) = builtin_of_type(kind) {
            // GigaChat's built-ins take no settings (search context size, location,
            // image size…): knowingly ignored, as the README says.
            for key in t.as_object().into_iter().flat_map(|o| o.keys()) {
                if key != "type" {
                    tracing::debug!(tool = %kind, field = %key, "ignoring a hosted tool setting GigaChat has no equivalent for");
                }
            }
            out.builtins.push(ir::BuiltinTool::new(b, kind));
            continue;
        }
        add_tool(
            t,
            &format!("tools[{i}]"),
            None,
            &mut out.tools,
            &mut tool_kinds,
        )?;
    }
    out.tool_choice = match &req.tool_choice {
        None | Some(Value::Null) => ir::ToolChoice::Auto,
        Some(v) => tool_choice(v, &mut out.tools, &tool_kinds)?,
    };

    // Input.
    let mut input_items = Vec::new();
    match req.input {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            input_items.push(json!({
                "id": item_id("msg"),
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": s}],
                "status": "completed",
            }));
            out.messages.push(ir::Message::text(ir::Role::User, s));
        }
        Some(Value::Array(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                decode_item(&item, i, &mut out, &tool_kinds)?;
                input_items.push(stored_item(item));
            }
        }
        Some(_) => {
            return Err(ProxyError::invalid_param(
                "input must be a string or a list of items",
                "input",
            ));
        }
    }

    let echo = Echo {
        model: req.model,
        instructions: req.instructions,
        tools: req.tools.unwrap_or_default(),
        tool_choice: req.tool_choice.unwrap_or(Value::String("auto".into())),
        parallel_tool_calls: req.parallel_tool_calls.unwrap_or(true),
        text: req
            .text
            .unwrap_or_else(|| json!({"format": {"type": "text"}})),
        reasoning: req
            .reasoning
            .unwrap_or_else(|| json!({"effort": null, "summary": null})),
        max_output_tokens: req.max_output_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        store: req.store.unwrap_or(true),
        previous_response_id: req.previous_response_id,
        metadata: req.metadata.unwrap_or_else(|| json!({})),
        user: req.user,
        truncation: req.truncation.unwrap_or_else(|| "disabled".into()),
        service_tier: req.service_tier,
        encrypted_reasoning: include.iter().any(|i| i == "reasoning.encrypted_content"),
        tool_kinds,
    };
    Ok(Decoded {
        request: out,
        input_items,
        echo,
    })
}

/// An input item as `input_items` lists it: with an id, and messages in their full
/// form (`type`, content parts, `status`) even when the client used the shorthand.
fn stored_item(mut item: Value) -> Value {
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        .to_string();
    let Some(obj) = item.as_object_mut() else {
        return item;
    };
    if kind == "message" {
        obj.insert("type".into(), Value::String("message".into()));
        let part_type = match obj.get("role").and_then(Value::as_str) {
            Some("assistant") => "output_text",
            _ => "input_text",
        };
        if let Some(Value::String(text)) = obj.get("content") {
            let parts = json!([{"type": part_type, "text": text}]);
            obj.insert("content".into(), parts);
        }
        obj.entry("status")
            .or_insert(Value::String("completed".into()));
    }
    if !obj.contains_key("id") {
        let prefix = match kind.as_str() {
            "function_call" => "fc",
            "custom_tool_call" => "ctc",
            "function_call_output" => "fco",
            "custom_tool_call_output" => "ctco",
            "reasoning" => "rs",
            _ => "msg",
        };
        obj.insert("id".into(), Value::String(item_id(prefix)));
    }
    item
}

pub fn item_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn add_tool(
    t: &Value,
    param: &str,
    namespace: Option<&str>,
    tools: &mut Vec<ir::Tool>,
    kinds: &mut HashMap<String, ToolKind>,
) -> Result<(), ProxyError> {
    let kind = t.get("type").and_then(Value::as_str).unwrap_or("function");
    let name = t.get("name").and_then(Value::as_str);
    let description = t
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    match kind {
        "function" => {
            let Some(name) = name else {
                return Err(ProxyError::invalid_param(
                    "function tools need a name",
                    format!("{param}.name"),
                ));
            };
            let (flat, k) = match namespace {
                Some(ns) => (
                    format!("{ns}__{name}"),
                    ToolKind::Namespaced(ns.to_string(), name.to_string()),
                ),
                None => (name.to_string(), ToolKind::Function),
            };
            kinds.insert(flat.clone(), k);
            tools.push(ir::Tool {
                name: flat,
                description,
                parameters: t.get("parameters").cloned().filter(|p| !p.is_null()),
            });
        }
        "custom" => {
            let Some(name) = name else {
                return Err(ProxyError::invalid_param(
                    "custom tools need a name",
                    format!("{param}.name"),
                ));
            };
            let flat = match namespace {
                Some(ns) => format!("{ns}__{name}"),
                None => name.to_string(),
            };
            kinds.insert(flat.clone(), ToolKind::Custom);
            let mut about = description.unwrap_or_default();
            if let Some(format) = t.get("format")
                && format.get("type").and_then(Value::as_str) == Some("grammar")
            {
                let syntax = format
                    .get("syntax")
                    .and_then(Value::as_str)
                    .unwrap_or("grammar");
                let definition = format
                    .get("definition")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                about.push_str(&format!(
                    "\n\nThe `input` string must follow this {syntax} grammar:\n{definition}"
                ));
            }
            tools.push(ir::Tool {
                name: flat,
                description: Some(about),
                parameters: Some(json!({
                    "type": "object",
                    "properties": {"input": {"type": "string", "description": "The raw input for the tool."}},
                    "required": ["input"]
                })),
            });
        }
        "namespace" => {
            let Some(ns) = name else {
                return Err(ProxyError::invalid_param(
                    "namespace tools need a name",
                    format!("{param}.name"),
                ));
            };
            for (j, inner) in t
                .get("tools")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                add_tool(
                    inner,
                    &format!("{param}.tools[{j}]"),
                    Some(ns),
                    tools,
                    kinds,
                )?;
            }
        }
        other if SKIPPED_TOOLS.contains(&other) => {
            tracing::debug!(tool = %other, "skipping a client tool GigaChat cannot describe");
        }
        other if UNSUPPORTED_HOSTED_TOOLS.contains(&other) || builtin_of_type(other).is_some() => {
            return Err(ProxyError::invalid_param(
                format!(
                    "the hosted tool {other:?} is not supported: GigaChat has no equivalent built-in (it offers web_search, code_interpreter and image_generation); declare a function tool instead"
                ),
                format!("{param}.type"),
            ));
        }
        other => {
            return Err(ProxyError::invalid_param(
                format!("tool type {other:?} is not supported"),
                format!("{param}.type"),
            ));
        }
    }
    Ok(())
}

fn tool_choice(
    v: &Value,
    tools: &mut Vec<ir::Tool>,
    kinds: &HashMap<String, ToolKind>,
) -> Result<ir::ToolChoice, ProxyError> {
    let bad = || ProxyError::invalid_param(format!("unsupported tool_choice {v}"), "tool_choice");
    match v {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(ir::ToolChoice::Auto),
            "none" => Ok(ir::ToolChoice::None),
            "required" => Ok(ir::ToolChoice::Required),
            _ => Err(bad()),
        },
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("function" | "custom") => {
                let name = o.get("name").and_then(Value::as_str).ok_or_else(bad)?;
                let flat = kinds
                    .iter()
                    .find(|(flat, k)| {
                        flat.as_str() == name
                            || matches!(k, ToolKind::Namespaced(_, n) if n == name)
                    })
                    .map(|(flat, _)| flat.clone())
                    .unwrap_or_else(|| name.to_string());
                Ok(ir::ToolChoice::Function(flat))
            }
            Some("allowed_tools") => {
                let names: Vec<String> = o
                    .get("tools")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| {
                                t.get("name").and_then(Value::as_str).map(str::to_string)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                tools.retain(|t| names.contains(&t.name));
                Ok(match o.get("mode").and_then(Value::as_str) {
                    Some("required") => ir::ToolChoice::Required,
                    _ => ir::ToolChoice::Auto,
                })
            }
            Some(kind) if builtin_of_type(kind).is_some() => Ok(ir::ToolChoice::Builtin(
                builtin_of_type(kind).ok_or_else(bad)?,
            )),
            // Choices of skipped client tools: the model decides.
            Some(kind) if SKIPPED_TOOLS.contains(&kind) => Ok(ir::ToolChoice::Auto),
            Some(_) => Err(bad()),
            None => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// The flattened name of a call item (`namespace` + `name`).
fn call_name(item: &Value) -> Option<String> {
    let name = item.get("name").and_then(Value::as_str)?;
    Some(match item.get("namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() => format!("{ns}__{name}"),
        _ => name.to_string(),
    })
}

/// Appends a tool call to the assistant turn being built (opening one if needed).
/// Appends the messages of stored input items (an earlier turn of a
/// `previous_response_id` chain, in the normalised form [`decode`] returned them) to
/// `messages`, and their system/developer texts to `system`.
pub(crate) fn decode_history(
    items: &[Value],
    messages: &mut Vec<ir::Message>,
    system: &mut Vec<String>,
) -> Result<(), ProxyError> {
    let mut turn = ir::ChatRequest {
        messages: std::mem::take(messages),
        ..Default::default()
    };
    let kinds = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        decode_item(item, i, &mut turn, &kinds)?;
    }
    *messages = turn.messages;
    system.append(&mut turn.system);
    Ok(())
}

fn push_call(out: &mut ir::ChatRequest, call: ir::ToolCall) {
    match out.messages.last_mut() {
        Some(m) if m.role == ir::Role::Assistant => m.tool_calls.push(call),
        _ => {
            let mut m = ir::Message::new(ir::Role::Assistant, vec![]);
            m.tool_calls.push(call);
            out.messages.push(m);
        }
    }
}

fn decode_item(
    item: &Value,
    i: usize,
    out: &mut ir::ChatRequest,
    kinds: &HashMap<String, ToolKind>,
) -> Result<(), ProxyError> {
    let param = |f: &str| format!("input[{i}].{f}");
    let kind = item.get("type").and_then(Value::as_str);
    let str_of = |key: &str| -> Result<String, ProxyError> {
        item.get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ProxyError::invalid_param(format!("{key} is required"), param(key)))
    };
    match kind {
        None | Some("message") => {
            let role = str_of("role")?;
            let content = item.get("content").cloned().unwrap_or(Value::Null);
            match role.as_str() {
                "system" | "developer" => {
                    let text = text_of(&content, &param("content"))?;
                    if !text.is_empty() {
                        out.system.push(text);
                    }
                }
                "user" => {
                    let parts = parts_of(&content, &param("content"))?;
                    out.messages.push(ir::Message::new(ir::Role::User, parts));
                }
                "assistant" => {
                    let text = text_of(&content, &param("content"))?;
                    match out.messages.last_mut() {
                        // Reasoning items come before the message they belong to.
                        Some(m)
                            if m.role == ir::Role::Assistant
                                && m.tool_calls.is_empty()
                                && m.parts.is_empty() =>
                        {
                            m.parts.push(ir::Part::Text(text));
                        }
                        _ => out
                            .messages
                            .push(ir::Message::text(ir::Role::Assistant, text)),
                    }
                }
                other => {
                    return Err(ProxyError::invalid_param(
                        format!("unknown role {other:?}"),
                        param("role"),
                    ));
                }
            }
        }
        Some("function_call") => {
            let name = call_name(item)
                .ok_or_else(|| ProxyError::invalid_param("name is required", param("name")))?;
            let arguments = match item.get("arguments") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => "{}".into(),
                Some(other) => other.to_string(),
            };
            push_call(
                out,
                ir::ToolCall {
                    id: str_of("call_id")?,
                    name,
                    arguments,
                },
            );
        }
        Some("custom_tool_call") => {
            let name = call_name(item)
                .ok_or_else(|| ProxyError::invalid_param("name is required", param("name")))?;
            let input = item.get("input").and_then(Value::as_str).unwrap_or("");
            if !kinds.contains_key(&name) {
                tracing::debug!(tool = %name, "custom tool call in history for a tool not offered now");
            }
            push_call(
                out,
                ir::ToolCall {
                    id: str_of("call_id")?,
                    name,
                    arguments: json!({ "input": input }).to_string(),
                },
            );
        }
        Some("function_call_output" | "custom_tool_call_output") => {
            let mut media = Vec::new();
            let text = match item.get("output") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => {
                    // Images and files the tool returned follow the text (`upstream`
                    // carries them to GigaChat in a user message after the results).
                    let mut text = String::new();
                    for (k, p) in parts.iter().enumerate() {
                        let at = format!("{}[{k}]", param("output"));
                        match p.get("type").and_then(Value::as_str) {
                            Some("input_image" | "input_file") => media.push(media_part(p, &at)?),
                            _ => push_line(&mut text, &text_part(p, &at)?),
                        }
                    }
                    text
                }
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let mut m = ir::Message::text(ir::Role::Tool, text);
            m.parts.extend(media);
            m.tool_call_id = Some(str_of("call_id")?);
            out.messages.push(m);
        }
        Some("web_search_call" | "code_interpreter_call" | "image_generation_call") => {
            tracing::debug!("skipping a past built-in tool run: its result is in the answer text");
        }
        Some("reasoning") => {
            let restored = item
                .get("encrypted_content")
                .and_then(Value::as_str)
                .and_then(open_reasoning)
                .or_else(|| {
                    let summary: Vec<&str> = item
                        .get("summary")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.get("text").and_then(Value::as_str))
                        .collect();
                    (!summary.is_empty()).then(|| summary.join("\n"))
                });
            let mut m = ir::Message::new(ir::Role::Assistant, vec![]);
            m.reasoning = restored;
            out.messages.push(m);
        }
        Some(other) => {
            return Err(ProxyError::invalid_param(
                format!("input item type {other:?} is not supported"),
                param("type"),
            ));
        }
    }
    Ok(())
}

/// Text of message content that may only hold text parts.
fn text_of(content: &Value, param: &str) -> Result<String, ProxyError> {
    match content {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut out = String::new();
            for (k, p) in parts.iter().enumerate() {
                push_line(&mut out, &text_part(p, &format!("{param}[{k}]"))?);
            }
            Ok(out)
        }
        _ => Err(ProxyError::invalid_param(
            "content must be a string or a list of parts",
            param.to_string(),
        )),
    }
}

/// The text of a part that may only hold text.
fn text_part(p: &Value, at: &str) -> Result<String, ProxyError> {
    match p.get("type").and_then(Value::as_str) {
        Some("input_text" | "output_text" | "text" | "summary_text" | "reasoning_text") => {
            required_str(p, "text", at)
        }
        Some("refusal") => required_str(p, "refusal", at),
        other => Err(ProxyError::invalid_param(
            format!("content part {} is not allowed here", shown(other)),
            at.to_string(),
        )),
    }
}

/// Appends `t` on a new line (no line for empty text).
fn push_line(out: &mut String, t: &str) {
    if !out.is_empty() && !t.is_empty() {
        out.push('\n');
    }
    out.push_str(t);
}

fn parts_of(content: &Value, param: &str) -> Result<Vec<ir::Part>, ProxyError> {
    match content {
        Value::Null => Ok(vec![]),
        Value::String(s) => Ok(vec![ir::Part::Text(s.clone())]),
        Value::Array(parts) => {
            let mut out = Vec::new();
            for (k, p) in parts.iter().enumerate() {
                let at = format!("{param}[{k}]");
                match p.get("type").and_then(Value::as_str) {
                    Some("input_text" | "output_text" | "text") => {
                        out.push(ir::Part::Text(required_str(p, "text", &at)?));
                    }
                    Some("refusal") => {
                        out.push(ir::Part::Text(required_str(p, "refusal", &at)?));
                    }
                    Some("input_image" | "input_file") => out.push(media_part(p, &at)?),
                    other => {
                        return Err(ProxyError::invalid_param(
                            format!("content part {} is not supported", shown(other)),
                            format!("{at}.type"),
                        ));
                    }
                }
            }
            Ok(out)
        }
        _ => Err(ProxyError::invalid_param(
            "content must be a string or a list of parts",
            param.to_string(),
        )),
    }
}

/// An `input_image` or `input_file` part (of a message, or of a function call's output).
fn media_part(p: &Value, at: &str) -> Result<ir::Part, ProxyError> {
    let at = at.to_string();
    Ok(match p.get("type").and_then(Value::as_str) {
        Some("input_image") => {
            let url = p.get("image_url").and_then(Value::as_str);
            let id = p.get("file_id").and_then(Value::as_str);
            let source = match (url, id) {
                (Some(_), Some(_)) => {
                    return Err(ProxyError::invalid_param(
                        "input_image takes image_url or file_id, not both",
                        at,
                    ));
                }
                (Some(url), None) => crate::dialect::openai::chat_request::media_source(url, &at)?,
                (None, Some(id)) => {
                    ir::MediaSource::FileId(ir::file_id(id, &format!("{at}.file_id"))?)
                }
                (None, None) => {
                    return Err(ProxyError::invalid_param(
                        "input_image needs image_url or file_id",
                        format!("{at}.image_url"),
                    ));
                }
            };
            ir::Part::Media(ir::Media {
                kind: ir::MediaKind::Image,
                source,
                filename: None,
            })
        }
        Some("input_file") => {
            let filename = p
                .get("filename")
                .and_then(Value::as_str)
                .map(str::to_string);
            let given = ["file_data", "file_url", "file_id"]
                .iter()
                .filter(|k| p.get(**k).is_some_and(|v| !v.is_null()))
                .count();
            if given > 1 {
                return Err(ProxyError::invalid_param(
                    "input_file takes one of file_data, file_url and file_id",
                    at,
                ));
            }
            let source = if let Some(id) = p.get("file_id").and_then(Value::as_str) {
                ir::MediaSource::FileId(ir::file_id(id, &format!("{at}.file_id"))?)
            } else if let Some(data) = p.get("file_data").and_then(Value::as_str) {
                if data.starts_with("data:") {
                    crate::dialect::openai::chat_request::media_source(data, &at)?
                } else {
                    ir::MediaSource::Base64 {
                        mime: None,
                        data: data.to_string(),
                    }
                }
            } else if let Some(url) = p.get("file_url").and_then(Value::as_str) {
                crate::dialect::openai::chat_request::media_source(url, &at)?
            } else {
                return Err(ProxyError::invalid_param(
                    "input_file needs file_id (from /v1/files), file_data or file_url",
                    at,
                ));
            };
            ir::Part::Media(ir::Media {
                kind: ir::MediaKind::File,
                source,
                filename,
            })
        }
        other => {
            return Err(ProxyError::invalid_param(
                format!("content part {} is not supported", shown(other)),
                format!("{at}.type"),
            ));
        }
    })
}

/// The opaque `encrypted_content` for a reasoning text. Not a secret (the client already
/// saw the summary): an encoding that lets the proxy restore the text when the item
/// comes back.
pub(crate) fn seal_reasoning(text: &str) -> String {
    format!(
        "{REASONING_BLOB_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.as_bytes())
    )
}

pub(crate) fn open_reasoning(blob: &str) -> Option<String> {
    let body = blob.strip_prefix(REASONING_BLOB_PREFIX)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_json(v: Value) -> Result<Decoded, ProxyError> {
        decode(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn file_ids_in_input_file_and_input_image() {
        let d = decode_json(json!({"model":"m","input":[{"role":"user","content":[
            {"type":"input_file","file_id":"f-1"},
            {"type":"input_image","file_id":"img_2"}]}]}))
        .unwrap();
        let sources: Vec<_> = d.request.messages[0]
            .parts
            .iter()
            .map(|p| match p {
                ir::Part::Media(m) => (m.kind, m.source.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            sources,
            vec![
                (ir::MediaKind::File, ir::MediaSource::FileId("f-1".into())),
                (
                    ir::MediaKind::Image,
                    ir::MediaSource::FileId("img_2".into())
                ),
            ]
        );
        let bad = |part: Value| match decode_json(
            json!({"model":"m","input":[{"role":"user","content":[part]}]}),
        ) {
            Err(e) => e,
            Ok(_) => panic!("accepted"),
        };
        let e = bad(json!({"type":"input_file","file_id":"a/b"}));
        assert_eq!(e.param(), Some("input[0].content[0].file_id"));
        let e = bad(json!({"type":"input_file","file_id":"a","file_url":"https://x/y.pdf"}));
        assert_eq!(e.param(), Some("input[0].content[0]"));
        let e = bad(json!({"type":"input_image","file_id":"a","image_url":"https://x/y.png"}));
        assert_eq!(e.param(), Some("input[0].content[0]"));
    }

    #[test]
    fn string_input_and_instructions() {
        let d =
            decode_json(json!({"model":"gpt-5","input":"hi","instructions":"be brief"})).unwrap();
        assert_eq!(d.request.system, vec!["be brief"]);
        assert_eq!(d.request.messages[0].joined_text(), "hi");
        assert_eq!(d.input_items.len(), 1);
        assert!(d.echo.store);
        assert_eq!(d.echo.model, "gpt-5");
    }

    #[test]
    fn items_tool_loop_and_custom_tools() {
        let d = decode_json(json!({
            "model":"m",
            "tools":[
                {"type":"function","name":"shell","parameters":{"type":"object","properties":{"cmd":{"type":"string"}}}},
                {"type":"custom","name":"apply_patch","description":"patch","format":{"type":"grammar","syntax":"lark","definition":"start: x"}},
                {"type":"namespace","name":"fs","description":"files","tools":[{"type":"function","name":"read"}]},
                {"type":"web_search"}
            ],
            "input":[
                {"role":"user","content":[{"type":"input_text","text":"fix it"}]},
                {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content": seal_reasoning("deep thought")},
                {"type":"function_call","call_id":"c1","name":"shell","arguments":"{\"cmd\":\"ls\"}"},
                {"type":"custom_tool_call","call_id":"c2","name":"apply_patch","input":"*** Begin Patch"},
                {"type":"function_call","call_id":"c3","name":"read","namespace":"fs","arguments":"{}"},
                {"type":"function_call_output","call_id":"c1","output":"a.txt"},
                {"type":"custom_tool_call_output","call_id":"c2","output":"ok"},
                {"type":"function_call_output","call_id":"c3","output":[{"type":"input_text","text":"data"}]}
            ]
        }))
        .unwrap();
        let r = &d.request;
        assert_eq!(r.tools.len(), 3);
        assert!(
            r.tools[1]
                .description
                .as_deref()
                .unwrap()
                .contains("lark grammar")
        );
        assert_eq!(r.tools[2].name, "fs__read");
        assert_eq!(d.echo.tool_kinds["apply_patch"], ToolKind::Custom);
        assert_eq!(
            d.echo.tool_kinds["fs__read"],
            ToolKind::Namespaced("fs".into(), "read".into())
        );
        // user, assistant(reasoning + 3 calls), 3 tool results
        assert_eq!(r.messages.len(), 5);
        assert_eq!(r.messages[1].reasoning.as_deref(), Some("deep thought"));
        assert_eq!(r.messages[1].tool_calls.len(), 3);
        assert_eq!(
            r.messages[1].tool_calls[1].arguments,
            r#"{"input":"*** Begin Patch"}"#
        );
        assert_eq!(r.messages[1].tool_calls[2].name, "fs__read");
        assert_eq!(r.messages[4].joined_text(), "data");
        assert!(d.input_items.iter().all(|i| i.get("id").is_some()));
    }

    #[test]
    fn function_call_output_keeps_its_images() {
        let d = decode_json(json!({"model":"m","input":[
            {"role":"user","content":"shoot"},
            {"type":"function_call","call_id":"c1","name":"screenshot","arguments":"{}"},
            {"type":"function_call_output","call_id":"c1","output":[
                {"type":"input_text","text":"screen"},
                {"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="},
                {"type":"input_text","text":"1080p"}]}
        ]}))
        .unwrap();
        let tool = &d.request.messages[2];
        assert_eq!(tool.role, ir::Role::Tool);
        assert_eq!(tool.parts[0], ir::Part::Text("screen\n1080p".into()));
        assert!(matches!(&tool.parts[1], ir::Part::Media(m) if m.kind == ir::MediaKind::Image));
        assert_eq!(tool.parts.len(), 2);
        let e = decode_json(json!({"model":"m","input":[
            {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
            {"type":"function_call_output","call_id":"c1","output":[
                {"type":"input_text","text":"x"},{"type":"input_image"}]}]}))
        .err()
        .unwrap();
        assert_eq!(e.param(), Some("input[1].output[1].image_url"));
        let e = decode_json(json!({"model":"m","input":[
            {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
            {"type":"function_call_output","call_id":"c1","output":[
                {"type":"input_image","file_id":"f"},{"type":"input_audio"}]}]}))
        .err()
        .unwrap();
        assert_eq!(e.param(), Some("input[1].output[1]"));
    }

    #[test]
    fn refusals() {
        let e = decode_json(json!({"model":"m","input":[{"type":"item_reference","id":"x"}]}))
            .err()
            .unwrap();
        assert!(e.to_string().contains("item_reference"));
        assert_eq!(e.param(), Some("input[0].type"));
        assert!(decode_json(json!({"model":"m","input":"x","background":true})).is_err());
    }

    #[test]
    fn formats_and_reasoning() {
        let d = decode_json(json!({"model":"m","input":"x",
            "text":{"format":{"type":"json_schema","name":"A","schema":{"type":"object"},"strict":true}},
            "reasoning":{"effort":"minimal","summary":"auto"},
            "include":["reasoning.encrypted_content"]})).unwrap();
        assert!(matches!(
            d.request.response_format,
            ir::ResponseFormat::JsonSchema { strict: true, .. }
        ));
        assert_eq!(d.request.reasoning_effort.as_deref(), Some("low"));
        assert!(d.echo.encrypted_reasoning);
        assert_eq!(open_reasoning(&seal_reasoning("тест")), Some("тест".into()));
        assert_eq!(open_reasoning("other"), None);
    }

    #[test]
    fn stored_items_decode_like_the_original_input() {
        let input = json!([
            {"role": "user", "content": "plain string"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "parts"}]},
            {"role": "developer", "content": "be brief"},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}]},
            {"role": "assistant", "content": "earlier answer"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {"type": "custom_tool_call", "call_id": "c2", "name": "patch", "input": "diff"},
            {"type": "custom_tool_call_output", "call_id": "c2", "output": "ok"}
        ]);
        let d =
            decode(serde_json::from_value(json!({"model": "m", "input": input})).unwrap()).unwrap();
        let mut messages = Vec::new();
        let mut system = Vec::new();
        decode_history(&d.input_items, &mut messages, &mut system).unwrap();
        assert_eq!(messages, d.request.messages);
        assert_eq!(system, d.request.system);
        // A string input is stored as one user message item.
        let d =
            decode(serde_json::from_value(json!({"model": "m", "input": "hi"})).unwrap()).unwrap();
        let mut messages = Vec::new();
        decode_history(&d.input_items, &mut messages, &mut system).unwrap();
        assert_eq!(messages, d.request.messages);
    }
}
