//! Gemini `GenerateContentRequest` → `ir::ChatRequest`.
//!
//! Field names are accepted in both of the forms Google's JSON parser takes
//! (`systemInstruction` and `system_instruction`). Translated: `contents` (roles `user`,
//! `model`, `function`; parts `text`, `inlineData`, `fileData`, `functionCall`,
//! `functionResponse`, `thought`), `systemInstruction`, `tools[].functionDeclarations`
//! (`parameters` in Google's OpenAPI subset, or `parametersJsonSchema`),
//! `toolConfig.functionCallingConfig`, and `generationConfig` (see [`generation`]).
//! Knowingly ignored, logged at debug: [`IGNORED`] and [`IGNORED_GENERATION`].
//! `googleSearch` (and the older `googleSearchRetrieval`) become GigaChat's built-in web
//! search (v2), its sources and citations the answer's `groundingMetadata`.
//! Refused with a 400 naming the field: `cachedContent`, `candidateCount` > 1, non-text
//! response modalities, and the other built-in tools (`codeExecution`, `urlContext`, …)
//! that GigaChat has no equivalent for.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::dialect::shown;
use crate::error::ProxyError;
use crate::ir;

/// Top-level request fields the proxy knowingly ignores (logged at debug).
pub(crate) const IGNORED: &[&str] = &["safetySettings", "labels", "serviceTier", "store"];

/// `generationConfig` fields the proxy knowingly ignores (logged at debug): GigaChat has
/// no equivalent (`topK`, penalties, `seed`, log-probabilities, media settings).
pub(crate) const IGNORED_GENERATION: &[&str] = &[
    "topK",
    "presencePenalty",
    "frequencyPenalty",
    "seed",
    "responseLogprobs",
    "logprobs",
    "mediaResolution",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "imageConfig",
    "routingConfig",
    "modelSelectionConfig",
    "enableAffectiveDialog",
    "audioTimestamp",
];

/// Built-in Gemini tools that need GigaChat's v2 API (web search and friends).
const BUILTIN_TOOLS: &[&str] = &[
    "googleSearch",
    "googleSearchRetrieval",
    "urlContext",
    "codeExecution",
    "retrieval",
    "computerUse",
    "fileSearch",
    "googleMaps",
    "enterpriseWebSearch",
];

/// A `GenerateContentRequest` (also the body of `countTokens`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GenerateContentRequest)]
pub struct GenerateContentRequest {
    #[serde(default)]
    pub contents: Vec<Content>,
    #[serde(default, alias = "system_instruction")]
    pub system_instruction: Option<Content>,
    /// `[{"functionDeclarations":[…]}]`; built-in tools are refused.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub tools: Option<Vec<Value>>,
    #[serde(default, alias = "tool_config")]
    #[schema(value_type = Option<Object>)]
    pub tool_config: Option<Value>,
    /// temperature, topP, maxOutputTokens, stopSequences, candidateCount,
    /// responseMimeType, responseSchema / responseJsonSchema, thinkingConfig, …
    #[serde(default, alias = "generation_config")]
    #[schema(value_type = Option<Object>)]
    pub generation_config: Option<Map<String, Value>>,
    #[serde(default, alias = "cached_content")]
    pub cached_content: Option<String>,
    /// The model, when the request is nested in `countTokens`' `generateContentRequest`.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: Map<String, Value>,
}

/// One turn: a role and its parts.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = GeminiContent)]
pub struct Content {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub parts: Vec<Value>,
}

/// What the encoder needs beyond the events.
#[derive(Debug, Clone, Default)]
pub struct EncodeOptions {
    /// The model as the client named it (`modelVersion`).
    pub model: String,
    /// `thinkingConfig.includeThoughts`: reasoning comes back as `thought: true` parts.
    pub include_thoughts: bool,
}

/// The field `camel` of a JSON object, or its snake_case twin.
pub(crate) fn field<'a>(v: &'a Value, camel: &str) -> Option<&'a Value> {
    v.get(camel)
        .or_else(|| v.get(snake(camel).as_str()))
        .filter(|v| !v.is_null())
}

fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut up = false;
    for c in key.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes a request for `model` (from the URL).
