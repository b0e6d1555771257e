//! v2 chat: `POST /api/v2/chat/completions` and `/v2/chat/completions` (§4) — content
//! parts, `tools`, `tool_config`, `model_options`, named-event SSE without `[DONE]`.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use gigachat::types::{v1, v2};
use serde::Serialize;
use serde_json::{Value, json};

use crate::builtins;
use crate::chat_v1::MESSAGE_OVERHEAD_TOKENS;
use crate::control::MockControl;
use crate::http::{ApiError, header_str, json_bytes, json_response, parse_body, unix_secs};
use crate::reply::{
    Answer, Builtin, ChatView, FunctionMode, Plan, new_state_id, plan, split_chars,
};
use crate::stream::{event_frame, frame_delay, sse_response};
use crate::tokens::count_tokens;
use crate::validate;

use v2::event;

fn prompt_tokens(req: &v2::ChatRequest) -> u64 {
    let part_tokens = |p: &v2::ContentPart| -> u64 {
        let mut n = p.text.as_deref().map(count_tokens).unwrap_or(0);
        if let Some(c) = &p.function_call {
            n += count_tokens(&c.name) + count_tokens(&c.arguments.to_string());
        }
        if let Some(r) = &p.function_result {
            n += count_tokens(&r.name) + count_tokens(&r.result.to_string());
        }
        n + p.files.as_ref().map(|f| f.len() as u64).unwrap_or(0)
    };
    let messages: u64 = req
        .messages
        .iter()
        .map(|m| m.content.iter().map(part_tokens).sum::<u64>() + MESSAGE_OVERHEAD_TOKENS)
        .sum();
    let tools = req
        .tools
        .as_ref()
        .map(|t| count_tokens(&serde_json::to_string(t).unwrap_or_default()))
        .unwrap_or(0);
    messages + tools
}

fn mode<'a>(
    config: Option<&'a v2::ToolConfig>,
    functions: &[&v1::Function],
    builtins: &[Builtin],
) -> Result<FunctionMode<'a>, ApiError> {
    let Some(cfg) = config else {
        return Ok(FunctionMode::Auto);
    };
    match cfg.mode.as_str() {
        "auto" => Ok(FunctionMode::Auto),
        "none" => Ok(FunctionMode::None),
        "forced" => {
            if let Some(name) = cfg.function_name.as_deref() {
                if !functions.iter().any(|f| f.name == name) {
                    // [U] text
                    return Err(ApiError::invalid_params(format!(
                        "function {name} is not described in tools"
                    )));
                }
                return Ok(FunctionMode::ForcedFunction(name, None));
            }
            if let Some(name) = cfg.tool_name.as_deref() {
                return match Builtin::from_key(name).filter(|b| builtins.contains(b)) {
                    Some(b) => Ok(FunctionMode::ForcedBuiltin(b)),
                    // [U] text
                    None => Err(ApiError::invalid_params(format!(
                        "tool {name} is not present in tools"
                    ))),
                };
            }
            // [U] text
            Err(ApiError::invalid_params(
                "forced tool_config mode requires tool_name or function_name",
            ))
        }
        // [U] text
        other => Err(ApiError::invalid_params(format!(
            "unknown tool_config mode {other}"
        ))),
    }
}

