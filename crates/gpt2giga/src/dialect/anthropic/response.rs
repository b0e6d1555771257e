//! `ir::Event`s → Anthropic Messages. One [`MessageEncoder`] per answer writes the SSE
//! event grammar `message_start`, (`content_block_start`, `content_block_delta`*,
//! `content_block_stop`)*, `message_delta`, `message_stop`, and keeps the `message`
//! object it adds up to (what the SDK's `get_final_message()` accumulates); a JSON
//! answer is that object.
//!
//! Blocks come in the order the events arrive, in both outputs: `thinking` (with a
//! `signature`), `text`, `tool_use` (ids `toolu_…`, input as an object); consecutive
//! reasoning or text grows one block. A block is closed before the next one opens, so
//! indexes only ever increase. An answer without any block has one empty `text` block;
//! an answer of reasoning only is just its `thinking` block.

use bytes::{BufMut, BytesMut};
use serde::Serialize;
use serde_json::Value;

use super::request::EncodeOptions;
use crate::error::ProxyError;
use crate::ir::{
    Builtin, BuiltinCall, BuiltinOutcome, Citation, Event, FinishReason, ToolCall, Usage,
};

pub(crate) fn message_id() -> String {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    server_tool_use: Option<ServerToolUsage>,
}

#[derive(Serialize)]
struct ServerToolUsage {
    web_search_requests: u64,
    web_fetch_requests: u64,
}

/// Anthropic counts cache reads apart from `input_tokens`.
fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        input_tokens: u.input_tokens.saturating_sub(u.cached_tokens),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: u.cached_tokens,
        output_tokens: u.output_tokens,
        server_tool_use: None,
    }
}

/// The server tool a built-in run is shown as, and its input.
fn server_tool(call: &BuiltinCall) -> (&'static str, Value) {
    match call.kind {
        Builtin::UrlFetch => {
            let url = call
                .query
                .split_whitespace()
                .find(|w| w.starts_with("http://") || w.starts_with("https://"))
                .unwrap_or(&call.query);
            ("web_fetch", serde_json::json!({"url": url}))
        }
        _ => ("web_search", serde_json::json!({"query": call.query})),
    }
}

/// The result block of a finished built-in run.
fn server_tool_result(id: &str, o: &BuiltinOutcome) -> Block {
    match o.call.kind {
        Builtin::UrlFetch => {
            let (_, input) = server_tool(&o.call);
            let content = if o.ok {
                serde_json::json!({
                    "type": "web_fetch_result",
                    "url": input["url"],
                    // GigaChat reads the page itself and answers from it: the page text
                    // is not returned.
                    "content": {"type": "document", "source": {"type": "text",
                        "media_type": "text/plain", "data": ""}, "title": null, "citations": null},
                    "retrieved_at": null,
                })
            } else {
                serde_json::json!({"type": "web_fetch_tool_error", "error_code": "unavailable"})
            };
            Block::WebFetchToolResult {
                tool_use_id: id.to_string(),
                content,
            }
        }
        _ => {
            let content = if o.ok {
                Value::from(
                    o.sources
                        .iter()
                        .map(|s| {
                            serde_json::json!({"type": "web_search_result", "url": s.url,
                                "title": s.title.as_deref().unwrap_or(&s.url),
                                "encrypted_content": "", "page_age": null})
                        })
                        .collect::<Vec<_>>(),
                )
            } else {
                serde_json::json!({"type": "web_search_tool_result_error", "error_code": "unavailable"})
            };
            Block::WebSearchToolResult {
                tool_use_id: id.to_string(),
                content,
            }
        }
    }
}

fn tool_input(c: &ToolCall) -> Value {
    match serde_json::from_str::<Value>(&c.arguments) {
        Ok(Value::Object(m)) => Value::Object(m),
        Ok(other) => serde_json::json!({ "value": other }),
        Err(_) => serde_json::json!({ "raw_arguments": c.arguments }),
    }
}

