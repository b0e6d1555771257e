//! `ir::ChatRequest` → GigaChat v1 chat request. Pure: attachments arrive already
//! uploaded (file ids per message).
//!
//! Rules (documented in the README's translation section):
//! * all system/developer content is merged, in order, into one leading system message;
//! * an assistant turn with N tool calls becomes N consecutive
//!   `assistant(function_call)` / `function(result)` pairs (v1 takes one call per
//!   message); each result is found **by tool-call id**, not by position;
//! * a tool result that is not a JSON object is wrapped as `{"result": …}` (an error
//!   result as `{"error": …}`); every result stays its own `function` message;
//! * images and files a tool returned go in user messages right after the turn's
//!   function results ([`super::tool_media`]);
//! * temperature 0 (greedy) becomes `top_p: 0`, since GigaChat rejects temperature 0;
//! * `tool_choice: required` forces the only tool when there is exactly one, otherwise
//!   becomes `auto` (GigaChat cannot force "some tool");
//! * `response_format: json_schema` → GigaChat's native `response_format`, or (in
//!   function mode) a forced function whose arguments are the answer.

use std::collections::HashMap;

use gigachat::types::v1;
use serde_json::{Map, Value, json};

use super::names::ToolNames;
use super::schema;
use super::tool_media::{self, Returned};
use crate::config::{AliasSettings, ApiMode};
use crate::error::ProxyError;
use crate::ir;

/// How structured output (`json_schema`) is obtained from GigaChat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StructuredOutput {
    /// GigaChat's own `response_format` (models from GigaChat-2 on).
    #[default]
    Native,
    /// A forced function call whose arguments are the answer.
    Function,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The GigaChat model to use.
    pub model: String,
    /// Add `reasoning_effort: high` when the client did not ask for any.
    pub enable_reasoning: bool,
    pub structured_output: StructuredOutput,
    pub profanity_check: Option<bool>,
    pub flags: Vec<String>,
    /// The requested name's alias settings (`--proxy.model-aliases`): `max_tokens`
    /// and `reasoning_effort` when the client sent none, temperature bounds.
    pub alias: AliasSettings,
    /// The chat contract (`--proxy.gigachat-api-mode`, or the alias's `api_mode`).
    pub api_mode: ApiMode,
    /// How many tool-returned files one user message carries (GigaChat's one image per
    /// message: `attachments::Limits::max_images_per_message`); 0 counts as 1.
    pub media_per_message: usize,
}

/// What the response side needs to know about how the request was built.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub names: ToolNames,
    /// In function-mode structured output: the synthetic function whose arguments are
    /// the answer text.
    pub structured_function: Option<String>,
    /// v2: the built-in tools offered.
    pub builtins: Vec<ir::BuiltinTool>,
    /// v2: what a built-in tool run is shown as asked (the user's last message).
    pub query: String,
}

/// The synthetic function name used for function-mode structured output.
pub(crate) const STRUCTURED_FUNCTION: &str = "structured_output";

pub(super) const JSON_OBJECT_INSTRUCTION: &str =
    "Answer with one valid JSON object only: no prose, no code fences.";

