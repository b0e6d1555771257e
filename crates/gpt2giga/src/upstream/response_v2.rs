//! GigaChat v2 answers (JSON, or the named SSE events) → `ir::Event`s — the same events
//! the v1 mapper yields, so every dialect encoder serves both contracts unchanged.
//!
//! * `role:"reasoning"` messages' text → `Event::Reasoning`;
//! * assistant text parts → `Event::Text`; `function_call` parts → one `Event::ToolCall`
//!   each (GigaChat's call id kept when it sends one, else a fresh `call_…`);
//! * `usage` (with `input_tokens_details.cached_tokens`) → `Event::Usage`, the top-level
//!   `finish_reason` → `Event::Finish`.
//!
//! A stream is the same payloads split over `response.message.delta` events, ended by
//! `response.message.done` (finish reason, usage, and for function calls the calls).

use std::collections::BTreeMap;

use gigachat::types::v2;
use serde_json::Value;

use super::citations::CitationFilter;
use super::request::{Plan, builtin_of_key};
use super::response::{finish_reason, new_call_id};
use crate::ir::{
    Builtin, BuiltinCall, BuiltinOutcome, Citation, Event, GeneratedImage, Source, ToolCall, Usage,
};

pub(crate) struct EventMapperV2 {
    plan: Plan,
    /// A structured-output function call was turned into text.
    structured_answer: bool,
    finished: bool,
    /// Source markers are taken out of the text (web search was offered).
    citations: Option<CitationFilter>,
    /// `inline_data.sources` seen so far, by key.
    sources: BTreeMap<String, Source>,
    /// The built-in tool running now (started, not done).
    running: Option<Running>,
    /// Text held while a built-in's result is still to come (its item/block first).
    held: Vec<String>,
    /// Generated images not yet handed to their tool run.
    images: Vec<GeneratedImage>,
    web_searches: u64,
}

struct Running {
    call: BuiltinCall,
    /// GigaChat reported it finished (`ok`), its result may still be on the way.
    completed: Option<bool>,
}

impl EventMapperV2 {
    pub fn new(plan: Plan) -> Self {
        let citations = plan
            .builtins
            .iter()
            .any(|b| b.kind == Builtin::WebSearch)
            .then(CitationFilter::default);
        Self {
            plan,
            structured_answer: false,
            finished: false,
            citations,
            sources: BTreeMap::new(),
            running: None,
            held: Vec::new(),
            images: Vec::new(),
            web_searches: 0,
        }
    }

    /// Events of a whole (non-streaming) answer.
    pub fn response(&mut self, response: v2::ChatResponse, out: &mut Vec<Event>) {
        self.payload(response, out);
        if !self.finished {
            self.finished = true;
            self.end_of_text(out);
            out.push(Event::Finish(finish_reason("stop", self.structured_answer)));
        }
    }

    /// Events of one stream event.
    pub fn event(&mut self, event: v2::StreamEvent, out: &mut Vec<Event>) {
        match event.event.as_str() {
            v2::event::MESSAGE_DELTA
            | v2::event::MESSAGE_DONE
            | v2::event::TOOL_IN_PROGRESS
            | v2::event::TOOL_COMPLETED => self.payload(event.data, out),
            // Unknown events carry nothing the answer is made of.
            other => tracing::debug!(event = other, "ignoring an unknown GigaChat v2 event"),
        }
    }

    fn payload(&mut self, p: v2::ChatResponse, out: &mut Vec<Event>) {
        for m in p.messages {
            self.message(m, out);
        }
        if let Some(reason) = p.finish_reason {
            self.finished = true;
            self.end_of_text(out);
            if let Some(u) = p.usage {
                out.push(Event::Usage(self.usage_of(&u)));
            }
            out.push(Event::Finish(finish_reason(
                &reason,
                self.structured_answer,
            )));
        } else if let Some(u) = p.usage {
            out.push(Event::Usage(self.usage_of(&u)));
        }
    }