/// A content block of the `message` object.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Thinking {
        thinking: String,
        signature: String,
    },
    Text {
        text: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        citations: Option<Vec<Value>>,
        /// Bytes of answer text before this block (citation spans are answer-wide).
        #[serde(skip)]
        base: usize,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ServerToolUse {
        id: String,
        name: String,
        input: Value,
    },
    WebSearchToolResult {
        tool_use_id: String,
        content: Value,
    },
    WebFetchToolResult {
        tool_use_id: String,
        content: Value,
    },
}

/// A `message` object.
#[derive(Serialize)]
pub struct Message {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: String,
    content: Vec<Block>,
    stop_reason: Option<&'static str>,
    stop_sequence: Option<String>,
    usage: UsageOut,
}

/// Per-answer state: message id, the blocks so far (the last one may still be open),
/// finish and usage.
pub struct MessageEncoder {
    id: String,
    opts: EncodeOptions,
    input_tokens: u64,
    started: bool,
    content: Vec<Block>,
    /// The last block is still growing (thinking or text).
    open: bool,
    /// Bytes of answer text so far.
    text_len: usize,
    web_searches: u64,
    web_fetches: u64,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

/// A `content_block_delta` of text or thinking: the frame written for nearly every event
/// of a stream, serialized from borrowed fields (the same bytes as the `json!` value it
/// replaces — keys in that order — without building a map per delta).
#[derive(Serialize)]
struct BlockDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    delta: TextDelta<'a>,
}