/// Builds the GigaChat request. `attachments[i]` are the file ids for `req.messages[i]`.
pub fn build(
    req: &ir::ChatRequest,
    attachments: &[Vec<String>],
    opts: &Options,
) -> Result<(v1::ChatRequest, Plan), ProxyError> {
    let mut plan = Plan::default();
    let mut out = v1::ChatRequest {
        model: opts.model.clone(),
        stream: req.stream,
        profanity_check: opts.profanity_check,
        ..Default::default()
    };
    if !opts.flags.is_empty() {
        out.flags = Some(opts.flags.clone());
    }

    // --- sampling
    (out.temperature, out.top_p) = sampling(req, opts);
    out.max_tokens = req.max_tokens.or(opts.alias.max_tokens);
    out.repetition_penalty = req.repetition_penalty;
    out.reasoning_effort = reasoning_effort(req, opts);

    // --- system
    let mut system = req.system.clone();
    match structured_output(req, opts, &mut plan, &mut system) {
        None => {}
        Some(Structured::Native { schema, strict }) => {
            out.response_format = Some(v1::ResponseFormat {
                kind: "json_schema".into(),
                schema: Some(schema),
                strict: Some(strict),
            });
        }
        Some(Structured::Function(f)) => {
            out.function_call = Some(v1::FunctionCallMode::Named {
                name: f.name.clone(),
                partial_arguments: None,
            });
            out.functions = Some(vec![f]);
        }
    }
    let system_text = system_text(&system);
    if !system_text.is_empty() {
        out.messages
            .push(v1::Message::new(v1::Role::System, system_text));
    }

    // --- tools
    if plan.structured_function.is_none() && !req.tools.is_empty() {
        let functions: Vec<v1::Function> = req
            .tools
            .iter()
            .map(|t| tool_function(&mut plan, t))
            .collect();
        out.function_call = match &req.tool_choice {
            ir::ToolChoice::Auto => Some(v1::FunctionCallMode::Mode(v1::FunctionCallKeyword::Auto)),
            ir::ToolChoice::None => Some(v1::FunctionCallMode::Mode(v1::FunctionCallKeyword::None)),
            ir::ToolChoice::Required if functions.len() == 1 => Some(v1::FunctionCallMode::Named {
                name: functions[0].name.clone(),
                partial_arguments: None,
            }),
            ir::ToolChoice::Required => {
                Some(v1::FunctionCallMode::Mode(v1::FunctionCallKeyword::Auto))
            }
            ir::ToolChoice::Function(name) => {
                if !req.tools.iter().any(|t| &t.name == name) {
                    return Err(ProxyError::invalid_param(
                        format!("tool_choice names the function {name:?}, which is not in tools"),
                        "tool_choice",
                    ));
                }
                Some(v1::FunctionCallMode::Named {
                    name: plan.names.register(name),
                    partial_arguments: None,
                })
            }
            ir::ToolChoice::Builtin(kind) => return Err(builtin_not_offered(*kind)),
        };
        out.functions = Some(functions);
    } else if let ir::ToolChoice::Function(name) = &req.tool_choice
        && plan.structured_function.is_none()
    {
        return Err(ProxyError::invalid_param(
            format!("tool_choice names the function {name:?}, but no tools were given"),
            "tool_choice",
        ));
    } else if let ir::ToolChoice::Builtin(kind) = &req.tool_choice {
        return Err(builtin_not_offered(*kind));
    }

    // --- history
    let results = index_results(req)?;
    let mut consumed = vec![false; req.messages.len()];
    for (i, msg) in req.messages.iter().enumerate() {
        match msg.role {
            ir::Role::User => {
                let mut m = v1::Message::new(v1::Role::User, msg.joined_text());
                if let Some(ids) = attachments.get(i).filter(|a| !a.is_empty()) {
                    m.attachments = Some(ids.clone());
                }
                out.messages.push(m);
            }
            ir::Role::Assistant => {
                let text = msg.joined_text();
                if msg.tool_calls.is_empty() {
                    // A turn that held only reasoning has nothing GigaChat can take.
                    if !text.is_empty() || msg.reasoning.is_none() {
                        out.messages
                            .push(v1::Message::new(v1::Role::Assistant, text));
                    }
                    continue;
                }
                let mut text = Some(text);
                let mut returned = Vec::new();
                for (k, call) in msg.tool_calls.iter().enumerate() {
                    let Some(&result_idx) = results.get(&(i, call.id.as_str())) else {
                        return Err(ProxyError::invalid_param(
                            format!(
                                "the assistant tool call {:?} ({}) has no tool result message answering it",
                                call.id, call.name
                            ),
                            "messages",
                        ));
                    };
                    let upstream_name = plan.names.register(&call.name);
                    let mut a =
                        v1::Message::new(v1::Role::Assistant, text.take().unwrap_or_default());
                    a.function_call = Some(v1::FunctionCall {
                        name: upstream_name.clone(),
                        arguments: parse_arguments(&call.arguments),
                    });
                    out.messages.push(a);
                    let result = &req.messages[result_idx];
                    consumed[result_idx] = true;
                    if let Some(ids) = attachments.get(result_idx).filter(|a| !a.is_empty()) {
                        let n = msg.tool_calls.len();
                        returned.push(Returned::new(&upstream_name, k, n, result, ids));
                    }
                    let mut f = v1::Message::new(v1::Role::Function, function_content(result));
                    f.name = Some(upstream_name);
                    out.messages.push(f);
                }
                for c in tool_media::carriers(&returned, opts.media_per_message) {
                    let mut m = v1::Message::new(v1::Role::User, c.text);
                    m.attachments = Some(c.ids);
                    out.messages.push(m);
                }
            }
            ir::Role::Tool => {
                if !consumed[i] {
                    // `index_results` guarantees every tool message answers a call.
                    return Err(ProxyError::invalid_param(
                        format!(
                            "the tool result for {:?} comes before the assistant message that made the call",
                            msg.tool_call_id.as_deref().unwrap_or("")
                        ),
                        "messages",
                    ));
                }
            }
        }
    }
    if out.messages.iter().all(|m| m.role == v1::Role::System) {
        return Err(ProxyError::invalid_param(
            "messages must contain at least one user or assistant message",
            "messages",
        ));
    }
    Ok((out, plan))
}

