//! v1 chat: `POST {prefix}/chat/completions` (§3), JSON and `data:`-only SSE.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use gigachat::types::v1;

use crate::builtins;
use crate::control::MockControl;
use crate::http::{ApiError, header_str, json_response, parse_body, unix_secs};
use crate::reply::{Answer, Builtin, ChatView, FunctionMode, Plan, plan, split_chars};
use crate::stream::{DONE_FRAME, data_frame, frame_delay, sse_response};
use crate::tokens::count_tokens;
use crate::validate;

/// Per-message overhead added to prompt token counts.
pub(crate) const MESSAGE_OVERHEAD_TOKENS: u64 = 3;

/// v1 built-in function names (§3.3).
const V1_BUILTINS: [&str; 3] = ["text2image", "text2model3d", "get_file_content"];

fn prompt_tokens(req: &v1::ChatRequest) -> u64 {
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
        .flatten()
        .map(|f| count_tokens(&serde_json::to_string(f).unwrap_or_default()))
        .sum();
    messages + functions
}

fn mode<'a>(req: &'a v1::ChatRequest) -> Result<FunctionMode<'a>, ApiError> {
    Ok(match &req.function_call {
        None | Some(v1::FunctionCallMode::Mode(v1::FunctionCallKeyword::Auto)) => {
            FunctionMode::Auto
        }
        Some(v1::FunctionCallMode::Mode(v1::FunctionCallKeyword::None)) => FunctionMode::None,
        Some(v1::FunctionCallMode::Named {
            name,
            partial_arguments,
        }) => {
            if name == "text2image" {
                FunctionMode::ForcedBuiltin(Builtin::ImageGenerate)
            } else {
                let described = req.functions.iter().flatten().any(|f| &f.name == name);
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
    let req: v1::ChatRequest =
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
    let functions: Vec<&v1::Function> = req.functions.iter().flatten().collect();
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
            .find(|m| m.role == v1::Role::User)
            .map(|m| m.content.as_str()),
        last_result: last
            .filter(|m| m.role == v1::Role::Function)
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
    let usage = v1::Usage {
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
    let resp = v1::ChatResponse {
        choices: vec![v1::Choice {
            message: full_message(&answer),
            index: 0,
            finish_reason: Some(answer.finish_reason.to_string()),
        }],
        created,
        model,
        object: "chat.completion".into(),
        usage: Some(usage),
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

fn first_call(answer: &Answer) -> Option<v1::FunctionCall> {
    answer.calls.first().map(|c| v1::FunctionCall {
        name: c.name.clone(),
        arguments: c.arguments.clone(),
    })
}

fn full_message(answer: &Answer) -> v1::ResponseMessage {
    v1::ResponseMessage {
        content: Some(content_text(answer)),
        reasoning_content: answer.reasoning.clone(),
        role: Some(v1::Role::Assistant),
        function_call: first_call(answer),
        functions_state_id: answer.state_id.clone(),
        name: None,
    }
}

fn chunk(
    delta: v1::ResponseMessage,
    finish_reason: Option<&str>,
    model: &str,
    created: i64,
    usage: Option<v1::Usage>,
) -> v1::ChatChunk {
    v1::ChatChunk {
        choices: vec![v1::ChunkChoice {
            delta,
            index: 0,
            finish_reason: finish_reason.map(str::to_owned),
        }],
        created,
        model: model.to_string(),
        object: "chat.completion".into(),
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
    usage: v1::Usage,
    chunk_size: usize,
) -> Vec<Bytes> {
    let mut frames = Vec::new();
    if !answer.calls.is_empty() {
        let delta = v1::ResponseMessage {
            content: Some(String::new()),
            ..full_message(answer)
        };
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
    let reasoning = answer.reasoning.as_deref().unwrap_or("");
    let mut deltas: Vec<v1::ResponseMessage> = split_chars(reasoning, chunk_size)
        .into_iter()
        .map(|piece| v1::ResponseMessage {
            reasoning_content: Some(piece.to_string()),
            ..Default::default()
        })
        .chain(
            split_chars(&text, chunk_size)
                .into_iter()
                .map(|piece| v1::ResponseMessage {
                    content: Some(piece.to_string()),
                    ..Default::default()
                }),
        )
        .collect();
    if deltas.is_empty() {
        deltas.push(v1::ResponseMessage {
            content: Some(String::new()),
            ..Default::default()
        });
    }
    if let Some(first) = deltas.first_mut() {
        first.role = Some(v1::Role::Assistant);
        first.functions_state_id = answer.state_id.clone();
    }
    frames.extend(
        deltas
            .into_iter()
            .map(|d| data_frame(&chunk(d, None, model, created, None))),
    );
    let last = v1::ResponseMessage {
        content: Some(String::new()),
        ..Default::default()
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

    fn usage() -> v1::Usage {
        v1::Usage {
            prompt_tokens: 17,
            completion_tokens: 25,
            total_tokens: 42,
            precached_prompt_tokens: 2,
        }
    }

    #[test]
    fn stream_matches_recorded_framing() {
        // test_astream_simple.yaml: one content chunk, final chunk, [DONE].
        let answer = Answer::from_reply(
            Reply::text("$1\\, 2\\, 3$  \n\nПодробный пошаговый вывод чисел от 1 до 3."),
            None,
        );
        let frames = stream_frames(&answer, "GigaChat:2.0.28.2", 1768996178, usage(), 1000);
        let joined: Vec<u8> = frames.iter().flat_map(|f| f.to_vec()).collect();
        let expected = "data: {\"choices\":[{\"delta\":{\"content\":\"$1\\\\, 2\\\\, 3$  \\n\\nПодробный пошаговый вывод чисел от 1 до 3.\",\"role\":\"assistant\"},\"index\":0}],\"created\":1768996178,\"model\":\"GigaChat:2.0.28.2\",\"object\":\"chat.completion\"}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"\"},\"index\":0,\"finish_reason\":\"stop\"}],\"created\":1768996178,\"model\":\"GigaChat:2.0.28.2\",\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":25,\"total_tokens\":42,\"precached_prompt_tokens\":2}}\n\ndata: [DONE]\n\n";
        assert_eq!(String::from_utf8(joined).unwrap(), expected);
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