pub fn decode(
    req: GenerateContentRequest,
    model: &str,
    stream: bool,
) -> Result<(ir::ChatRequest, EncodeOptions), ProxyError> {
    for key in req.other.keys() {
        let k = camel(key);
        tracing::debug!(field = %key, known = IGNORED.contains(&k.as_str()), "ignoring generateContent field");
    }
    if req.cached_content.as_deref().is_some_and(|c| !c.is_empty()) {
        return Err(ProxyError::invalid_param(
            "cached content is not supported: GigaChat has no context caches; send the contents in the request",
            "cachedContent",
        ));
    }
    let mut out = ir::ChatRequest {
        model: model.to_string(),
        stream,
        ..Default::default()
    };
    let mut opts = EncodeOptions {
        model: model.to_string(),
        include_thoughts: false,
    };
    if let Some(system) = &req.system_instruction {
        let text = text_parts(&system.parts, "systemInstruction")?;
        if !text.is_empty() {
            out.system.push(text);
        }
    }
    if let Some(config) = &req.generation_config {
        generation(config, &mut out, &mut opts)?;
    }
    let mut allowed: Option<Vec<String>> = None;
    if let Some(tc) = &req.tool_config {
        allowed = tool_config(tc, &mut out)?;
    }
    for (i, t) in req.tools.iter().flatten().enumerate() {
        tools_of(t, i, &mut out.tools, &mut out.builtins)?;
    }
    if let Some(names) = allowed {
        for (k, n) in names.iter().enumerate() {
            if !out.tools.iter().any(|t| &t.name == n) {
                return Err(ProxyError::invalid_param(
                    format!(
                        "allowedFunctionNames names {n:?}, which no functionDeclaration declares"
                    ),
                    format!("toolConfig.functionCallingConfig.allowedFunctionNames[{k}]"),
                ));
            }
        }
        // Only the allowed functions are offered to GigaChat.
        out.tools.retain(|t| names.contains(&t.name));
    }
    contents(&req.contents, &mut out)?;
    if out.messages.is_empty() {
        return Err(ProxyError::invalid_param(
            "contents must not be empty",
            "contents",
        ));
    }
    Ok((out, opts))
}

/// The text of `parts` (a system instruction), joined by blank lines.
fn text_parts(parts: &[Value], param: &str) -> Result<String, ProxyError> {
    let mut texts = Vec::new();
    for (k, p) in parts.iter().enumerate() {
        match p.get("text") {
            Some(Value::String(t)) => texts.push(t.as_str()),
            _ => {
                return Err(ProxyError::invalid_param(
                    "only text parts are allowed here",
                    format!("{param}.parts[{k}]"),
                ));
            }
        }
    }
    Ok(texts
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n"))
}

/// `generationConfig`. Every key is translated, ignored (logged) or refused.
fn generation(
    config: &Map<String, Value>,
    out: &mut ir::ChatRequest,
    opts: &mut EncodeOptions,
) -> Result<(), ProxyError> {
    let at = |k: &str| format!("generationConfig.{k}");
    let mut mime: Option<String> = None;
    let mut schema: Option<Value> = None;
    for (key, v) in config {
        let k = camel(key);
        if v.is_null() {
            continue;
        }
        let number = || {
            v.as_f64()
                .ok_or_else(|| ProxyError::invalid_param("must be a number", at(&k)))
        };
        match k.as_str() {
            "temperature" => out.temperature = Some(number()?),
            "topP" => out.top_p = Some(number()?),
            "maxOutputTokens" => {
                let n = v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                    ProxyError::invalid_param("must be a positive integer", at(&k))
                })?;
                out.max_tokens = Some(u32::try_from(n).unwrap_or(u32::MAX));
            }
            "stopSequences" => {
                out.stop = serde_json::from_value::<Vec<String>>(v.clone())
                    .map_err(|_| ProxyError::invalid_param("must be a list of strings", at(&k)))?;
            }
            "candidateCount" => match v.as_u64() {
                Some(1) => {}
                _ => {
                    return Err(ProxyError::invalid_param(
                        format!(
                            "candidateCount {v} is not supported: GigaChat returns one candidate per request"
                        ),
                        at(&k),
                    ));
                }
            },
            "responseMimeType" => mime = v.as_str().map(str::to_string),
            "responseSchema" => schema = Some(openapi_schema(v)),
            "responseJsonSchema" | "ResponseJsonSchema" => schema = Some(v.clone()),
            "thinkingConfig" => thinking(v, out, opts)?,
            "responseModalities" => {
                let modalities: Vec<String> = serde_json::from_value(v.clone())
                    .map_err(|_| ProxyError::invalid_param("must be a list of strings", at(&k)))?;
                if let Some(m) = modalities.iter().find(|m| !m.eq_ignore_ascii_case("text")) {
                    return Err(ProxyError::invalid_param(
                        format!(
                            "response modality {m:?} is not supported: GigaChat answers with text only"
                        ),
                        at(&k),
                    ));
                }
            }
            other => {
                tracing::debug!(
                    field = %key,
                    known = IGNORED_GENERATION.contains(&other),
                    "ignoring generationConfig field"
                );
            }
        }
    }
    match (mime.as_deref(), schema) {
        (_, Some(schema)) => {
            if let Some(m) = mime.as_deref().filter(|m| *m != "application/json") {
                return Err(ProxyError::invalid_param(
                    format!(
                        "a response schema needs responseMimeType \"application/json\", not {m:?}"
                    ),
                    "generationConfig.responseMimeType",
                ));
            }
            out.response_format = ir::ResponseFormat::JsonSchema {
                name: String::new(),
                schema,
                strict: true,
            };
        }
        (Some("application/json"), None) => out.response_format = ir::ResponseFormat::JsonObject,
        (None | Some("text/plain"), None) => {}
        (Some(other), None) => {
            return Err(ProxyError::invalid_param(
                format!(
                    "responseMimeType {other:?} is not supported (expected text/plain or application/json)"
                ),
                "generationConfig.responseMimeType",
            ));
        }
    }
    Ok(())
}

