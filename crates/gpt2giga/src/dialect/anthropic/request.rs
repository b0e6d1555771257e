//! Anthropic Messages request → `ir::ChatRequest`.
//!
//! Translated: `system` (string or text blocks), `messages` (text, image, document,
//! tool_use, tool_result blocks; `role:"system"` entries merged into the system text),
//! `tools` (custom tools with `input_schema`), `tool_choice`, `thinking` and
//! `output_config.effort` → reasoning effort, `output_config.format` → structured output,
//! `max_tokens`, `temperature`, `top_p`, `stop_sequences` (enforced by the proxy).
//! Knowingly ignored ([`IGNORED`]): `cache_control`, `top_k`, `metadata`,
//! `context_management`, `service_tier`, `container`, `inference_geo`, `speed`,
//! citations, and `thinking` / `redacted_thinking` blocks in history (GigaChat takes no
//! reasoning back). Server tools `web_search_*` and `web_fetch_*` (any dated version)
//! become GigaChat's built-in `web_search` / `url_content_extraction` (v2), forced by a
//! `tool_choice` naming them; their past `server_tool_use` / `web_search_tool_result` /
//! `web_fetch_tool_result` blocks in history are knowingly skipped (the answer text
//! carries their results). Other server tools (code execution, bash, text editor,
//! memory…) and MCP servers are refused with a 400: GigaChat has no equivalent.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::dialect::{required_str, shown};
use crate::error::ProxyError;
use crate::ir;

