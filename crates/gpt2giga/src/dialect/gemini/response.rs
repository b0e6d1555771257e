//! `ir::Event`s → Gemini `GenerateContentResponse`s. One [`ContentEncoder`] per answer
//! writes the stream frames — each a full `GenerateContentResponse` carrying the next
//! part — and keeps the response they add up to; a JSON answer is that response.
//!
//! Two framings: Server-Sent Events (`?alt=sse`: `data: {…}` frames) and, without
//! `alt=sse`, one JSON array written element by element (`[{…},\r\n{…}]`).
//!
//! Each part is written when the next one arrives (or at the end), so the last frame
//! carries a part together with `finishReason` and `usageMetadata`: the google-genai
//! chat sessions only keep a streamed turn whose every frame has a part. The delay is
//! one upstream chunk; nothing else is held back.
//!
//! Parts: `text`; reasoning as `{"text", "thought": true}` only when the client asked for
//! `includeThoughts`; `functionCall` with `id`, `name` and `args` (an object). A call
//! whose arguments are not a JSON object is not passed on: the answer ends with
//! `MALFORMED_FUNCTION_CALL` and a `finishMessage` quoting it, as Gemini does.

use bytes::{BufMut, BytesMut};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::request::EncodeOptions;
use crate::error::ProxyError;
use crate::ir::{Builtin, Citation, Event, FinishReason, Source, Usage};

/// How the stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `?alt=sse`: `data: {…}\r\n\r\n` frames.
    Sse,
    /// A JSON array written incrementally.
    JsonArray,
}

pub(crate) fn response_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..22].to_string()
}

fn finish_reason(f: &FinishReason) -> &'static str {
    match f {
        FinishReason::Stop | FinishReason::ToolCalls | FinishReason::StopSequence(_) => "STOP",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
    }
}

/// `usageMetadata`. GigaChat's completion tokens include reasoning; Gemini counts
/// thoughts apart from the candidates.
#[derive(Serialize, Clone, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageMetadata {
    prompt_token_count: u64,
    candidates_token_count: u64,
    total_token_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    thoughts_token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_content_token_count: Option<u64>,
}

fn usage_metadata(u: &Usage) -> UsageMetadata {
    let thoughts = u.reasoning_tokens.filter(|t| *t > 0);
    UsageMetadata {
        prompt_token_count: u.input_tokens,
        candidates_token_count: u.output_tokens.saturating_sub(thoughts.unwrap_or(0)),
        total_token_count: u.total(),
        thoughts_token_count: thoughts,
        cached_content_token_count: (u.cached_tokens > 0).then_some(u.cached_tokens),
    }
}

/// A part of the answer.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text {
        text: String,
        thought: bool,
    },
    Call {
        id: String,
        name: String,
        args: Value,
    },
}

impl Part {
    fn to_json(&self) -> Value {
        match self {
            Part::Text {
                text,
                thought: true,
            } => json!({"text": text, "thought": true}),
            Part::Text { text, .. } => json!({"text": text}),
            Part::Call { id, name, args } => {
                json!({"functionCall": {"id": id, "name": name, "args": args}})
            }
        }
    }
}

/// The `GenerateContentResponse`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    candidates: Vec<Value>,
    usage_metadata: UsageMetadata,
    model_version: String,
    response_id: String,
}

/// Per-answer state: the parts so far (merged), the part not yet written, finish, usage.
pub struct ContentEncoder {
    opts: EncodeOptions,
    framing: Framing,
    id: String,
    parts: Vec<Part>,
    /// The latest part, written with the next frame.
    pending: Option<Part>,
    frames: usize,
    finish: Option<FinishReason>,
    malformed: Option<String>,
    usage: Option<Usage>,
    /// Web search: `groundingMetadata` (queries, the pages, cited segments).
    grounding: Option<Grounding>,
}

#[derive(Default)]
struct Grounding {
    queries: Vec<String>,
    chunks: Vec<Source>,
    supports: Vec<Value>,
}

impl Grounding {
    fn chunk(&mut self, source: &Source) -> usize {
        match self.chunks.iter().position(|c| c.url == source.url) {
            Some(i) => i,
            None => {
                self.chunks.push(source.clone());
                self.chunks.len() - 1
            }
        }
    }

