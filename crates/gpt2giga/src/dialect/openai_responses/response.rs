//! `ir::Event`s → OpenAI Responses: the `response` object (the fold) and the streaming
//! event grammar with a strictly increasing `sequence_number`:
//!
//! `response.created`, `response.in_progress`, then per output item
//! `response.output_item.added` … `response.output_item.done` with, inside,
//! reasoning (`reasoning_summary_part.added`, `reasoning_summary_text.delta`/`.done`,
//! `reasoning_summary_part.done`), text (`content_part.added`, `output_text.delta`/`.done`,
//! `content_part.done`), function calls (`function_call_arguments.delta`/`.done`) or
//! custom tool calls (`custom_tool_call_input.delta`/`.done`); finally
//! `response.completed` / `response.incomplete` / `response.failed` with the whole
//! response.

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Value, json};

use super::request::{Echo, ToolKind, item_id, seal_reasoning};
use crate::error::ProxyError;
use crate::ir::{Answer, Event, FinishReason, ToolCall, Usage};

pub fn now_secs() -> i64 {
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
    pub fn final_status(finish: Option<&FinishReason>) -> &'static str {
        match finish {
            Some(FinishReason::Length | FinishReason::ContentFilter) => "incomplete",
            _ => "completed",
        }
    }

    fn reasoning_item(&self, id: &str, text: &str, status: &str) -> Value {
        let mut item = json!({
            "id": id,
            "type": "reasoning",
            "summary": if text.is_empty() { json!([]) } else { json!([{"type": "summary_text", "text": text}]) },
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

    /// The output items of a whole answer.
    pub fn output(&self, answer: &Answer) -> Vec<Value> {
        let mut out = Vec::new();
        if !answer.reasoning.is_empty() {
            out.push(self.reasoning_item(&item_id("rs"), &answer.reasoning, "completed"));
        }
        if !answer.text.is_empty() || answer.tool_calls.is_empty() {
            out.push(message_item(&item_id("msg"), &answer.text, "completed"));
        }
        for c in &answer.tool_calls {
            let prefix = if self.is_custom(c) { "ctc" } else { "fc" };
            out.push(self.call_item(&item_id(prefix), c, "completed", true));
        }
        out
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

fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "id": id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": if status == "in_progress" { json!([]) } else { json!([text_part(text)]) },
    })
}

fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
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

// ---- streaming ----------------------------------------------------------------------------

enum Open {
    None,
    Reasoning { id: String, text: String },
    Message { id: String, text: String },
}

/// Per-stream state: sequence numbers, output index, the open item, the accumulated
/// answer (for `response.completed` and storage).
pub struct StreamEncoder {
    shape: Shape,
    seq: u64,
    open: Open,
    output: Vec<Value>,
    answer: Answer,
}

impl StreamEncoder {
    pub fn new(shape: Shape) -> Self {
        Self {
            shape,
            seq: 0,
            open: Open::None,
            output: Vec::new(),
            answer: Answer::default(),
        }
    }

    fn emit(&mut self, out: &mut BytesMut, kind: &str, mut data: Value) {
        if let Some(obj) = data.as_object_mut() {
            obj.insert("type".into(), Value::String(kind.to_string()));
            obj.insert("sequence_number".into(), Value::from(self.seq));
        }
        self.seq += 1;
        out.put_slice(b"event: ");
        out.put_slice(kind.as_bytes());
        out.put_slice(b"\ndata: ");
        if serde_json::to_writer((&mut *out).writer(), &data).is_err() {
            out.put_slice(b"{}");
        }
        out.put_slice(b"\n\n");
    }

    /// `response.created` and `response.in_progress`.
    pub fn start(&mut self, out: &mut BytesMut) {
        let obj = self.shape.object("in_progress", &[], None, None, None);
        self.emit(out, "response.created", json!({"response": obj.clone()}));
        self.emit(out, "response.in_progress", json!({"response": obj}));
    }

    fn index(&self) -> usize {
        self.output.len()
    }

    fn close(&mut self, out: &mut BytesMut) {
        let idx = self.index();
        match std::mem::replace(&mut self.open, Open::None) {
            Open::None => {}
            Open::Reasoning { id, text } => {
                let part = json!({"type": "summary_text", "text": text});
                self.emit(
                    out,
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": idx, "summary_index": 0, "text": text}),
                );
                self.emit(
                    out,
                    "response.reasoning_summary_part.done",
                    json!({"item_id": id, "output_index": idx, "summary_index": 0, "part": part}),
                );
                let item = self.shape.reasoning_item(&id, &text, "completed");
                self.emit(
                    out,
                    "response.output_item.done",
                    json!({"output_index": idx, "item": item.clone()}),
                );
                self.output.push(item);
            }
            Open::Message { id, text } => {
                self.emit(out, "response.output_text.done",
                    json!({"item_id": id, "output_index": idx, "content_index": 0, "text": text, "logprobs": []}));
                self.emit(out, "response.content_part.done",
                    json!({"item_id": id, "output_index": idx, "content_index": 0, "part": text_part(&text)}));
                let item = message_item(&id, &text, "completed");
                self.emit(
                    out,
                    "response.output_item.done",
                    json!({"output_index": idx, "item": item.clone()}),
                );
                self.output.push(item);
            }
        }
    }

    pub fn event(&mut self, event: Event, out: &mut BytesMut) {
        let idx = self.index();
        match &event {
            Event::Reasoning(r) => {
                if !matches!(self.open, Open::Reasoning { .. }) {
                    self.close(out);
                    let id = item_id("rs");
                    let item = json!({"id": id, "type": "reasoning", "summary": [], "status": "in_progress"});
                    self.emit(
                        out,
                        "response.output_item.added",
                        json!({"output_index": idx, "item": item}),
                    );
                    self.emit(out, "response.reasoning_summary_part.added",
                        json!({"item_id": id, "output_index": idx, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}));
                    self.open = Open::Reasoning {
                        id,
                        text: String::new(),
                    };
                }
                let idx = self.index();
                if let Open::Reasoning { id, text } = &mut self.open {
                    text.push_str(r);
                    let id = id.clone();
                    self.emit(
                        out,
                        "response.reasoning_summary_text.delta",
                        json!({"item_id": id, "output_index": idx, "summary_index": 0, "delta": r}),
                    );
                }
            }
            Event::Text(t) => {
                if !matches!(self.open, Open::Message { .. }) {
                    self.close(out);
                    let idx = self.index();
                    let id = item_id("msg");
                    self.emit(
                        out,
                        "response.output_item.added",
                        json!({"output_index": idx, "item": message_item(&id, "", "in_progress")}),
                    );
                    self.emit(out, "response.content_part.added",
                        json!({"item_id": id, "output_index": idx, "content_index": 0, "part": text_part("")}));
                    self.open = Open::Message {
                        id,
                        text: String::new(),
                    };
                }
                let idx = self.index();
                if let Open::Message { id, text } = &mut self.open {
                    text.push_str(t);
                    let id = id.clone();
                    self.emit(out, "response.output_text.delta",
                        json!({"item_id": id, "output_index": idx, "content_index": 0, "delta": t, "logprobs": []}));
                }
            }
            Event::ToolCall(c) => {
                self.close(out);
                let idx = self.index();
                let id = item_id(if self.shape.is_custom(c) { "ctc" } else { "fc" });
                let added = self.shape.call_item(&id, c, "in_progress", false);
                self.emit(
                    out,
                    "response.output_item.added",
                    json!({"output_index": idx, "item": added}),
                );
                if self.shape.is_custom(c) {
                    let input = custom_input(&c.arguments);
                    self.emit(
                        out,
                        "response.custom_tool_call_input.delta",
                        json!({"item_id": id, "output_index": idx, "delta": input}),
                    );
                    self.emit(
                        out,
                        "response.custom_tool_call_input.done",
                        json!({"item_id": id, "output_index": idx, "input": input}),
                    );
                } else {
                    self.emit(
                        out,
                        "response.function_call_arguments.delta",
                        json!({"item_id": id, "output_index": idx, "delta": c.arguments}),
                    );
                    self.emit(out, "response.function_call_arguments.done",
                        json!({"item_id": id, "output_index": idx, "arguments": c.arguments, "name": c.name}));
                }
                let done = self.shape.call_item(&id, c, "completed", true);
                self.emit(
                    out,
                    "response.output_item.done",
                    json!({"output_index": idx, "item": done.clone()}),
                );
                self.output.push(done);
            }
            Event::Usage(_) | Event::Finish(_) => {}
        }
        self.answer.apply(event);
    }

    /// Closes open items and emits `response.completed` (or `.incomplete`). Returns the
    /// final response object and the answer (for storage).
    pub fn end(&mut self, out: &mut BytesMut) -> (Value, Answer) {
        if self.output.is_empty() && matches!(self.open, Open::None) {
            // An empty answer is still one (empty) message.
            self.event(Event::Text(String::new()), out);
        }
        self.close(out);
        let finish = self.answer.finish.clone();
        let status = Shape::final_status(finish.as_ref());
        let obj = self.shape.object(
            status,
            &self.output,
            self.answer.usage.as_ref(),
            finish.as_ref(),
            None,
        );
        let kind = if status == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        self.emit(out, kind, json!({"response": obj.clone()}));
        (obj, std::mem::take(&mut self.answer))
    }

    /// A failure after the stream started: `response.failed` carrying the error.
    pub fn fail(&mut self, e: &ProxyError, out: &mut BytesMut) {
        self.close(out);
        let obj = self.shape.object(
            "failed",
            &self.output,
            self.answer.usage.as_ref(),
            None,
            Some(e),
        );
        self.emit(out, "response.failed", json!({"response": obj}));
    }
}

/// A whole response body from a folded answer.
pub fn fold(shape: &Shape, answer: &Answer) -> Value {
    let output = shape.output(answer);
    let status = Shape::final_status(answer.finish.as_ref());
    shape.object(
        status,
        &output,
        answer.usage.as_ref(),
        answer.finish.as_ref(),
        None,
    )
}

pub fn to_bytes(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
        let mut enc = StreamEncoder::new(shape(true));
        let mut out = BytesMut::new();
        enc.start(&mut out);
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
            }),
            Event::Finish(FinishReason::ToolCalls),
        ] {
            enc.event(e, &mut out);
        }
        let (obj, answer) = enc.end(&mut out);
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
        assert_eq!(answer.text, "Hello");
        assert_eq!(ev[23]["response"]["output"], obj["output"]);
    }

    #[test]
    fn fold_and_incomplete() {
        let s = shape(false);
        let a = Answer::fold([
            Event::Text("cut".into()),
            Event::Finish(FinishReason::Length),
        ]);
        let v = fold(&s, &a);
        assert_eq!(v["status"], "incomplete");
        assert_eq!(v["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(v["output"][0]["content"][0]["text"], "cut");
        assert_eq!(v["output"][0]["content"][0]["annotations"], json!([]));
        assert!(v["id"].as_str().unwrap().starts_with("resp_"));
    }

    #[test]
    fn failure_event() {
        let mut enc = StreamEncoder::new(shape(false));
        let mut out = BytesMut::new();
        enc.start(&mut out);
        enc.event(Event::Text("par".into()), &mut out);
        enc.fail(&ProxyError::invalid("boom"), &mut out);
        let ev = events(&out);
        let last = ev.last().unwrap();
        assert_eq!(last["type"], "response.failed");
        assert_eq!(last["response"]["status"], "failed");
        assert_eq!(last["response"]["error"]["message"], "boom");
    }
}