pub(crate) const IGNORED: &[&str] = &[
    "top_k",
    "metadata",
    "context_management",
    "service_tier",
    "container",
    "inference_geo",
    "speed",
    "cache_control",
    "diagnostics",
    "user_profile_id",
    "workspace_id",
];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MessagesRequest {
    #[serde(default)]
    pub model: String,
    pub messages: Vec<InputMessage>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub system: Option<SystemField>,
    #[serde(default)]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    #[serde(default)]
    pub tool_choice: Option<ToolChoiceField>,
    #[serde(default)]
    pub thinking: Option<Value>,
    #[serde(default)]
    pub output_config: Option<OutputConfig>,
    #[serde(default)]
    pub mcp_servers: Option<Vec<Value>>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SystemField {
    Text(String),
    Blocks(Vec<Value>),
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InputMessage {
    pub role: String,
    pub content: MessageContent,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Blocks(Vec<Value>),
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ToolChoiceField {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub disable_parallel_tool_use: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct OutputConfig {
    #[serde(default)]
    pub effort: Option<String>,
    #[serde(default)]
    pub format: Option<Value>,
}

/// What the encoder needs beyond the events.
#[derive(Debug, Clone, Default)]
pub struct EncodeOptions {
    pub model: String,
    /// The client enabled thinking: reasoning is returned as `thinking` blocks.
    pub thinking: bool,
}

pub fn decode(req: MessagesRequest) -> Result<(ir::ChatRequest, EncodeOptions), ProxyError> {
    for key in req.other.keys() {
        tracing::debug!(field = %key, known = IGNORED.contains(&key.as_str()), "ignoring messages field");
    }
    if req.mcp_servers.as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(ProxyError::invalid_param(
            "MCP servers are not supported: GigaChat cannot call remote MCP tools",
            "mcp_servers",
        ));
    }
    let Some(max_tokens) = req.max_tokens else {
        return Err(ProxyError::invalid_param(
            "max_tokens: Field required",
            "max_tokens",
        ));
    };
    if max_tokens == 0 {
        return Err(ProxyError::invalid_param(
            "max_tokens: must be at least 1",
            "max_tokens",
        ));
    }
    let mut out = ir::ChatRequest {
        model: req.model.clone(),
        stream: req.stream.unwrap_or(false),
        temperature: req.temperature,
        top_p: req.top_p,
        max_tokens: Some(max_tokens),
        stop: req.stop_sequences.unwrap_or_default(),
        ..Default::default()
    };

    match req.system {
        None => {}
        Some(SystemField::Text(t)) if !t.is_empty() => out.system.push(t),
        Some(SystemField::Text(_)) => {}
        Some(SystemField::Blocks(blocks)) => {
            let text = text_blocks(&blocks, "system")?;
            if !text.is_empty() {
                out.system.push(text);
            }
        }
    }

    // Thinking and effort.
    let mut thinking = false;
    if let Some(t) = &req.thinking {
        match t.get("type").and_then(Value::as_str) {
            Some("enabled") => {
                thinking = true;
                let budget = t.get("budget_tokens").and_then(Value::as_u64).unwrap_or(0);
                out.reasoning_effort = Some(
                    match budget {
                        0..=4095 => "low",
                        4096..=16383 => "medium",
                        _ => "high",
                    }
                    .to_string(),
                );
            }
            Some("adaptive") => {
                thinking = true;
                out.reasoning_effort = Some("medium".to_string());
            }
            Some("disabled") => out.reasoning_effort = Some("none".to_string()),
            _ => {
                return Err(ProxyError::invalid_param(
                    "thinking.type must be enabled, adaptive or disabled",
                    "thinking.type",
                ));
            }
        }
    }
    if let Some(oc) = &req.output_config {
        if let Some(effort) = &oc.effort {
            out.reasoning_effort = Some(
                match effort.as_str() {
                    "low" => "low",
                    "medium" => "medium",
                    "high" | "xhigh" | "max" => "high",
                    other => {
                        return Err(ProxyError::invalid_param(
                            format!("unknown output_config.effort {other:?}"),
                            "output_config.effort",
                        ));
                    }
                }
                .to_string(),
            );
        }
        if let Some(format) = &oc.format {
            out.response_format = match format.get("type").and_then(Value::as_str) {
                Some("json_schema") => ir::ResponseFormat::JsonSchema {
                    name: String::new(),
                    schema: format.get("schema").cloned().ok_or_else(|| {
                        ProxyError::invalid_param(
                            "output_config.format.schema is required",
                            "output_config.format.schema",
                        )
                    })?,
                    strict: true,
                },
                _ => {
                    return Err(ProxyError::invalid_param(
                        "output_config.format.type must be json_schema",
                        "output_config.format.type",
                    ));
                }
            };
        }
    }

    // Tools.
    // Server tools by the name the model knows them by (for `tool_choice`).
    let mut server_tools: Vec<(String, ir::Builtin)> = Vec::new();
    for (i, t) in req.tools.into_iter().flatten().enumerate() {
        let kind = t.get("type").and_then(Value::as_str).unwrap_or("custom");
        let builtin = if kind.starts_with("web_search_") {
            Some(ir::Builtin::WebSearch)
        } else if kind.starts_with("web_fetch_") {
            Some(ir::Builtin::UrlFetch)
        } else {
            None
        };
        match builtin {
            Some(b) => {
                let name = t.get("name").and_then(Value::as_str).unwrap_or(kind);
                // GigaChat's built-ins take no settings (max_uses, domain lists,
                // user_location…): knowingly ignored, as the README says.
                for key in t.as_object().into_iter().flat_map(|o| o.keys()) {
                    if !matches!(key.as_str(), "type" | "name") {
                        tracing::debug!(tool = %kind, field = %key, "ignoring a server tool setting GigaChat has no equivalent for");
                    }
                }
                server_tools.push((name.to_string(), b));
                out.builtins.push(ir::BuiltinTool::new(b, kind));
            }
            None => out.tools.push(tool_of(&t, i)?),
        }
    }
    if let Some(tc) = req.tool_choice {
        out.parallel_tool_calls = tc.disable_parallel_tool_use.map(|d| !d);
        out.tool_choice = match tc.kind.as_str() {
            "auto" => ir::ToolChoice::Auto,
            "any" => ir::ToolChoice::Required,
            "none" => ir::ToolChoice::None,
            "tool" => match tc.name {
                Some(n) => match server_tools.iter().find(|(name, _)| *name == n) {
                    Some((_, b)) => ir::ToolChoice::Builtin(*b),
                    None => ir::ToolChoice::Function(n),
                },
                None => {
                    return Err(ProxyError::invalid_param(
                        "tool_choice.name is required when type is \"tool\"",
                        "tool_choice.name",
                    ));
                }
            },
            other => {
                return Err(ProxyError::invalid_param(
                    format!("unknown tool_choice.type {other:?}"),
                    "tool_choice.type",
                ));
            }
        };
    }

    for (i, m) in req.messages.into_iter().enumerate() {
        decode_message(m, i, &mut out)?;
    }
    if out.messages.is_empty() {
        return Err(ProxyError::invalid_param(
            "messages: at least one message is required",
            "messages",
        ));
    }
    Ok((
        out,
        EncodeOptions {
            model: req.model,
            thinking,
        },
    ))
}

fn tool_of(t: &Value, i: usize) -> Result<ir::Tool, ProxyError> {
    let kind = t.get("type").and_then(Value::as_str).unwrap_or("custom");
    let name = t.get("name").and_then(Value::as_str).unwrap_or("");
    if kind != "custom" {
        return Err(ProxyError::invalid_param(
            format!(
                "server tool {kind:?} ({name}) is not supported: GigaChat has no equivalent (it runs web_search_* and web_fetch_*); declare it as a custom tool with an input_schema instead"
            ),
            format!("tools[{i}].type"),
        ));
    }
    if name.is_empty() {
        return Err(ProxyError::invalid_param(
            "tools need a name",
            format!("tools[{i}].name"),
        ));
    }
    Ok(ir::Tool {
        name: name.to_string(),
        description: t
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        parameters: t.get("input_schema").cloned(),
    })
}

fn text_blocks(blocks: &[Value], param: &str) -> Result<String, ProxyError> {
    let mut out = String::new();
    for (k, b) in blocks.iter().enumerate() {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => {
                let t = required_str(b, "text", &format!("{param}[{k}]"))?;
                if !out.is_empty() && !t.is_empty() {
                    out.push_str("\n\n");
                }
                out.push_str(&t);
            }
            other => {
                return Err(ProxyError::invalid_param(
                    format!("only text blocks are allowed here, got {}", shown(other)),
                    format!("{param}[{k}].type"),
                ));
            }
        }
    }
    Ok(out)
}

fn decode_message(m: InputMessage, i: usize, out: &mut ir::ChatRequest) -> Result<(), ProxyError> {
    let at = |rest: &str| format!("messages[{i}].{rest}");
    let blocks = match m.content {
        MessageContent::Text(t) => vec![serde_json::json!({"type":"text","text":t})],
        MessageContent::Blocks(b) => b,
    };
    match m.role.as_str() {
        "system" => {
            let text = text_blocks(&blocks, &at("content"))?;
            if !text.is_empty() {
                out.system.push(text);
            }
        }
        "user" => {
            // Tool results become their own tool messages (in order); the rest of the
            // user turn follows them.
            let mut parts = Vec::new();
            for (k, b) in blocks.into_iter().enumerate() {
                let param = at(&format!("content[{k}]"));
                match b.get("type").and_then(Value::as_str) {
                    Some("tool_result") => {
                        out.messages.push(tool_result(&b, &param)?);
                    }
                    _ => {
                        if let Some(p) = user_part(&b, &param)? {
                            parts.push(p);
                        }
                    }
                }
            }
            if !parts.is_empty() {
                out.messages.push(ir::Message::new(ir::Role::User, parts));
            }
        }
        "assistant" => {
            let mut msg = ir::Message::new(ir::Role::Assistant, Vec::new());
            for (k, b) in blocks.into_iter().enumerate() {
                let param = at(&format!("content[{k}]"));
                match b.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        msg.parts
                            .push(ir::Part::Text(required_str(&b, "text", &param)?));
                    }
                    Some("tool_use") => {
                        let id = str_field(&b, "id", &param)?;
                        let name = str_field(&b, "name", &param)?;
                        let input = b.get("input").cloned().unwrap_or(Value::Object(Map::new()));
                        msg.tool_calls.push(ir::ToolCall {
                            id,
                            name,
                            arguments: input.to_string(),
                        });
                    }
                    Some("thinking" | "redacted_thinking") => {
                        // Knowingly dropped: GigaChat takes no reasoning in history.
                    }
                    Some(
                        "server_tool_use" | "web_search_tool_result" | "web_fetch_tool_result",
                    ) => {
                        // Knowingly dropped: GigaChat keeps no record of its built-in
                        // runs; their results are in the answer text.
                    }
                    other => {
                        return Err(ProxyError::invalid_param(
                            format!("unsupported assistant content block {}", shown(other)),
                            format!("{param}.type"),
                        ));
                    }
                }
            }
            out.messages.push(msg);
        }
        other => {
            return Err(ProxyError::invalid_param(
                format!("unknown role {other:?} (expected user or assistant)"),
                at("role"),
            ));
        }
    }
    Ok(())
}