    fn message(&mut self, m: v2::Message, out: &mut Vec<Event>) {
        let reasoning = m.role == "reasoning";
        for part in m.content {
            if let Some(te) = &part.tool_execution {
                self.tool_execution(te, out);
            }
            if let Some(found) = part.inline_data.as_ref().map(sources_of)
                && !found.is_empty()
            {
                self.sources.extend(found);
                self.web_search_result(out);
            }
            let images: Vec<GeneratedImage> = part
                .files
                .iter()
                .flatten()
                .filter(|f| {
                    f.target.as_deref() == Some("image")
                        || f.mime.as_deref().is_some_and(|m| m.starts_with("image/"))
                })
                .map(|f| GeneratedImage {
                    file_id: f.id.clone(),
                    mime: f.mime.clone().unwrap_or_else(|| "image/jpeg".to_string()),
                    data: String::new(),
                })
                .collect();
            if !images.is_empty() {
                self.images.extend(images);
                self.image_result(out);
            }
            if let Some(t) = part.text.filter(|t| !t.is_empty()) {
                if reasoning {
                    out.push(Event::Reasoning(t));
                } else {
                    self.text(t, out);
                }
            }
            if let Some(call) = part.function_call {
                if self.plan.structured_function.as_deref() == Some(call.name.as_str()) {
                    self.structured_answer = true;
                    self.text(call.arguments.to_string(), out);
                    continue;
                }
                out.push(Event::ToolCall(ToolCall {
                    id: call
                        .id
                        .filter(|id| !id.is_empty())
                        .unwrap_or_else(new_call_id),
                    name: self.plan.names.client_name(&call.name),
                    arguments: call.arguments.to_string(),
                }));
            }
        }
    }

    fn text(&mut self, t: String, out: &mut Vec<Event>) {
        if self.running.is_some() {
            self.held.push(t);
            return;
        }
        match &mut self.citations {
            Some(f) => f.push(&t, out),
            None => out.push(Event::Text(t)),
        }
    }

    /// A `tool_execution` part: `{name, status?, seconds_left?}` — without a status the
    /// tool is at work, with one it is finished.
    fn tool_execution(&mut self, te: &Value, out: &mut Vec<Event>) {
        let Some(kind) = te
            .get("name")
            .and_then(Value::as_str)
            .and_then(builtin_of_key)
        else {
            return;
        };
        let status = te.get("status").and_then(Value::as_str);
        match &mut self.running {
            Some(r) if r.call.kind == kind => {
                if let Some(s) = status {
                    r.completed = Some(s != "fail");
                } else {
                    out.push(Event::BuiltinProgress(r.call.clone()));
                }
            }
            _ => {
                // A different tool (or the first): the previous one is over.
                self.finish_running(out);
                let call = BuiltinCall {
                    id: short_id(),
                    kind,
                    query: self.plan.query.clone(),
                };
                out.push(Event::BuiltinStarted(call.clone()));
                self.running = Some(Running {
                    call,
                    completed: status.map(|s| s != "fail"),
                });
            }
        }
        // Tools whose result is their text are done when GigaChat says so; a search
        // waits for its sources, an image generation for its files.
        if let Some(r) = &self.running
            && r.completed.is_some()
            && !matches!(r.call.kind, Builtin::WebSearch | Builtin::ImageGeneration)
        {
            self.finish_running(out);
        }
    }

    /// Generated files arrived: the image generation (started or implied) is done.
    fn image_result(&mut self, out: &mut Vec<Event>) {
        self.result_of(Builtin::ImageGeneration, out);
    }

    /// Sources arrived: the web search (started or implied by them) is done.
    fn web_search_result(&mut self, out: &mut Vec<Event>) {
        self.result_of(Builtin::WebSearch, out);
    }

