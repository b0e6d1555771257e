//! v1 chat: `POST {prefix}/chat/completions` (§3), JSON and `data:`-only SSE.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use crate::builtins;
use crate::control::MockControl;
use crate::http::{ApiError, header_str, json_response, parse_body, unix_secs};
use crate::reply::{Answer, Builtin, ChatView, FunctionMode, Plan, plan, split_chars};
use crate::stream::{DONE_FRAME, data_frame, frame_delay, sse_response};
use crate::tokens::count_tokens;
use crate::validate;
use crate::wire::common::CustomFunction;
use crate::wire::v1::{
    CallOut, ChatRequest, Choice, Chunk, ChunkChoice, Completion, Delta, FunctionChoice, Keyword,
    OBJECT, Role, Usage,
};

/// Per-message overhead added to prompt token counts.
pub(crate) const MESSAGE_OVERHEAD_TOKENS: u64 = 3;

/// v1 built-in function names (§3.3).
const V1_BUILTINS: [&str; 3] = ["text2image", "text2model3d", "get_file_content"];

fn prompt_tokens(req: &ChatRequest) -> u64 {
    let messages: u64 = req
        .messages
        .iter()
        .map(|m| {
            let call = m
                .function_call
                .as_ref()
                .map(|c| count_tokens(&c.name) + count_tokens(&c.arguments.to_string()))
                .unwrap_or(0);
            count_tokens(&m.content) + call + MESSAGE_OVERHEAD_TOKENS
        })
        .sum();
    let functions: u64 = req
        .functions
        .iter()
        .map(|f| count_tokens(&serde_json::to_string(f).unwrap_or_default()))
        .sum();
    messages + functions
}

fn mode(req: &ChatRequest) -> Result<FunctionMode<'_>, ApiError> {
    Ok(match &req.function_call {
        None | Some(FunctionChoice::Keyword(Keyword::Auto)) => FunctionMode::Auto,
        Some(FunctionChoice::Keyword(Keyword::None)) => FunctionMode::None,
        Some(FunctionChoice::Forced {
            name,
            partial_arguments,
        }) => {
            if name == "text2image" {
                FunctionMode::ForcedBuiltin(Builtin::ImageGenerate)
            } else {
                let described = req.functions.iter().any(|f| &f.name == name);
                if !described && !V1_BUILTINS.contains(&name.as_str()) {
                    // [U] text
                    return Err(ApiError::invalid_params(format!(
                        "function {name} is not described in functions"
                    )));
                }
                FunctionMode::ForcedFunction(name, partial_arguments.as_ref())
            }
        }
    })
}

/// `POST /chat/completions`.
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
    let req: ChatRequest =
        serde_json::from_value(parse_body(&body)?).map_err(|_| ApiError::invalid_json())?;
    let spec = snap
        .model_of_kind(&req.model, "chat")
        .ok_or_else(ApiError::no_such_model)?;
    validate::check_sampling(
        req.temperature,
        req.repetition_penalty,
        cfg.validate_temperature,
    )?;
    if req.max_tokens == Some(0) {
        // [U] text
        return Err(ApiError::invalid_params(
            "max_tokens must be in range (0, +inf)",
        ));
    }
    validate::check_v1_messages(&req.messages)?;
    let functions: Vec<&CustomFunction> = req.functions.iter().collect();
    validate::check_functions(&functions)?;
    if let Some(rf) = &req.response_format {
        validate::check_response_format(&rf.kind, rf.schema.is_some(), None, false)?;
    }
    let last = req.messages.last();
    let view = ChatView {
        model: &req.model,
        last_user_text: req
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.as_str()),
        last_result: last
            .filter(|m| m.role == Role::Function)
            .map(|m| (m.name.as_deref().unwrap_or(""), m.content.clone())),
        functions: functions
            .iter()
            .copied()
            .filter(|f| !V1_BUILTINS.contains(&f.name.as_str()))
            .collect(),
        mode: mode(&req)?,
        json_schema: req
            .response_format
            .as_ref()
            .filter(|rf| rf.kind == "json_schema")
            .and_then(|rf| rf.schema.as_ref()),
        regex: None,
        builtins: Vec::new(),
    };
    let answer = match plan(shared, &view) {
        Plan::Reply(reply) => Answer::from_reply(reply, req.max_tokens),
        Plan::Builtin(tool) => builtins::run(
            shared,
            tool,
            header_str(&headers, "x-client-id"),
            view.last_user_text,
            req.max_tokens,
        ),
    };
    let prompt = prompt_tokens(&req);
    let usage = Usage {
        prompt_tokens: prompt,
        completion_tokens: answer.completion_tokens,
        total_tokens: prompt + answer.completion_tokens,
        precached_prompt_tokens: cfg.precached_tokens.min(prompt),
    };
    let model = format!("{}:{}", spec.id, spec.version);
    let created = unix_secs();
    if req.stream {
        let frames = stream_frames(&answer, &model, created, usage, cfg.chunk_size);
        let delay = frame_delay(
            cfg.chunk_delay,
            req.update_interval,
            cfg.honour_update_interval,
        );
        return Ok(sse_response(shared, frames, true, delay));
    }
    let content = content_text(&answer);
    let resp = Completion {
        choices: [Choice {
            message: full_message(&answer, &content),
            index: 0,
            finish_reason: answer.finish_reason,
        }],
        created,
        model: &model,
        object: OBJECT,
        usage,
    };
    Ok(json_response(StatusCode::OK, &resp))
}