fn str_field(b: &Value, key: &str, param: &str) -> Result<String, ProxyError> {
    b.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            ProxyError::invalid_param(format!("{key}: Field required"), format!("{param}.{key}"))
        })
}

fn tool_result(b: &Value, param: &str) -> Result<ir::Message, ProxyError> {
    let id = str_field(b, "tool_use_id", param)?;
    // Images and documents the tool returned follow the text (`upstream` carries them to
    // GigaChat in a user message after the function results).
    let mut media = Vec::new();
    let text = match b.get("content") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::new();
            for (k, blk) in blocks.iter().enumerate() {
                let at = format!("{param}.content[{k}]");
                match blk.get("type").and_then(Value::as_str) {
                    Some("text") => texts.push(required_str(blk, "text", &at)?),
                    Some("image" | "document") => media.extend(user_part(blk, &at)?),
                    other => {
                        return Err(ProxyError::invalid_param(
                            format!(
                                "tool_result content block {} is not supported (expected text, image or document)",
                                shown(other)
                            ),
                            format!("{at}.type"),
                        ));
                    }
                }
            }
            texts.join("\n")
        }
        Some(_) => {
            return Err(ProxyError::invalid_param(
                "tool_result content must be a string or a list of blocks",
                format!("{param}.content"),
            ));
        }
    };
    let mut m = ir::Message::text(ir::Role::Tool, text);
    m.parts.extend(media);
    m.tool_call_id = Some(id);
    m.is_error = b.get("is_error").and_then(Value::as_bool).unwrap_or(false);
    Ok(m)
}

