//! `ir::Event`s → OpenAI Responses. One [`ResponseEncoder`] per answer writes the
//! streaming event grammar with a strictly increasing `sequence_number` and keeps the
//! `response` object it adds up to; a JSON answer is that object, the same one
//! `response.completed` carries:
//!
//! `response.created`, `response.in_progress`, then per output item
//! `response.output_item.added` … `response.output_item.done` with, inside,
//! reasoning (`reasoning_summary_part.added`, `reasoning_summary_text.delta`/`.done`,
//! `reasoning_summary_part.done`), text (`content_part.added`, `output_text.delta`/`.done`,
//! `content_part.done`), function calls (`function_call_arguments.delta`/`.done`) or
//! custom tool calls (`custom_tool_call_input.delta`/`.done`); finally
//! `response.completed` / `response.incomplete` / `response.failed` with the whole
//! response.
//!
//! Output items come in the order the events arrive; consecutive reasoning or text grows
//! one item. An answer without any item has one empty message; an answer of reasoning
//! only is just its reasoning item (`incomplete` when cut by the token limit).

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::{Value, json};

use super::request::{Echo, ToolKind, item_id, seal_reasoning};
use crate::dialect::openai::chat_response::char_span;
use crate::error::ProxyError;
use crate::ir::{
    self, Builtin, BuiltinCall, BuiltinOutcome, Citation, Event, FinishReason, ToolCall, Usage,
};

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Identity and echo of one response.
#[derive(Debug, Clone)]
pub struct Shape {
    pub id: String,
    pub created_at: i64,
    pub echo: Echo,
}

impl Shape {
    pub fn new(echo: Echo) -> Self {
        Self {
            id: item_id("resp"),
            created_at: now_secs(),
            echo,
        }
    }

    /// The response object in a given state.
    pub fn object(
        &self,
        status: &str,
        output: &[Value],
        usage: Option<&Usage>,
        finish: Option<&FinishReason>,
        error: Option<&ProxyError>,
    ) -> Value {
        let e = &self.echo;
        let incomplete = match finish {
            Some(FinishReason::Length) => json!({"reason": "max_output_tokens"}),
            Some(FinishReason::ContentFilter) => json!({"reason": "content_filter"}),
            _ => Value::Null,
        };
        json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": false,
            "error": error.map(|err| json!({"code": error_code(err), "message": err.client_message()})),
            "incomplete_details": incomplete,
            "instructions": e.instructions,
            "max_output_tokens": e.max_output_tokens,
            "model": e.model,
            "output": output,
            "parallel_tool_calls": e.parallel_tool_calls,
            "previous_response_id": e.previous_response_id,
            "reasoning": e.reasoning,
            "service_tier": e.service_tier.as_deref().unwrap_or("default"),
            "store": e.store,
            "temperature": e.temperature.unwrap_or(1.0),
            "text": e.text,
            "tool_choice": e.tool_choice,
            "tools": e.tools,
            "top_p": e.top_p.unwrap_or(1.0),
            "truncation": e.truncation,
            "usage": usage.map(usage_json),
            "user": e.user,
            "metadata": e.metadata,
        })
    }

    /// Final status for a finish reason.
    pub(crate) fn final_status(finish: Option<&FinishReason>) -> &'static str {
        match finish {
            Some(FinishReason::Length | FinishReason::ContentFilter) => "incomplete",
            _ => "completed",
        }
    }

    fn reasoning_item(&self, id: &str, text: &str, status: &str) -> Value {
        let mut item = json!({
            "id": id,
            "type": "reasoning",
            // The one summary part the stream announced, even when empty.
            "summary": [{"type": "summary_text", "text": text}],
            "status": status,
        });
        if self.echo.encrypted_reasoning
            && let Some(obj) = item.as_object_mut()
        {
            obj.insert(
                "encrypted_content".into(),
                Value::String(seal_reasoning(text)),
            );
        }
        item
    }

    fn call_item(&self, id: &str, call: &ToolCall, status: &str, filled: bool) -> Value {
        match self.echo.tool_kinds.get(&call.name) {
            Some(ToolKind::Custom) => json!({
                "id": id,
                "type": "custom_tool_call",
                "status": status,
                "call_id": call.id,
                "name": call.name,
                "input": if filled { custom_input(&call.arguments) } else { String::new() },
            }),
            Some(ToolKind::Namespaced(ns, name)) => json!({
                "id": id,
                "type": "function_call",
                "status": status,
                "call_id": call.id,
                "name": name,
                "namespace": ns,
                "arguments": if filled { call.arguments.as_str() } else { "" },
            }),
            _ => json!({
                "id": id,
                "type": "function_call",
                "status": status,
                "call_id": call.id,
                "name": call.name,
                "arguments": if filled { call.arguments.as_str() } else { "" },
            }),
        }
    }

    fn is_custom(&self, call: &ToolCall) -> bool {
        matches!(self.echo.tool_kinds.get(&call.name), Some(ToolKind::Custom))
    }
}