    fn to_json(&self) -> Value {
        let chunks: Vec<Value> = self
            .chunks
            .iter()
            .map(|c| json!({"web": {"uri": c.url, "title": c.title.as_deref().unwrap_or(&c.url)}}))
            .collect();
        json!({
            "webSearchQueries": self.queries,
            "groundingChunks": chunks,
            "groundingSupports": self.supports,
        })
    }
}

impl ContentEncoder {
    pub fn new(opts: EncodeOptions, framing: Framing) -> Self {
        Self {
            opts,
            framing,
            id: response_id(),
            parts: Vec::new(),
            pending: None,
            frames: 0,
            finish: None,
            malformed: None,
            usage: None,
            grounding: None,
        }
    }

    /// Cited segments: byte offsets of the answer text (Gemini counts bytes).
    fn cite(&mut self, citations: Vec<Citation>) {
        let text: String = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Text {
                    text,
                    thought: false,
                } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let g = self.grounding.get_or_insert_default();
        for c in citations {
            let Some(segment) = text.get(c.start..c.end) else {
                continue;
            };
            let i = g.chunk(&c.source);
            // One support per segment, listing every source that backs it.
            let same = g.supports.last_mut().filter(|s| {
                s["segment"]["startIndex"] == c.start && s["segment"]["endIndex"] == c.end
            });
            match same.and_then(|s| s["groundingChunkIndices"].as_array_mut()) {
                Some(indices) => indices.push(json!(i)),
                None => g.supports.push(json!({
                    "segment": {"startIndex": c.start, "endIndex": c.end, "text": segment},
                    "groundingChunkIndices": [i],
                })),
            }
        }
    }

    /// Adds `part` to the answer (consecutive texts of one kind grow one part) and
    /// queues it for the stream, writing the one queued before.
    fn push(&mut self, part: Part, out: Option<&mut BytesMut>) {
        match (self.parts.last_mut(), &part) {
            (
                Some(Part::Text { text, thought }),
                Part::Text {
                    text: t,
                    thought: th,
                },
            ) if thought == th => text.push_str(t),
            _ => self.parts.push(part.clone()),
        }
        if let Some(out) = out {
            if let Some(prev) = self.pending.take() {
                let frame = self.frame(Some(&prev), false);
                self.write(out, &frame);
            }
            self.pending = Some(part);
        }
    }

    fn write(&mut self, out: &mut BytesMut, frame: &Value) {
        let body = serde_json::to_vec(frame).unwrap_or_default();
        match self.framing {
            Framing::Sse => {
                out.put_slice(b"data: ");
                out.put_slice(&body);
                out.put_slice(b"\r\n\r\n");
            }
            Framing::JsonArray => {
                out.put_slice(if self.frames == 0 { b"[" } else { b",\r\n" });
                out.put_slice(&body);
            }
        }
        self.frames += 1;
    }

    fn finish_reason(&self) -> &'static str {
        if self.malformed.is_some() {
            return "MALFORMED_FUNCTION_CALL";
        }
        finish_reason(self.finish.as_ref().unwrap_or(&FinishReason::Stop))
    }

    fn candidate(&self, parts: Vec<Value>, last: bool) -> Value {
        let mut c = Map::new();
        c.insert("content".into(), json!({"parts": parts, "role": "model"}));
        if last {
            c.insert("finishReason".into(), json!(self.finish_reason()));
            if let Some(m) = &self.malformed {
                c.insert("finishMessage".into(), json!(m));
            }
            if let Some(g) = &self.grounding {
                c.insert("groundingMetadata".into(), g.to_json());
            }
        }
        c.insert("index".into(), json!(0));
        Value::Object(c)
    }

    fn usage(&self) -> UsageMetadata {
        self.usage.as_ref().map(usage_metadata).unwrap_or_default()
    }

    /// One stream frame: `part`, and on the last frame the finish and usage.
    fn frame(&self, part: Option<&Part>, last: bool) -> Value {
        let parts = vec![part.map_or_else(|| json!({"text": ""}), Part::to_json)];
        let mut f = Map::new();
        f.insert("candidates".into(), json!([self.candidate(parts, last)]));
        if last {
            f.insert(
                "usageMetadata".into(),
                serde_json::to_value(self.usage()).unwrap_or_default(),
            );
        }
        f.insert("modelVersion".into(), json!(self.opts.model));
        f.insert("responseId".into(), json!(self.id));
        Value::Object(f)
    }
}

