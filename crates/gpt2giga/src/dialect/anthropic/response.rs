//! `ir::Event`s → Anthropic Messages: one `message` object (the fold) or the SSE event
//! grammar `message_start`, (`content_block_start`, `content_block_delta`*,
//! `content_block_stop`)*, `message_delta`, `message_stop`.
//!
//! Blocks come in the order the events arrive: `thinking` (with a `signature`), `text`,
//! `tool_use` (ids `toolu_…`, input as an object). A block is closed before the next
//! one opens, so indexes only ever increase.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::Value;

use super::request::EncodeOptions;
use crate::error::ProxyError;
use crate::ir::{Answer, Event, FinishReason, ToolCall, Usage};

pub fn message_id() -> String {
    format!("msg_{}", &uuid::Uuid::new_v4().simple().to_string()[..24])
}

/// Anthropic-style tool-use id for a proxy call id (`call_x` → `toolu_x`).
pub fn tool_use_id(call_id: &str) -> String {
    match call_id.strip_prefix("call_") {
        Some(rest) => format!("toolu_{rest}"),
        None => call_id.to_string(),
    }
}

/// An opaque signature for a thinking block. Clients must echo it back unchanged; the
/// proxy drops thinking blocks from history, so it only has to be stable and non-empty.
fn signature(thinking: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in thinking.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("gpt2giga-{h:016x}")
}

fn stop_reason(f: &FinishReason) -> &'static str {
    match f {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::StopSequence(_) => "stop_sequence",
    }
}

fn stop_sequence(f: &FinishReason) -> Option<&str> {
    match f {
        FinishReason::StopSequence(s) => Some(s),
        _ => None,
    }
}

#[derive(Serialize)]
struct UsageOut {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
}

/// Anthropic counts cache reads apart from `input_tokens`.
fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        input_tokens: u.input_tokens.saturating_sub(u.cached_tokens),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: u.cached_tokens,
        output_tokens: u.output_tokens,
    }
}

fn tool_input(c: &ToolCall) -> Value {
    match serde_json::from_str::<Value>(&c.arguments) {
        Ok(Value::Object(m)) => Value::Object(m),
        Ok(other) => serde_json::json!({ "value": other }),
        Err(_) => serde_json::json!({ "raw_arguments": c.arguments }),
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Thinking {
        thinking: &'a str,
        signature: String,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        id: String,
        name: &'a str,
        input: Value,
    },
}

#[derive(Serialize)]
struct MessageOut<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<BlockOut<'a>>,
    stop_reason: Option<&'static str>,
    stop_sequence: Option<&'a str>,
    usage: UsageOut,
}

/// The whole answer as a `message` object.
pub fn message(answer: &Answer, opts: &EncodeOptions) -> Bytes {
    let mut content = Vec::new();
    if !answer.reasoning.is_empty() {
        content.push(BlockOut::Thinking {
            thinking: &answer.reasoning,
            signature: signature(&answer.reasoning),
        });
    }
    if !answer.text.is_empty() || answer.tool_calls.is_empty() {
        content.push(BlockOut::Text { text: &answer.text });
    }
    for c in &answer.tool_calls {
        content.push(BlockOut::ToolUse {
            id: tool_use_id(&c.id),
            name: &c.name,
            input: tool_input(c),
        });
    }
    let finish = answer.finish.as_ref().unwrap_or(&FinishReason::Stop);
    let body = MessageOut {
        id: message_id(),
        kind: "message",
        role: "assistant",
        model: &opts.model,
        content,
        stop_reason: Some(stop_reason(finish)),
        stop_sequence: stop_sequence(finish),
        usage: usage_out(&answer.usage.unwrap_or_default()),
    };
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

// ---- streaming ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    None,
    Thinking,
    Text,
}

/// Per-stream state: message id, the open block, the next index, thinking text (for its
/// signature), finish and usage.
pub struct StreamEncoder {
    id: String,
    opts: EncodeOptions,
    started: bool,
    open: Open,
    index: usize,
    thinking: String,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    input_tokens: u64,
}