/// `thinkingConfig`: `thinkingBudget` / `thinkingLevel` → reasoning effort,
/// `includeThoughts` → thought parts in the answer.
fn thinking(
    v: &Value,
    out: &mut ir::ChatRequest,
    opts: &mut EncodeOptions,
) -> Result<(), ProxyError> {
    let param = "generationConfig.thinkingConfig";
    if !v.is_object() {
        return Err(ProxyError::invalid_param("must be an object", param));
    }
    if let Some(inc) = field(v, "includeThoughts") {
        opts.include_thoughts = inc.as_bool().ok_or_else(|| {
            ProxyError::invalid_param("must be a boolean", format!("{param}.includeThoughts"))
        })?;
    }
    if let Some(b) = field(v, "thinkingBudget") {
        let budget = b.as_i64().ok_or_else(|| {
            ProxyError::invalid_param("must be an integer", format!("{param}.thinkingBudget"))
        })?;
        out.reasoning_effort = Some(
            match budget {
                0 => "none",
                // -1: dynamic thinking, the model decides.
                i64::MIN..=-1 => "medium",
                1..=4095 => "low",
                4096..=16383 => "medium",
                _ => "high",
            }
            .to_string(),
        );
    }
    if let Some(l) = field(v, "thinkingLevel") {
        let level = l.as_str().unwrap_or("");
        out.reasoning_effort = Some(
            match level.to_ascii_lowercase().as_str() {
                "minimal" | "low" => "low",
                "medium" => "medium",
                "high" => "high",
                _ => {
                    return Err(ProxyError::invalid_param(
                        format!("unknown thinkingLevel {level:?} (expected MINIMAL, LOW, MEDIUM or HIGH)"),
                        format!("{param}.thinkingLevel"),
                    ));
                }
            }
            .to_string(),
        );
    }
    Ok(())
}

/// `toolConfig.functionCallingConfig` → tool choice; returns `allowedFunctionNames`.
fn tool_config(v: &Value, out: &mut ir::ChatRequest) -> Result<Option<Vec<String>>, ProxyError> {
    for key in v.as_object().into_iter().flat_map(|m| m.keys()) {
        if camel(key) != "functionCallingConfig" {
            tracing::debug!(field = %key, "ignoring toolConfig field");
        }
    }
    let Some(fc) = field(v, "functionCallingConfig") else {
        return Ok(None);
    };
    let param = "toolConfig.functionCallingConfig";
    let allowed: Option<Vec<String>> = match field(fc, "allowedFunctionNames") {
        None => None,
        Some(a) => Some(serde_json::from_value(a.clone()).map_err(|_| {
            ProxyError::invalid_param(
                "must be a list of strings",
                format!("{param}.allowedFunctionNames"),
            )
        })?),
    };
    let mode = field(fc, "mode").and_then(Value::as_str).unwrap_or("AUTO");
    out.tool_choice = match mode.to_ascii_uppercase().as_str() {
        "AUTO" | "MODE_UNSPECIFIED" | "VALIDATED" => ir::ToolChoice::Auto,
        "NONE" => ir::ToolChoice::None,
        "ANY" => match allowed.as_deref() {
            Some([one]) => ir::ToolChoice::Function(one.clone()),
            _ => ir::ToolChoice::Required,
        },
        _ => {
            return Err(ProxyError::invalid_param(
                format!("unknown mode {mode:?} (expected AUTO, ANY, NONE or VALIDATED)"),
                format!("{param}.mode"),
            ));
        }
    };
    Ok(allowed.filter(|a| !a.is_empty()))
}

/// One entry of `tools`: its function declarations; a built-in tool is a 400.
fn tools_of(
    t: &Value,
    i: usize,
    tools: &mut Vec<ir::Tool>,
    builtins: &mut Vec<ir::BuiltinTool>,
) -> Result<(), ProxyError> {
    let Some(obj) = t.as_object() else {
        return Err(ProxyError::invalid_param(
            "must be an object",
            format!("tools[{i}]"),
        ));
    };
    for (key, v) in obj {
        let k = camel(key);
        if k == "functionDeclarations" {
            let Some(decls) = v.as_array() else {
                return Err(ProxyError::invalid_param(
                    "must be a list",
                    format!("tools[{i}].functionDeclarations"),
                ));
            };
            for (j, d) in decls.iter().enumerate() {
                tools.push(declaration(
                    d,
                    &format!("tools[{i}].functionDeclarations[{j}]"),
                )?);
            }
        } else if matches!(k.as_str(), "googleSearch" | "googleSearchRetrieval") {
            builtins.push(ir::BuiltinTool::new(ir::Builtin::WebSearch, k));
        } else if BUILTIN_TOOLS.contains(&k.as_str()) {
            return Err(ProxyError::invalid_param(
                format!(
                    "the built-in tool {k:?} is not supported: GigaChat has no equivalent (it offers googleSearch); declare your own functionDeclarations instead"
                ),
                format!("tools[{i}].{k}"),
            ));
        } else {
            return Err(ProxyError::invalid_param(
                format!("unknown tool {k:?} (expected functionDeclarations)"),
                format!("tools[{i}].{k}"),
            ));
        }
    }
    Ok(())
}

