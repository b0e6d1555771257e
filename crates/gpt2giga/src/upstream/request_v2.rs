//! `ir::ChatRequest` → GigaChat v2 chat request (gigachat-api.md §4). Pure: attachments
//! arrive already uploaded (file ids per message).
//!
//! What differs from v1 ([`super::request`]):
//! * messages are content parts: text parts, then one `files` part with the message's
//!   uploaded file ids;
//! * an assistant turn keeps all its tool calls as `function_call` parts of one message
//!   (GigaChat's call ids sent back when the client echoes them), and the results of
//!   those calls go back as `function_result` parts of **one** `tool` message, in call
//!   order, matched by call id; images and files those results returned follow in
//!   user messages with a `files` part, as in v1 (a `function_result` takes no
//!   files: [`super::tool_media`]);
//! * sampling, `max_tokens`, `reasoning.effort` and `response_format` (json_schema with
//!   `strict`) live in `model_options`; `tool_choice` becomes `tool_config`
//!   (`auto` / `none` / `forced` with `function_name`);
//! * the system content, temperature-0 rule, tool-name aliases, tool-result wrapping
//!   and function-mode structured output are v1's.

use gigachat::types::{v1, v2};
use serde_json::json;

use super::request::{
    Options, Plan, Structured, builtin_key, builtin_not_offered, index_results, parse_arguments,
    reasoning_effort, result_object, sampling, structured_output, system_text, tool_function,
};
use super::tool_media::{self, Returned};
use crate::error::ProxyError;
use crate::ir;