/// `tool_choice` forces a built-in tool that `tools` does not offer.
/// How a request's response format reaches GigaChat: both APIs make the same choice
/// and differ only in where they write it.
pub(super) enum Structured {
    /// Native structured output with this (normalised) schema.
    Native { schema: Value, strict: bool },
    /// A forced function whose arguments are the answer (models without native
    /// structured output); registered in `plan` as the structured function.
    Function(v1::Function),
}

/// The structured-output plan of `req`; a `json_object` answer in function mode adds its
/// instruction to `system` instead.
pub(super) fn structured_output(
    req: &ir::ChatRequest,
    opts: &Options,
    plan: &mut Plan,
    system: &mut Vec<String>,
) -> Option<Structured> {
    match &req.response_format {
        ir::ResponseFormat::Text => None,
        // GigaChat has no `json_object` (v1) or refuses it (v2, §9.15): native mode asks
        // for a schema that admits any object; function mode keeps the instruction.
        ir::ResponseFormat::JsonObject => match opts.structured_output {
            StructuredOutput::Native => Some(Structured::Native {
                schema: json!({"type": "object"}),
                strict: false,
            }),
            StructuredOutput::Function => {
                system.push(JSON_OBJECT_INSTRUCTION.to_string());
                None
            }
        },
        ir::ResponseFormat::JsonSchema {
            name,
            schema: s,
            strict,
        } => match opts.structured_output {
            StructuredOutput::Native => Some(Structured::Native {
                schema: schema::normalize_schema(s),
                strict: *strict,
            }),
            StructuredOutput::Function => {
                let fname = plan.names.register(STRUCTURED_FUNCTION);
                plan.structured_function = Some(fname.clone());
                let description = if name.is_empty() {
                    "Return the final answer in this structured form.".to_string()
                } else {
                    format!("Return the final answer as `{name}`.")
                };
                Some(Structured::Function(v1::Function {
                    name: fname,
                    description: Some(description),
                    parameters: Some(schema::normalize_parameters(Some(s))),
                    few_shot_examples: None,
                    return_parameters: None,
                }))
            }
        },
    }
}

/// A client tool as a GigaChat function (its name registered in `plan`).
pub(super) fn tool_function(plan: &mut Plan, t: &ir::Tool) -> v1::Function {
    v1::Function {
        name: plan.names.register(&t.name),
        description: t.description.clone(),
        parameters: Some(schema::normalize_parameters(t.parameters.as_ref())),
        few_shot_examples: None,
        return_parameters: None,
    }
}