/// Text content, with generated images as `<img src="…" fuse="true"/>` (§3.5).
fn content_text(answer: &Answer) -> String {
    let mut text = String::new();
    for f in &answer.files {
        text.push_str(&format!("<img src=\"{}\" fuse=\"true\"/> ", f.id));
    }
    text.push_str(&answer.text);
    text
}

fn first_call(answer: &Answer) -> Option<CallOut<'_>> {
    answer.calls.first().map(|c| CallOut {
        name: &c.name,
        arguments: &c.arguments,
    })
}

fn full_message<'a>(answer: &'a Answer, content: &'a str) -> Delta<'a> {
    Delta {
        content: Some(content),
        reasoning_content: answer.reasoning.as_deref(),
        role: Some("assistant"),
        function_call: first_call(answer),
        functions_state_id: answer.state_id.as_deref(),
    }
}

fn chunk<'a>(
    delta: Delta<'a>,
    finish_reason: Option<&'a str>,
    model: &'a str,
    created: i64,
    usage: Option<Usage>,
) -> Chunk<'a> {
    Chunk {
        choices: [ChunkChoice {
            delta,
            index: 0,
            finish_reason,
        }],
        created,
        model,
        object: OBJECT,
        usage,
    }
}

/// The v1 stream: reasoning pieces, content pieces (role on the first only), a final
/// chunk with `content:""`, `finish_reason` and `usage`, then `[DONE]`. A function
/// call arrives whole in one chunk.
pub(crate) fn stream_frames(
    answer: &Answer,
    model: &str,
    created: i64,
    usage: Usage,
    chunk_size: usize,
) -> Vec<Bytes> {
    let mut frames = Vec::new();
    if !answer.calls.is_empty() {
        let delta = full_message(answer, "");
        frames.push(data_frame(&chunk(
            delta,
            Some(answer.finish_reason),
            model,
            created,
            Some(usage),
        )));
        frames.push(Bytes::from_static(DONE_FRAME));
        return frames;
    }
    let text = content_text(answer);
    let pieces = if answer.files.is_empty() {
        answer.text_pieces(chunk_size)
    } else {
        split_chars(&text, chunk_size)
    };
    let reasoning = answer.reasoning.as_deref().unwrap_or("");
    let mut deltas: Vec<Delta<'_>> = split_chars(reasoning, chunk_size)
        .into_iter()
        .map(|piece| Delta {
            reasoning_content: Some(piece),
            ..Delta::default()
        })
        .chain(pieces.into_iter().map(|piece| Delta {
            content: Some(piece),
            ..Delta::default()
        }))
        .collect();
    if deltas.is_empty() {
        deltas.push(Delta {
            content: Some(""),
            ..Delta::default()
        });
    }
    if let Some(first) = deltas.first_mut() {
        first.role = Some("assistant");
        first.functions_state_id = answer.state_id.as_deref();
    }
    frames.extend(
        deltas
            .into_iter()
            .map(|d| data_frame(&chunk(d, None, model, created, None))),
    );
    let last = Delta {
        content: Some(""),
        ..Delta::default()
    };
    frames.push(data_frame(&chunk(
        last,
        Some(answer.finish_reason),
        model,
        created,
        Some(usage),
    )));
    frames.push(Bytes::from_static(DONE_FRAME));
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Reply;

    fn usage() -> Usage {
        Usage {
            prompt_tokens: 17,
            completion_tokens: 25,
            total_tokens: 42,
            precached_prompt_tokens: 2,
        }
    }

    #[test]
    fn reasoning_streams_before_content() {
        let answer = Answer::from_reply(Reply::reasoning("abcd", "xy"), None);
        let frames = stream_frames(&answer, "m", 1, usage(), 2);
        let texts: Vec<String> = frames
            .iter()
            .map(|f| String::from_utf8(f.to_vec()).unwrap())
            .collect();
        assert!(texts[0].contains(r#"{"reasoning_content":"ab","role":"assistant"}"#));
        assert!(texts[1].contains(r#"{"reasoning_content":"cd"}"#));
        assert!(texts[2].contains(r#"{"content":"xy"}"#));
        assert_eq!(frames.len(), 5);
    }
}