fn frame(out: &mut BytesMut, event: &str, data: &impl Serialize) {
    out.put_slice(b"event: ");
    out.put_slice(event.as_bytes());
    out.put_slice(b"\ndata: ");
    if serde_json::to_writer((&mut *out).writer(), data).is_err() {
        out.put_slice(b"{}");
    }
    out.put_slice(b"\n\n");
}

impl StreamEncoder {
    /// `input_tokens`: the prompt size known before the answer (for `message_start`).
    pub fn new(opts: EncodeOptions, input_tokens: u64) -> Self {
        Self {
            id: message_id(),
            opts,
            started: false,
            open: Open::None,
            index: 0,
            thinking: String::new(),
            finish: None,
            usage: None,
            input_tokens,
        }
    }

    fn open_message(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        frame(
            out,
            "message_start",
            &serde_json::json!({
                "type": "message_start",
                "message": {
                    "id": self.id,
                    "type": "message",
                    "role": "assistant",
                    "model": self.opts.model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": {
                        "input_tokens": self.input_tokens,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "output_tokens": 1
                    }
                }
            }),
        );
    }

    fn close(&mut self, out: &mut BytesMut) {
        if self.open == Open::None {
            return;
        }
        if self.open == Open::Thinking {
            frame(
                out,
                "content_block_delta",
                &serde_json::json!({
                    "type": "content_block_delta",
                    "index": self.index,
                    "delta": {"type": "signature_delta", "signature": signature(&self.thinking)}
                }),
            );
            self.thinking.clear();
        }
        frame(
            out,
            "content_block_stop",
            &serde_json::json!({"type": "content_block_stop", "index": self.index}),
        );
        self.index += 1;
        self.open = Open::None;
    }

    fn open_block(&mut self, out: &mut BytesMut, kind: Open) {
        if self.open == kind {
            return;
        }
        self.close(out);
        let block = match kind {
            Open::Thinking => {
                serde_json::json!({"type": "thinking", "thinking": "", "signature": ""})
            }
            _ => serde_json::json!({"type": "text", "text": ""}),
        };
        frame(
            out,
            "content_block_start",
            &serde_json::json!({"type": "content_block_start", "index": self.index, "content_block": block}),
        );
        self.open = kind;
    }

    pub fn ping(out: &mut BytesMut) {
        out.put_slice(b"event: ping\ndata: {\"type\": \"ping\"}\n\n");
    }
}

impl crate::dialect::sse::SseEncoder for StreamEncoder {
    fn event(&mut self, event: Event, out: &mut BytesMut) {
        self.open_message(out);
        match &event {
            Event::Reasoning(r) => {
                self.open_block(out, Open::Thinking);
                self.thinking.push_str(r);
                frame(
                    out,
                    "content_block_delta",
                    &serde_json::json!({"type": "content_block_delta", "index": self.index,
                        "delta": {"type": "thinking_delta", "thinking": r}}),
                );
            }
            Event::Text(t) => {
                self.open_block(out, Open::Text);
                frame(
                    out,
                    "content_block_delta",
                    &serde_json::json!({"type": "content_block_delta", "index": self.index,
                        "delta": {"type": "text_delta", "text": t}}),
                );
            }
            Event::ToolCall(c) => {
                self.close(out);
                frame(
                    out,
                    "content_block_start",
                    &serde_json::json!({"type": "content_block_start", "index": self.index,
                        "content_block": {"type": "tool_use", "id": tool_use_id(&c.id), "name": c.name, "input": {}}}),
                );
                frame(
                    out,
                    "content_block_delta",
                    &serde_json::json!({"type": "content_block_delta", "index": self.index,
                        "delta": {"type": "input_json_delta", "partial_json": tool_input(c).to_string()}}),
                );
                frame(
                    out,
                    "content_block_stop",
                    &serde_json::json!({"type": "content_block_stop", "index": self.index}),
                );
                self.index += 1;
            }
            Event::Usage(u) => self.usage = Some(*u),
            Event::Finish(f) => self.finish = Some(f.clone()),
        }
    }