    /// A result of `kind` arrived: that tool is done, started here first when GigaChat
    /// sent no call for it (the result implies one).
    fn result_of(&mut self, kind: Builtin, out: &mut Vec<Event>) {
        if !self.running.as_ref().is_some_and(|r| r.call.kind == kind) {
            self.finish_running(out);
            let call = BuiltinCall {
                id: short_id(),
                kind,
                query: self.plan.query.clone(),
            };
            out.push(Event::BuiltinStarted(call.clone()));
            self.running = Some(Running {
                call,
                completed: Some(true),
            });
        }
        self.finish_running(out);
    }

    /// Ends the running tool (with what it produced) and releases the text held for it.
    fn finish_running(&mut self, out: &mut Vec<Event>) {
        let Some(r) = self.running.take() else {
            return;
        };
        let sources = if r.call.kind == Builtin::WebSearch {
            self.web_searches += 1;
            self.sources.values().cloned().collect()
        } else {
            Vec::new()
        };
        let images = if r.call.kind == Builtin::ImageGeneration {
            std::mem::take(&mut self.images)
        } else {
            Vec::new()
        };
        out.push(Event::BuiltinDone(BuiltinOutcome {
            call: r.call,
            ok: r.completed.unwrap_or(true),
            sources,
            images,
        }));
        for t in std::mem::take(&mut self.held) {
            self.text(t, out);
        }
    }

    /// The answer text is complete: the running tool ends, held text is released, and
    /// the markers become citations.
    fn end_of_text(&mut self, out: &mut Vec<Event>) {
        self.finish_running(out);
        let Some(f) = &mut self.citations else {
            return;
        };
        f.flush(out);
        let mut cited = Vec::new();
        for m in f.take_markers() {
            for key in &m.sources {
                match self.sources.get(key) {
                    Some(source) => cited.push(Citation {
                        source: source.clone(),
                        start: m.start,
                        end: m.end,
                    }),
                    None => tracing::debug!(key = %key, "GigaChat cited a source it did not list"),
                }
            }
        }
        if !cited.is_empty() {
            out.push(Event::Citations(cited));
        }
    }

    fn usage_of(&self, u: &v2::Usage) -> Usage {
        Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cached_tokens: u.input_tokens_details.cached_tokens,
            reasoning_tokens: None,
            web_searches: self.web_searches,
        }
    }
}

/// `inline_data.sources`: `{"1": {"url", "title"}, …}` (entries without a URL skipped).
fn sources_of(inline: &Value) -> Vec<(String, Source)> {
    let Some(map) = inline.get("sources").and_then(Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| {
            let url = v.get("url").and_then(Value::as_str)?.to_string();
            let title = v
                .get("title")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            Some((k.clone(), Source { url, title }))
        })
        .collect()
}

