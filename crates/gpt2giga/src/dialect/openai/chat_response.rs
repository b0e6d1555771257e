//! `ir::Event`s → OpenAI Chat Completions. One [`CompletionEncoder`] per answer writes
//! the `chat.completion.chunk` SSE frames and keeps the `chat.completion` object they add
//! up to (what the SDK's `ChatCompletionStreamState` accumulates); a JSON answer is that
//! object.
//!
//! The accumulation both outputs share: `content` is the text, `null` for an answer of
//! tool calls only; an answer with neither text nor tool calls (empty, or only
//! reasoning) has `content: ""`, sent with the finish chunk. `reasoning_content` is the
//! reasoning (absent without any); tool calls keep their arrival order and indexes.

use bytes::{BufMut, BytesMut};
use serde::Serialize;

use super::chat_request::EncodeOptions;
use crate::error::ProxyError;
use crate::ir::{Citation, Event, FinishReason, ToolCall, Usage};

/// A byte span of `text` as character indexes (`None` off `char` boundaries or bounds).
pub(crate) fn char_span(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    if start >= end || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return None;
    }
    let s = text.get(..start)?.chars().count();
    Some((s, s + text.get(start..end)?.chars().count()))
}

pub(crate) fn completion_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

pub(crate) fn now_secs() -> i64 {
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
struct ToolCallOut<S> {
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    id: S,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<S>,
}

#[derive(Serialize)]
struct FunctionOut<S> {
    name: S,
    arguments: S,
}

// ---- the JSON answer ----------------------------------------------------------------------

/// A `chat.completion` object.
#[derive(Serialize)]
pub struct Completion {
    id: String,
    object: &'static str,
    created: i64,
    model: String,
    choices: [Choice; 1],
    usage: UsageOut,
    system_fingerprint: Option<&'static str>,
}

#[derive(Serialize)]
struct Choice {
    index: u32,
    message: MessageOut,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct MessageOut {
    role: &'static str,
    content: Option<String>,
    refusal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCallOut<String>>,
    annotations: Vec<Annotation>,
}

/// A `url_citation` annotation: `start_index`/`end_index` count characters of
/// `content`.
#[derive(Serialize, Clone)]
struct Annotation {
    #[serde(rename = "type")]
    kind: &'static str,
    url_citation: UrlCitation,
}

#[derive(Serialize, Clone)]
struct UrlCitation {
    start_index: usize,
    end_index: usize,
    url: String,
    title: String,
}

// ---- stream frames ------------------------------------------------------------------------

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: i64,
    model: &'a str,
    /// Always empty here (the usage chunk); one-choice frames are written by
    /// [`CompletionEncoder::delta`].
    choices: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<UsageOut>,
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
    tool_calls: Option<[ToolCallOut<&'a str>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<&'a [Annotation]>,
}

/// The constant start of every one-choice chunk frame of an answer, up to the delta.
fn frame_head(id: &str, created: i64, model: &str) -> Vec<u8> {
    let mut head = Vec::with_capacity(128 + id.len() + model.len());
    head.extend_from_slice(b"data: {\"id\":");
    // Strings are escaped by serde_json itself, so the head is what it would write.
    let _ = serde_json::to_writer(&mut head, id);
    head.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
    head.extend_from_slice(created.to_string().as_bytes());
    head.extend_from_slice(b",\"model\":");
    let _ = serde_json::to_writer(&mut head, model);
    head.extend_from_slice(b",\"choices\":[{\"index\":0,\"delta\":");
    head
}

// ---- the encoder --------------------------------------------------------------------------

/// Per-answer state: ids, whether the role was sent, and the message so far.
pub struct CompletionEncoder {
    id: String,
    created: i64,
    /// `data: {"id":…,"choices":[{"index":0,"delta":` of this answer, encoded on the
    /// first stream frame.
    frame_head: Vec<u8>,
    opts: EncodeOptions,
    role_sent: bool,
    content: Option<String>,
    reasoning: Option<String>,
    tool_calls: Vec<ToolCall>,
    annotations: Vec<Annotation>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
}

impl CompletionEncoder {
    pub fn new(opts: EncodeOptions) -> Self {
        Self {
            id: completion_id(),
            created: now_secs(),
            frame_head: Vec::new(),
            opts,
            role_sent: false,
            content: None,
            reasoning: None,
            tool_calls: Vec::new(),
            annotations: Vec::new(),
            usage: None,
            finish: None,
        }
    }

    /// Citations of the content as `url_citation` annotations (byte spans → character
    /// indexes of the text sent).
    fn cite(&mut self, citations: Vec<Citation>, out: Option<&mut BytesMut>) {
        let content = self.content.as_deref().unwrap_or("");
        let added: Vec<Annotation> = citations
            .into_iter()
            .filter_map(|c| {
                let (start, end) = char_span(content, c.start, c.end)?;
                Some(Annotation {
                    kind: "url_citation",
                    url_citation: UrlCitation {
                        start_index: start,
                        end_index: end,
                        title: c.source.title.unwrap_or_else(|| c.source.url.clone()),
                        url: c.source.url,
                    },
                })
            })
            .collect();
        if added.is_empty() {
            return;
        }
        if let Some(out) = out {
            let delta = Delta {
                annotations: Some(&added),
                ..Default::default()
            };
            self.delta(out, delta, None);
        }
        self.annotations.extend(added);
    }

    /// A chunk frame with no choice (the usage chunk).
    fn usage_frame(&self, out: &mut BytesMut, usage: UsageOut) {
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.opts.model,
            choices: [],
            usage: Some(usage),
        };
        out.put_slice(b"data: ");
        if serde_json::to_writer((&mut *out).writer(), &chunk).is_err() {
            out.put_slice(b"{}");
        }
        out.put_slice(b"\n\n");
    }

    /// A one-choice chunk frame. Everything but the delta and the finish reason is the
    /// same in every frame of the answer, so it is encoded once ([`Self::frame_head`])
    /// and copied; the bytes are exactly those of serialising [`Chunk`] with one
    /// choice (a unit test holds the two together).
    fn delta(&mut self, out: &mut BytesMut, mut delta: Delta<'_>, finish: Option<&'static str>) {
        if !self.role_sent {
            delta.role = Some("assistant");
            self.role_sent = true;
        }
        if self.frame_head.is_empty() {
            self.frame_head = frame_head(&self.id, self.created, &self.opts.model);
        }
        out.reserve(self.frame_head.len() + 96);
        out.put_slice(&self.frame_head);
        if serde_json::to_writer((&mut *out).writer(), &delta).is_err() {
            out.put_slice(b"{}");
        }
        out.put_slice(b",\"logprobs\":null,\"finish_reason\":");
        match finish {
            None => out.put_slice(b"null"),
            Some(reason) => {
                out.put_u8(b'"');
                out.put_slice(reason.as_bytes());
                out.put_u8(b'"');
            }
        }
        out.put_slice(b"}]}\n\n");
    }

    /// The finish chunk (once): it carries `content: ""` when the answer has neither
    /// text nor tool calls, so the accumulated message has the JSON answer's content.
    fn finish_with(&mut self, reason: FinishReason, out: Option<&mut BytesMut>) {
        if self.finish.is_some() {
            return;
        }
        let empty = self.content.is_none() && self.tool_calls.is_empty();
        if empty {
            self.content = Some(String::new());
        }
        if let Some(out) = out {
            let delta = Delta {
                content: empty.then_some(""),
                ..Default::default()
            };
            self.delta(out, delta, Some(finish_str(&reason)));
        }
        self.finish = Some(reason);
    }
}

impl crate::dialect::encoder::Encoder for CompletionEncoder {
    type Object = Completion;

    fn event(&mut self, event: Event, out: Option<&mut BytesMut>) {
        match event {
            Event::Text(t) => {
                if let Some(out) = out {
                    let delta = Delta {
                        content: Some(&t),
                        ..Default::default()
                    };
                    self.delta(out, delta, None);
                }
                self.content.get_or_insert_default().push_str(&t);
            }
            Event::Reasoning(r) => {
                if let Some(out) = out {
                    let delta = Delta {
                        reasoning_content: Some(&r),
                        ..Default::default()
                    };
                    self.delta(out, delta, None);
                }
                self.reasoning.get_or_insert_default().push_str(&r);
            }
            Event::ToolCall(c) => {
                if let Some(out) = out {
                    let delta = Delta {
                        tool_calls: Some([tool_call_out(&c, self.tool_calls.len())]),
                        ..Default::default()
                    };
                    self.delta(out, delta, None);
                }
                self.tool_calls.push(c);
            }
            Event::Citations(c) => self.cite(c, out),
            // Chat Completions has no item for a built-in tool run: an SSE comment (which
            // clients skip) shows the stream is alive while GigaChat works.
            Event::BuiltinStarted(b) | Event::BuiltinProgress(b) => {
                if let Some(out) = out {
                    out.put_slice(b": ");
                    out.put_slice(crate::upstream::request::builtin_key(b.kind).as_bytes());
                    out.put_slice(b" in progress\n\n");
                }
            }
            Event::BuiltinDone(_) => {}
            Event::Usage(u) => self.usage = Some(u),
            Event::Finish(f) => self.finish_with(f, out),
        }
    }

    /// Closing frames: a finish chunk if none was sent, the usage chunk when asked for,
    /// then `[DONE]`.
    fn end(&mut self, mut out: Option<&mut BytesMut>) {
        self.finish_with(FinishReason::Stop, out.as_deref_mut());
        if let Some(out) = out {
            if self.opts.include_usage {
                let usage = usage_out(&self.usage.unwrap_or_default());
                self.usage_frame(out, usage);
            }
            out.put_slice(b"data: [DONE]\n\n");
        }
    }

    /// A failure after the stream started: an error frame, then a clean end.
    fn fail(&mut self, e: &ProxyError, out: &mut BytesMut) {
        out.put_slice(b"data: ");
        out.put_slice(&super::error::body(e));
        out.put_slice(b"\n\n");
        out.put_slice(b"data: [DONE]\n\n");
    }

    /// The `chat.completion` object.
    fn finish(self) -> Completion {
        let finish = self.finish.as_ref().unwrap_or(&FinishReason::Stop);
        Completion {
            id: self.id,
            object: "chat.completion",
            created: self.created,
            model: self.opts.model,
            choices: [Choice {
                index: 0,
                message: MessageOut {
                    role: "assistant",
                    content: self.content,
                    refusal: None,
                    reasoning_content: self.reasoning,
                    annotations: self.annotations,
                    tool_calls: self
                        .tool_calls
                        .into_iter()
                        .map(|c| ToolCallOut {
                            index: None,
                            id: c.id,
                            kind: "function",
                            function: FunctionOut {
                                name: c.name,
                                arguments: c.arguments,
                            },
                        })
                        .collect(),
                },
                logprobs: None,
                finish_reason: finish_str(finish),
            }],
            usage: usage_out(&self.usage.unwrap_or_default()),
            system_fingerprint: None,
        }
    }
}

fn tool_call_out(c: &ToolCall, index: usize) -> ToolCallOut<&str> {
    ToolCallOut {
        index: Some(index),
        id: &c.id,
        kind: "function",
        function: FunctionOut {
            name: &c.name,
            arguments: &c.arguments,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::encoder::Encoder;
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

    /// The frames as the whole chunk object serialised by serde (the encoding before
    /// the frame head was pre-encoded): the fast path must write the same bytes.
    #[derive(Serialize)]
    struct RefChunk<'a> {
        id: &'a str,
        object: &'static str,
        created: i64,
        model: &'a str,
        choices: [RefChoice<'a>; 1],
    }

    #[derive(Serialize)]
    struct RefChoice<'a> {
        index: u32,
        delta: Delta<'a>,
        logprobs: Option<()>,
        finish_reason: Option<&'static str>,
    }

    #[test]
    fn pre_encoded_frames_equal_the_serialised_chunk() {
        let model = "Giga\"Chat\u{1}/модель";
        let mut enc = CompletionEncoder::new(EncodeOptions {
            model: model.into(),
            include_usage: false,
        });
        let call = ToolCall {
            id: "call_1".into(),
            name: "f".into(),
            arguments: "{\"a\":\"\\n\"}".into(),
        };
        let cases: Vec<(Delta<'_>, Option<&'static str>)> = vec![
            (
                Delta {
                    content: Some("he said \"hi\"\n\u{7}"),
                    ..Default::default()
                },
                None,
            ),
            (
                Delta {
                    reasoning_content: Some("ok"),
                    ..Default::default()
                },
                None,
            ),
            (
                Delta {
                    tool_calls: Some([tool_call_out(&call, 0)]),
                    ..Default::default()
                },
                None,
            ),
            (
                Delta {
                    content: Some(""),
                    ..Default::default()
                },
                Some("stop"),
            ),
        ];
        for (i, (delta, finish)) in cases.into_iter().enumerate() {
            let mut expected_delta = Delta {
                role: (i == 0).then_some("assistant"),
                content: delta.content,
                reasoning_content: delta.reasoning_content,
                tool_calls: None,
                annotations: None,
            };
            if delta.tool_calls.is_some() {
                expected_delta.tool_calls = Some([tool_call_out(&call, 0)]);
            }
            let reference = RefChunk {
                id: &enc.id,
                object: "chat.completion.chunk",
                created: enc.created,
                model,
                choices: [RefChoice {
                    index: 0,
                    delta: expected_delta,
                    logprobs: None,
                    finish_reason: finish,
                }],
            };
            let expected = format!("data: {}\n\n", serde_json::to_string(&reference).unwrap());
            let mut out = BytesMut::new();
            enc.delta(&mut out, delta, finish);
            assert_eq!(std::str::from_utf8(&out).unwrap(), expected, "case {i}");
        }
    }

    #[test]
    fn stream_grammar() {
        let mut enc = CompletionEncoder::new(opts(true));
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
                web_searches: 0,
            }),
            Event::Finish(FinishReason::ToolCalls),
        ] {
            enc.event(e, Some(&mut out));
        }
        enc.end(Some(&mut out));
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

    /// The JSON answer: the same encoder without frame output.
    fn completion(events: impl IntoIterator<Item = Event>) -> Value {
        let mut enc = CompletionEncoder::new(opts(false));
        for e in events {
            enc.event(e, None);
        }
        enc.end(None);
        serde_json::to_value(enc.finish()).unwrap()
    }

    #[test]
    fn completion_object() {
        let v = completion([
            Event::Text("hi".into()),
            Event::Finish(FinishReason::StopSequence("x".into())),
        ]);
        assert_eq!(v["object"], "chat.completion");
        assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert_eq!(v["choices"][0]["message"]["content"], "hi");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        assert!(v["choices"][0]["message"].get("tool_calls").is_none());
        let v = completion([
            Event::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }),
            Event::Finish(FinishReason::ToolCalls),
        ]);
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
    fn reasoning_only_has_empty_content_in_both_outputs() {
        let events = [
            Event::Reasoning("hmm".into()),
            Event::Finish(FinishReason::Length),
        ];
        let mut enc = CompletionEncoder::new(opts(false));
        let mut out = BytesMut::new();
        for e in events.clone() {
            enc.event(e, Some(&mut out));
        }
        enc.end(Some(&mut out));
        let f = frames(&out);
        assert_eq!(
            f[0]["choices"][0]["delta"],
            json!({"role":"assistant","reasoning_content":"hmm"})
        );
        assert_eq!(f[1]["choices"][0]["delta"], json!({"content":""}));
        assert_eq!(f[1]["choices"][0]["finish_reason"], "length");
        let streamed = serde_json::to_value(enc.finish()).unwrap();
        let v = completion(events);
        assert_eq!(v["choices"][0]["message"]["content"], "");
        assert_eq!(v["choices"][0]["message"]["reasoning_content"], "hmm");
        assert_eq!(v["choices"], streamed["choices"]);
    }

    #[test]
    fn error_frame_then_done() {
        let mut enc = CompletionEncoder::new(opts(false));
        let mut out = BytesMut::new();
        enc.fail(&ProxyError::invalid("boom"), &mut out);
        let f = frames(&out);
        assert_eq!(f[0]["error"]["message"], "boom");
        assert_eq!(f[1], "[DONE]");
    }
}