pub(super) fn builtin_not_offered(kind: ir::Builtin) -> ProxyError {
    ProxyError::invalid_param(
        format!(
            "tool_choice forces the built-in tool {}, which is not in tools",
            builtin_key(kind)
        ),
        "tool_choice",
    )
}

/// GigaChat v2's name of a built-in tool (§4.3).
pub(crate) fn builtin_key(kind: ir::Builtin) -> &'static str {
    match kind {
        ir::Builtin::WebSearch => "web_search",
        ir::Builtin::CodeInterpreter => "code_interpreter",
        ir::Builtin::ImageGeneration => "image_generate",
        ir::Builtin::UrlFetch => "url_content_extraction",
    }
}

/// The built-in tool GigaChat v2 calls `key`.
pub(crate) fn builtin_of_key(key: &str) -> Option<ir::Builtin> {
    Some(match key {
        "web_search" => ir::Builtin::WebSearch,
        "code_interpreter" => ir::Builtin::CodeInterpreter,
        "image_generate" => ir::Builtin::ImageGeneration,
        "url_content_extraction" => ir::Builtin::UrlFetch,
        _ => return None,
    })
}

/// `(temperature, top_p)`: the client's temperature clamped into the alias's bounds;
/// temperature 0 (greedy) becomes `top_p: 0`, since GigaChat rejects temperature 0.
pub(super) fn sampling(req: &ir::ChatRequest, opts: &Options) -> (Option<f64>, Option<f64>) {
    match req.temperature.map(|t| opts.alias.clamp_temperature(t)) {
        Some(t) if t <= 0.0 => (None, Some(0.0)),
        Some(t) => (Some(t), req.top_p),
        None => (None, req.top_p),
    }
}

/// The reasoning effort to ask for: the client's (`none` → none, `minimal` → `low`),
/// else the alias's default, else `high` with `--proxy.enable-reasoning`.
pub(super) fn reasoning_effort(req: &ir::ChatRequest, opts: &Options) -> Option<String> {
    match req.reasoning_effort.as_deref() {
        Some("none") => None,
        Some("minimal") => Some("low".to_string()),
        Some(e) => Some(e.to_string()),
        None if opts.alias.reasoning_effort.is_some() => opts.alias.reasoning_effort.clone(),
        None if opts.enable_reasoning => Some("high".to_string()),
        None => None,
    }
}

/// All system/developer content merged, in order, into one text (empty: none).
pub(super) fn system_text(system: &[String]) -> String {
    system
        .iter()
        .map(|s| s.trim_end())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Maps each tool call — `(assistant message index, call id)` — to the index of the
/// tool message answering it, and checks that every tool message answers a call made
/// earlier. A result answers the most recent call with its id, so clients that number
/// ids per turn (`call_1` in every turn) work; within one assistant turn ids must be
/// unique.
pub(super) fn index_results(
    req: &ir::ChatRequest,
) -> Result<HashMap<(usize, &str), usize>, ProxyError> {
    let mut latest: HashMap<&str, usize> = HashMap::new();
    let mut results: HashMap<(usize, &str), usize> = HashMap::new();
    for (i, m) in req.messages.iter().enumerate() {
        match m.role {
            ir::Role::Assistant => {
                for (k, c) in m.tool_calls.iter().enumerate() {
                    if m.tool_calls[..k].iter().any(|o| o.id == c.id) {
                        return Err(ProxyError::invalid_param(
                            format!(
                                "the tool call id {:?} is used twice in one assistant message",
                                c.id
                            ),
                            "messages",
                        ));
                    }
                    latest.insert(c.id.as_str(), i);
                }
            }
            ir::Role::Tool => {
                let id = m.tool_call_id.as_deref().unwrap_or("");
                let Some(&call_msg) = latest.get(id) else {
                    return Err(ProxyError::invalid_param(
                        format!(
                            "the tool result for {id:?} does not answer any earlier assistant tool call"
                        ),
                        "messages",
                    ));
                };
                if results.insert((call_msg, id), i).is_some() {
                    return Err(ProxyError::invalid_param(
                        format!("the tool call {id:?} has more than one result"),
                        "messages",
                    ));
                }
            }
            ir::Role::User => {}
        }
    }
    Ok(results)
}

/// Tool-call arguments as the JSON object GigaChat wants.
pub(super) fn parse_arguments(raw: &str) -> Value {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => Value::Object(m),
        Ok(Value::Null) => Value::Object(Map::new()),
        Ok(other) => json!({ "value": other }),
        Err(_) if raw.trim().is_empty() => Value::Object(Map::new()),
        Err(_) => json!({ "raw_arguments": raw }),
    }
}