fn error_code(e: &ProxyError) -> &'static str {
    match e.status().as_u16() {
        429 => "rate_limit_exceeded",
        400 | 413 | 422 => "invalid_prompt",
        _ => "server_error",
    }
}

/// The `input` string of a custom tool call (its function arguments' `input`).
fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(m)) => match m.get("input") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => arguments.to_string(),
        },
        _ => arguments.to_string(),
    }
}

fn message_item(id: &str, text: &str, annotations: &[Value], status: &str) -> Value {
    json!({
        "id": id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": if status == "in_progress" { json!([]) } else { json!([text_part(text, annotations)]) },
    })
}

fn text_part(text: &str, annotations: &[Value]) -> Value {
    json!({"type": "output_text", "text": text, "annotations": annotations, "logprobs": []})
}

/// The item type, id prefix and stream event stem of a built-in tool run.
fn builtin_names(kind: Builtin) -> (&'static str, &'static str, &'static str) {
    match kind {
        Builtin::WebSearch => ("web_search_call", "ws", "response.web_search_call"),
        Builtin::CodeInterpreter => (
            "code_interpreter_call",
            "ci",
            "response.code_interpreter_call",
        ),
        Builtin::ImageGeneration => (
            "image_generation_call",
            "ig",
            "response.image_generation_call",
        ),
        // No Responses item reads URLs: shown as a web search that opened the page.
        Builtin::UrlFetch => ("web_search_call", "ws", "response.web_search_call"),
    }
}

/// The middle stream event of a running built-in (`…searching`, `…interpreting`, …).
fn builtin_working(kind: Builtin) -> &'static str {
    match kind {
        Builtin::WebSearch | Builtin::UrlFetch => "searching",
        Builtin::CodeInterpreter => "interpreting",
        Builtin::ImageGeneration => "generating",
    }
}

/// A built-in tool run as its Responses output item.
fn builtin_item(id: &str, call: &BuiltinCall, outcome: Option<&BuiltinOutcome>) -> Value {
    let (kind, _, _) = builtin_names(call.kind);
    let status = match outcome {
        None => "in_progress",
        Some(o) if o.ok => "completed",
        Some(_) => "failed",
    };
    match call.kind {
        Builtin::WebSearch | Builtin::UrlFetch => {
            let mut action = json!({"type": "search", "query": call.query});
            if call.kind == Builtin::UrlFetch {
                action = json!({"type": "open_page", "url": first_url(&call.query)});
            }
            if let Some(o) = outcome.filter(|o| !o.sources.is_empty())
                && call.kind == Builtin::WebSearch
                && let Some(a) = action.as_object_mut()
            {
                let sources: Vec<Value> = o
                    .sources
                    .iter()
                    .map(|s| json!({"type": "url", "url": s.url}))
                    .collect();
                a.insert("sources".into(), Value::from(sources));
            }
            json!({"id": id, "type": kind, "status": status, "action": action})
        }
        Builtin::CodeInterpreter => json!({
            "id": id, "type": kind, "status": status,
            // GigaChat reports neither the code it ran nor its output: the answer text
            // carries the result.
            "code": null, "outputs": null, "container_id": "gigachat",
        }),
        Builtin::ImageGeneration => {
            let image = outcome.and_then(|o| o.images.first());
            json!({
                "id": id, "type": kind,
                "status": if status == "in_progress" { "generating" } else { status },
                "result": image.map(|i| i.data.as_str()),
                "output_format": image.map(|i| i.mime.trim_start_matches("image/")),
                "revised_prompt": call.query,
                "background": "auto", "quality": "auto", "size": "auto",
            })
        }
    }
}