/// The `delta` of a [`BlockDelta`]: its `type` first, then its one text field.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TextDelta<'a> {
    TextDelta { text: &'a str },
    ThinkingDelta { thinking: &'a str },
}

impl<'a> BlockDelta<'a> {
    fn text(index: usize, text: &'a str) -> Self {
        Self::new(index, TextDelta::TextDelta { text })
    }

    fn thinking(index: usize, thinking: &'a str) -> Self {
        Self::new(index, TextDelta::ThinkingDelta { thinking })
    }

    fn new(index: usize, delta: TextDelta<'a>) -> Self {
        Self {
            kind: "content_block_delta",
            index,
            delta,
        }
    }
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

impl MessageEncoder {
    /// `input_tokens`: the prompt size known before the answer (for `message_start`,
    /// and the final usage when GigaChat reports none).
    pub fn new(opts: EncodeOptions, input_tokens: u64) -> Self {
        Self {
            id: message_id(),
            opts,
            input_tokens,
            started: false,
            content: Vec::new(),
            open: false,
            text_len: 0,
            web_searches: 0,
            web_fetches: 0,
            finish: None,
            usage: None,
        }
    }

    /// A block written whole (start, optional input delta, stop).
    fn whole_block(&mut self, block: Block, input: Option<&Value>, mut out: Option<&mut BytesMut>) {
        self.close(out.as_deref_mut());
        let index = self.content.len();
        if let Some(out) = out {
            let shown = match (&block, input) {
                (Block::ServerToolUse { id, name, .. }, Some(_)) => {
                    serde_json::json!({"type": "server_tool_use", "id": id, "name": name, "input": {}})
                }
                _ => serde_json::to_value(&block).unwrap_or_default(),
            };
            frame(
                out,
                "content_block_start",
                &serde_json::json!({"type": "content_block_start", "index": index, "content_block": shown}),
            );
            if let Some(input) = input {
                frame(
                    out,
                    "content_block_delta",
                    &serde_json::json!({"type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
                );
            }
            frame(
                out,
                "content_block_stop",
                &serde_json::json!({"type": "content_block_stop", "index": index}),
            );
        }
        self.content.push(block);
    }

    fn server_tool_id(call: &BuiltinCall) -> String {
        format!("srvtoolu_{}", call.id)
    }

    /// A built-in run starts: its `server_tool_use` block (Anthropic has server tools
    /// for web search and web fetch only; other runs cannot be asked for here).
    fn builtin_started(&mut self, call: &BuiltinCall, out: Option<&mut BytesMut>) {
        if !matches!(call.kind, Builtin::WebSearch | Builtin::UrlFetch) {
            return;
        }
        let id = Self::server_tool_id(call);
        if self
            .content
            .iter()
            .any(|b| matches!(b, Block::ServerToolUse { id: i, .. } if *i == id))
        {
            return;
        }
        let (name, input) = server_tool(call);
        let block = Block::ServerToolUse {
            id,
            name: name.to_string(),
            input: input.clone(),
        };
        self.whole_block(block, Some(&input), out);
    }

    /// Finished: its result block (search results, fetched page).
    fn builtin_done(&mut self, o: &BuiltinOutcome, mut out: Option<&mut BytesMut>) {
        if !matches!(o.call.kind, Builtin::WebSearch | Builtin::UrlFetch) {
            return;
        }
        self.builtin_started(&o.call, out.as_deref_mut());
        match o.call.kind {
            Builtin::WebSearch => self.web_searches += 1,
            _ => self.web_fetches += 1,
        }
        let block = server_tool_result(&Self::server_tool_id(&o.call), o);
        self.whole_block(block, None, out);
    }

    /// Citations: `web_search_result_location`s on the open text block holding the span.
    fn cite(&mut self, citations: Vec<Citation>, mut out: Option<&mut BytesMut>) {
        if !self.open {
            return;
        }
        let index = self.content.len().saturating_sub(1);
        let Some(Block::Text {
            text,
            citations: cited,
            base,
        }) = self.content.last_mut()
        else {
            return;
        };
        for c in citations {
            let Some(cited_text) = c
                .start
                .checked_sub(*base)
                .zip(c.end.checked_sub(*base))
                .and_then(|(s, e)| text.get(s..e))
            else {
                continue;
            };
            let citation = serde_json::json!({
                "type": "web_search_result_location",
                "url": c.source.url,
                "title": c.source.title.as_deref().unwrap_or(&c.source.url),
                "encrypted_index": "",
                "cited_text": cited_text,
            });
            if let Some(out) = out.as_deref_mut() {
                frame(
                    out,
                    "content_block_delta",
                    &serde_json::json!({"type": "content_block_delta", "index": index,
                        "delta": {"type": "citations_delta", "citation": citation}}),
                );
            }
            cited.get_or_insert_default().push(citation);
        }
    }

    fn open_message(&mut self, out: Option<&mut BytesMut>) {
        if self.started {
            return;
        }
        self.started = true;
        let Some(out) = out else { return };
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

    /// Closes the open block; a thinking block gets its signature first.
    fn close(&mut self, out: Option<&mut BytesMut>) {
        if !self.open {
            return;
        }
        self.open = false;
        let index = self.content.len().saturating_sub(1);
        let signed = match self.content.last_mut() {
            Some(Block::Thinking {
                thinking,
                signature: sig,
            }) => {
                *sig = signature(thinking);
                Some(sig.as_str())
            }
            _ => None,
        };
        let Some(out) = out else { return };
        if let Some(sig) = signed {
            frame(
                out,
                "content_block_delta",
                &serde_json::json!({
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "signature_delta", "signature": sig}
                }),
            );
        }
        frame(
            out,
            "content_block_stop",
            &serde_json::json!({"type": "content_block_stop", "index": index}),
        );
    }

    /// Makes a `thinking` (or else a `text`) block the open one; returns its index.
    fn open_block(&mut self, thinking: bool, mut out: Option<&mut BytesMut>) -> usize {
        let same = match self.content.last() {
            Some(Block::Thinking { .. }) => thinking,
            Some(Block::Text { .. }) => !thinking,
            _ => false,
        };
        if self.open && same {
            return self.content.len().saturating_sub(1);
        }
        self.close(out.as_deref_mut());
        let index = self.content.len();
        self.content.push(if thinking {
            Block::Thinking {
                thinking: String::new(),
                signature: String::new(),
            }
        } else {
            Block::Text {
                text: String::new(),
                citations: None,
                base: self.text_len,
            }
        });
        self.open = true;
        if let Some(out) = out {
            let block = if thinking {
                serde_json::json!({"type": "thinking", "thinking": "", "signature": ""})
            } else {
                serde_json::json!({"type": "text", "text": ""})
            };
            frame(
                out,
                "content_block_start",
                &serde_json::json!({"type": "content_block_start", "index": index, "content_block": block}),
            );
        }
        index
    }

    /// The usage of the answer: GigaChat's, or the counted prompt when it sent none.
    fn usage(&self) -> UsageOut {
        let mut u = usage_out(&self.usage.unwrap_or(Usage {
            input_tokens: self.input_tokens,
            ..Default::default()
        }));
        if self.web_searches + self.web_fetches > 0 {
            u.server_tool_use = Some(ServerToolUsage {
                web_search_requests: self.web_searches,
                web_fetch_requests: self.web_fetches,
            });
        }
        u
    }

    pub fn ping(out: &mut BytesMut) {
        out.put_slice(b"event: ping\ndata: {\"type\": \"ping\"}\n\n");
    }
}

impl crate::dialect::encoder::Encoder for MessageEncoder {
    type Object = Message;

    fn event(&mut self, event: Event, mut out: Option<&mut BytesMut>) {
        self.open_message(out.as_deref_mut());
        match event {
            Event::Reasoning(r) => {
                let index = self.open_block(true, out.as_deref_mut());
                if let Some(out) = out {
                    frame(out, "content_block_delta", &BlockDelta::thinking(index, &r));
                }
                if let Some(Block::Thinking { thinking, .. }) = self.content.last_mut() {
                    thinking.push_str(&r);
                }
            }
            Event::Text(t) => {
                let index = self.open_block(false, out.as_deref_mut());
                if let Some(out) = out {
                    frame(out, "content_block_delta", &BlockDelta::text(index, &t));
                }
                self.text_len += t.len();
                if let Some(Block::Text { text, .. }) = self.content.last_mut() {
                    text.push_str(&t);
                }
            }
            Event::ToolCall(c) => {
                self.close(out.as_deref_mut());
                let index = self.content.len();
                let id = tool_use_id(&c.id);
                let input = tool_input(&c);
                if let Some(out) = out {
                    frame(
                        out,
                        "content_block_start",
                        &serde_json::json!({"type": "content_block_start", "index": index,
                            "content_block": {"type": "tool_use", "id": id, "name": c.name, "input": {}}}),
                    );
                    frame(
                        out,
                        "content_block_delta",
                        &serde_json::json!({"type": "content_block_delta", "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
                    );
                    frame(
                        out,
                        "content_block_stop",
                        &serde_json::json!({"type": "content_block_stop", "index": index}),
                    );
                }
                self.content.push(Block::ToolUse {
                    id,
                    name: c.name,
                    input,
                });
            }
            Event::BuiltinStarted(c) => self.builtin_started(&c, out),
            Event::BuiltinProgress(_) => {
                if let Some(out) = out {
                    Self::ping(out);
                }
            }
            Event::BuiltinDone(o) => self.builtin_done(&o, out),
            Event::Citations(c) => self.cite(c, out),
            Event::Usage(u) => self.usage = Some(u),
            Event::Finish(f) => self.finish = Some(f),
        }
    }

    /// Closing events: the open block's stop, `message_delta`, `message_stop`.
    fn end(&mut self, mut out: Option<&mut BytesMut>) {
        self.open_message(out.as_deref_mut());
        if self.content.is_empty() {
            // An empty answer still has one (empty) text block.
            self.open_block(false, out.as_deref_mut());
        }
        self.close(out.as_deref_mut());
        let Some(out) = out else { return };
        let finish = self.finish.as_ref().unwrap_or(&FinishReason::Stop);
        frame(
            out,
            "message_delta",
            &serde_json::json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason(finish), "stop_sequence": stop_sequence(finish)},
                "usage": self.usage()
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

    /// The `message` object.
    fn finish(self) -> Message {
        let usage = self.usage();
        let finish = self.finish.unwrap_or(FinishReason::Stop);
        Message {
            id: self.id,
            kind: "message",
            role: "assistant",
            model: self.opts.model,
            content: self.content,
            stop_reason: Some(stop_reason(&finish)),
            stop_sequence: stop_sequence(&finish).map(str::to_string),
            usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::encoder::Encoder;
    use serde_json::json;

    #[test]
    fn typed_deltas_are_the_bytes_of_the_json_values_they_replace() {
        for (index, t) in crate::dialect::encoder::TRICKY_TEXTS.iter().enumerate() {
            let text = json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "text_delta", "text": t}});
            assert_eq!(
                serde_json::to_string(&BlockDelta::text(index, t)).unwrap(),
                text.to_string()
            );
            let thinking = json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "thinking_delta", "thinking": t}});
            assert_eq!(
                serde_json::to_string(&BlockDelta::thinking(index, t)).unwrap(),
                thinking.to_string()
            );
        }
    }

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
        let mut enc = MessageEncoder::new(opts(), 42);
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
                web_searches: 0,
            }),
            Event::Finish(FinishReason::ToolCalls),
        ] {
            enc.event(e, Some(&mut out));
        }
        enc.end(Some(&mut out));
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

    /// The JSON answer: the same encoder without frame output.
    fn message(events: impl IntoIterator<Item = Event>) -> Value {
        let mut enc = MessageEncoder::new(opts(), 0);
        for e in events {
            enc.event(e, None);
        }
        enc.end(None);
        serde_json::to_value(enc.finish()).unwrap()
    }

    #[test]
    fn message_object() {
        let v = message([
            Event::Text("x".into()),
            Event::Finish(FinishReason::StopSequence("END".into())),
        ]);
        assert_eq!(v["type"], "message");
        assert_eq!(v["content"], json!([{"type":"text","text":"x"}]));
        assert_eq!(v["stop_reason"], "stop_sequence");
        assert_eq!(v["stop_sequence"], "END");
        assert!(v["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(message([])["content"], json!([{"type":"text","text":""}]));
    }

    #[test]
    fn blocks_keep_arrival_order() {
        let v = message([
            Event::Text("a".into()),
            Event::Reasoning("r".into()),
            Event::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }),
            Event::Text("b".into()),
        ]);
        let types: Vec<&str> = v["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["text", "thinking", "tool_use", "text"]);
        assert_eq!(v["content"][1]["signature"], signature("r"));
    }

    #[test]
    fn reasoning_only_is_one_thinking_block_in_both_outputs() {
        let answer = [
            Event::Reasoning("hmm".into()),
            Event::Finish(FinishReason::Length),
        ];
        let mut enc = MessageEncoder::new(opts(), 0);
        let mut out = BytesMut::new();
        for e in answer.clone() {
            enc.event(e, Some(&mut out));
        }
        enc.end(Some(&mut out));
        let starts: Vec<Value> = events(&out)
            .into_iter()
            .filter(|(n, _)| n == "content_block_start")
            .map(|(_, v)| v["content_block"]["type"].clone())
            .collect();
        assert_eq!(starts, [json!("thinking")]);
        let streamed = serde_json::to_value(enc.finish()).unwrap();
        let v = message(answer);
        assert_eq!(v["content"], streamed["content"]);
        assert_eq!(v["content"].as_array().unwrap().len(), 1);
        assert_eq!(v["content"][0]["thinking"], "hmm");
        assert_eq!(v["stop_reason"], "max_tokens");
    }

    #[test]
    fn empty_answer_has_one_text_block() {
        let mut enc = MessageEncoder::new(opts(), 1);
        let mut out = BytesMut::new();
        enc.end(Some(&mut out));
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
