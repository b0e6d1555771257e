//! OpenAI Chat Completions request → `ir::ChatRequest`.
//!
//! Every request field is translated, knowingly ignored ([`IGNORED`], logged at debug),
//! or refused with a 400 naming it. `web_search_options` (an object, even empty) asks
//! for GigaChat's built-in web search (v2); its `search_context_size` and
//! `user_location` have no GigaChat equivalent and are knowingly ignored.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ProxyError;
use crate::ir;

/// Fields accepted and knowingly ignored (GigaChat has no equivalent and ignoring them
/// does not change the meaning of the answer).
pub(crate) const IGNORED: &[&str] = &[
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "seed",
    "metadata",
    "store",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "user",
    "verbosity",
    "prediction",
    "top_logprobs",
];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChatCompletionRequest {
    #[serde(default)]
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub n: Option<u32>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    #[serde(default)]
    pub stop: Option<StopField>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub tools: Option<Vec<ToolDef>>,
    #[serde(default)]
    pub tool_choice: Option<Value>,
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default)]
    pub functions: Option<Vec<FunctionDef>>,
    #[serde(default)]
    pub function_call: Option<Value>,
    #[serde(default)]
    pub response_format: Option<ResponseFormatField>,
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    #[serde(default)]
    pub logprobs: Option<bool>,
    #[serde(default)]
    pub modalities: Option<Vec<String>>,
    #[serde(default)]
    pub audio: Option<Value>,
    #[serde(default)]
    pub user: Option<String>,
    /// Everything else: checked against [`IGNORED`].
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum StopField {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChatMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<Content>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDef>>,
    #[serde(default)]
    pub tool_call_id: Option<String>,
    #[serde(default)]
    pub function_call: Option<FunctionCallDef>,
    #[serde(default)]
    pub refusal: Option<String>,
    /// Reasoning echoed back by clients that keep it (DeepSeek-style); not sent to
    /// GigaChat, which takes no reasoning in history.
    #[serde(default)]
    pub reasoning_content: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    Text { text: String },
    ImageUrl { image_url: ImageUrl },
    InputAudio { input_audio: InputAudio },
    File { file: FileData },
    Refusal { refusal: String },
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ImageUrl {
    /// `detail` is knowingly ignored: GigaChat picks its own resolution.
    Object {
        url: String,
    },
    Url(String),
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InputAudio {
    pub data: String,
    pub format: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FileData {
    #[serde(default)]
    pub file_data: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub file_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ToolCallDef {
    pub id: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    pub function: FunctionCallDef,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FunctionCallDef {
    pub name: String,
    #[serde(default)]
    pub arguments: Option<Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ToolDef {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub function: Option<FunctionDef>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FunctionDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `strict` is knowingly ignored: GigaChat validates arguments against the schema
    /// on its own terms.
    #[serde(default)]
    pub parameters: Option<Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormatField {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaDef },
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct JsonSchemaDef {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// What the encoder needs beyond the events.
#[derive(Debug, Clone, Default)]
pub struct EncodeOptions {
    pub model: String,
    pub include_usage: bool,
}

/// Decodes a parsed request into the normalised form.
pub fn decode(req: ChatCompletionRequest) -> Result<(ir::ChatRequest, EncodeOptions), ProxyError> {
    let mut builtins = Vec::new();
    match req.other.get("web_search_options") {
        None | Some(Value::Null) => {}
        Some(Value::Object(settings)) => {
            // GigaChat's web search takes no settings: knowingly ignored.
            for key in settings.keys() {
                tracing::debug!(field = %key, "ignoring a web_search_options setting GigaChat has no equivalent for");
            }
            builtins.push(ir::BuiltinTool::new(
                ir::Builtin::WebSearch,
                "web_search_options",
            ));
        }
        Some(_) => {
            return Err(ProxyError::invalid_param(
                "web_search_options must be an object",
                "web_search_options",
            ));
        }
    }
    for key in req.other.keys().filter(|k| *k != "web_search_options") {
        if IGNORED.contains(&key.as_str()) {
            tracing::debug!(field = %key, "ignoring chat.completions field GigaChat has no equivalent for");
        } else {
            tracing::debug!(field = %key, "ignoring unknown chat.completions field");
        }
    }
    if req.user.is_some() {
        // Not sent as `X-Client-ID`: GigaChat scopes uploaded files by that header, and
        // the attachment cache would then stop deduplicating across a client's users.
        tracing::debug!("ignoring chat.completions field `user`");
    }
    if let Some(n) = req.n
        && n != 1
    {
        return Err(ProxyError::invalid_param(
            format!("n={n} is not supported: GigaChat returns one choice per request"),
            "n",
        ));
    }
    if req.logprobs == Some(true) {
        return Err(ProxyError::invalid_param(
            "logprobs are not supported by GigaChat",
            "logprobs",
        ));
    }
    if req.audio.is_some()
        || req
            .modalities
            .as_ref()
            .is_some_and(|m| m.iter().any(|x| x != "text"))
    {
        return Err(ProxyError::invalid_param(
            "audio output is not supported by GigaChat; only text output is available",
            "modalities",
        ));
    }
    let stream = req.stream.unwrap_or(false);
    let include_usage = stream
        && req
            .stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false);

    let mut out = ir::ChatRequest {
        model: req.model.clone(),
        stream,
        temperature: req.temperature,
        top_p: req.top_p,
        max_tokens: req.max_completion_tokens.or(req.max_tokens),
        parallel_tool_calls: req.parallel_tool_calls,
        reasoning_effort: match req.reasoning_effort.as_deref() {
            None => None,
            Some("xhigh") => Some("high".into()),
            Some(e @ ("none" | "minimal" | "low" | "medium" | "high")) => Some(e.to_string()),
            Some(other) => {
                return Err(ProxyError::invalid_param(
                    format!(
                        "unknown reasoning_effort {other:?} (expected none, minimal, low, medium, high)"
                    ),
                    "reasoning_effort",
                ));
            }
        },
        stop: match req.stop {
            None => vec![],
            Some(StopField::One(s)) => vec![s],
            Some(StopField::Many(v)) => v,
        },
        builtins,
        ..Default::default()
    };

    // Tools (current and legacy shapes).
    let mut tools = Vec::new();
    for (i, t) in req.tools.into_iter().flatten().enumerate() {
        match (t.kind.as_str(), t.function) {
            ("function", Some(f)) => tools.push(tool_of(f)),
            ("function", None) => {
                return Err(ProxyError::invalid_param(
                    "a function tool needs a `function` object",
                    format!("tools[{i}].function"),
                ));
            }
            (other, _) => {
                return Err(ProxyError::invalid_param(
                    format!(
                        "tool type {other:?} is not supported; only \"function\" tools can be sent to GigaChat"
                    ),
                    format!("tools[{i}].type"),
                ));
            }
        }
    }
    for f in req.functions.into_iter().flatten() {
        tools.push(tool_of(f));
    }
    out.tools = tools;
    out.tool_choice = match (req.tool_choice, req.function_call) {
        (Some(v), _) => tool_choice(&v, &mut out.tools, "tool_choice")?,
        (None, Some(v)) => tool_choice(&v, &mut out.tools, "function_call")?,
        (None, None) => ir::ToolChoice::Auto,
    };

    out.response_format = match req.response_format {
        None | Some(ResponseFormatField::Text) => ir::ResponseFormat::Text,
        Some(ResponseFormatField::JsonObject) => ir::ResponseFormat::JsonObject,
        Some(ResponseFormatField::JsonSchema { json_schema }) => {
            let Some(schema) = json_schema.schema else {
                return Err(ProxyError::invalid_param(
                    "response_format.json_schema.schema is required",
                    "response_format.json_schema.schema",
                ));
            };
            ir::ResponseFormat::JsonSchema {
                name: json_schema.name,
                schema,
                strict: json_schema.strict.unwrap_or(false),
            }
        }
    };

    decode_messages(req.messages, &mut out)?;
    Ok((
        out,
        EncodeOptions {
            model: req.model,
            include_usage,
        },
    ))
}

fn tool_of(f: FunctionDef) -> ir::Tool {
    ir::Tool {
        name: f.name,
        description: f.description,
        parameters: f.parameters,
    }
}

fn tool_choice(
    v: &Value,
    tools: &mut Vec<ir::Tool>,
    param: &str,
) -> Result<ir::ToolChoice, ProxyError> {
    let bad =
        || ProxyError::invalid_param(format!("unsupported {param} value {v}"), param.to_string());
    match v {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(ir::ToolChoice::Auto),
            "none" => Ok(ir::ToolChoice::None),
            "required" | "any" => Ok(ir::ToolChoice::Required),
            _ => Err(bad()),
        },
        Value::Object(o) => {
            // {"type":"function","function":{"name":…}} or legacy {"name":…}
            if let Some(name) = o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))
                .and_then(Value::as_str)
            {
                return Ok(ir::ToolChoice::Function(name.to_string()));
            }
            // {"type":"allowed_tools","allowed_tools":{"mode":…,"tools":[…]}}
            if o.get("type").and_then(Value::as_str) == Some("allowed_tools") {
                let allowed = o.get("allowed_tools").ok_or_else(bad)?;
                let names: Vec<&str> = allowed
                    .get("tools")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| {
                                t.get("function")
                                    .and_then(|f| f.get("name"))
                                    .or_else(|| t.get("name"))
                                    .and_then(Value::as_str)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                tools.retain(|t| names.contains(&t.name.as_str()));
                return match allowed.get("mode").and_then(Value::as_str) {
                    Some("required") => Ok(ir::ToolChoice::Required),
                    _ => Ok(ir::ToolChoice::Auto),
                };
            }
            Err(bad())
        }
        _ => Err(bad()),
    }
}

fn decode_messages(
    messages: Vec<ChatMessage>,
    out: &mut ir::ChatRequest,
) -> Result<(), ProxyError> {
    // Legacy `function` results carry a name, not an id: remember the last legacy call
    // per name so they can be paired.
    let mut legacy_calls: Vec<(String, String)> = Vec::new();
    let mut legacy_seq = 0usize;
    // The tool calls of the latest assistant message, and whether each has a result yet:
    // a tool result without `tool_call_id` (Qwen-Agent) is paired by name.
    let mut pending: Vec<(String, String, bool)> = Vec::new();
    for (i, m) in messages.into_iter().enumerate() {
        // Knowingly dropped (README): participant names (GigaChat has none) and reasoning
        // echoed back in history (GigaChat takes none).
        if m.name.is_some() && !matches!(m.role.as_str(), "tool" | "function") {
            tracing::debug!(message = i, "ignoring the participant name of a message");
        }
        if m.reasoning_content.is_some() {
            tracing::debug!(message = i, "ignoring reasoning_content in history");
        }
        let at = |field: &str| format!("messages[{i}].{field}");
        match m.role.as_str() {
            "system" | "developer" => {
                let text = text_only(m.content, &at("content"))?;
                if !text.is_empty() {
                    out.system.push(text);
                }
            }
            "user" => {
                if m.content.is_none() {
                    return Err(ProxyError::invalid_param(
                        "a user message needs content",
                        at("content"),
                    ));
                }
                let parts = parts_of(m.content, &at("content"))?;
                out.messages.push(ir::Message::new(ir::Role::User, parts));
            }
            "assistant" => {
                let mut text = match m.content {
                    None => String::new(),
                    Some(c) => text_only(Some(c), &at("content"))?,
                };
                if text.is_empty()
                    && let Some(r) = m.refusal
                {
                    text = r;
                }
                let mut msg = ir::Message::text(ir::Role::Assistant, text);
                for (j, tc) in m.tool_calls.into_iter().flatten().enumerate() {
                    if let Some(kind) = &tc.kind
                        && kind != "function"
                    {
                        return Err(ProxyError::invalid_param(
                            format!("tool call type {kind:?} is not supported"),
                            at(&format!("tool_calls[{j}].type")),
                        ));
                    }
                    msg.tool_calls.push(ir::ToolCall {
                        id: tc.id,
                        name: tc.function.name,
                        arguments: arguments_text(tc.function.arguments),
                    });
                }
                if let Some(fc) = m.function_call {
                    legacy_seq += 1;
                    let id = format!("call_legacy_{legacy_seq}");
                    legacy_calls.push((fc.name.clone(), id.clone()));
                    msg.tool_calls.push(ir::ToolCall {
                        id,
                        name: fc.name,
                        arguments: arguments_text(fc.arguments),
                    });
                }
                pending = msg
                    .tool_calls
                    .iter()
                    .map(|c| (c.name.clone(), c.id.clone(), false))
                    .collect();
                out.messages.push(msg);
            }
            "tool" => {
                let id = match m.tool_call_id {
                    Some(id) => id,
                    None => call_id_by_name(&pending, m.name.as_deref())
                        .map_err(|msg| ProxyError::invalid_param(msg, at("tool_call_id")))?,
                };
                if let Some(call) = pending.iter_mut().find(|c| c.1 == id) {
                    call.2 = true;
                }
                let parts = tool_content(m.content, &at("content"))?;
                let mut msg = ir::Message::new(ir::Role::Tool, parts);
                msg.tool_call_id = Some(id);
                msg.name = m.name;
                out.messages.push(msg);
            }
            "function" => {
                let Some(name) = m.name else {
                    return Err(ProxyError::invalid_param(
                        "a function message needs a name",
                        at("name"),
                    ));
                };
                let pos = legacy_calls.iter().rposition(|(n, _)| *n == name);
                let Some(pos) = pos else {
                    return Err(ProxyError::invalid_param(
                        format!(
                            "the function result {name:?} does not answer any earlier function_call"
                        ),
                        at("name"),
                    ));
                };
                let (_, id) = legacy_calls.remove(pos);
                let text = text_only(m.content, &at("content"))?;
                let mut msg = ir::Message::text(ir::Role::Tool, text);
                msg.tool_call_id = Some(id);
                msg.name = Some(name);
                out.messages.push(msg);
            }
            other => {
                return Err(ProxyError::invalid_param(
                    format!(
                        "unknown role {other:?} (expected system, developer, user, assistant, tool or function)"
                    ),
                    at("role"),
                ));
            }
        }
    }
    if out.messages.is_empty() {
        return Err(ProxyError::invalid_param(
            "messages must contain at least one user or assistant message",
            "messages",
        ));
    }
    Ok(())
}

/// The id of the call a tool result without `tool_call_id` answers: the one unanswered
/// call of the latest assistant message with that name, or else the only call of that name.
fn call_id_by_name(
    pending: &[(String, String, bool)],
    name: Option<&str>,
) -> Result<String, String> {
    let Some(name) = name else {
        return Err("a tool message needs tool_call_id (or a name matching one tool call of the preceding assistant message)".into());
    };
    let named: Vec<&(String, String, bool)> = pending.iter().filter(|c| c.0 == name).collect();
    let open: Vec<&(String, String, bool)> = named.iter().copied().filter(|c| !c.2).collect();
    match (open.as_slice(), named.as_slice()) {
        ([one], _) | ([], [one]) => Ok(one.1.clone()),
        ([], []) => Err(format!(
            "a tool message without tool_call_id must name a tool call of the preceding assistant message; none is named {name:?}"
        )),
        ([], _) => Err(format!(
            "a tool message without tool_call_id names {name:?}, but every call of that name already has a result; give tool_call_id"
        )),
        _ => Err(format!(
            "a tool message without tool_call_id names {name:?}, which {} unanswered calls of the preceding assistant message share; give tool_call_id",
            open.len()
        )),
    }
}

fn arguments_text(v: Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => "{}".to_string(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    }
}

/// Text of a content field that may only hold text (system, assistant, tool).
fn text_only(content: Option<Content>, param: &str) -> Result<String, ProxyError> {
    match content {
        None => Ok(String::new()),
        Some(Content::Text(t)) => Ok(t),
        Some(Content::Parts(parts)) => {
            let mut out = String::new();
            for (k, p) in parts.into_iter().enumerate() {
                let t = match p {
                    ContentPart::Text { text } => text,
                    ContentPart::Refusal { refusal } => refusal,
                    _ => {
                        return Err(ProxyError::invalid_param(
                            "only text parts are allowed in this message",
                            format!("{param}[{k}]"),
                        ));
                    }
                };
                if !out.is_empty() && !t.is_empty() {
                    out.push('\n');
                }
                out.push_str(&t);
            }
            Ok(out)
        }
    }
}

/// A tool result's content: its text parts joined by newlines (the function result),
/// then the images and files the tool returned (`upstream` carries those to GigaChat in
/// a user message after the function results).
fn tool_content(content: Option<Content>, param: &str) -> Result<Vec<ir::Part>, ProxyError> {
    let parts = match content {
        Some(Content::Parts(parts)) => parts,
        other => return Ok(vec![ir::Part::Text(text_only(other, param)?)]),
    };
    let mut text = String::new();
    let mut media = Vec::new();
    for (k, p) in parts.into_iter().enumerate() {
        let t = match p {
            ContentPart::Text { text } => text,
            ContentPart::Refusal { refusal } => refusal,
            other => {
                media.push(part_of(other, &format!("{param}[{k}]"))?);
                continue;
            }
        };
        if !text.is_empty() && !t.is_empty() {
            text.push('\n');
        }
        text.push_str(&t);
    }
    Ok(std::iter::once(ir::Part::Text(text)).chain(media).collect())
}

fn parts_of(content: Option<Content>, param: &str) -> Result<Vec<ir::Part>, ProxyError> {
    match content {
        None => Ok(vec![]),
        Some(Content::Text(t)) => Ok(vec![ir::Part::Text(t)]),
        Some(Content::Parts(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(k, p)| part_of(p, &format!("{param}[{k}]")))
            .collect(),
    }
}

fn part_of(p: ContentPart, param: &str) -> Result<ir::Part, ProxyError> {
    Ok(match p {
        ContentPart::Text { text } => ir::Part::Text(text),
        ContentPart::Refusal { refusal } => ir::Part::Text(refusal),
        ContentPart::ImageUrl { image_url } => {
            let url = match image_url {
                ImageUrl::Object { url, .. } | ImageUrl::Url(url) => url,
            };
            ir::Part::Media(ir::Media {
                kind: ir::MediaKind::Image,
                source: media_source(&url, param)?,
                filename: None,
            })
        }
        ContentPart::InputAudio { input_audio } => ir::Part::Media(ir::Media {
            kind: ir::MediaKind::File,
            source: ir::MediaSource::Base64 {
                mime: Some(match input_audio.format.as_str() {
                    "mp3" => "audio/mp3".to_string(),
                    "wav" => "audio/wav".to_string(),
                    other => format!("audio/{other}"),
                }),
                data: input_audio.data,
            },
            filename: Some(format!("audio.{}", input_audio.format)),
        }),
        ContentPart::File { file } => {
            let data = match (file.file_id, file.file_data) {
                (Some(_), Some(_)) => {
                    return Err(ProxyError::invalid_param(
                        "a file part takes file_id or file_data, not both",
                        format!("{param}.file"),
                    ));
                }
                (Some(id), None) => {
                    let at = format!("{param}.file.file_id");
                    return Ok(ir::Part::Media(ir::Media {
                        kind: ir::MediaKind::File,
                        source: ir::MediaSource::FileId(ir::file_id(&id, &at)?),
                        filename: file.filename,
                    }));
                }
                (None, Some(data)) => data,
                (None, None) => {
                    return Err(ProxyError::invalid_param(
                        "a file part needs file_id (from /v1/files) or file_data",
                        format!("{param}.file.file_data"),
                    ));
                }
            };
            let source = if data.starts_with("data:") {
                media_source(&data, param)?
            } else {
                ir::MediaSource::Base64 { mime: None, data }
            };
            ir::Part::Media(ir::Media {
                kind: ir::MediaKind::File,
                source,
                filename: file.filename,
            })
        }
    })
}

/// `data:` URLs become inline base64; `http(s)` URLs are fetched later (SSRF-guarded).
pub(crate) fn media_source(url: &str, param: &str) -> Result<ir::MediaSource, ProxyError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let Some((meta, data)) = rest.split_once(',') else {
            return Err(ProxyError::invalid_param(
                "malformed data: URL",
                param.to_string(),
            ));
        };
        let mut fields = meta.split(';');
        let mime = fields.next().filter(|m| !m.is_empty()).map(str::to_string);
        if !meta.split(';').any(|f| f == "base64") {
            return Err(ProxyError::invalid_param(
                "data: URLs must be base64-encoded",
                param.to_string(),
            ));
        }
        return Ok(ir::MediaSource::Base64 {
            mime,
            data: data.to_string(),
        });
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(ir::MediaSource::Url(url.to_string()));
    }
    Err(ProxyError::invalid_param(
        "image URLs must be http(s) or data: URLs",
        param.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode_json(v: Value) -> Result<(ir::ChatRequest, EncodeOptions), ProxyError> {
        decode(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn roles_and_system_merge() {
        let (r, o) = decode_json(json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "S1"},
                {"role": "user", "content": "hi"},
                {"role": "developer", "content": [{"type": "text", "text": "S2"}]},
                {"role": "assistant", "content": null, "refusal": "no"},
            ]
        }))
        .unwrap();
        assert_eq!(r.system, vec!["S1", "S2"]);
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.messages[1].joined_text(), "no");
        assert_eq!(o.model, "gpt-4o");
    }

    #[test]
    fn unknown_role_is_refused_with_param() {
        let e = decode_json(json!({"model":"m","messages":[{"role":"wizard","content":"x"}]}))
            .unwrap_err();
        assert_eq!(e.param(), Some("messages[0].role"));
        assert_eq!(e.status().as_u16(), 400);
    }

    #[test]
    fn parameters_translate_or_refuse() {
        let (r, o) = decode_json(json!({
            "model":"m","messages":[{"role":"user","content":"x"}],
            "max_tokens": 5, "max_completion_tokens": 7, "stop": "END",
            "stream": true, "stream_options": {"include_usage": true},
            "reasoning_effort": "xhigh", "seed": 1, "frequency_penalty": 0.5
        }))
        .unwrap();
        assert_eq!(r.max_tokens, Some(7));
        assert_eq!(r.stop, vec!["END"]);
        assert!(o.include_usage);
        assert_eq!(r.reasoning_effort.as_deref(), Some("high"));
        assert_eq!(
            decode_json(json!({"model":"m","messages":[{"role":"user","content":"x"}],"n":2}))
                .unwrap_err()
                .param(),
            Some("n")
        );
        assert_eq!(
            decode_json(
                json!({"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true})
            )
            .unwrap_err()
            .param(),
            Some("logprobs")
        );
    }

    #[test]
    fn tools_tool_choice_and_legacy_functions() {
        let (r, _) = decode_json(json!({
            "model":"m",
            "messages":[
                {"role":"user","content":"x"},
                {"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{\"a\":1}"}},
                {"role":"function","name":"f","content":"42"}
            ],
            "functions":[{"name":"f","parameters":{"type":"object","properties":{}}}],
            "function_call":{"name":"f"}
        }))
        .unwrap();
        assert_eq!(r.tool_choice, ir::ToolChoice::Function("f".into()));
        assert_eq!(r.messages[1].tool_calls[0].arguments, r#"{"a":1}"#);
        assert_eq!(
            r.messages[2].tool_call_id,
            r.messages[1].tool_calls.first().map(|c| c.id.clone())
        );
        let (r, _) = decode_json(json!({
            "model":"m","messages":[{"role":"user","content":"x"}],
            "tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}],
            "tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"b"}}]}}
        }))
        .unwrap();
        assert_eq!(r.tools.len(), 1);
        assert_eq!(r.tool_choice, ir::ToolChoice::Required);
    }

    fn with_calls(calls: Value, results: Value) -> Result<ir::ChatRequest, ProxyError> {
        let mut messages = vec![
            json!({"role":"user","content":"x"}),
            json!({"role":"assistant","content":null,"tool_calls":calls}),
        ];
        messages.extend(results.as_array().unwrap().iter().cloned());
        decode_json(json!({"model":"m","messages":messages})).map(|(r, _)| r)
    }

    fn call(id: &str, name: &str) -> Value {
        json!({"id":id,"type":"function","function":{"name":name,"arguments":"{}"}})
    }

    #[test]
    fn tool_messages_keep_their_images_after_the_text() {
        let (r, _) = decode_json(json!({
            "model": "m",
            "messages": [
                {"role": "user", "content": "look"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "read_file", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": [
                    {"type": "text", "text": "logo.png"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "text", "text": "done"}]},
            ]
        }))
        .unwrap();
        let tool = &r.messages[2];
        // The text is joined as before (one newline), the image follows it.
        assert_eq!(tool.parts.len(), 2);
        assert_eq!(tool.parts[0], ir::Part::Text("logo.png\ndone".into()));
        assert!(matches!(&tool.parts[1], ir::Part::Media(m)
            if m.kind == ir::MediaKind::Image
                && m.source == ir::MediaSource::Base64 {
                    mime: Some("image/png".into()), data: "iVBORw0KGgo=".into() }));
        // A bad image is still a 400 naming the part.
        let e = decode_json(json!({"model": "m", "messages": [
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": [
                {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]}))
        .unwrap_err();
        assert_eq!(e.param(), Some("messages[1].content[0]"));
    }

    #[test]
    fn tool_result_without_id_pairs_by_name() {
        // One call of that name.
        let r = with_calls(
            json!([call("c1", "get_weather"), call("c2", "get_time")]),
            json!([
                {"role":"tool","name":"get_time","content":"noon"},
                {"role":"tool","name":"get_weather","content":"sunny"}
            ]),
        )
        .unwrap();
        assert_eq!(r.messages[2].tool_call_id.as_deref(), Some("c2"));
        assert_eq!(r.messages[3].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(r.messages[3].name.as_deref(), Some("get_weather"));

        // Two calls of one name: the first answered by id, the other is the only one open.
        let r = with_calls(
            json!([call("a", "f"), call("b", "f")]),
            json!([
                {"role":"tool","tool_call_id":"a","content":"1"},
                {"role":"tool","name":"f","content":"2"}
            ]),
        )
        .unwrap();
        assert_eq!(r.messages[3].tool_call_id.as_deref(), Some("b"));

        // The only call of that name, already answered: still that call.
        let r = with_calls(
            json!([call("a", "f")]),
            json!([
                {"role":"tool","tool_call_id":"a","content":"1"},
                {"role":"tool","name":"f","content":"again"}
            ]),
        )
        .unwrap();
        assert_eq!(r.messages[3].tool_call_id.as_deref(), Some("a"));
    }

    #[test]
    fn tool_result_without_id_is_400_when_unpairable() {
        let refused = |calls: Value, results: Value, needle: &str| {
            let e = with_calls(calls, results).unwrap_err();
            assert_eq!(e.status().as_u16(), 400);
            assert_eq!(e.param(), Some("messages[2].tool_call_id"));
            assert!(e.to_string().contains(needle), "{e}");
        };
        // No name.
        refused(
            json!([call("a", "f")]),
            json!([{"role":"tool","content":"1"}]),
            "needs tool_call_id",
        );
        // A name no call has.
        refused(
            json!([call("a", "f")]),
            json!([{"role":"tool","name":"g","content":"1"}]),
            "none is named \"g\"",
        );
        // Two unanswered calls of that name.
        refused(
            json!([call("a", "f"), call("b", "f")]),
            json!([{"role":"tool","name":"f","content":"1"}]),
            "2 unanswered calls",
        );
        // No assistant tool calls before it at all.
        let e = decode_json(json!({"model":"m","messages":[
            {"role":"user","content":"x"},
            {"role":"tool","name":"f","content":"1"}
        ]}))
        .unwrap_err();
        assert_eq!(e.param(), Some("messages[1].tool_call_id"));
    }

    #[test]
    fn images_and_files() {
        let (r, _) = decode_json(json!({
            "model":"m",
            "messages":[{"role":"user","content":[
                {"type":"text","text":"what is it"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
                {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"high"}},
                {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBER","filename":"a.pdf"}}
            ]}]
        }))
        .unwrap();
        let parts = &r.messages[0].parts;
        assert_eq!(parts.len(), 4);
        assert!(
            matches!(&parts[1], ir::Part::Media(m) if m.source == ir::MediaSource::Base64{mime: Some("image/png".into()), data: "AAAA".into()})
        );
        assert!(
            matches!(&parts[2], ir::Part::Media(m) if m.source == ir::MediaSource::Url("https://example.com/cat.jpg".into()))
        );
        assert!(matches!(&parts[3], ir::Part::Media(m) if m.filename.as_deref() == Some("a.pdf")));
        let e = decode_json(json!({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]})).unwrap_err();
        assert_eq!(e.param(), Some("messages[0].content[0]"));
    }

    #[test]
    fn file_ids_are_checked_references() {
        let file = |f: Value| {
            decode_json(
                json!({"model":"m","messages":[{"role":"user","content":[{"type":"file","file":f}]}]}),
            )
        };
        let (r, _) = file(json!({"file_id":"c757a9c5-de04","filename":"r.pdf"})).unwrap();
        assert_eq!(
            r.messages[0].parts,
            vec![ir::Part::Media(ir::Media {
                kind: ir::MediaKind::File,
                source: ir::MediaSource::FileId("c757a9c5-de04".into()),
                filename: Some("r.pdf".into()),
            })]
        );
        let e = file(json!({"file_id":"../balance"})).unwrap_err();
        assert_eq!(e.param(), Some("messages[0].content[0].file.file_id"));
        let e = file(json!({"file_id":"a","file_data":"AAAA"})).unwrap_err();
        assert_eq!(e.param(), Some("messages[0].content[0].file"));
        let e = file(json!({})).unwrap_err();
        assert_eq!(e.param(), Some("messages[0].content[0].file.file_data"));
    }

    #[test]
    fn json_schema_response_format() {
        let (r, _) = decode_json(json!({
            "model":"m","messages":[{"role":"user","content":"x"}],
            "response_format":{"type":"json_schema","json_schema":{"name":"A","schema":{"type":"object"},"strict":true}}
        }))
        .unwrap();
        assert!(matches!(
            r.response_format,
            ir::ResponseFormat::JsonSchema { strict: true, .. }
        ));
    }
}