/// The first URL in a text (what a URL-reading run read), else the text.
fn first_url(text: &str) -> &str {
    text.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .unwrap_or(text)
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens.unwrap_or(0)},
        "total_tokens": u.total(),
    })
}

// ---- the encoder --------------------------------------------------------------------------

/// One output item of the answer.
enum Item {
    Reasoning {
        id: String,
        text: String,
    },
    Message {
        id: String,
        text: String,
        /// Bytes of answer text before this item (citation spans are answer-wide).
        base: usize,
        annotations: Vec<Value>,
    },
    Call {
        id: String,
        call: ToolCall,
    },
    Builtin {
        id: String,
        call: BuiltinCall,
        outcome: Option<BuiltinOutcome>,
    },
}

/// Per-answer state: sequence numbers, the output items so far (the last reasoning or
/// message item may still be open), usage, finish, and the final object once complete.
pub struct ResponseEncoder {
    shape: Shape,
    seq: u64,
    items: Vec<Item>,
    /// The last item is still growing (reasoning or message).
    open: bool,
    /// Bytes of answer text so far.
    text_len: usize,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    done: Option<Value>,
}

/// A stream's body and its next sequence number.
struct Frames<'a> {
    out: &'a mut BytesMut,
    seq: &'a mut u64,
}

/// `response.output_text.delta` and `response.reasoning_summary_text.delta`: the frames
/// of nearly every event of a stream, serialized from borrowed fields — the bytes
/// [`Frames::emit`] writes for the same `json!` value (its keys, then `type` and
/// `sequence_number`), without building a map per delta.
#[derive(Serialize)]
struct TextDelta<'a> {
    item_id: &'a str,
    output_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary_index: Option<u32>,
    delta: &'a str,
    /// Output text deltas carry an empty `logprobs`; reasoning deltas none.
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<[(); 0]>,
    #[serde(rename = "type")]
    kind: &'static str,
    /// Set by [`Frames::delta`].
    sequence_number: u64,
}

const OUTPUT_TEXT_DELTA: &str = "response.output_text.delta";
const REASONING_DELTA: &str = "response.reasoning_summary_text.delta";

impl<'a> TextDelta<'a> {
    fn output_text(item_id: &'a str, output_index: usize, delta: &'a str) -> Self {
        Self {
            item_id,
            output_index,
            content_index: Some(0),
            summary_index: None,
            delta,
            logprobs: Some([]),
            kind: OUTPUT_TEXT_DELTA,
            sequence_number: 0,
        }
    }

    fn reasoning(item_id: &'a str, output_index: usize, delta: &'a str) -> Self {
        Self {
            item_id,
            output_index,
            content_index: None,
            summary_index: Some(0),
            delta,
            logprobs: None,
            kind: REASONING_DELTA,
            sequence_number: 0,
        }
    }
}

impl Frames<'_> {
    /// Writes one event frame, numbering it.
    fn emit(&mut self, kind: &str, mut data: Value) {
        if let Some(obj) = data.as_object_mut() {
            obj.insert("type".into(), Value::String(kind.to_string()));
            obj.insert("sequence_number".into(), Value::from(*self.seq));
        }
        self.write(kind, &data);
    }

    /// Writes a text or reasoning delta (numbered like [`Frames::emit`]).
    fn delta(&mut self, mut delta: TextDelta<'_>) {
        delta.sequence_number = *self.seq;
        self.write(delta.kind, &delta);
    }

    fn write(&mut self, kind: &str, data: &impl Serialize) {
        *self.seq += 1;
        let out = &mut *self.out;
        out.put_slice(b"event: ");
        out.put_slice(kind.as_bytes());
        out.put_slice(b"\ndata: ");
        if serde_json::to_writer((&mut *out).writer(), data).is_err() {
            out.put_slice(b"{}");
        }
        out.put_slice(b"\n\n");
    }
}

/// The frames to write to, when streaming.
fn frames<'a>(out: Option<&'a mut BytesMut>, seq: &'a mut u64) -> Option<Frames<'a>> {
    out.map(|out| Frames { out, seq })
}

impl ResponseEncoder {
    pub fn new(shape: Shape) -> Self {
        Self {
            shape,
            seq: 0,
            items: Vec::new(),
            open: false,
            text_len: 0,
            usage: None,
            finish: None,
            done: None,
        }
    }

