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

use gigachat::types::v2;

use super::request::Plan;
use super::response::{finish_reason, new_call_id};
use crate::ir::{Event, ToolCall, Usage};

pub(crate) struct EventMapperV2 {
    plan: Plan,
    /// A structured-output function call was turned into text.
    structured_answer: bool,
    finished: bool,
}

impl EventMapperV2 {
    pub fn new(plan: Plan) -> Self {
        Self {
            plan,
            structured_answer: false,
            finished: false,
        }
    }

    /// Events of a whole (non-streaming) answer.
    pub fn response(&mut self, response: v2::ChatResponse, out: &mut Vec<Event>) {
        self.payload(response, out);
        if !self.finished {
            self.finished = true;
            out.push(Event::Finish(finish_reason("stop", self.structured_answer)));
        }
    }

    /// Events of one stream event.
    pub fn event(&mut self, event: v2::StreamEvent, out: &mut Vec<Event>) {
        match event.event.as_str() {
            v2::event::MESSAGE_DELTA | v2::event::MESSAGE_DONE => self.payload(event.data, out),
            // Built-in tool progress (`response.tool.*`) and unknown events carry no
            // answer content.
            _ => {}
        }
    }

    fn payload(&mut self, p: v2::ChatResponse, out: &mut Vec<Event>) {
        for m in p.messages {
            self.message(m, out);
        }
        if let Some(u) = p.usage {
            out.push(Event::Usage(usage_of(&u)));
        }
        if let Some(reason) = p.finish_reason {
            self.finished = true;
            out.push(Event::Finish(finish_reason(
                &reason,
                self.structured_answer,
            )));
        }
    }

    fn message(&mut self, m: v2::Message, out: &mut Vec<Event>) {
        let reasoning = m.role == "reasoning";
        for part in m.content {
            if let Some(t) = part.text.filter(|t| !t.is_empty()) {
                out.push(if reasoning {
                    Event::Reasoning(t)
                } else {
                    Event::Text(t)
                });
            }
            if let Some(call) = part.function_call {
                if self.plan.structured_function.as_deref() == Some(call.name.as_str()) {
                    self.structured_answer = true;
                    out.push(Event::Text(call.arguments.to_string()));
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
}

fn usage_of(u: &v2::Usage) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cached_tokens: u.input_tokens_details.cached_tokens,
        reasoning_tokens: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
                    reasoning_tokens: None
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
        assert_eq!(
            ev,
            vec![
                Event::Reasoning("hmm".into()),
                Event::Text("1, 2".into()),
                Event::Usage(Usage {
                    input_tokens: 1,
                    output_tokens: 2,
                    cached_tokens: 0,
                    reasoning_tokens: None
                }),
                Event::Finish(FinishReason::Length)
            ]
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