/// A tool result as a JSON-object string (GigaChat's `function` content rule).
fn function_content(result: &ir::Message) -> String {
    result_object(result).to_string()
}

/// A tool result as a JSON object: an object result as it is, anything else wrapped as
/// `{"result": …}` (an error result as `{"error": …}`). A result of only images or
/// files says where they are (`{"result": "1 image, attached after the function
/// results"}`).
pub(super) fn result_object(result: &ir::Message) -> Value {
    let mut text = result.joined_text();
    if text.trim().is_empty()
        && let Some(note) = tool_media::note(result)
    {
        text = note;
    }
    if result.is_error {
        json!({ "error": parse_or_string(&text) })
    } else {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => Value::Object(m),
            Ok(other) => json!({ "result": other }),
            Err(_) => json!({ "result": text }),
        }
    }
}

fn parse_or_string(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::ir::{ChatRequest, Message, Role, Tool, ToolCall, ToolChoice};

    fn opts() -> Options {
        Options {
            model: "GigaChat".into(),
            ..Default::default()
        }
    }

    pub(in crate::upstream) fn call(id: &str, name: &str, args: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: args.into(),
        }
    }

    pub(in crate::upstream) fn tool_result(id: &str, text: &str) -> Message {
        let mut m = Message::text(Role::Tool, text);
        m.tool_call_id = Some(id.into());
        m
    }

    #[test]
    fn systems_merge_into_one_leading_message() {
        let req = ChatRequest {
            system: vec!["A".into(), "B".into()],
            messages: vec![Message::text(Role::User, "hi")],
            ..Default::default()
        };
        let (out, _) = build(&req, &[], &opts()).unwrap();
        assert_eq!(out.messages[0].role, v1::Role::System);
        assert_eq!(out.messages[0].content, "A\n\nB");
        assert_eq!(out.messages.len(), 2);
    }

    #[test]
    fn parallel_calls_expand_into_pairs_matched_by_id() {
        let mut assistant = Message::text(Role::Assistant, "");
        assistant.tool_calls = vec![
            call("c1", "get_weather", r#"{"city":"Moscow"}"#),
            call("c2", "get_time", r#"{"tz":"UTC"}"#),
        ];
        let req = ChatRequest {
            messages: vec![
                Message::text(Role::User, "weather and time?"),
                assistant,
                // Results in the opposite order: must still pair by id.
                tool_result("c2", "12:00"),
                tool_result("c1", r#"{"temp":5}"#),
            ],
            tools: vec![
                Tool {
                    name: "get_weather".into(),
                    description: None,
                    parameters: None,
                },
                Tool {
                    name: "get_time".into(),
                    description: None,
                    parameters: None,
                },
            ],
            ..Default::default()
        };
        let (out, _) = build(&req, &[], &opts()).unwrap();
        let roles: Vec<_> = out.messages.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                v1::Role::User,
                v1::Role::Assistant,
                v1::Role::Function,
                v1::Role::Assistant,
                v1::Role::Function
            ]
        );
        assert_eq!(
            out.messages[1].function_call.as_ref().unwrap().arguments,
            json!({"city":"Moscow"})
        );
        assert_eq!(out.messages[2].name.as_deref(), Some("get_weather"));
        assert_eq!(out.messages[2].content, r#"{"temp":5}"#);
        assert_eq!(out.messages[4].name.as_deref(), Some("get_time"));
        assert_eq!(
            out.messages[4].content,
            r#"{"result":12}"#.replace("12", "\"12:00\"")
        );
    }

    #[test]
    fn orphan_results_and_unanswered_calls_are_refused() {
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x"), tool_result("nope", "1")],
            ..Default::default()
        };
        let err = build(&req, &[], &opts()).unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        let mut a = Message::text(Role::Assistant, "");
        a.tool_calls = vec![call("c1", "f", "{}")];
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x"), a],
            ..Default::default()
        };
        assert!(
            build(&req, &[], &opts())
                .unwrap_err()
                .to_string()
                .contains("c1")
        );
    }

    #[test]
    fn ids_may_repeat_across_turns() {
        let mut a1 = Message::text(Role::Assistant, "");
        a1.tool_calls = vec![call("call_1", "f", "{}")];
        let mut a2 = Message::text(Role::Assistant, "");
        a2.tool_calls = vec![call("call_1", "g", "{}")];
        let req = ChatRequest {
            messages: vec![
                Message::text(Role::User, "x"),
                a1,
                tool_result("call_1", "first"),
                a2,
                tool_result("call_1", "second"),
            ],
            ..Default::default()
        };
        let (out, _) = build(&req, &[], &opts()).unwrap();
        assert_eq!(out.messages[2].name.as_deref(), Some("f"));
        assert_eq!(out.messages[2].content, r#"{"result":"first"}"#);
        assert_eq!(out.messages[4].name.as_deref(), Some("g"));
        assert_eq!(out.messages[4].content, r#"{"result":"second"}"#);
        let mut dup = Message::text(Role::Assistant, "");
        dup.tool_calls = vec![call("c", "f", "{}"), call("c", "f", "{}")];
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x"), dup],
            ..Default::default()
        };
        assert!(
            build(&req, &[], &opts())
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn temperature_zero_becomes_top_p_zero() {
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x")],
            temperature: Some(0.0),
            ..Default::default()
        };
        let (out, _) = build(&req, &[], &opts()).unwrap();
        assert_eq!(out.temperature, None);
        assert_eq!(out.top_p, Some(0.0));
    }

    #[test]
    fn alias_defaults_fill_what_the_client_left_out_and_clamp_temperature() {
        let aliased = Options {
            alias: AliasSettings {
                max_tokens: Some(4096),
                reasoning_effort: Some("medium".into()),
                min_temperature: Some(0.2),
                max_temperature: Some(0.9),
                ..AliasSettings::default()
            },
            enable_reasoning: true,
            ..opts()
        };
        let bare = ChatRequest {
            messages: vec![Message::text(Role::User, "x")],
            ..Default::default()
        };
        let (out, _) = build(&bare, &[], &aliased).unwrap();
        assert_eq!(out.max_tokens, Some(4096));
        assert_eq!(out.reasoning_effort.as_deref(), Some("medium"));
        assert_eq!(out.temperature, None, "no temperature sent, none invented");
        let explicit = ChatRequest {
            max_tokens: Some(7),
            reasoning_effort: Some("low".into()),
            temperature: Some(1.5),
            ..bare.clone()
        };
        let (out, _) = build(&explicit, &[], &aliased).unwrap();
        assert_eq!(out.max_tokens, Some(7));
        assert_eq!(out.reasoning_effort.as_deref(), Some("low"));
        assert_eq!(out.temperature, Some(0.9));
        // Greedy decoding is clamped up to the minimum instead of becoming top_p 0.
        let greedy = ChatRequest {
            temperature: Some(0.0),
            ..bare
        };
        let (out, _) = build(&greedy, &[], &aliased).unwrap();
        assert_eq!((out.temperature, out.top_p), (Some(0.2), None));
    }

    #[test]
    fn tool_choice_mapping_and_aliases() {
        let tools = vec![Tool {
            name: "web_search".into(),
            description: Some("mine".into()),
            parameters: None,
        }];
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x")],
            tools: tools.clone(),
            tool_choice: ToolChoice::Required,
            ..Default::default()
        };
        let (out, plan) = build(&req, &[], &opts()).unwrap();
        let f = &out.functions.as_ref().unwrap()[0];
        assert_ne!(f.name, "web_search");
        assert_eq!(f.parameters, Some(json!({"type":"object","properties":{}})));
        assert_eq!(
            out.function_call,
            Some(v1::FunctionCallMode::Named {
                name: f.name.clone(),
                partial_arguments: None
            })
        );
        assert_eq!(plan.names.client_name(&f.name), "web_search");
        let req = ChatRequest {
            tool_choice: ToolChoice::Function("missing".into()),
            ..req
        };
        assert_eq!(
            build(&req, &[], &opts()).unwrap_err().param(),
            Some("tool_choice")
        );
    }

    #[test]
    fn json_schema_native_and_function_modes() {
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x")],
            response_format: ir::ResponseFormat::JsonSchema {
                name: "Answer".into(),
                schema: json!({"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}),
                strict: true,
            },
            ..Default::default()
        };
        let (out, plan) = build(&req, &[], &opts()).unwrap();
        let rf = out.response_format.unwrap();
        assert_eq!(rf.kind, "json_schema");
        assert_eq!(rf.strict, Some(true));
        assert!(plan.structured_function.is_none());
        let fopts = Options {
            structured_output: StructuredOutput::Function,
            ..opts()
        };
        let (out, plan) = build(&req, &[], &fopts).unwrap();
        assert!(out.response_format.is_none());
        assert_eq!(
            plan.structured_function.as_deref(),
            Some(STRUCTURED_FUNCTION)
        );
        assert_eq!(out.functions.unwrap()[0].name, STRUCTURED_FUNCTION);
    }

    #[test]
    fn attachments_land_on_their_message() {
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "look")],
            ..Default::default()
        };
        let (out, _) = build(&req, &[vec!["file-1".into()]], &opts()).unwrap();
        assert_eq!(
            out.messages[0].attachments,
            Some(vec!["file-1".to_string()])
        );
    }

    fn image() -> ir::Part {
        ir::Part::Media(ir::Media {
            kind: ir::MediaKind::Image,
            source: ir::MediaSource::Base64 {
                mime: Some("image/png".into()),
                data: "iVBORw0KGgo=".into(),
            },
            filename: None,
        })
    }

    /// user, assistant(read_file c1, shot c2), results (c2 first: only two images; c1
    /// text), then the user's next message. File ids for the image result (index 2).
    pub(in crate::upstream) fn tool_images_request() -> (ChatRequest, Vec<Vec<String>>) {
        let mut a = Message::text(Role::Assistant, "");
        a.tool_calls = vec![
            call("c1", "read_file", r#"{"path":"a.txt"}"#),
            call("c2", "shot", "{}"),
        ];
        let mut shot = tool_result("c2", "");
        shot.parts.extend([image(), image()]);
        let req = ChatRequest {
            messages: vec![
                Message::text(Role::User, "look"),
                a,
                shot,
                tool_result("c1", "plain"),
                Message::text(Role::User, "and?"),
            ],
            ..Default::default()
        };
        let files = vec![
            vec![],
            vec![],
            vec!["f-a".to_string(), "f-b".to_string()],
            vec![],
            vec![],
        ];
        (req, files)
    }

    #[test]
    fn tool_images_follow_the_function_results_in_user_messages() {
        let (req, files) = tool_images_request();
        let (out, _) = build(&req, &files, &opts()).unwrap();
        let got: Vec<(v1::Role, &str, Option<Vec<String>>)> = out
            .messages
            .iter()
            .map(|m| (m.role, m.content.as_str(), m.attachments.clone()))
            .collect();
        let ids = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            got,
            [
                (v1::Role::User, "look", None),
                (v1::Role::Assistant, "", None),
                (v1::Role::Function, r#"{"result":"plain"}"#, None),
                (v1::Role::Assistant, "", None),
                (
                    v1::Role::Function,
                    r#"{"result":"2 images, attached after the function results"}"#,
                    None
                ),
                // One image per message (GigaChat's limit), each labelled.
                (
                    v1::Role::User,
                    "Image 1 of 2 returned by shot (call 2 of 2):",
                    ids(&["f-a"])
                ),
                (
                    v1::Role::User,
                    "Image 2 of 2 returned by shot (call 2 of 2):",
                    ids(&["f-b"])
                ),
                (v1::Role::User, "and?", None),
            ]
        );
        assert_eq!(out.messages[4].name.as_deref(), Some("shot"));
        // Where one message may hold more, it holds them all.
        let roomy = Options {
            media_per_message: 10,
            ..opts()
        };
        let (out, _) = build(&req, &files, &roomy).unwrap();
        assert_eq!(out.messages.len(), 7);
        assert_eq!(
            out.messages[5].content,
            "2 images returned by shot (call 2 of 2):"
        );
        assert_eq!(out.messages[5].attachments, ids(&["f-a", "f-b"]));
    }

    #[test]
    fn results_with_text_and_images_keep_their_text_byte_for_byte() {
        let mut a = Message::text(Role::Assistant, "");
        a.tool_calls = vec![call("c1", "read_file", "{}")];
        let text_only = ChatRequest {
            messages: vec![
                Message::text(Role::User, "x"),
                a,
                tool_result("c1", "line 1\nline \"2\""),
            ],
            ..Default::default()
        };
        let (plain, _) = build(&text_only, &[], &opts()).unwrap();
        assert_eq!(
            serde_json::to_string(&plain.messages).unwrap(),
            r#"[{"role":"user","content":"x"},{"role":"assistant","content":"","function_call":{"name":"read_file","arguments":{}}},{"role":"function","content":"{\"result\":\"line 1\\nline \\\"2\\\"\"}","name":"read_file"}]"#
        );
        let mut with_image = text_only.clone();
        with_image.messages[2].parts.push(image());
        let files = vec![vec![], vec![], vec!["f-1".to_string()]];
        let (out, _) = build(&with_image, &files, &opts()).unwrap();
        assert_eq!(out.messages[..3], plain.messages[..]);
        assert_eq!(out.messages[3].role, v1::Role::User);
        assert_eq!(out.messages[3].content, "Image returned by read_file:");
        assert_eq!(out.messages[3].attachments, Some(vec!["f-1".to_string()]));
        assert_eq!(out.messages.len(), 4);
        // An error result of only an image says so as its error.
        with_image.messages[2].parts = vec![ir::Part::Text(String::new()), image()];
        with_image.messages[2].is_error = true;
        let (out, _) = build(&with_image, &files, &opts()).unwrap();
        assert_eq!(
            out.messages[2].content,
            r#"{"error":"1 image, attached after the function results"}"#
        );
    }

    #[test]
    fn error_results_are_wrapped() {
        let mut a = Message::text(Role::Assistant, "let me check");
        a.tool_calls = vec![call("c1", "f", "")];
        let mut r = tool_result("c1", "boom");
        r.is_error = true;
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x"), a, r],
            ..Default::default()
        };
        let (out, _) = build(&req, &[], &opts()).unwrap();
        assert_eq!(out.messages[1].content, "let me check");
        assert_eq!(
            out.messages[1].function_call.as_ref().unwrap().arguments,
            json!({})
        );
        assert_eq!(out.messages[2].content, r#"{"error":"boom"}"#);
    }
}