    /// The output items, rendered as they are once closed.
    fn output(&self) -> Vec<Value> {
        self.items
            .iter()
            .map(|item| match item {
                Item::Reasoning { id, text } => self.shape.reasoning_item(id, text, "completed"),
                Item::Message {
                    id,
                    text,
                    annotations,
                    ..
                } => message_item(id, text, annotations, "completed"),
                Item::Call { id, call } => self.shape.call_item(id, call, "completed", true),
                Item::Builtin { id, call, outcome } => builtin_item(id, call, outcome.as_ref()),
            })
            .collect()
    }

    /// The final response object (after `end`).
    pub fn object(&self) -> Option<&Value> {
        self.done.as_ref()
    }

    /// The answer as a conversation turn (text, tool calls and reasoning, each in
    /// order), for storing the response.
    pub fn turn(&self) -> ir::Message {
        let mut text = String::new();
        let mut reasoning = String::new();
        let mut calls = Vec::new();
        for item in &self.items {
            match item {
                Item::Reasoning { text: r, .. } => reasoning.push_str(r),
                Item::Message { text: t, .. } => text.push_str(t),
                Item::Call { call, .. } => calls.push(call.clone()),
                // GigaChat takes no record of a built-in run: its result is in the text.
                Item::Builtin { .. } => {}
            }
        }
        let mut m = ir::Message::text(ir::Role::Assistant, text);
        m.tool_calls = calls;
        m.reasoning = (!reasoning.is_empty()).then_some(reasoning);
        m
    }

    fn close(&mut self, out: Option<&mut BytesMut>) {
        if !std::mem::take(&mut self.open) {
            return;
        }
        let Some(mut f) = frames(out, &mut self.seq) else {
            return;
        };
        let idx = self.items.len().saturating_sub(1);
        match self.items.last() {
            Some(Item::Reasoning { id, text }) => {
                let part = json!({"type": "summary_text", "text": text});
                f.emit(
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": idx, "summary_index": 0, "text": text}),
                );
                f.emit(
                    "response.reasoning_summary_part.done",
                    json!({"item_id": id, "output_index": idx, "summary_index": 0, "part": part}),
                );
                let item = self.shape.reasoning_item(id, text, "completed");
                f.emit(
                    "response.output_item.done",
                    json!({"output_index": idx, "item": item}),
                );
            }
            Some(Item::Message {
                id,
                text,
                annotations,
                ..
            }) => {
                f.emit("response.output_text.done",
                    json!({"item_id": id, "output_index": idx, "content_index": 0, "text": text, "logprobs": []}));
                f.emit("response.content_part.done",
                    json!({"item_id": id, "output_index": idx, "content_index": 0, "part": text_part(text, annotations)}));
                let item = message_item(id, text, annotations, "completed");
                f.emit(
                    "response.output_item.done",
                    json!({"output_index": idx, "item": item}),
                );
            }
            Some(Item::Call { .. } | Item::Builtin { .. }) | None => {}
        }
    }

    fn reasoning(&mut self, r: &str, mut out: Option<&mut BytesMut>) {
        if !(self.open && matches!(self.items.last(), Some(Item::Reasoning { .. }))) {
            self.close(out.as_deref_mut());
            let (idx, id) = (self.items.len(), item_id("rs"));
            if let Some(mut f) = frames(out.as_deref_mut(), &mut self.seq) {
                let item =
                    json!({"id": id, "type": "reasoning", "summary": [], "status": "in_progress"});
                f.emit(
                    "response.output_item.added",
                    json!({"output_index": idx, "item": item}),
                );
                f.emit("response.reasoning_summary_part.added",
                    json!({"item_id": id, "output_index": idx, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}));
            }
            self.items.push(Item::Reasoning {
                id,
                text: String::new(),
            });
            self.open = true;
        }
        let idx = self.items.len().saturating_sub(1);
        if let Some(Item::Reasoning { id, text }) = self.items.last_mut() {
            text.push_str(r);
            if let Some(mut f) = frames(out, &mut self.seq) {
                f.delta(TextDelta::reasoning(id, idx, r));
            }
        }
    }