impl crate::dialect::encoder::Encoder for ContentEncoder {
    type Object = GenerateContentResponse;

    fn event(&mut self, event: Event, out: Option<&mut BytesMut>) {
        match event {
            // An empty delta carries nothing (and an empty text part is the filler of
            // a last frame with nothing left to say).
            Event::Reasoning(t) | Event::Text(t) if t.is_empty() => {}
            Event::Reasoning(r) if self.opts.include_thoughts => self.push(
                Part::Text {
                    text: r,
                    thought: true,
                },
                out,
            ),
            Event::Reasoning(_) => {}
            Event::Text(t) => self.push(
                Part::Text {
                    text: t,
                    thought: false,
                },
                out,
            ),
            Event::ToolCall(c) => match serde_json::from_str::<Value>(&c.arguments) {
                Ok(args @ Value::Object(_)) => self.push(
                    Part::Call {
                        id: c.id,
                        name: c.name,
                        args,
                    },
                    out,
                ),
                _ => {
                    self.malformed = Some(format!(
                        "Malformed function call: {}({})",
                        c.name, c.arguments
                    ));
                }
            },
            // Gemini shows no progress of a search: its results are the grounding.
            Event::BuiltinStarted(_) | Event::BuiltinProgress(_) => {}
            Event::BuiltinDone(o) => {
                if o.call.kind == Builtin::WebSearch {
                    let g = self.grounding.get_or_insert_default();
                    if !o.call.query.is_empty() {
                        g.queries.push(o.call.query.clone());
                    }
                    for source in &o.sources {
                        g.chunk(source);
                    }
                }
            }
            Event::Citations(c) => self.cite(c),
            Event::Usage(u) => self.usage = Some(u),
            Event::Finish(f) => self.finish = Some(f),
        }
    }

    /// The last frame (the queued part, finish, usage) and the array's close.
    fn end(&mut self, out: Option<&mut BytesMut>) {
        let Some(out) = out else { return };
        let pending = self.pending.take();
        let frame = self.frame(pending.as_ref(), true);
        self.write(out, &frame);
        if self.framing == Framing::JsonArray {
            out.put_slice(b"]");
        }
    }

    /// A failure after the stream started: the queued part, then an error object (an
    /// SSE frame, or the array's last element).
    fn fail(&mut self, e: &ProxyError, out: &mut BytesMut) {
        if let Some(prev) = self.pending.take() {
            let frame = self.frame(Some(&prev), false);
            self.write(out, &frame);
        }
        let body = super::error::body(e);
        match self.framing {
            Framing::Sse => {
                out.put_slice(b"data: ");
                out.put_slice(&body);
                out.put_slice(b"\r\n\r\n");
            }
            Framing::JsonArray => {
                out.put_slice(if self.frames == 0 { b"[" } else { b",\r\n" });
                out.put_slice(&body);
                out.put_slice(b"]");
            }
        }
    }

