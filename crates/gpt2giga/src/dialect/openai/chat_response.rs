//! `ir::Event`s → OpenAI Chat Completions: one JSON object (the fold) or
//! `chat.completion.chunk` SSE frames.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

use super::chat_request::EncodeOptions;
use crate::error::ProxyError;
use crate::ir::{Answer, Event, FinishReason, ToolCall, Usage};

pub fn completion_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn finish_str(f: &FinishReason) -> &'static str {
    match f {
        FinishReason::Stop | FinishReason::StopSequence(_) => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

#[derive(Serialize)]
struct UsageOut {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        prompt_tokens: u.input_tokens,
        completion_tokens: u.output_tokens,
        total_tokens: u.total(),
        prompt_tokens_details: PromptDetails {
            cached_tokens: u.cached_tokens,
            audio_tokens: 0,
        },
        completion_tokens_details: CompletionDetails {
            reasoning_tokens: u.reasoning_tokens.unwrap_or(0),
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
        },
    }
}

#[derive(Serialize)]
struct ToolCallOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    name: &'a str,
    arguments: &'a str,
}

fn tool_call_out(c: &ToolCall, index: Option<usize>) -> ToolCallOut<'_> {
    ToolCallOut {
        index,
        id: &c.id,
        kind: "function",
        function: FunctionOut {
            name: &c.name,
            arguments: &c.arguments,
        },
    }
}

// ---- non-streaming ------------------------------------------------------------------------

#[derive(Serialize)]
struct Completion<'a> {
    id: String,
    object: &'static str,
    created: i64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageOut>,
    system_fingerprint: Option<&'static str>,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: MessageOut<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct MessageOut<'a> {
    role: &'static str,
    content: Option<&'a str>,
    refusal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCallOut<'a>>,
    annotations: [(); 0],
}

/// The whole answer as a `chat.completion` object.
pub fn completion(answer: &Answer, opts: &EncodeOptions) -> Bytes {
    let finish = answer.finish.as_ref().unwrap_or(&FinishReason::Stop);
    let content = if answer.text.is_empty() && !answer.tool_calls.is_empty() {
        None
    } else {
        Some(answer.text.as_str())
    };
    let body = Completion {
        id: completion_id(),
        object: "chat.completion",
        created: now_secs(),
        model: &opts.model,
        choices: [Choice {
            index: 0,
            message: MessageOut {
                role: "assistant",
                content,
                refusal: None,
                reasoning_content: (!answer.reasoning.is_empty())
                    .then_some(answer.reasoning.as_str()),
                tool_calls: answer
                    .tool_calls
                    .iter()
                    .map(|c| tool_call_out(c, None))
                    .collect(),
                annotations: [],
            },
            logprobs: None,
            finish_reason: finish_str(finish),
        }],
        usage: Some(usage_out(&answer.usage.unwrap_or_default())),
        system_fingerprint: None,
    };
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

// ---- streaming ----------------------------------------------------------------------------

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: i64,
    model: &'a str,
    choices: &'a [ChunkChoice<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageOut>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallOut<'a>; 1]>,
}

/// Per-stream state: ids, whether the role was sent, tool-call indexes, usage.
pub struct ChunkEncoder {
    id: String,
    created: i64,
    opts: EncodeOptions,
    role_sent: bool,
    tool_index: usize,
    usage: Option<Usage>,
    finished: bool,
}

impl ChunkEncoder {
    pub fn new(opts: EncodeOptions) -> Self {
        Self {
            id: completion_id(),
            created: now_secs(),
            opts,
            role_sent: false,
            tool_index: 0,
            usage: None,
            finished: false,
        }
    }

    fn frame(&self, out: &mut BytesMut, choices: &[ChunkChoice<'_>], usage: Option<UsageOut>) {
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.opts.model,
            choices,
            usage,
        };
        out.put_slice(b"data: ");
        if serde_json::to_writer((&mut *out).writer(), &chunk).is_err() {
            out.put_slice(b"{}");
        }
        out.put_slice(b"\n\n");
    }

    fn delta(&mut self, out: &mut BytesMut, mut delta: Delta<'_>, finish: Option<&'static str>) {
        if !self.role_sent {
            delta.role = Some("assistant");
            self.role_sent = true;
        }
        let choice = ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: finish,
        };
        self.frame(out, std::slice::from_ref(&choice), None);
    }
}

impl crate::dialect::sse::SseEncoder for ChunkEncoder {
    /// Encodes one event into SSE bytes.
    fn event(&mut self, event: Event, out: &mut BytesMut) {
        match &event {
            Event::Text(t) => self.delta(
                out,
                Delta {
                    content: Some(t),
                    ..Default::default()
                },
                None,
            ),
            Event::Reasoning(r) => self.delta(
                out,
                Delta {
                    reasoning_content: Some(r),
                    ..Default::default()
                },
                None,
            ),
            Event::ToolCall(c) => {
                let index = self.tool_index;
                self.tool_index += 1;
                self.delta(
                    out,
                    Delta {
                        tool_calls: Some([tool_call_out(c, Some(index))]),
                        ..Default::default()
                    },
                    None,
                );
            }
            Event::Usage(u) => self.usage = Some(*u),
            Event::Finish(f) => {
                if !self.finished {
                    self.finished = true;
                    self.delta(out, Delta::default(), Some(finish_str(f)));
                }
            }
        }
    }