/// 24 hex digits: the part of a built-in run's id that dialects prefix.
fn short_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..24].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::BuiltinOutcome;
    use crate::ir::FinishReason;

    fn mapper() -> EventMapperV2 {
        EventMapperV2::new(Plan::default())
    }

    #[test]
    fn recorded_text_answer() {
        let raw = r#"{"model":"GigaChat-3-Ultra:32.3.18.5","created_at":1780321855,"messages":[{"role":"assistant","content":[{"text":"Hello"}]}],"finish_reason":"stop","usage":{"input_tokens":19,"input_tokens_details":{"prompt_tokens":19,"cached_tokens":4},"output_tokens":2,"total_tokens":21}}"#;
        let mut ev = vec![];
        mapper().response(serde_json::from_str(raw).unwrap(), &mut ev);
        assert_eq!(
            ev,
            vec![
                Event::Text("Hello".into()),
                Event::Usage(Usage {
                    input_tokens: 19,
                    output_tokens: 2,
                    cached_tokens: 4,
                    reasoning_tokens: None,
                    web_searches: 0,
                }),
                Event::Finish(FinishReason::Stop)
            ]
        );
    }

    #[test]
    fn several_calls_keep_their_ids_and_client_names() {
        let mut plan = Plan::default();
        let alias = plan.names.register("web_search");
        let raw = format!(
            r#"{{"messages":[{{"role":"assistant","tool_state_id":"s","content":[{{"function_call":{{"id":"g-1","name":"{alias}","arguments":{{"q":"rust"}}}}}},{{"function_call":{{"name":"f","arguments":{{}}}}}}]}}],"finish_reason":"function_call"}}"#
        );
        let mut ev = vec![];
        EventMapperV2::new(plan).response(serde_json::from_str(&raw).unwrap(), &mut ev);
        let calls: Vec<&ToolCall> = ev
            .iter()
            .filter_map(|e| match e {
                Event::ToolCall(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[0].id.as_str(), calls[0].name.as_str()),
            ("g-1", "web_search")
        );
        assert_eq!(calls[0].arguments, r#"{"q":"rust"}"#);
        assert!(calls[1].id.starts_with("call_"));
        assert_eq!(ev.last(), Some(&Event::Finish(FinishReason::ToolCalls)));
    }

    #[test]
    fn stream_events_reasoning_and_done() {
        let mut m = mapper();
        let mut ev = vec![];
        let e = |name: &str, data: &str| v2::StreamEvent {
            event: name.into(),
            data: serde_json::from_str(data).unwrap(),
        };
        m.event(
            e(
                v2::event::MESSAGE_DELTA,
                r#"{"messages":[{"role":"reasoning","content":[{"text":"hmm"}]}]}"#,
            ),
            &mut ev,
        );
        m.event(
            e(
                v2::event::TOOL_IN_PROGRESS,
                r#"{"messages":[{"role":"assistant","content":[{"tool_execution":{"name":"web_search","seconds_left":3}}]}]}"#,
            ),
            &mut ev,
        );
        m.event(
            e(
                v2::event::MESSAGE_DELTA,
                r#"{"messages":[{"role":"assistant","content":[{"text":"1, 2"}]}]}"#,
            ),
            &mut ev,
        );
        m.event(
            e(
                v2::event::MESSAGE_DONE,
                r#"{"finish_reason":"length","usage":{"input_tokens":1,"output_tokens":2,"total_tokens":3}}"#,
            ),
            &mut ev,
        );
        let Event::BuiltinStarted(call) = &ev[1] else {
            panic!("{ev:?}")
        };
        assert_eq!(call.kind, Builtin::WebSearch);
        // The text waited for the search's result (none came: done at the end).
        assert_eq!(
            ev[2..],
            vec![
                Event::BuiltinDone(BuiltinOutcome {
                    call: call.clone(),
                    ok: true,
                    sources: vec![],
                    images: vec![],
                }),
                Event::Text("1, 2".into()),
                Event::Usage(Usage {
                    input_tokens: 1,
                    output_tokens: 2,
                    cached_tokens: 0,
                    reasoning_tokens: None,
                    web_searches: 1,
                }),
                Event::Finish(FinishReason::Length)
            ]
        );
        assert_eq!(ev[0], Event::Reasoning("hmm".into()));
    }

    fn web_search_plan() -> Plan {
        Plan {
            builtins: vec![crate::ir::BuiltinTool::new(
                Builtin::WebSearch,
                "web_search",
            )],
            query: "python news".into(),
            ..Default::default()
        }
    }

    #[test]
    fn recorded_web_search_answer_becomes_a_search_text_and_citations() {
        let raw = r#"{"model":"GigaChat-3-Ultra:32.3.18.5","created_at":1780321888,"messages":[{"role":"assistant","tool_state_id":"019e8374-28b2-741f-a05c-54c968fd20c2","content":[{"text":"Faster JIT on macOS [sources=[2]].\n\nUTF-8 default [sources=[1, 2]].","inline_data":{"images":[],"sources":{"1":{"url":"https://learn.microsoft.com/x","title":"MS"},"2":{"url":"https://realpython.com/y","title":"RP"}}}}]}],"finish_reason":"stop","usage":{"input_tokens":23767,"input_tokens_details":{"prompt_tokens":23767,"cached_tokens":2557},"output_tokens":570,"total_tokens":24337}}"#;
        let mut ev = vec![];
        EventMapperV2::new(web_search_plan()).response(serde_json::from_str(raw).unwrap(), &mut ev);
        let Event::BuiltinStarted(call) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(call.query, "python news");
        let Event::BuiltinDone(done) = &ev[1] else {
            panic!("{ev:?}")
        };
        assert_eq!(done.sources.len(), 2);
        assert_eq!(done.sources[1].url, "https://realpython.com/y");
        let text: String = ev
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, "Faster JIT on macOS.\n\nUTF-8 default.");
        let cites = ev
            .iter()
            .find_map(|e| match e {
                Event::Citations(c) => Some(c.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(cites.len(), 3);
        assert_eq!(&text[cites[0].start..cites[0].end], "Faster JIT on macOS");
        assert_eq!(cites[0].source.title.as_deref(), Some("RP"));
        assert_eq!(&text[cites[2].start..cites[2].end], "UTF-8 default");
        let Some(Event::Usage(u)) = ev.iter().rev().nth(1) else {
            panic!("{ev:?}")
        };
        assert_eq!((u.cached_tokens, u.web_searches), (2557, 1));
    }

    #[test]
    fn streamed_search_holds_text_until_its_sources() {
        let mut m = EventMapperV2::new(web_search_plan());
        let e = |name: &str, data: &str| v2::StreamEvent {
            event: name.into(),
            data: serde_json::from_str(data).unwrap(),
        };
        let mut ev = vec![];
        m.event(e(v2::event::TOOL_IN_PROGRESS, r#"{"messages":[{"role":"assistant","content":[{"tool_execution":{"name":"web_search","seconds_left":3}}]}]}"#), &mut ev);
        m.event(e(v2::event::TOOL_IN_PROGRESS, r#"{"messages":[{"role":"assistant","content":[{"tool_execution":{"name":"web_search","seconds_left":1}}]}]}"#), &mut ev);
        m.event(e(v2::event::TOOL_COMPLETED, r#"{"messages":[{"role":"reasoning","content":[{"tool_execution":{"name":"web_search","status":"success"}}]}]}"#), &mut ev);
        m.event(
            e(
                v2::event::MESSAGE_DELTA,
                r#"{"messages":[{"role":"assistant","content":[{"text":"Found [sour"}]}]}"#,
            ),
            &mut ev,
        );
        assert!(
            matches!(
                ev[..],
                [Event::BuiltinStarted(_), Event::BuiltinProgress(_)]
            ),
            "{ev:?}"
        );
        m.event(e(v2::event::MESSAGE_DELTA, r#"{"messages":[{"role":"assistant","content":[{"text":"ces=[1]].","inline_data":{"sources":{"1":{"url":"https://a.example","title":"A"}}}}]}]}"#), &mut ev);
        m.event(e(v2::event::MESSAGE_DONE, r#"{"finish_reason":"stop","usage":{"input_tokens":1,"output_tokens":2,"total_tokens":3}}"#), &mut ev);
        let Event::BuiltinDone(done) = &ev[2] else {
            panic!("{ev:?}")
        };
        assert_eq!(done.sources[0].url, "https://a.example");
        let text: String = ev
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, "Found.");
        assert!(
            ev.iter()
                .any(|e| matches!(e, Event::Citations(c) if c[0].start == 0 && c[0].end == 5)),
            "{ev:?}"
        );
    }

    #[test]
    fn structured_function_becomes_text() {
        let plan = Plan {
            structured_function: Some("structured_output".into()),
            ..Default::default()
        };
        let raw = r#"{"messages":[{"role":"assistant","content":[{"function_call":{"name":"structured_output","arguments":{"a":1}}}]}],"finish_reason":"function_call"}"#;
        let mut ev = vec![];
        EventMapperV2::new(plan).response(serde_json::from_str(raw).unwrap(), &mut ev);
        assert_eq!(
            ev,
            vec![
                Event::Text(r#"{"a":1}"#.into()),
                Event::Finish(FinishReason::Stop)
            ]
        );
    }
}