    fn finish(self) -> GenerateContentResponse {
        let parts = self.parts.iter().map(Part::to_json).collect();
        GenerateContentResponse {
            candidates: vec![self.candidate(parts, true)],
            usage_metadata: self.usage(),
            model_version: self.opts.model.clone(),
            response_id: self.id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::encoder::Encoder;
    use crate::ir::ToolCall;

    fn opts(include_thoughts: bool) -> EncodeOptions {
        EncodeOptions {
            model: "gemini-2.5-flash".into(),
            include_thoughts,
        }
    }

    fn answer() -> Vec<Event> {
        vec![
            Event::Reasoning("think".into()),
            Event::Text("Hel".into()),
            Event::Text("lo".into()),
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
            Event::Finish(FinishReason::ToolCalls),
            Event::Usage(Usage {
                input_tokens: 10,
                output_tokens: 7,
                cached_tokens: 4,
                reasoning_tokens: Some(2),
                web_searches: 0,
            }),
        ]
    }

    fn run(events: Vec<Event>, o: EncodeOptions, framing: Framing) -> (String, Value) {
        let mut enc = ContentEncoder::new(o, framing);
        let mut out = BytesMut::new();
        for e in events {
            enc.event(e, Some(&mut out));
        }
        enc.end(Some(&mut out));
        let obj = serde_json::to_value(enc.finish()).unwrap();
        (String::from_utf8(out.to_vec()).unwrap(), obj)
    }

    fn sse_frames(text: &str) -> Vec<Value> {
        text.split("\r\n\r\n")
            .filter(|f| !f.is_empty())
            .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn sse_frames_carry_one_part_each_and_usage_last() {
        let (text, obj) = run(answer(), opts(true), Framing::Sse);
        let frames = sse_frames(&text);
        assert_eq!(frames.len(), 5);
        assert_eq!(
            frames[0]["candidates"][0]["content"],
            json!({"parts": [{"text": "think", "thought": true}], "role": "model"})
        );
        assert_eq!(
            frames[1]["candidates"][0]["content"]["parts"][0]["text"],
            "Hel"
        );
        assert!(frames[1].get("usageMetadata").is_none());
        assert!(frames[1]["candidates"][0].get("finishReason").is_none());
        let last = &frames[4];
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(
            last["candidates"][0]["content"]["parts"][0]["functionCall"],
            json!({"id": "call_2", "name": "g", "args": {}})
        );
        assert_eq!(
            last["usageMetadata"],
            json!({"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 17,
                   "thoughtsTokenCount": 2, "cachedContentTokenCount": 4})
        );
        assert_eq!(last["modelVersion"], "gemini-2.5-flash");
        assert_eq!(last["responseId"], frames[0]["responseId"]);
        // The JSON answer merges the texts.
        assert_eq!(
            obj["candidates"][0]["content"]["parts"],
            json!([{"text": "think", "thought": true}, {"text": "Hello"},
                   {"functionCall": {"id": "call_1", "name": "f", "args": {"x": 1}}},
                   {"functionCall": {"id": "call_2", "name": "g", "args": {}}}])
        );
        assert_eq!(obj["usageMetadata"], last["usageMetadata"]);
    }

    #[test]
    fn json_array_framing_parses_as_one_array() {
        let (text, _) = run(answer(), opts(false), Framing::JsonArray);
        let arr: Vec<Value> = serde_json::from_str(&text).unwrap();
        // Thoughts are left out without includeThoughts.
        assert_eq!(arr.len(), 4);
        assert_eq!(
            arr[0]["candidates"][0]["content"]["parts"][0]["text"],
            "Hel"
        );
        let (text, obj) = run(vec![], opts(false), Framing::JsonArray);
        let arr: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(arr.len(), 1);
        assert_eq!(arr[0]["candidates"][0]["finishReason"], "STOP");
        assert_eq!(obj["candidates"][0]["content"]["parts"], json!([]));
    }

    #[test]
    fn finish_reasons() {
        for (f, want) in [
            (FinishReason::Length, "MAX_TOKENS"),
            (FinishReason::ContentFilter, "SAFETY"),
            (FinishReason::StopSequence("x".into()), "STOP"),
        ] {
            let (_, obj) = run(
                vec![Event::Text("a".into()), Event::Finish(f)],
                opts(false),
                Framing::Sse,
            );
            assert_eq!(obj["candidates"][0]["finishReason"], want);
        }
        let (_, obj) = run(
            vec![Event::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "not json".into(),
            })],
            opts(false),
            Framing::Sse,
        );
        assert_eq!(
            obj["candidates"][0]["finishReason"],
            "MALFORMED_FUNCTION_CALL"
        );
        assert!(
            obj["candidates"][0]["finishMessage"]
                .as_str()
                .unwrap()
                .contains("not json")
        );
    }

    #[test]
    fn failure_closes_the_array() {
        let mut enc = ContentEncoder::new(opts(false), Framing::JsonArray);
        let mut out = BytesMut::new();
        enc.event(Event::Text("a".into()), Some(&mut out));
        enc.fail(&ProxyError::invalid("boom"), &mut out);
        let arr: Vec<Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(arr.len(), 2);
        assert_eq!(arr[1]["error"]["status"], "INVALID_ARGUMENT");
    }
}