    fn text(&mut self, t: &str, mut out: Option<&mut BytesMut>) {
        if !(self.open && matches!(self.items.last(), Some(Item::Message { .. }))) {
            self.close(out.as_deref_mut());
            let (idx, id) = (self.items.len(), item_id("msg"));
            if let Some(mut f) = frames(out.as_deref_mut(), &mut self.seq) {
                let item = message_item(&id, "", &[], "in_progress");
                f.emit(
                    "response.output_item.added",
                    json!({"output_index": idx, "item": item}),
                );
                f.emit("response.content_part.added",
                    json!({"item_id": id, "output_index": idx, "content_index": 0, "part": text_part("", &[])}));
            }
            self.items.push(Item::Message {
                id,
                text: String::new(),
                base: self.text_len,
                annotations: Vec::new(),
            });
            self.open = true;
        }
        self.text_len += t.len();
        let idx = self.items.len().saturating_sub(1);
        if let Some(Item::Message { id, text, .. }) = self.items.last_mut() {
            text.push_str(t);
            if let Some(mut f) = frames(out, &mut self.seq) {
                f.delta(TextDelta::output_text(id, idx, t));
            }
        }
    }

    fn call(&mut self, c: ToolCall, mut out: Option<&mut BytesMut>) {
        self.close(out.as_deref_mut());
        let idx = self.items.len();
        let custom = self.shape.is_custom(&c);
        let id = item_id(if custom { "ctc" } else { "fc" });
        if let Some(mut f) = frames(out, &mut self.seq) {
            let added = self.shape.call_item(&id, &c, "in_progress", false);
            f.emit(
                "response.output_item.added",
                json!({"output_index": idx, "item": added}),
            );
            if custom {
                let input = custom_input(&c.arguments);
                f.emit(
                    "response.custom_tool_call_input.delta",
                    json!({"item_id": id, "output_index": idx, "delta": input}),
                );
                f.emit(
                    "response.custom_tool_call_input.done",
                    json!({"item_id": id, "output_index": idx, "input": input}),
                );
            } else {
                f.emit(
                    "response.function_call_arguments.delta",
                    json!({"item_id": id, "output_index": idx, "delta": c.arguments}),
                );
                f.emit("response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": idx, "arguments": c.arguments, "name": c.name}));
            }
            let done = self.shape.call_item(&id, &c, "completed", true);
            f.emit(
                "response.output_item.done",
                json!({"output_index": idx, "item": done}),
            );
        }
        self.items.push(Item::Call { id, call: c });
    }

    /// A built-in tool starts: its item opens (`…in_progress`, then `…searching` /
    /// `…interpreting` / `…generating`).
    fn builtin_started(&mut self, call: BuiltinCall, mut out: Option<&mut BytesMut>) {
        self.close(out.as_deref_mut());
        let idx = self.items.len();
        let (_, prefix, stem) = builtin_names(call.kind);
        let id = format!("{prefix}_{}", call.id);
        if let Some(mut f) = frames(out, &mut self.seq) {
            let item = builtin_item(&id, &call, None);
            f.emit(
                "response.output_item.added",
                json!({"output_index": idx, "item": item}),
            );
            f.emit(
                &format!("{stem}.in_progress"),
                json!({"item_id": id, "output_index": idx}),
            );
            f.emit(
                &format!("{stem}.{}", builtin_working(call.kind)),
                json!({"item_id": id, "output_index": idx}),
            );
        }
        self.items.push(Item::Builtin {
            id,
            call,
            outcome: None,
        });
    }

    fn builtin_position(&self, call: &BuiltinCall) -> Option<usize> {
        self.items.iter().rposition(
            |i| matches!(i, Item::Builtin { call: c, outcome: None, .. } if c.id == call.id),
        )
    }

    /// Still at work: the working event again, so the stream never looks dead.
    fn builtin_progress(&mut self, call: &BuiltinCall, out: Option<&mut BytesMut>) {
        let Some(idx) = self.builtin_position(call) else {
            return;
        };
        let Some(Item::Builtin { id, .. }) = self.items.get(idx) else {
            return;
        };
        let (_, _, stem) = builtin_names(call.kind);
        let id = id.clone();
        if let Some(mut f) = frames(out, &mut self.seq) {
            f.emit(
                &format!("{stem}.{}", builtin_working(call.kind)),
                json!({"item_id": id, "output_index": idx}),
            );
        }
    }

    /// Finished: `…completed` (with `partial_image` first for a generated image) and the
    /// item's final form.
    fn builtin_done(&mut self, outcome: BuiltinOutcome, mut out: Option<&mut BytesMut>) {
        let idx = match self.builtin_position(&outcome.call) {
            Some(idx) => idx,
            None => {
                self.builtin_started(outcome.call.clone(), out.as_deref_mut());
                self.items.len() - 1
            }
        };
        let Some(Item::Builtin {
            id,
            call,
            outcome: slot,
        }) = self.items.get_mut(idx)
        else {
            return;
        };
        let (_, _, stem) = builtin_names(call.kind);
        let item = builtin_item(id, call, Some(&outcome));
        if let Some(mut f) = frames(out, &mut self.seq) {
            if let Some(image) = outcome.images.first() {
                f.emit(
                    &format!("{stem}.partial_image"),
                    json!({"item_id": id, "output_index": idx, "partial_image_index": 0,
                           "partial_image_b64": image.data}),
                );
            }
            f.emit(
                &format!("{stem}.completed"),
                json!({"item_id": id, "output_index": idx}),
            );
            f.emit(
                "response.output_item.done",
                json!({"output_index": idx, "item": item}),
            );
        }
        *slot = Some(outcome);
    }

    /// Citations of the text: `url_citation` annotations on the open message item when
    /// it holds the cited span (character indexes of its text); a closed item's
    /// `output_item.done` was already sent, so spans elsewhere are not annotated.
    fn cite(&mut self, citations: Vec<Citation>, mut out: Option<&mut BytesMut>) {
        if !self.open {
            return;
        }
        let idx = self.items.len().saturating_sub(1);
        for c in citations {
            let Some(Item::Message {
                id,
                text,
                base,
                annotations,
            }) = self.items.last_mut()
            else {
                return;
            };
            let base = *base;
            if c.start < base || c.end > base + text.len() {
                continue;
            }
            let Some((start, end)) = char_span(text, c.start - base, c.end - base) else {
                continue;
            };
            let annotation = json!({
                "type": "url_citation",
                "start_index": start,
                "end_index": end,
                "url": c.source.url,
                "title": c.source.title.as_deref().unwrap_or(&c.source.url),
            });
            let id = id.clone();
            annotations.push(annotation.clone());
            let n = annotations.len() - 1;
            if let Some(mut f) = frames(out.as_deref_mut(), &mut self.seq) {
                f.emit(
                    "response.output_text.annotation.added",
                    json!({"item_id": id, "output_index": idx, "content_index": 0,
                           "annotation_index": n, "annotation": annotation}),
                );
            }
        }
    }

    /// The response object in its final state.
    fn final_object(&self) -> Value {
        let finish = self.finish.as_ref();
        let status = Shape::final_status(finish);
        self.shape
            .object(status, &self.output(), self.usage.as_ref(), finish, None)
    }
}