    /// Closing events: the open block's stop, `message_delta`, `message_stop`.
    fn end(&mut self, out: &mut BytesMut) {
        self.open_message(out);
        if self.index == 0 && self.open == Open::None {
            // An empty answer still has one (empty) text block.
            self.open_block(out, Open::Text);
        }
        self.close(out);
        let finish = self.finish.clone().unwrap_or(FinishReason::Stop);
        let usage = usage_out(&self.usage.unwrap_or(Usage {
            input_tokens: self.input_tokens,
            ..Default::default()
        }));
        frame(
            out,
            "message_delta",
            &serde_json::json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason(&finish), "stop_sequence": stop_sequence(&finish)},
                "usage": usage
            }),
        );
        frame(
            out,
            "message_stop",
            &serde_json::json!({"type": "message_stop"}),
        );
    }

    /// A failure after the stream started: an `error` event, then the stream ends.
    fn fail(&mut self, e: &ProxyError, out: &mut BytesMut) {
        out.put_slice(b"event: error\ndata: ");
        out.put_slice(&super::error::body(e));
        out.put_slice(b"\n\n");
    }

    fn keepalive(&self, out: &mut BytesMut) -> bool {
        Self::ping(out);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::sse::SseEncoder;
    use serde_json::json;

    fn opts() -> EncodeOptions {
        EncodeOptions {
            model: "claude-sonnet-4-5".into(),
            thinking: true,
        }
    }

    fn events(bytes: &[u8]) -> Vec<(String, Value)> {
        std::str::from_utf8(bytes)
            .unwrap()
            .split("\n\n")
            .filter(|f| !f.is_empty())
            .map(|f| {
                let (ev, data) = f.split_once('\n').unwrap();
                (
                    ev.strip_prefix("event: ").unwrap().to_string(),
                    serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn stream_grammar_with_thinking_text_and_tools() {
        let mut enc = StreamEncoder::new(opts(), 42);
        let mut out = BytesMut::new();
        for e in [
            Event::Reasoning("a".into()),
            Event::Reasoning("b".into()),
            Event::Text("Hi".into()),
            Event::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: r#"{"x":1}"#.into(),
            }),
            Event::ToolCall(ToolCall {
                id: "call_2".into(),
                name: "g".into(),
                arguments: "{}".into(),
            }),
            Event::Usage(Usage {
                input_tokens: 50,
                output_tokens: 7,
                cached_tokens: 8,
                reasoning_tokens: None,
            }),
            Event::Finish(FinishReason::ToolCalls),
        ] {
            enc.event(e, &mut out);
        }
        enc.end(&mut out);
        let ev = events(&out);
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(ev[0].1["message"]["usage"]["input_tokens"], 42);
        assert_eq!(
            ev[2].1["delta"],
            json!({"type":"thinking_delta","thinking":"a"})
        );
        assert_eq!(ev[4].1["delta"]["type"], "signature_delta");
        assert_eq!(ev[6].1["index"], 1);
        assert_eq!(ev[9].1["content_block"]["id"], "toolu_1");
        assert_eq!(
            ev[10].1["delta"],
            json!({"type":"input_json_delta","partial_json":"{\"x\":1}"})
        );
        assert_eq!(ev[12].1["index"], 3);
        assert_eq!(ev[15].1["delta"]["stop_reason"], "tool_use");
        assert_eq!(ev[15].1["usage"]["input_tokens"], 42);
        assert_eq!(ev[15].1["usage"]["cache_read_input_tokens"], 8);
        assert_eq!(ev[15].1["usage"]["output_tokens"], 7);
    }

    #[test]
    fn fold_message() {
        let a = Answer::fold([
            Event::Text("x".into()),
            Event::Finish(FinishReason::StopSequence("END".into())),
        ]);
        let v: Value = serde_json::from_slice(&message(&a, &opts())).unwrap();
        assert_eq!(v["type"], "message");
        assert_eq!(v["content"], json!([{"type":"text","text":"x"}]));
        assert_eq!(v["stop_reason"], "stop_sequence");
        assert_eq!(v["stop_sequence"], "END");
        assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    }

    #[test]
    fn empty_answer_has_one_text_block() {
        let mut enc = StreamEncoder::new(opts(), 1);
        let mut out = BytesMut::new();
        enc.end(&mut out);
        let names: Vec<String> = events(&out).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
    }
}