/// Builds the v2 request. `attachments[i]` are the file ids for `req.messages[i]`.
pub fn build(
    req: &ir::ChatRequest,
    attachments: &[Vec<String>],
    opts: &Options,
) -> Result<(v2::ChatRequest, Plan), ProxyError> {
    let mut plan = Plan::default();
    let mut out = v2::ChatRequest {
        model: Some(opts.model.clone()),
        stream: req.stream,
        disable_filter: opts.profanity_check.map(|check| !check),
        ..Default::default()
    };
    if !opts.flags.is_empty() {
        out.flags = Some(opts.flags.clone());
    }

    // --- model_options
    let mut mo = v2::ModelOptions::default();
    (mo.temperature, mo.top_p) = sampling(req, opts);
    mo.max_tokens = req.max_tokens.or(opts.alias.max_tokens);
    mo.repetition_penalty = req.repetition_penalty;
    mo.reasoning = reasoning_effort(req, opts).map(|effort| v2::Reasoning { effort });

    // --- structured output
    let mut system = req.system.clone();
    let mut functions: Vec<v1::Function> = Vec::new();
    match structured_output(req, opts, &mut plan, &mut system) {
        None => {}
        Some(Structured::Native { schema, strict }) => {
            mo.response_format = Some(v2::ResponseFormat {
                kind: "json_schema".into(),
                schema: Some(schema),
                strict: Some(strict),
                regex: None,
            });
        }
        Some(Structured::Function(f)) => {
            out.tool_config = Some(forced_function(f.name.clone()));
            functions.push(f);
        }
    }
    if mo != v2::ModelOptions::default() {
        out.model_options = Some(mo);
    }

    // --- tools
    let mut builtins: Vec<ir::Builtin> = Vec::new();
    for b in &req.builtins {
        if !builtins.contains(&b.kind) {
            builtins.push(b.kind);
        }
    }
    plan.builtins = req.builtins.clone();
    plan.query = last_user_text(req);
    if plan.structured_function.is_none() && (!req.tools.is_empty() || !builtins.is_empty()) {
        functions.extend(req.tools.iter().map(|t| tool_function(&mut plan, t)));
        out.tool_config = Some(match &req.tool_choice {
            ir::ToolChoice::Auto => mode("auto"),
            ir::ToolChoice::None => mode("none"),
            // GigaChat cannot force "some tool": force the only one, else auto.
            ir::ToolChoice::Required => match (functions.as_slice(), builtins.as_slice()) {
                ([only], []) => forced_function(only.name.clone()),
                ([], [only]) => forced_tool(*only),
                _ => mode("auto"),
            },
            ir::ToolChoice::Function(name) => {
                if !req.tools.iter().any(|t| &t.name == name) {
                    return Err(ProxyError::invalid_param(
                        format!("tool_choice names the function {name:?}, which is not in tools"),
                        "tool_choice",
                    ));
                }
                forced_function(plan.names.register(name))
            }
            ir::ToolChoice::Builtin(kind) => {
                if !builtins.contains(kind) {
                    return Err(builtin_not_offered(*kind));
                }
                forced_tool(*kind)
            }
        });
    } else if plan.structured_function.is_none() {
        match &req.tool_choice {
            ir::ToolChoice::Function(name) => {
                return Err(ProxyError::invalid_param(
                    format!("tool_choice names the function {name:?}, but no tools were given"),
                    "tool_choice",
                ));
            }
            ir::ToolChoice::Builtin(kind) => return Err(builtin_not_offered(*kind)),
            _ => {}
        }
    }
    let mut tools = Vec::new();
    if !functions.is_empty() {
        tools.push(v2::Tool::Functions {
            specifications: functions,
        });
    }
    // With function-mode structured output the answer is the forced function: built-ins
    // still run when GigaChat decides to, but cannot be forced.
    tools.extend(builtins.iter().map(|b| builtin_tool(*b)));
    if !tools.is_empty() {
        out.tools = Some(tools);
    }

    // --- messages
    let system_text = system_text(&system);
    if !system_text.is_empty() {
        out.messages
            .push(message("system", vec![text(system_text)]));
    }
    let results = index_results(req)?;
    let mut consumed = vec![false; req.messages.len()];
    for (i, msg) in req.messages.iter().enumerate() {
        match msg.role {
            ir::Role::User => {
                let mut parts = text_parts(msg);
                if let Some(ids) = attachments.get(i).filter(|a| !a.is_empty()) {
                    parts.push(files_part(ids));
                }
                if parts.is_empty() {
                    parts.push(text(String::new()));
                }
                out.messages.push(message("user", parts));
            }
            ir::Role::Assistant => {
                let mut parts = text_parts(msg);
                if msg.tool_calls.is_empty() {
                    // A turn that held only reasoning has nothing GigaChat can take.
                    if !parts.is_empty() || msg.reasoning.is_none() {
                        if parts.is_empty() {
                            parts.push(text(String::new()));
                        }
                        out.messages.push(message("assistant", parts));
                    }
                    continue;
                }
                let mut answers = Vec::with_capacity(msg.tool_calls.len());
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
                    let name = plan.names.register(&call.name);
                    parts.push(v2::ContentPart {
                        function_call: Some(v2::FunctionCall {
                            id: gigachat_call_id(&call.id),
                            name: name.clone(),
                            arguments: parse_arguments(&call.arguments),
                        }),
                        ..Default::default()
                    });
                    consumed[result_idx] = true;
                    let result = &req.messages[result_idx];
                    if let Some(ids) = attachments.get(result_idx).filter(|a| !a.is_empty()) {
                        let n = msg.tool_calls.len();
                        returned.push(Returned::new(&name, k, n, result, ids));
                    }
                    answers.push(v2::ContentPart {
                        function_result: Some(v2::FunctionResult {
                            name,
                            result: result_object(result),
                        }),
                        ..Default::default()
                    });
                }
                out.messages.push(message("assistant", parts));
                out.messages.push(message("tool", answers));
                for c in tool_media::carriers(&returned, opts.media_per_message) {
                    out.messages
                        .push(message("user", vec![text(c.text), files_part(&c.ids)]));
                }
            }
            ir::Role::Tool => {
                if !consumed[i] {
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
    if out.messages.iter().all(|m| m.role == "system") {
        return Err(ProxyError::invalid_param(
            "messages must contain at least one user or assistant message",
            "messages",
        ));
    }
    Ok((out, plan))
}

/// A built-in's `tools` entry (default settings: GigaChat's own search type).
fn builtin_tool(kind: ir::Builtin) -> v2::Tool {
    let config = json!({});
    match kind {
        ir::Builtin::WebSearch => v2::Tool::WebSearch(config),
        ir::Builtin::CodeInterpreter => v2::Tool::CodeInterpreter(config),
        ir::Builtin::ImageGeneration => v2::Tool::ImageGenerate(config),
        ir::Builtin::UrlFetch => v2::Tool::UrlContentExtraction(config),
    }
}

fn forced_tool(kind: ir::Builtin) -> v2::ToolConfig {
    v2::ToolConfig {
        mode: "forced".to_string(),
        tool_name: Some(builtin_key(kind).to_string()),
        function_name: None,
    }
}

/// The user's last message, as the query a built-in tool run is shown with.
fn last_user_text(req: &ir::ChatRequest) -> String {
    const MAX_CHARS: usize = 500;
    req.messages
        .iter()
        .rev()
        .find(|m| m.role == ir::Role::User)
        .map(|m| m.joined_text().chars().take(MAX_CHARS).collect())
        .unwrap_or_default()
}

fn mode(mode: &str) -> v2::ToolConfig {
    v2::ToolConfig {
        mode: mode.to_string(),
        tool_name: None,
        function_name: None,
    }
}

fn forced_function(name: String) -> v2::ToolConfig {
    v2::ToolConfig {
        mode: "forced".to_string(),
        tool_name: None,
        function_name: Some(name),
    }
}

fn message(role: &str, content: Vec<v2::ContentPart>) -> v2::Message {
    v2::Message {
        role: role.to_string(),
        content,
        ..Default::default()
    }
}

fn text(t: String) -> v2::ContentPart {
    v2::ContentPart::text(t)
}

/// A `files` part referencing uploaded files (§4.2).
fn files_part(ids: &[String]) -> v2::ContentPart {
    v2::ContentPart {
        files: Some(
            ids.iter()
                .map(|id| v2::FileRef {
                    id: id.clone(),
                    mime: None,
                    target: None,
                })
                .collect(),
        ),
        ..Default::default()
    }
}

/// One text part per non-empty text of the message.
fn text_parts(msg: &ir::Message) -> Vec<v2::ContentPart> {
    msg.parts
        .iter()
        .filter_map(|p| match p {
            ir::Part::Text(t) if !t.is_empty() => Some(text(t.clone())),
            _ => None,
        })
        .collect()
}

/// The call id to send back with a `function_call` part: GigaChat's own ids are UUIDs
/// (§4.2, "sending it back is optional"); ids the proxy or the client made up are not
/// GigaChat's to see.
fn gigachat_call_id(id: &str) -> Option<String> {
    uuid::Uuid::parse_str(id).ok().map(|_| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{ChatRequest, Message, Role, Tool, ToolChoice};
    use crate::upstream::request::StructuredOutput;
    use crate::upstream::request::tests::{call, tool_images_request, tool_result};

    fn opts() -> Options {
        Options {
            model: "GigaChat-2-Max".into(),
            ..Default::default()
        }
    }

    fn tool(name: &str) -> Tool {
        Tool {
            name: name.into(),
            description: None,
            parameters: None,
        }
    }

    #[test]
    fn parallel_calls_stay_in_one_message_and_results_in_one_tool_message() {
        let mut assistant = Message::text(Role::Assistant, "checking");
        let gid = "019e8373-dc9a-7883-af60-ebb20b79e1e1";
        assistant.tool_calls = vec![
            call("call_a", "get_weather", r#"{"city":"Kazan"}"#),
            call(gid, "get_time", ""),
        ];
        let req = ChatRequest {
            system: vec!["be brief".into()],
            messages: vec![
                Message::text(Role::User, "weather and time?"),
                assistant,
                // Results in the other order: matched by id.
                tool_result(gid, "12:00"),
                tool_result("call_a", r#"{"t":27}"#),
            ],
            tools: vec![tool("get_weather"), tool("get_time")],
            ..Default::default()
        };
        let (out, _) = build(&req, &[], &opts()).unwrap();
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(
            v["messages"],
            json!([
                {"role":"system","content":[{"text":"be brief"}]},
                {"role":"user","content":[{"text":"weather and time?"}]},
                {"role":"assistant","content":[
                    {"text":"checking"},
                    {"function_call":{"name":"get_weather","arguments":{"city":"Kazan"}}},
                    {"function_call":{"id":gid,"name":"get_time","arguments":{}}}
                ]},
                {"role":"tool","content":[
                    {"function_result":{"name":"get_weather","result":{"t":27}}},
                    {"function_result":{"name":"get_time","result":{"result":"12:00"}}}
                ]}
            ])
        );
        assert_eq!(v["tool_config"], json!({"mode":"auto"}));
        assert_eq!(
            v["tools"][0]["functions"]["specifications"][1]["name"],
            "get_time"
        );
    }

    #[test]
    fn options_and_tool_choice() {
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "hi")],
            tools: vec![tool("f"), tool("web_search")],
            tool_choice: ToolChoice::Function("web_search".into()),
            temperature: Some(0.0),
            max_tokens: Some(7),
            repetition_penalty: Some(1.1),
            reasoning_effort: Some("minimal".into()),
            response_format: ir::ResponseFormat::JsonSchema {
                name: "x".into(),
                schema: json!({"type":"object","properties":{"a":{"type":"string"}}}),
                strict: true,
            },
            stream: true,
            ..Default::default()
        };
        let (out, mut plan) = build(&req, &[], &opts()).unwrap();
        let v = serde_json::to_value(&out).unwrap();
        let alias = plan.names.register("web_search");
        assert_ne!(alias, "web_search");
        assert_eq!(
            v["tool_config"],
            json!({"mode":"forced","function_name": alias})
        );
        assert_eq!(v["stream"], true);
        let mo = &v["model_options"];
        assert_eq!(mo["top_p"], 0.0);
        assert!(mo.get("temperature").is_none());
        assert_eq!(mo["max_tokens"], 7);
        assert_eq!(mo["repetition_penalty"], 1.1);
        assert_eq!(mo["reasoning"], json!({"effort":"low"}));
        assert_eq!(mo["response_format"]["type"], "json_schema");
        assert_eq!(mo["response_format"]["strict"], true);
        assert_eq!(
            mo["response_format"]["schema"]["properties"]["a"]["type"],
            "string"
        );

        let none = ChatRequest {
            messages: vec![Message::text(Role::User, "hi")],
            tools: vec![tool("f")],
            tool_choice: ToolChoice::None,
            ..Default::default()
        };
        let v = serde_json::to_value(build(&none, &[], &opts()).unwrap().0).unwrap();
        assert_eq!(v["tool_config"], json!({"mode":"none"}));
        assert!(v.get("model_options").is_none());
        let required = ChatRequest {
            tool_choice: ToolChoice::Required,
            ..none
        };
        let v = serde_json::to_value(build(&required, &[], &opts()).unwrap().0).unwrap();
        assert_eq!(
            v["tool_config"],
            json!({"mode":"forced","function_name":"f"})
        );
    }

    #[test]
    fn files_become_a_files_part() {
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "what is this?")],
            ..Default::default()
        };
        let (out, _) = build(&req, &[vec!["file-1".into()]], &opts()).unwrap();
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(
            v["messages"][0]["content"],
            json!([{"text":"what is this?"},{"files":[{"id":"file-1"}]}])
        );
    }

    #[test]
    fn tool_images_follow_the_tool_message_in_user_messages() {
        let (req, files) = tool_images_request();
        let (out, _) = build(&req, &files, &opts()).unwrap();
        let v = serde_json::to_value(&out).unwrap();
        let roles: Vec<&str> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "tool", "user", "user", "user"]);
        assert_eq!(
            v["messages"][2]["content"],
            json!([
                {"function_result": {"name": "read_file", "result": {"result": "plain"}}},
                {"function_result": {"name": "shot",
                    "result": {"result": "2 images, attached after the function results"}}}
            ])
        );
        assert_eq!(
            v["messages"][3]["content"],
            json!([{"text": "Image 1 of 2 returned by shot (call 2 of 2):"},
                   {"files": [{"id": "f-a"}]}])
        );
        assert_eq!(
            v["messages"][4]["content"],
            json!([{"text": "Image 2 of 2 returned by shot (call 2 of 2):"},
                   {"files": [{"id": "f-b"}]}])
        );
        assert_eq!(v["messages"][5]["content"], json!([{"text": "and?"}]));
    }

    #[test]
    fn unanswered_calls_and_orphans_are_refused() {
        let mut assistant = Message::text(Role::Assistant, "");
        assistant.tool_calls = vec![call("c1", "f", "{}")];
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x"), assistant],
            ..Default::default()
        };
        assert_eq!(build(&req, &[], &opts()).unwrap_err().status(), 400);
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x"), tool_result("c9", "1")],
            ..Default::default()
        };
        assert_eq!(build(&req, &[], &opts()).unwrap_err().status(), 400);
    }

    #[test]
    fn function_mode_structured_output_forces_the_synthetic_function() {
        let req = ChatRequest {
            messages: vec![Message::text(Role::User, "x")],
            response_format: ir::ResponseFormat::JsonSchema {
                name: "x".into(),
                schema: json!({"type":"object","properties":{}}),
                strict: false,
            },
            ..Default::default()
        };
        let fopts = Options {
            structured_output: StructuredOutput::Function,
            ..opts()
        };
        let (out, plan) = build(&req, &[], &fopts).unwrap();
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(
            plan.structured_function.as_deref(),
            Some("structured_output")
        );
        assert_eq!(
            v["tool_config"],
            json!({"mode":"forced","function_name":"structured_output"})
        );
        assert!(v.get("model_options").is_none());
    }
}