impl crate::dialect::encoder::Encoder for ResponseEncoder {
    type Object = Value;

    /// `response.created` and `response.in_progress`.
    fn start(&mut self, out: Option<&mut BytesMut>) {
        let Some(mut f) = frames(out, &mut self.seq) else {
            return;
        };
        let obj = self.shape.object("in_progress", &[], None, None, None);
        f.emit("response.created", json!({"response": obj.clone()}));
        f.emit("response.in_progress", json!({"response": obj}));
    }

    fn event(&mut self, event: Event, out: Option<&mut BytesMut>) {
        match event {
            Event::Reasoning(r) => self.reasoning(&r, out),
            Event::Text(t) => self.text(&t, out),
            Event::ToolCall(c) => self.call(c, out),
            Event::BuiltinStarted(c) => self.builtin_started(c, out),
            Event::BuiltinProgress(c) => self.builtin_progress(&c, out),
            Event::BuiltinDone(o) => self.builtin_done(o, out),
            Event::Citations(c) => self.cite(c, out),
            Event::Usage(u) => self.usage = Some(u),
            Event::Finish(f) => self.finish = Some(f),
        }
    }

    /// Closes the open item and emits `response.completed` (or `.incomplete`) with the
    /// final response object.
    fn end(&mut self, mut out: Option<&mut BytesMut>) {
        if self.items.is_empty() {
            // An empty answer is still one (empty) message.
            self.text("", out.as_deref_mut());
        }
        self.close(out.as_deref_mut());
        let obj = self.final_object();
        if let Some(mut f) = frames(out, &mut self.seq) {
            let kind = match obj["status"].as_str() {
                Some("incomplete") => "response.incomplete",
                _ => "response.completed",
            };
            f.emit(kind, json!({"response": obj.clone()}));
        }
        self.done = Some(obj);
    }