    /// Closing frames: a finish chunk if none was sent, the usage chunk when asked for,
    /// then `[DONE]`.
    fn end(&mut self, out: &mut BytesMut) {
        if !self.finished {
            self.event(Event::Finish(FinishReason::Stop), out);
        }
        if self.opts.include_usage {
            let usage = usage_out(&self.usage.unwrap_or_default());
            self.frame(out, &[], Some(usage));
        }
        out.put_slice(b"data: [DONE]\n\n");
    }

    /// A failure after the stream started: an error frame, then a clean end.
    fn fail(&mut self, e: &ProxyError, out: &mut BytesMut) {
        out.put_slice(b"data: ");
        out.put_slice(&super::error::body(e));
        out.put_slice(b"\n\n");
        out.put_slice(b"data: [DONE]\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::sse::SseEncoder;
    use serde_json::{Value, json};

    fn opts(include_usage: bool) -> EncodeOptions {
        EncodeOptions {
            model: "gpt-4o".into(),
            include_usage,
        }
    }

    fn frames(bytes: &[u8]) -> Vec<Value> {
        std::str::from_utf8(bytes)
            .unwrap()
            .split("\n\n")
            .filter(|f| !f.is_empty())
            .map(|f| {
                let d = f.strip_prefix("data: ").unwrap();
                if d == "[DONE]" {
                    Value::String("[DONE]".into())
                } else {
                    serde_json::from_str(d).unwrap()
                }
            })
            .collect()
    }

    #[test]
    fn stream_grammar() {
        let mut enc = ChunkEncoder::new(opts(true));
        let mut out = BytesMut::new();
        for e in [
            Event::Reasoning("r".into()),
            Event::Text("Hel".into()),
            Event::Text("lo".into()),
            Event::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }),
            Event::ToolCall(ToolCall {
                id: "call_2".into(),
                name: "g".into(),
                arguments: "{\"a\":1}".into(),
            }),
            Event::Usage(Usage {
                input_tokens: 5,
                output_tokens: 3,
                cached_tokens: 2,
                reasoning_tokens: None,
            }),
            Event::Finish(FinishReason::ToolCalls),
        ] {
            enc.event(e, &mut out);
        }
        enc.end(&mut out);
        let f = frames(&out);
        assert_eq!(
            f[0]["choices"][0]["delta"],
            json!({"role":"assistant","reasoning_content":"r"})
        );
        assert_eq!(f[0]["object"], "chat.completion.chunk");
        assert_eq!(f[0]["model"], "gpt-4o");
        assert_eq!(f[1]["choices"][0]["delta"], json!({"content":"Hel"}));
        assert_eq!(f[3]["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
        assert_eq!(f[4]["choices"][0]["delta"]["tool_calls"][0]["index"], 1);
        assert_eq!(
            f[4]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "{\"a\":1}"
        );
        assert_eq!(f[5]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(f[6]["choices"], json!([]));
        assert_eq!(f[6]["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
        assert_eq!(f[6]["usage"]["total_tokens"], 8);
        assert_eq!(f[7], "[DONE]");
        // One id for the whole stream.
        assert!(f[..7].iter().all(|c| c["id"] == f[0]["id"]));
    }

    #[test]
    fn completion_fold() {
        let answer = Answer::fold([
            Event::Text("hi".into()),
            Event::Finish(FinishReason::StopSequence("x".into())),
        ]);
        let v: Value = serde_json::from_slice(&completion(&answer, &opts(false))).unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert_eq!(v["choices"][0]["message"]["content"], "hi");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        assert!(v["choices"][0]["message"].get("tool_calls").is_none());
        let tool = Answer::fold([
            Event::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }),
            Event::Finish(FinishReason::ToolCalls),
        ]);
        let v: Value = serde_json::from_slice(&completion(&tool, &opts(false))).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(
            v["choices"][0]["message"]["tool_calls"][0]["type"],
            "function"
        );
        assert!(
            v["choices"][0]["message"]["tool_calls"][0]
                .get("index")
                .is_none()
        );
    }

    #[test]
    fn error_frame_then_done() {
        let mut enc = ChunkEncoder::new(opts(false));
        let mut out = BytesMut::new();
        enc.fail(&ProxyError::invalid("boom"), &mut out);
        let f = frames(&out);
        assert_eq!(f[0]["error"]["message"], "boom");
        assert_eq!(f[1], "[DONE]");
    }
}