fn declaration(d: &Value, param: &str) -> Result<ir::Tool, ProxyError> {
    let name = field(d, "name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ProxyError::invalid_param("name: Field required", format!("{param}.name"))
        })?;
    for key in d.as_object().into_iter().flat_map(|m| m.keys()) {
        let k = camel(key);
        if !matches!(
            k.as_str(),
            "name" | "description" | "parameters" | "parametersJsonSchema"
        ) {
            // `response`, `responseJsonSchema`, `behavior`: GigaChat takes no such thing.
            tracing::debug!(field = %key, function = %name, "ignoring functionDeclaration field");
        }
    }
    let parameters = match (field(d, "parametersJsonSchema"), field(d, "parameters")) {
        (Some(js), _) => Some(js.clone()),
        (None, Some(p)) => Some(openapi_schema(p)),
        (None, None) => None,
    };
    Ok(ir::Tool {
        name: name.to_string(),
        description: field(d, "description")
            .and_then(Value::as_str)
            .map(str::to_string),
        parameters,
    })
}

/// Google's OpenAPI-subset `Schema` → JSON Schema: upper-case types lower-cased,
/// `nullable` → a `null` alternative, snake_case keys camel-cased, `propertyOrdering`
/// dropped; `properties` names are kept as they are.
pub(crate) fn openapi_schema(v: &Value) -> Value {
    openapi_node(v, 0)
}

fn openapi_node(v: &Value, depth: usize) -> Value {
    let Some(obj) = v.as_object() else {
        return v.clone();
    };
    if depth > 64 {
        return json!({});
    }
    let mut out = Map::new();
    let mut nullable = false;
    for (key, val) in obj {
        let k = camel(key);
        match k.as_str() {
            "type" => match val.as_str() {
                Some(t) if t.eq_ignore_ascii_case("TYPE_UNSPECIFIED") => {}
                Some(t) => {
                    out.insert(k, Value::String(t.to_ascii_lowercase()));
                }
                None => {
                    out.insert(k, val.clone());
                }
            },
            "nullable" => nullable = val.as_bool().unwrap_or(false),
            "propertyOrdering" => {}
            "properties" => {
                let props: Map<String, Value> = val
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, s)| (name.clone(), openapi_node(s, depth + 1)))
                    .collect();
                out.insert(k, Value::Object(props));
            }
            "items" => {
                out.insert(k, openapi_node(val, depth + 1));
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                let list: Vec<Value> = val
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| openapi_node(s, depth + 1))
                    .collect();
                out.insert(k, Value::Array(list));
            }
            "minItems" | "maxItems" | "minLength" | "maxLength" | "minProperties"
            | "maxProperties" => {
                // int64 values travel as JSON strings in Google's JSON.
                let n = match val {
                    Value::String(s) => s.parse::<u64>().map(Value::from).unwrap_or(val.clone()),
                    other => other.clone(),
                };
                out.insert(k, n);
            }
            _ => {
                out.insert(k, val.clone());
            }
        }
    }
    if nullable && let Some(Value::String(t)) = out.get("type").cloned() {
        out.insert("type".into(), json!([t, "null"]));
    }
    Value::Object(out)
}

// ---- contents ---------------------------------------------------------------------------------

/// The calls of the latest model turn still waiting for their response.
#[derive(Default)]
struct Pending {
    /// (id, name, answered)
    calls: Vec<(String, String, bool)>,
}

impl Pending {
    /// The call a `functionResponse` answers: by `id` when it names a pending call,
    /// else the first unanswered call with this `name`.
    fn answer(&mut self, id: Option<&str>, name: &str) -> Option<String> {
        let by_id = id.and_then(|id| {
            self.calls
                .iter()
                .position(|(cid, _, done)| cid == id && !done)
        });
        let k = by_id.or_else(|| {
            self.calls
                .iter()
                .position(|(_, n, done)| n == name && !done)
        })?;
        self.calls[k].2 = true;
        Some(self.calls[k].0.clone())
    }
}

fn contents(contents: &[Content], out: &mut ir::ChatRequest) -> Result<(), ProxyError> {
    let mut pending = Pending::default();
    // Call ids of the current model turn.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, c) in contents.iter().enumerate() {
        let at = |rest: &str| format!("contents[{i}].{rest}");
        match c.role.as_deref().unwrap_or("user") {
            "user" | "function" | "tool" => {
                let mut parts = Vec::new();
                for (k, p) in c.parts.iter().enumerate() {
                    let param = at(&format!("parts[{k}]"));
                    if let Some(fr) = field(p, "functionResponse") {
                        out.messages
                            .push(function_response(fr, &param, &mut pending)?);
                    } else if let Some(part) = user_part(p, &param)? {
                        parts.push(part);
                    }
                }
                if !parts.is_empty() {
                    out.messages.push(ir::Message::new(ir::Role::User, parts));
                }
            }
            "model" | "assistant" => {
                // Consecutive model contents are one turn: the SDKs' chat sessions keep
                // a streamed answer as one content per chunk.
                let continues = i > 0
                    && matches!(contents[i - 1].role.as_deref(), Some("model" | "assistant"))
                    && out
                        .messages
                        .last()
                        .is_some_and(|m| m.role == ir::Role::Assistant);
                if !continues {
                    out.messages
                        .push(ir::Message::new(ir::Role::Assistant, Vec::new()));
                    seen.clear();
                }
                let Some(msg) = out.messages.last_mut() else {
                    return Err(ProxyError::Internal("no model turn to add to".into()));
                };
                for (k, p) in c.parts.iter().enumerate() {
                    let param = at(&format!("parts[{k}]"));
                    model_part(p, &param, (i, k), msg, &mut seen)?;
                }
                pending = Pending {
                    calls: msg
                        .tool_calls
                        .iter()
                        .map(|c| (c.id.clone(), c.name.clone(), false))
                        .collect(),
                };
            }
            other => {
                return Err(ProxyError::invalid_param(
                    format!("unknown role {other:?} (expected user, model or function)"),
                    at("role"),
                ));
            }
        }
    }
    Ok(())
}