    /// A failure after the stream started: `response.failed` carrying the error.
    fn fail(&mut self, e: &ProxyError, out: &mut BytesMut) {
        self.close(Some(&mut *out));
        let output = self.output();
        let obj = self
            .shape
            .object("failed", &output, self.usage.as_ref(), None, Some(e));
        Frames {
            out,
            seq: &mut self.seq,
        }
        .emit("response.failed", json!({"response": obj}));
    }

    /// The `response` object (`response.completed`'s).
    fn finish(self) -> Value {
        match self.done {
            Some(obj) => obj,
            None => self.final_object(),
        }
    }
}

pub fn to_bytes(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::encoder::Encoder;
    use std::collections::HashMap;

    #[test]
    fn typed_deltas_are_the_frames_emit_writes_for_the_json_values_they_replace() {
        let frame = |write: &dyn Fn(&mut Frames<'_>)| {
            let (mut out, mut seq) = (BytesMut::new(), 41);
            write(&mut Frames {
                out: &mut out,
                seq: &mut seq,
            });
            assert_eq!(seq, 42);
            String::from_utf8(out.to_vec()).unwrap()
        };
        for (idx, t) in crate::dialect::encoder::TRICKY_TEXTS.iter().enumerate() {
            let id = "msg_0123";
            assert_eq!(
                frame(&|f| f.delta(TextDelta::output_text(id, idx, t))),
                frame(&|f| {
                    f.emit(OUTPUT_TEXT_DELTA,
                    json!({"item_id": id, "output_index": idx, "content_index": 0, "delta": t, "logprobs": []}))
                }),
            );
            assert_eq!(
                frame(&|f| f.delta(TextDelta::reasoning(id, idx, t))),
                frame(&|f| f.emit(
                    REASONING_DELTA,
                    json!({"item_id": id, "output_index": idx, "summary_index": 0, "delta": t})
                )),
            );
        }
    }

    fn shape(custom: bool) -> Shape {
        let mut kinds = HashMap::new();
        if custom {
            kinds.insert("apply_patch".to_string(), ToolKind::Custom);
        }
        Shape::new(Echo {
            model: "gpt-5".into(),
            store: true,
            encrypted_reasoning: true,
            tool_kinds: kinds,
            ..Default::default()
        })
    }

    fn events(bytes: &[u8]) -> Vec<Value> {
        std::str::from_utf8(bytes)
            .unwrap()
            .split("\n\n")
            .filter(|f| !f.is_empty())
            .map(|f| {
                let (ev, data) = f.split_once('\n').unwrap();
                let v: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
                assert_eq!(ev.strip_prefix("event: ").unwrap(), v["type"]);
                v
            })
            .collect()
    }

    #[test]
    fn stream_grammar_and_sequence_numbers() {
        let mut enc = ResponseEncoder::new(shape(true));
        let mut out = BytesMut::new();
        enc.start(Some(&mut out));
        for e in [
            Event::Reasoning("think".into()),
            Event::Text("Hel".into()),
            Event::Text("lo".into()),
            Event::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "shell".into(),
                arguments: r#"{"cmd":"ls"}"#.into(),
            }),
            Event::ToolCall(ToolCall {
                id: "call_2".into(),
                name: "apply_patch".into(),
                arguments: r#"{"input":"*** Begin"}"#.into(),
            }),
            Event::Usage(Usage {
                input_tokens: 10,
                output_tokens: 5,
                cached_tokens: 3,
                reasoning_tokens: None,
                web_searches: 0,
            }),
            Event::Finish(FinishReason::ToolCalls),
        ] {
            enc.event(e, Some(&mut out));
        }
        enc.end(Some(&mut out));
        let turn = enc.turn();
        let obj = enc.finish();
        let ev = events(&out);
        let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.custom_tool_call_input.delta",
                "response.custom_tool_call_input.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (i, e) in ev.iter().enumerate() {
            assert_eq!(e["sequence_number"], i as u64);
        }
        assert_eq!(ev[12]["text"], "Hello");
        assert_eq!(ev[18]["item"]["call_id"], "call_1");
        assert_eq!(ev[21]["input"], "*** Begin");
        assert_eq!(ev[22]["item"]["type"], "custom_tool_call");
        let output = obj["output"].as_array().unwrap();
        assert_eq!(output.len(), 4);
        assert!(
            output[0]["encrypted_content"]
                .as_str()
                .unwrap()
                .starts_with("gpt2giga.r1.")
        );
        assert_eq!(obj["status"], "completed");
        assert_eq!(obj["usage"]["input_tokens_details"]["cached_tokens"], 3);
        assert_eq!(turn.joined_text(), "Hello");
        assert_eq!(turn.tool_calls.len(), 2);
        assert_eq!(turn.reasoning.as_deref(), Some("think"));
        assert_eq!(ev[23]["response"]["output"], obj["output"]);
    }

    /// The JSON answer: the same encoder without frame output.
    fn response(events: impl IntoIterator<Item = Event>) -> Value {
        let mut enc = ResponseEncoder::new(shape(false));
        enc.start(None);
        for e in events {
            enc.event(e, None);
        }
        enc.end(None);
        enc.finish()
    }

    #[test]
    fn response_object_and_incomplete() {
        let v = response([
            Event::Text("cut".into()),
            Event::Finish(FinishReason::Length),
        ]);
        assert_eq!(v["status"], "incomplete");
        assert_eq!(v["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(v["output"][0]["content"][0]["text"], "cut");
        assert_eq!(v["output"][0]["content"][0]["annotations"], json!([]));
        assert!(v["id"].as_str().unwrap().starts_with("resp_"));
        let empty = response([]);
        assert_eq!(empty["output"].as_array().unwrap().len(), 1);
        assert_eq!(empty["output"][0]["content"][0]["text"], "");
    }

    #[test]
    fn reasoning_only_is_one_reasoning_item_in_both_outputs() {
        let answer = [
            Event::Reasoning("hmm".into()),
            Event::Finish(FinishReason::Length),
        ];
        let mut enc = ResponseEncoder::new(shape(false));
        let mut out = BytesMut::new();
        enc.start(Some(&mut out));
        for e in answer.clone() {
            enc.event(e, Some(&mut out));
        }
        enc.end(Some(&mut out));
        let ev = events(&out);
        let last = ev.last().unwrap();
        assert_eq!(last["type"], "response.incomplete");
        let streamed = enc.finish();
        assert_eq!(last["response"], streamed);
        let v = response(answer);
        assert_eq!(v["status"], "incomplete");
        let output = v["output"].as_array().unwrap();
        assert_eq!(output.len(), 1, "{v}");
        assert_eq!(output[0]["type"], "reasoning");
        assert_eq!(output[0]["summary"][0]["text"], "hmm");
    }

    #[test]
    fn items_keep_arrival_order_and_indexes() {
        let mut enc = ResponseEncoder::new(shape(false));
        let mut out = BytesMut::new();
        enc.start(Some(&mut out));
        for e in [
            Event::Text("a".into()),
            Event::Reasoning("r".into()),
            Event::Text("b".into()),
        ] {
            enc.event(e, Some(&mut out));
        }
        enc.end(Some(&mut out));
        let ev = events(&out);
        let added: Vec<(u64, &str)> = ev
            .iter()
            .filter(|e| e["type"] == "response.output_item.added")
            .map(|e| {
                (
                    e["output_index"].as_u64().unwrap(),
                    e["item"]["type"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(added, [(0, "message"), (1, "reasoning"), (2, "message")]);
        let obj = enc.finish();
        let types: Vec<&str> = obj["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["message", "reasoning", "message"]);
    }

    #[test]
    fn failure_event() {
        let mut enc = ResponseEncoder::new(shape(false));
        let mut out = BytesMut::new();
        enc.start(Some(&mut out));
        enc.event(Event::Text("par".into()), Some(&mut out));
        enc.fail(&ProxyError::invalid("boom"), &mut out);
        let ev = events(&out);
        let last = ev.last().unwrap();
        assert_eq!(last["type"], "response.failed");
        assert_eq!(last["response"]["status"], "failed");
        assert_eq!(last["response"]["error"]["message"], "boom");
    }
}