fn joined_text(m: &v2::Message) -> Option<String> {
    let texts: Vec<&str> = m.content.iter().filter_map(|p| p.text.as_deref()).collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

/// `POST …/v2/chat/completions`.
pub(crate) async fn chat(
    State(ctl): State<MockControl>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let shared = ctl.shared();
    shared
        .counters
        .chat_requests
        .fetch_add(1, Ordering::Relaxed);
    let snap = shared.snapshot();
    let cfg = &snap.cfg;
    let mut raw = parse_body(&body)?;
    validate::check_v2_raw(&mut raw, cfg.v2_strict_arguments, &cfg.unavailable_tools)?;
    let req: v2::ChatRequest = serde_json::from_value(raw).map_err(|_| ApiError::invalid_json())?;
    let model_name = match (&req.model, &req.assistant_id) {
        (Some(m), _) => m.as_str(),
        (None, Some(_)) => "GigaChat",
        // [U] text
        (None, None) => return Err(ApiError::invalid_params("model is required")),
    };
    let spec = snap
        .model_of_kind(model_name, "chat")
        .ok_or_else(ApiError::no_such_model)?;
    let opts = req.model_options.clone().unwrap_or_default();
    validate::check_sampling(
        opts.temperature,
        opts.repetition_penalty,
        cfg.validate_temperature,
    )?;
    if opts.max_tokens == Some(0) {
        // [U] text
        return Err(ApiError::invalid_params(
            "max_tokens must be in range (0, +inf)",
        ));
    }
    if let Some(rf) = &opts.response_format {
        validate::check_response_format(&rf.kind, rf.schema.is_some(), rf.regex.as_deref(), true)?;
    }
    validate::check_v2_messages(&req.messages)?;
    let mut functions: Vec<&v1::Function> = Vec::new();
    let mut builtin_tools: Vec<Builtin> = Vec::new();
    for tool in req.tools.iter().flatten() {
        match tool {
            v2::Tool::Functions { specifications } => functions.extend(specifications.iter()),
            v2::Tool::WebSearch(_) => builtin_tools.push(Builtin::WebSearch),
            v2::Tool::UrlContentExtraction(_) => builtin_tools.push(Builtin::UrlContentExtraction),
            v2::Tool::CodeInterpreter(_) => builtin_tools.push(Builtin::CodeInterpreter),
            v2::Tool::ImageGenerate(_) => builtin_tools.push(Builtin::ImageGenerate),
            v2::Tool::Model3dGenerate(_) => builtin_tools.push(Builtin::Model3dGenerate),
        }
    }
    validate::check_functions(&functions)?;
    let mode = mode(req.tool_config.as_ref(), &functions, &builtin_tools)?;
    let last_user_text = req
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .and_then(joined_text);
    let last_result = req
        .messages
        .last()
        .filter(|m| matches!(m.role.as_str(), "tool" | "function"))
        .and_then(|m| {
            m.content
                .iter()
                .rev()
                .find_map(|p| p.function_result.as_ref())
        })
        .map(|r| {
            let text = match &r.result {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (r.name.as_str(), text)
        });
    let format = opts.response_format.as_ref();
    let view = ChatView {
        model: model_name,
        last_user_text: last_user_text.as_deref(),
        last_result,
        functions,
        mode,
        json_schema: format
            .filter(|f| f.kind == "json_schema")
            .and_then(|f| f.schema.as_ref()),
        regex: format
            .filter(|f| f.kind == "regex")
            .and_then(|f| f.regex.as_deref()),
        builtins: builtin_tools,
    };
    let mut answer = match plan(shared, &view) {
        Plan::Reply(reply) => Answer::from_reply(reply, opts.max_tokens),
        Plan::Builtin(tool) => builtins::run(
            shared,
            tool,
            header_str(&headers, "x-client-id"),
            view.last_user_text,
            opts.max_tokens,
        ),
    };
    if answer.state_id.is_none() && req.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        answer.state_id = Some(new_state_id());
    }
    let prompt = prompt_tokens(&req);
    let usage = v2::Usage {
        input_tokens: prompt,
        input_tokens_details: v2::InputTokensDetails {
            prompt_tokens: prompt,
            cached_tokens: cfg.precached_tokens.min(prompt),
        },
        output_tokens: answer.completion_tokens,
        total_tokens: prompt + answer.completion_tokens,
    };
    let head = v2::ChatResponse {
        model: Some(format!("{}:{}", spec.id, spec.version)),
        created_at: Some(unix_secs()),
        ..Default::default()
    };
    let storage = req.storage.as_ref().map(|s| {
        let thread = s
            .get("thread_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        (thread, uuid::Uuid::new_v4().to_string())
    });
    if req.stream {
        let frames = stream_frames(&answer, &head, usage, storage, cfg.chunk_size);
        let delay = frame_delay(
            cfg.chunk_delay,
            opts.update_interval,
            cfg.honour_update_interval,
        );
        return Ok(sse_response(shared, frames, false, delay));
    }
    let (thread_id, message_id) = storage.unzip();
    let resp = v2::ChatResponse {
        thread_id,
        message_id,
        messages: response_messages(&answer),
        finish_reason: Some(answer.finish_reason.to_string()),
        usage: Some(usage),
        ..head
    };
    if answer.files.is_empty() {
        return Ok(json_response(StatusCode::OK, &resp));
    }
    Ok(json_bytes(StatusCode::OK, Bytes::from(encode(&resp))))
}

fn message(role: &str, state_id: Option<&String>, content: Vec<v2::ContentPart>) -> v2::Message {
    v2::Message {
        role: role.to_string(),
        tool_state_id: state_id.cloned(),
        content,
        ..Default::default()
    }
}

fn call_parts(answer: &Answer) -> Vec<v2::ContentPart> {
    answer
        .calls
        .iter()
        .map(|c| v2::ContentPart {
            function_call: Some(v2::FunctionCall {
                id: None,
                name: c.name.clone(),
                arguments: c.arguments.clone(),
            }),
            ..Default::default()
        })
        .collect()
}

fn files_part(answer: &Answer) -> Option<v2::ContentPart> {
    (!answer.files.is_empty()).then(|| v2::ContentPart {
        files: Some(answer.files.clone()),
        ..Default::default()
    })
}

/// Messages of a non-stream response: an optional `reasoning` message, then the assistant
/// message with files, calls or text (§4.6).
fn response_messages(answer: &Answer) -> Vec<v2::Message> {
    let mut out = Vec::new();
    if let Some(r) = &answer.reasoning {
        out.push(message(
            "reasoning",
            None,
            vec![v2::ContentPart::text(r.clone())],
        ));
    }
    let mut parts: Vec<v2::ContentPart> = files_part(answer).into_iter().collect();
    if answer.calls.is_empty() {
        parts.push(v2::ContentPart {
            text: Some(answer.text.clone()),
            inline_data: answer.inline_data.clone(),
            ..Default::default()
        });
    } else {
        parts.extend(call_parts(answer));
    }
    out.push(message("assistant", answer.state_id.as_ref(), parts));
    out
}

/// Compact JSON of a v2 payload (the shared types keep the recorded key order,
/// `files` parts included).
fn encode<T: Serialize>(payload: &T) -> Vec<u8> {
    serde_json::to_vec(payload).unwrap_or_default()
}

/// The v2 stream: optional tool events, `response.message.delta` frames (reasoning
/// pieces, files, text pieces) and a final `response.message.done` with `finish_reason`
/// and `usage` (plus the call message for function calls). No `[DONE]`.
fn stream_frames(
    answer: &Answer,
    head: &v2::ChatResponse,
    usage: v2::Usage,
    storage: Option<(String, String)>,
    chunk_size: usize,
) -> Vec<Bytes> {
    let with = |messages: Vec<v2::Message>| v2::ChatResponse {
        messages,
        ..head.clone()
    };
    let mut frames = Vec::new();
    if let Some(tool) = answer.builtin {
        let in_progress = v2::ContentPart {
            tool_execution: Some(json!({"name": tool.key(), "seconds_left": 0})),
            ..Default::default()
        };
        frames.push(event_frame(
            event::TOOL_IN_PROGRESS,
            &with(vec![message("assistant", None, vec![in_progress])]),
        ));
        let completed = v2::ContentPart {
            tool_execution: Some(
                json!({"name": tool.key(), "status": "success", "censored": false}),
            ),
            ..Default::default()
        };
        frames.push(event_frame(
            event::TOOL_COMPLETED,
            &with(vec![message("reasoning", None, vec![completed])]),
        ));
    }
    let mut done = v2::ChatResponse {
        finish_reason: Some(answer.finish_reason.to_string()),
        usage: Some(usage),
        ..head.clone()
    };
    if let Some((thread_id, message_id)) = storage {
        done.thread_id = Some(thread_id);
        done.message_id = Some(message_id);
    }
    if !answer.calls.is_empty() {
        done.messages = vec![message(
            "assistant",
            answer.state_id.as_ref(),
            call_parts(answer),
        )];
        frames.push(event_frame(event::MESSAGE_DONE, &done));
        return frames;
    }
    let mut state_id = answer.state_id.as_ref();
    for piece in split_chars(answer.reasoning.as_deref().unwrap_or(""), chunk_size) {
        let msg = message("reasoning", None, vec![v2::ContentPart::text(piece)]);
        frames.push(event_frame(event::MESSAGE_DELTA, &with(vec![msg])));
    }
    if let Some(files) = files_part(answer) {
        let msg = message("assistant", state_id.take(), vec![files]);
        frames.push(event_frame(event::MESSAGE_DELTA, &with(vec![msg])));
    }
    let pieces = split_chars(&answer.text, chunk_size);
    let count = pieces.len();
    for (i, piece) in pieces.into_iter().enumerate() {
        let part = v2::ContentPart {
            text: Some(piece.to_string()),
            inline_data: if i + 1 == count {
                answer.inline_data.clone()
            } else {
                None
            },
            ..Default::default()
        };
        let msg = message("assistant", state_id.take(), vec![part]);
        frames.push(event_frame(event::MESSAGE_DELTA, &with(vec![msg])));
    }
    frames.push(event_frame(event::MESSAGE_DONE, &done));
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Reply;

    fn head() -> v2::ChatResponse {
        v2::ChatResponse {
            model: Some("GigaChat-3-Ultra:32.3.18.5".into()),
            created_at: Some(1780321864),
            ..Default::default()
        }
    }

    fn usage(input: u64, output: u64) -> v2::Usage {
        v2::Usage {
            input_tokens: input,
            input_tokens_details: v2::InputTokensDetails {
                prompt_tokens: input,
                cached_tokens: 0,
            },
            output_tokens: output,
            total_tokens: input + output,
        }
    }

    #[test]
    fn stream_matches_recorded_bytes() {
        let answer = Answer::from_reply(Reply::text("1, 2, 3"), None);
        let frames = stream_frames(&answer, &head(), usage(19, 8), None, 20);
        let joined: Vec<u8> = frames.iter().flat_map(|f| f.to_vec()).collect();
        let expected = "event: response.message.delta\ndata: {\"model\":\"GigaChat-3-Ultra:32.3.18.5\",\"created_at\":1780321864,\"messages\":[{\"role\":\"assistant\",\"content\":[{\"text\":\"1, 2, 3\"}]}]}\n\nevent: response.message.done\ndata: {\"model\":\"GigaChat-3-Ultra:32.3.18.5\",\"created_at\":1780321864,\"finish_reason\":\"stop\",\"usage\":{\"input_tokens\":19,\"input_tokens_details\":{\"prompt_tokens\":19,\"cached_tokens\":0},\"output_tokens\":8,\"total_tokens\":27}}\n\n";
        assert_eq!(String::from_utf8(joined).unwrap(), expected);
    }

    #[test]
    fn function_call_response_matches_recorded_shape() {
        let mut answer = Answer::from_reply(
            Reply::function_call("get_order_status", json!({"order_id":"A-1024"})),
            None,
        );
        answer.state_id = Some("019e8373-dc9a-7883-af60-ebb20b79e1e1".into());
        let resp = v2::ChatResponse {
            messages: response_messages(&answer),
            finish_reason: Some(answer.finish_reason.into()),
            usage: Some(usage(88, 25)),
            created_at: Some(1780321868),
            ..head()
        };
        let expected = r#"{"model":"GigaChat-3-Ultra:32.3.18.5","created_at":1780321868,"messages":[{"role":"assistant","tool_state_id":"019e8373-dc9a-7883-af60-ebb20b79e1e1","content":[{"function_call":{"name":"get_order_status","arguments":{"order_id":"A-1024"}}}]}],"finish_reason":"function_call","usage":{"input_tokens":88,"input_tokens_details":{"prompt_tokens":88,"cached_tokens":0},"output_tokens":25,"total_tokens":113}}"#;
        assert_eq!(String::from_utf8(encode(&resp)).unwrap(), expected);
    }

    #[test]
    fn file_refs_are_ordered_like_the_recording() {
        let answer = Answer {
            text: "done".into(),
            files: vec![v2::FileRef {
                id: "f".into(),
                target: Some("image".into()),
                mime: Some("image/jpeg".into()),
            }],
            finish_reason: "stop",
            ..Default::default()
        };
        let resp = v2::ChatResponse {
            messages: response_messages(&answer),
            ..Default::default()
        };
        let text = String::from_utf8(encode(&resp)).unwrap();
        assert!(
            text.contains(
                r#"{"files":[{"id":"f","mime":"image/jpeg","target":"image"}]},{"text":"done"}"#
            ),
            "{text}"
        );
    }
}