fn function_response(
    fr: &Value,
    param: &str,
    pending: &mut Pending,
) -> Result<ir::Message, ProxyError> {
    let param = format!("{param}.functionResponse");
    let name = field(fr, "name").and_then(Value::as_str).ok_or_else(|| {
        ProxyError::invalid_param("name: Field required", format!("{param}.name"))
    })?;
    let id = field(fr, "id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let Some(call_id) = pending.answer(id, name) else {
        return Err(ProxyError::invalid_param(
            format!(
                "the functionResponse for {name:?}{} answers no functionCall of the preceding model turn",
                id.map(|i| format!(" (id {i:?})")).unwrap_or_default()
            ),
            param,
        ));
    };
    let response = field(fr, "response").cloned().unwrap_or(json!({}));
    let is_error = response.get("error").is_some() && response.get("output").is_none();
    // `parts` (multimodal function results: `inlineData` / `fileData`) follow the
    // response; `upstream` carries them to GigaChat in a user message after the
    // function results.
    let mut media = Vec::new();
    match field(fr, "parts") {
        None | Some(Value::Null) => {}
        Some(Value::Array(parts)) => {
            for (k, p) in parts.iter().enumerate() {
                let at = format!("{param}.parts[{k}]");
                if field(p, "inlineData").is_none() && field(p, "fileData").is_none() {
                    return Err(ProxyError::invalid_param(
                        "functionResponse parts take inlineData or fileData",
                        at,
                    ));
                }
                media.extend(user_part(p, &at)?);
            }
        }
        Some(_) => {
            return Err(ProxyError::invalid_param(
                "parts: Input should be a valid list",
                format!("{param}.parts"),
            ));
        }
    }
    // A response of only parts says so in the function result.
    let text = if media.is_empty() || response.as_object().is_none_or(|o| !o.is_empty()) {
        response.to_string()
    } else {
        String::new()
    };
    let mut m = ir::Message::text(ir::Role::Tool, text);
    m.parts.extend(media);
    m.tool_call_id = Some(call_id);
    m.name = Some(name.to_string());
    m.is_error = is_error;
    Ok(m)
}

fn user_part(p: &Value, param: &str) -> Result<Option<ir::Part>, ProxyError> {
    if let Some(t) = field(p, "text") {
        let Some(t) = t.as_str() else {
            return Err(ProxyError::invalid_param(
                "text: Input should be a valid string",
                format!("{param}.text"),
            ));
        };
        if field(p, "thought").and_then(Value::as_bool) == Some(true) {
            return Ok(None);
        }
        return Ok(Some(ir::Part::Text(t.to_string())));
    }
    if let Some(d) = field(p, "inlineData") {
        let param = format!("{param}.inlineData");
        let mime = field(d, "mimeType")
            .and_then(Value::as_str)
            .map(str::to_string);
        let data = field(d, "data").and_then(Value::as_str).ok_or_else(|| {
            ProxyError::invalid_param("data: Field required", format!("{param}.data"))
        })?;
        return Ok(Some(ir::Part::Media(ir::Media {
            kind: kind_of(mime.as_deref()),
            source: ir::MediaSource::Base64 {
                mime,
                data: data.to_string(),
            },
            filename: field(d, "displayName")
                .and_then(Value::as_str)
                .map(str::to_string),
        })));
    }
    if let Some(f) = field(p, "fileData") {
        let param = format!("{param}.fileData");
        let uri = field(f, "fileUri").and_then(Value::as_str).ok_or_else(|| {
            ProxyError::invalid_param("fileUri: Field required", format!("{param}.fileUri"))
        })?;
        let mime = field(f, "mimeType").and_then(Value::as_str);
        let source = crate::dialect::openai::chat_request::media_source(uri, &format!("{param}.fileUri"))
            .map_err(|_| {
                ProxyError::invalid_param(
                    format!("fileUri {uri:?} cannot be fetched: only http(s) and data: URIs are supported (Gemini Files API and gs:// URIs are not)"),
                    format!("{param}.fileUri"),
                )
            })?;
        return Ok(Some(ir::Part::Media(ir::Media {
            kind: kind_of(mime),
            source,
            filename: field(f, "displayName")
                .and_then(Value::as_str)
                .map(str::to_string),
        })));
    }
    if field(p, "functionCall").is_some() {
        return Err(ProxyError::invalid_param(
            "functionCall parts belong in model turns",
            format!("{param}.functionCall"),
        ));
    }
    Err(unsupported_part(p, param))
}