fn user_part(b: &Value, param: &str) -> Result<Option<ir::Part>, ProxyError> {
    let kind = b.get("type").and_then(Value::as_str);
    Ok(match kind {
        Some("text") => Some(ir::Part::Text(required_str(b, "text", param)?)),
        Some("image") => Some(ir::Part::Media(ir::Media {
            kind: ir::MediaKind::Image,
            source: media_source(b.get("source"), &format!("{param}.source"))?,
            filename: None,
        })),
        Some("document") => Some(ir::Part::Media(ir::Media {
            kind: ir::MediaKind::File,
            source: media_source(b.get("source"), &format!("{param}.source"))?,
            filename: b.get("title").and_then(Value::as_str).map(str::to_string),
        })),
        Some("thinking" | "redacted_thinking") => None,
        other => {
            return Err(ProxyError::invalid_param(
                format!("unsupported user content block {}", shown(other)),
                format!("{param}.type"),
            ));
        }
    })
}

fn media_source(source: Option<&Value>, param: &str) -> Result<ir::MediaSource, ProxyError> {
    let Some(s) = source else {
        return Err(ProxyError::invalid_param(
            "source: Field required",
            param.to_string(),
        ));
    };
    let get = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
    match s.get("type").and_then(Value::as_str) {
        Some("base64") => Ok(ir::MediaSource::Base64 {
            mime: get("media_type"),
            data: get("data").ok_or_else(|| {
                ProxyError::invalid_param("data: Field required", format!("{param}.data"))
            })?,
        }),
        Some("url") => {
            let url = get("url").ok_or_else(|| {
                ProxyError::invalid_param("url: Field required", format!("{param}.url"))
            })?;
            crate::dialect::openai::chat_request::media_source(&url, param)
        }
        Some("text") => Ok(ir::MediaSource::Text {
            mime: get("media_type").unwrap_or_else(|| "text/plain".to_string()),
            text: get("data").unwrap_or_default(),
        }),
        Some("file") => {
            let id = get("file_id").ok_or_else(|| {
                ProxyError::invalid_param("file_id: Field required", format!("{param}.file_id"))
            })?;
            Ok(ir::MediaSource::FileId(ir::file_id(
                &id,
                &format!("{param}.file_id"),
            )?))
        }
        other => Err(ProxyError::invalid_param(
            format!(
                "unsupported source type {} (expected base64, url, text or file)",
                shown(other)
            ),
            format!("{param}.type"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode_json(v: Value) -> Result<(ir::ChatRequest, EncodeOptions), ProxyError> {
        decode(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn file_sources_are_checked_references() {
        let block = |b: Value| {
            decode_json(json!({"model":"c","max_tokens":5,
                "messages":[{"role":"user","content":[b]}]}))
        };
        let (r, _) = block(json!({"type":"document","title":"Q3",
            "source":{"type":"file","file_id":"file_011CNha8"}}))
        .unwrap();
        assert_eq!(
            r.messages[0].parts,
            vec![ir::Part::Media(ir::Media {
                kind: ir::MediaKind::File,
                source: ir::MediaSource::FileId("file_011CNha8".into()),
                filename: Some("Q3".into()),
            })]
        );
        let (r, _) =
            block(json!({"type":"image","source":{"type":"file","file_id":"f1"}})).unwrap();
        assert!(
            matches!(&r.messages[0].parts[0], ir::Part::Media(m) if m.kind == ir::MediaKind::Image)
        );
        let e = block(json!({"type":"image","source":{"type":"file"}})).unwrap_err();
        assert_eq!(e.param(), Some("messages[0].content[0].source.file_id"));
        let e =
            block(json!({"type":"image","source":{"type":"file","file_id":"x?y"}})).unwrap_err();
        assert_eq!(e.param(), Some("messages[0].content[0].source.file_id"));
    }

    #[test]
    fn system_blocks_and_system_messages_merge() {
        let (r, _) = decode_json(json!({
            "model":"claude-sonnet-4-5","max_tokens":100,
            "system":[{"type":"text","text":"A","cache_control":{"type":"ephemeral"}},{"type":"text","text":"B"}],
            "messages":[{"role":"system","content":"C"},{"role":"user","content":"hi"}]
        }))
        .unwrap();
        assert_eq!(r.system, vec!["A\n\nB", "C"]);
        assert_eq!(r.messages.len(), 1);
    }

    #[test]
    fn tool_loop_with_two_uses() {
        let (r, _) = decode_json(json!({
            "model":"m","max_tokens":10,
            "tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
            "tool_choice":{"type":"any","disable_parallel_tool_use":true},
            "messages":[
                {"role":"user","content":"weather?"},
                {"role":"assistant","content":[
                    {"type":"thinking","thinking":"hm","signature":"s"},
                    {"type":"text","text":"checking"},
                    {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"A"}},
                    {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"B"}}
                ]},
                {"role":"user","content":[
                    {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"cold"}]},
                    {"type":"tool_result","tool_use_id":"toolu_1","content":"warm","is_error":true},
                    {"type":"text","text":"thanks"}
                ]}
            ]
        }))
        .unwrap();
        assert_eq!(r.tool_choice, ir::ToolChoice::Required);
        assert_eq!(r.parallel_tool_calls, Some(false));
        assert_eq!(r.messages.len(), 5);
        assert_eq!(r.messages[1].tool_calls.len(), 2);
        assert_eq!(r.messages[1].tool_calls[0].arguments, r#"{"city":"A"}"#);
        assert_eq!(r.messages[2].tool_call_id.as_deref(), Some("toolu_2"));
        assert!(r.messages[3].is_error);
        assert_eq!(r.messages[4].joined_text(), "thanks");
    }

    #[test]
    fn tool_results_keep_their_images_and_documents() {
        let png = json!({"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="});
        let (r, _) = decode_json(json!({
            "model":"m","max_tokens":10,
            "messages":[
                {"role":"user","content":"look"},
                {"role":"assistant","content":[
                    {"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"a.png"}}]},
                {"role":"user","content":[
                    {"type":"tool_result","tool_use_id":"toolu_1","content":[
                        {"type":"text","text":"a.png"},
                        {"type":"image","source":png},
                        {"type":"document","title":"d","source":{"type":"text","media_type":"text/plain","data":"hi"}}]}]}
            ]
        }))
        .unwrap();
        let tool = &r.messages[2];
        assert_eq!(tool.role, ir::Role::Tool);
        assert_eq!(tool.joined_text(), "a.png");
        assert_eq!(tool.parts.len(), 3);
        assert!(matches!(&tool.parts[1], ir::Part::Media(m)
            if m.kind == ir::MediaKind::Image
                && m.source == ir::MediaSource::Base64 {
                    mime: Some("image/png".into()), data: "iVBORw0KGgo=".into() }));
        assert!(matches!(&tool.parts[2], ir::Part::Media(m) if m.kind == ir::MediaKind::File));
        // Other blocks are still refused, naming the block.
        let e = decode_json(json!({"model":"m","max_tokens":10,"messages":[
            {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t",
                "content":[{"type":"search_result","source":"s","title":"t","content":[]}]}]}]}))
        .unwrap_err();
        assert_eq!(e.param(), Some("messages[1].content[0].content[0].type"));
    }

    #[test]
    fn thinking_and_effort() {
        let base = json!({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}]});
        let mut v = base.clone();
        v["thinking"] = json!({"type":"enabled","budget_tokens":20000});
        let (r, o) = decode_json(v).unwrap();
        assert_eq!(r.reasoning_effort.as_deref(), Some("high"));
        assert!(o.thinking);
        let mut v = base.clone();
        v["thinking"] = json!({"type":"adaptive"});
        v["output_config"] = json!({"effort":"low"});
        let (r, o) = decode_json(v).unwrap();
        assert_eq!(r.reasoning_effort.as_deref(), Some("low"));
        assert!(o.thinking);
    }

    #[test]
    fn server_tools_and_missing_max_tokens_are_refused() {
        let e = decode_json(
            json!({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}],
            "tools":[{"type":"code_execution_20250825","name":"code_execution"}]}),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("tools[0].type"));
        let e = decode_json(json!({"model":"m","messages":[{"role":"user","content":"x"}]}))
            .unwrap_err();
        assert_eq!(e.param(), Some("max_tokens"));
    }

    #[test]
    fn images_and_documents() {
        let (r, _) = decode_json(json!({"model":"m","max_tokens":10,"messages":[{"role":"user","content":[
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},
            {"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"},"title":"t.txt"},
            {"type":"text","text":"describe"}
        ]}]})).unwrap();
        assert_eq!(r.messages[0].parts.len(), 3);
        assert!(
            matches!(&r.messages[0].parts[1], ir::Part::Media(m) if m.filename.as_deref() == Some("t.txt"))
        );
    }
}
