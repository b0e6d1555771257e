//! v2 chat: `POST /api/v2/chat/completions` and `/v2/chat/completions` (§4) — content
//! parts, `tools`, `tool_config`, `model_options`, named-event SSE without `[DONE]`.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::builtins;
use crate::chat_v1::MESSAGE_OVERHEAD_TOKENS;
use crate::control::MockControl;
use crate::http::{ApiError, header_str, json_response, parse_body, unix_secs};
use crate::reply::{
    Answer, Builtin, ChatView, FunctionMode, Plan, new_state_id, plan, split_chars,
};
use crate::stream::{event_frame, frame_delay, sse_response};
use crate::tokens::count_tokens;
use crate::validate;
use crate::wire::common::CustomFunction;
use crate::wire::v2::{
    CallOut, ChatRequest, Completion, InputDetails, MESSAGE_DELTA, MESSAGE_DONE, Message,
    MessageOut, Part, PartOut, TOOL_COMPLETED, TOOL_IN_PROGRESS, Tool, ToolConfig, Usage,
};

fn prompt_tokens(req: &ChatRequest) -> u64 {
    let part_tokens = |p: &Part| -> u64 {
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
    config: Option<&'a ToolConfig>,
    functions: &[&CustomFunction],
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

fn joined_text(m: &Message) -> Option<String> {
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
    let req: ChatRequest = serde_json::from_value(raw).map_err(|_| ApiError::invalid_json())?;
    let model_name = match (&req.model, &req.assistant_id) {
        (Some(m), _) => m.as_str(),
        (None, Some(_)) => "GigaChat",
        // [U] text
        (None, None) => return Err(ApiError::invalid_params("model is required")),
    };
    let spec = snap
        .model_of_kind(model_name, "chat")
        .ok_or_else(ApiError::no_such_model)?;
    let opts = &req.model_options;
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
    let mut functions: Vec<&CustomFunction> = Vec::new();
    let mut builtin_tools: Vec<Builtin> = Vec::new();
    for tool in req.tools.iter().flatten() {
        match tool {
            Tool::Functions { specifications } => functions.extend(specifications.iter()),
            Tool::WebSearch(_) => builtin_tools.push(Builtin::WebSearch),
            Tool::UrlContentExtraction(_) => builtin_tools.push(Builtin::UrlContentExtraction),
            Tool::CodeInterpreter(_) => builtin_tools.push(Builtin::CodeInterpreter),
            Tool::ImageGenerate(_) => builtin_tools.push(Builtin::ImageGenerate),
            Tool::Model3dGenerate(_) => builtin_tools.push(Builtin::Model3dGenerate),
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
    let call_ids: Vec<String> = if cfg.v2_call_ids {
        answer
            .calls
            .iter()
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect()
    } else {
        Vec::new()
    };
    let prompt = prompt_tokens(&req);
    let usage = Usage {
        input_tokens: prompt,
        input_tokens_details: InputDetails {
            prompt_tokens: prompt,
            cached_tokens: cfg.precached_tokens.min(prompt),
        },
        output_tokens: answer.completion_tokens,
        total_tokens: prompt + answer.completion_tokens,
    };
    let model = format!("{}:{}", spec.id, spec.version);
    let storage = req.storage.as_ref().map(|s| {
        let thread = s
            .get("thread_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        (thread, uuid::Uuid::new_v4().to_string())
    });
    let mut head = Completion {
        model: &model,
        created_at: unix_secs(),
        thread_id: None,
        message_id: None,
        messages: Vec::new(),
        finish_reason: None,
        usage: None,
    };
    if req.stream {
        let frames = stream_frames(
            &answer,
            &call_ids,
            &head,
            usage,
            storage.as_ref(),
            cfg.chunk_size,
        );
        let delay = frame_delay(
            cfg.chunk_delay,
            opts.update_interval,
            cfg.honour_update_interval,
        );
        return Ok(sse_response(shared, frames, false, delay));
    }
    if let Some((thread_id, message_id)) = &storage {
        head.thread_id = Some(thread_id);
        head.message_id = Some(message_id);
    }
    let resp = Completion {
        messages: response_messages(&answer, &call_ids),
        finish_reason: Some(answer.finish_reason),
        usage: Some(usage),
        ..head
    };
    Ok(json_response(StatusCode::OK, &resp))
}

fn message<'a>(
    role: &'static str,
    state_id: Option<&'a str>,
    content: Vec<PartOut<'a>>,
) -> MessageOut<'a> {
    MessageOut {
        role,
        tool_state_id: state_id,
        content,
    }
}

fn text_part(text: &str) -> PartOut<'_> {
    PartOut {
        text: Some(text),
        ..PartOut::default()
    }
}

fn call_parts<'a>(answer: &'a Answer, ids: &'a [String]) -> Vec<PartOut<'a>> {
    answer
        .calls
        .iter()
        .enumerate()
        .map(|(i, c)| PartOut {
            function_call: Some(CallOut {
                id: ids.get(i).map(String::as_str),
                name: &c.name,
                arguments: &c.arguments,
            }),
            ..PartOut::default()
        })
        .collect()
}

fn files_part(answer: &Answer) -> Option<PartOut<'_>> {
    (!answer.files.is_empty()).then(|| PartOut {
        files: Some(&answer.files),
        ..PartOut::default()
    })
}

/// Messages of a non-stream response: an optional `reasoning` message, then the assistant
/// message with files, calls or text (§4.6).
fn response_messages<'a>(answer: &'a Answer, ids: &'a [String]) -> Vec<MessageOut<'a>> {
    let mut out = Vec::new();
    if let Some(r) = &answer.reasoning {
        out.push(message("reasoning", None, vec![text_part(r)]));
    }
    let mut parts: Vec<PartOut<'_>> = files_part(answer).into_iter().collect();
    if answer.calls.is_empty() {
        parts.push(PartOut {
            text: Some(&answer.text),
            inline_data: answer.inline_data.as_ref(),
            ..PartOut::default()
        });
    } else {
        parts.extend(call_parts(answer, ids));
    }
    out.push(message("assistant", answer.state_id.as_deref(), parts));
    out
}

/// The v2 stream: optional tool events, `response.message.delta` frames (reasoning
/// pieces, files, text pieces) and a final `response.message.done` with `finish_reason`
/// and `usage` (plus the call message for function calls). No `[DONE]`.
fn stream_frames(
    answer: &Answer,
    ids: &[String],
    head: &Completion<'_>,
    usage: Usage,
    storage: Option<&(String, String)>,
    chunk_size: usize,
) -> Vec<Bytes> {
    let with = |messages: Vec<MessageOut<'_>>| -> Bytes {
        event_frame(
            MESSAGE_DELTA,
            &Completion {
                messages,
                ..head.clone()
            },
        )
    };
    let mut frames = Vec::new();
    if let Some(tool) = answer.builtin {
        let in_progress = PartOut {
            tool_execution: Some(json!({"name": tool.key(), "seconds_left": 0})),
            ..PartOut::default()
        };
        frames.push(event_frame(
            TOOL_IN_PROGRESS,
            &Completion {
                messages: vec![message("assistant", None, vec![in_progress])],
                ..head.clone()
            },
        ));
        let completed = PartOut {
            tool_execution: Some(
                json!({"name": tool.key(), "status": "success", "censored": false}),
            ),
            ..PartOut::default()
        };
        frames.push(event_frame(
            TOOL_COMPLETED,
            &Completion {
                messages: vec![message("reasoning", None, vec![completed])],
                ..head.clone()
            },
        ));
    }
    let mut done = Completion {
        finish_reason: Some(answer.finish_reason),
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
            answer.state_id.as_deref(),
            call_parts(answer, ids),
        )];
        frames.push(event_frame(MESSAGE_DONE, &done));
        return frames;
    }
    let mut state_id = answer.state_id.as_deref();
    for piece in split_chars(answer.reasoning.as_deref().unwrap_or(""), chunk_size) {
        frames.push(with(vec![message(
            "reasoning",
            None,
            vec![text_part(piece)],
        )]));
    }
    if let Some(files) = files_part(answer) {
        frames.push(with(vec![message(
            "assistant",
            state_id.take(),
            vec![files],
        )]));
    }
    let pieces = answer.text_pieces(chunk_size);
    let count = pieces.len();
    for (i, piece) in pieces.into_iter().enumerate() {
        let part = PartOut {
            text: Some(piece),
            inline_data: answer.inline_data.as_ref().filter(|_| i + 1 == count),
            ..PartOut::default()
        };
        frames.push(with(vec![message(
            "assistant",
            state_id.take(),
            vec![part],
        )]));
    }
    frames.push(event_frame(MESSAGE_DONE, &done));
    frames
}