fn unsupported_part(p: &Value, param: &str) -> ProxyError {
    let keys: Vec<&str> = p
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    ProxyError::invalid_param(
        format!(
            "unsupported part {} (expected text, inlineData, fileData, functionCall or functionResponse)",
            shown(keys.first().copied())
        ),
        param.to_string(),
    )
}

fn kind_of(mime: Option<&str>) -> ir::MediaKind {
    match mime {
        Some(m) if m.starts_with("image/") => ir::MediaKind::Image,
        _ => ir::MediaKind::File,
    }
}

fn model_part(
    p: &Value,
    param: &str,
    (turn, k): (usize, usize),
    msg: &mut ir::Message,
    seen: &mut HashMap<String, usize>,
) -> Result<(), ProxyError> {
    if let Some(t) = field(p, "text") {
        let Some(t) = t.as_str() else {
            return Err(ProxyError::invalid_param(
                "text: Input should be a valid string",
                format!("{param}.text"),
            ));
        };
        if field(p, "thought").and_then(Value::as_bool) == Some(true) {
            let r = msg.reasoning.get_or_insert_with(String::new);
            r.push_str(t);
        } else if let Some(ir::Part::Text(prev)) = msg.parts.last_mut()
            && msg.tool_calls.is_empty()
        {
            // Adjacent text parts of a model turn are pieces of one answer.
            prev.push_str(t);
        } else {
            msg.parts.push(ir::Part::Text(t.to_string()));
        }
        return Ok(());
    }
    if let Some(fc) = field(p, "functionCall") {
        let param = format!("{param}.functionCall");
        let name = field(fc, "name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ProxyError::invalid_param("name: Field required", format!("{param}.name"))
            })?;
        let args = field(fc, "args").cloned().unwrap_or(json!({}));
        if !args.is_object() {
            return Err(ProxyError::invalid_param(
                "args must be an object",
                format!("{param}.args"),
            ));
        }
        // Gemini's ids are optional: a call without one (or repeating one) gets an id
        // of its position, so its response can still be paired by name.
        let id = field(fc, "id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && !seen.contains_key(*id))
            .map(str::to_string)
            .unwrap_or_else(|| format!("gemini-call-{turn}-{k}"));
        seen.insert(id.clone(), k);
        msg.tool_calls.push(ir::ToolCall {
            id,
            name: name.to_string(),
            arguments: args.to_string(),
        });
        return Ok(());
    }
    if field(p, "thoughtSignature").is_some() && p.as_object().is_some_and(|m| m.len() == 1) {
        // A bare signature part: opaque, GigaChat takes no reasoning back.
        return Ok(());
    }
    Err(unsupported_part(p, param))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_json(v: Value) -> Result<(ir::ChatRequest, EncodeOptions), ProxyError> {
        decode(
            serde_json::from_value(v).unwrap(),
            "gemini-2.5-flash",
            false,
        )
    }

    #[test]
    fn text_system_and_generation_config() {
        let (r, o) = decode_json(json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Use English."}]},
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"temperature": 0.3, "topP": 0.9, "topK": 40,
                "maxOutputTokens": 100, "stopSequences": ["END"], "candidateCount": 1,
                "thinkingConfig": {"thinkingBudget": 8000, "includeThoughts": true}},
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
        }))
        .unwrap();
        assert_eq!(r.system, vec!["Be brief.\n\nUse English."]);
        assert_eq!(r.temperature, Some(0.3));
        assert_eq!(r.top_p, Some(0.9));
        assert_eq!(r.max_tokens, Some(100));
        assert_eq!(r.stop, vec!["END"]);
        assert_eq!(r.reasoning_effort.as_deref(), Some("medium"));
        assert!(o.include_thoughts);
        assert_eq!(r.model, "gemini-2.5-flash");
        assert_eq!(r.messages[0].joined_text(), "hi");
    }

    #[test]
    fn snake_case_fields_are_accepted() {
        let (r, _) = decode_json(json!({
            "system_instruction": {"parts": [{"text": "S"}]},
            "contents": [{"parts": [{"text": "x"}, {"inline_data": {"mime_type": "image/png", "data": "AAAA"}}]}],
            "generation_config": {"max_output_tokens": 5, "thinking_config": {"thinking_budget": 0}}
        }))
        .unwrap();
        assert_eq!(r.system, vec!["S"]);
        assert_eq!(r.max_tokens, Some(5));
        assert_eq!(r.reasoning_effort.as_deref(), Some("none"));
        assert!(matches!(&r.messages[0].parts[1], ir::Part::Media(m)
            if m.kind == ir::MediaKind::Image
            && m.source == ir::MediaSource::Base64 { mime: Some("image/png".into()), data: "AAAA".into() }));
    }

    #[test]
    fn refusals_name_the_field() {
        let base = json!({"contents": [{"parts": [{"text": "x"}]}]});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            decode_json(b).unwrap_err()
        };
        let e = with("generationConfig", json!({"candidateCount": 2}));
        assert_eq!(e.param(), Some("generationConfig.candidateCount"));
        let e = with("cachedContent", json!("cachedContents/abc"));
        assert_eq!(e.param(), Some("cachedContent"));
        let e = with("tools", json!([{"urlContext": {}}]));
        assert_eq!(e.param(), Some("tools[0].urlContext"));
        assert!(e.to_string().contains("no equivalent"), "{e}");
        let e = with("tools", json!([{"code_execution": {}}]));
        assert_eq!(e.param(), Some("tools[0].codeExecution"));
        let e = with("generationConfig", json!({"responseModalities": ["IMAGE"]}));
        assert_eq!(e.param(), Some("generationConfig.responseModalities"));
        let e = with(
            "generationConfig",
            json!({"responseMimeType": "text/x.enum"}),
        );
        assert_eq!(e.param(), Some("generationConfig.responseMimeType"));
        let e = decode_json(json!({"contents": []})).unwrap_err();
        assert_eq!(e.param(), Some("contents"));
        let e = decode_json(json!({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}))
            .unwrap_err();
        assert_eq!(e.param(), Some("contents[0].role"));
        let e =
            decode_json(json!({"contents": [{"parts": [{"executableCode": {}}]}]})).unwrap_err();
        assert_eq!(e.param(), Some("contents[0].parts[0]"));
    }

    #[test]
    fn function_calling_round_trip_pairs_by_id_and_by_name() {
        let (r, _) = decode_json(json!({
            "tools": [{"functionDeclarations": [
                {"name": "get_weather", "description": "Weather",
                 "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING", "nullable": true}},
                                "required": ["city"], "propertyOrdering": ["city"]}},
                {"name": "get_time", "parametersJsonSchema": {"type": "object", "properties": {"tz": {"type": "string"}}}}
            ]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
            "contents": [
                {"role": "user", "parts": [{"text": "weather and time?"}]},
                {"role": "model", "parts": [
                    {"text": "thinking", "thought": true},
                    {"functionCall": {"name": "get_weather", "args": {"city": "A"}}},
                    {"functionCall": {"id": "t1", "name": "get_time", "args": {}}},
                    {"functionCall": {"name": "get_weather", "args": {"city": "B"}}}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"id": "t1", "name": "get_time", "response": {"output": "noon"}}},
                    {"functionResponse": {"name": "get_weather", "response": {"output": "warm"}}},
                    {"functionResponse": {"name": "get_weather", "response": {"error": "no city"}}}
                ]}
            ]
        }))
        .unwrap();
        assert_eq!(r.tool_choice, ir::ToolChoice::Required);
        assert_eq!(
            r.tools[0].parameters,
            Some(
                json!({"type": "object", "properties": {"city": {"type": ["string", "null"]}}, "required": ["city"]})
            )
        );
        assert_eq!(
            r.tools[1].parameters.as_ref().unwrap()["properties"]["tz"]["type"],
            "string"
        );
        let calls = &r.messages[1].tool_calls;
        assert_eq!(calls.len(), 3);
        assert_eq!(calls[1].id, "t1");
        assert_eq!(r.messages[1].reasoning.as_deref(), Some("thinking"));
        assert_eq!(r.messages[2].tool_call_id.as_deref(), Some("t1"));
        assert_eq!(
            r.messages[3].tool_call_id.as_deref(),
            Some(calls[0].id.as_str())
        );
        assert_eq!(
            r.messages[4].tool_call_id.as_deref(),
            Some(calls[2].id.as_str())
        );
        assert!(r.messages[4].is_error);
        assert_eq!(r.messages[3].joined_text(), r#"{"output":"warm"}"#);
        // The whole history builds for GigaChat.
        crate::upstream::request::build(&r, &[], &Default::default()).unwrap();
    }

    #[test]
    fn a_streamed_model_turn_kept_as_several_contents_is_one_turn() {
        let (r, _) = decode_json(json!({"contents": [
            {"role": "user", "parts": [{"text": "first"}]},
            {"role": "model", "parts": [{"text": "Fir"}]},
            {"role": "model", "parts": [{"text": "st "}]},
            {"role": "model", "parts": [{"text": "answer."}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]},
            {"role": "user", "parts": [{"text": "second"}]}
        ]}))
        .unwrap();
        let roles: Vec<ir::Role> = r.messages.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                ir::Role::User,
                ir::Role::Assistant,
                ir::Role::Tool,
                ir::Role::User
            ]
        );
        assert_eq!(
            r.messages[1].parts,
            vec![ir::Part::Text("First answer.".into())]
        );
        assert_eq!(r.messages[1].tool_calls.len(), 1);
    }

    #[test]
    fn function_response_parts_are_media_of_the_result() {
        let call =
            json!({"role": "model", "parts": [{"functionCall": {"name": "shot", "args": {}}}]});
        let png = json!({"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}});
        let (r, _) = decode_json(json!({"contents": [
            {"role": "user", "parts": [{"text": "x"}]}, call,
            {"role": "user", "parts": [{"functionResponse": {"name": "shot",
                "response": {"output": "ok"}, "parts": [png]}}]}
        ]}))
        .unwrap();
        let tool = &r.messages[2];
        assert_eq!(tool.joined_text(), r#"{"output":"ok"}"#);
        assert!(matches!(&tool.parts[1], ir::Part::Media(m) if m.kind == ir::MediaKind::Image));
        // Only parts: an empty response leaves the result to say where the image is.
        let (r, _) = decode_json(json!({"contents": [
            {"role": "user", "parts": [{"text": "x"}]}, call,
            {"role": "user", "parts": [{"functionResponse": {"name": "shot",
                "response": {}, "parts": [png]}}]}
        ]}))
        .unwrap();
        assert_eq!(r.messages[2].joined_text(), "");
        let e = decode_json(json!({"contents": [
            {"role": "user", "parts": [{"text": "x"}]}, call,
            {"role": "user", "parts": [{"functionResponse": {"name": "shot",
                "response": {}, "parts": [{"text": "no"}]}}]}
        ]}))
        .unwrap_err();
        assert_eq!(
            e.param(),
            Some("contents[2].parts[0].functionResponse.parts[0]")
        );
    }

    #[test]
    fn an_unanswerable_response_is_refused() {
        let e = decode_json(json!({"contents": [
            {"role": "user", "parts": [{"text": "x"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
            {"role": "function", "parts": [{"functionResponse": {"name": "g", "response": {}}}]}
        ]}))
        .unwrap_err();
        assert_eq!(e.param(), Some("contents[2].parts[0].functionResponse"));
    }

    #[test]
    fn allowed_function_names_and_modes() {
        let tools =
            json!([{"functionDeclarations": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}]);
        let req = |fc: Value| {
            decode_json(
                json!({"tools": tools, "toolConfig": {"functionCallingConfig": fc},
                "contents": [{"parts": [{"text": "x"}]}]}),
            )
        };
        let (r, _) = req(json!({"mode": "ANY", "allowedFunctionNames": ["b"]})).unwrap();
        assert_eq!(r.tool_choice, ir::ToolChoice::Function("b".into()));
        assert_eq!(r.tools.len(), 1);
        let (r, _) = req(json!({"mode": "AUTO", "allowedFunctionNames": ["a", "c"]})).unwrap();
        assert_eq!(r.tool_choice, ir::ToolChoice::Auto);
        assert_eq!(
            r.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["a", "c"]
        );
        let (r, _) = req(json!({"mode": "NONE"})).unwrap();
        assert_eq!(r.tool_choice, ir::ToolChoice::None);
        let e = req(json!({"mode": "ANY", "allowedFunctionNames": ["zz"]})).unwrap_err();
        assert!(e.param().unwrap().contains("allowedFunctionNames"));
        assert!(req(json!({"mode": "SOMETIMES"})).is_err());
    }

    #[test]
    fn structured_output() {
        let (r, _) = decode_json(json!({"contents": [{"parts": [{"text": "x"}]}],
            "generationConfig": {"responseMimeType": "application/json",
                "responseSchema": {"type": "ARRAY", "items": {"type": "OBJECT",
                    "properties": {"n": {"type": "INTEGER"}}, "minItems": "1"}}}}))
        .unwrap();
        assert_eq!(
            r.response_format,
            ir::ResponseFormat::JsonSchema {
                name: String::new(),
                schema: json!({"type": "array", "items": {"type": "object",
                    "properties": {"n": {"type": "integer"}}, "minItems": 1}}),
                strict: true
            }
        );
        let (r, _) = decode_json(json!({"contents": [{"parts": [{"text": "x"}]}],
            "generationConfig": {"responseMimeType": "application/json",
                "responseJsonSchema": {"type": "object", "properties": {"a": {"type": "string"}}}}}))
        .unwrap();
        assert!(
            matches!(r.response_format, ir::ResponseFormat::JsonSchema { ref schema, .. } if schema["properties"]["a"]["type"] == "string")
        );
        let (r, _) = decode_json(json!({"contents": [{"parts": [{"text": "x"}]}],
            "generationConfig": {"responseMimeType": "application/json"}}))
        .unwrap();
        assert_eq!(r.response_format, ir::ResponseFormat::JsonObject);
    }

    #[test]
    fn file_data_goes_through_the_attachment_path() {
        let (r, _) = decode_json(json!({"contents": [{"parts": [
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}},
            {"text": "summarise"}]}]}))
        .unwrap();
        assert!(matches!(&r.messages[0].parts[0], ir::Part::Media(m)
            if m.kind == ir::MediaKind::File && m.source == ir::MediaSource::Url("https://example.com/a.pdf".into())));
        let e = decode_json(json!({"contents": [{"parts": [
            {"fileData": {"mimeType": "application/pdf", "fileUri": "gs://bucket/a.pdf"}}]}]}))
        .unwrap_err();
        assert_eq!(e.param(), Some("contents[0].parts[0].fileData.fileUri"));
    }
}
