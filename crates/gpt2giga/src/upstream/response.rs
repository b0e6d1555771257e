//! GigaChat v1 answers (JSON or stream chunks) → `ir::Event`s.
//!
//! One [`EventMapper`] per answer: it names tool calls (GigaChat v1 has no call ids, so
//! each call gets a fresh unique `call_…` id), maps aliased function names back to the
//! client's, and turns function-mode structured output back into text.

use gigachat::types::v1;

use super::request::Plan;
use crate::ir::{Event, FinishReason, ToolCall, Usage};

pub(crate) struct EventMapper {
    plan: Plan,
    /// A structured-output function call was turned into text.
    structured_answer: bool,
}

impl EventMapper {
    pub fn new(plan: Plan) -> Self {
        Self {
            plan,
            structured_answer: false,
        }
    }

    /// Events of one stream chunk.
    pub fn chunk(&mut self, chunk: v1::ChatChunk, out: &mut Vec<Event>) {
        if let Some(choice) = chunk.choices.into_iter().find(|c| c.index == 0) {
            self.message(choice.delta, out);
            if let Some(usage) = chunk.usage {
                out.push(Event::Usage(usage_of(&usage)));
            }
            if let Some(reason) = choice.finish_reason {
                out.push(Event::Finish(self.finish(&reason)));
            }
        } else if let Some(usage) = chunk.usage {
            // A chunk without choices may still carry usage.
            out.push(Event::Usage(usage_of(&usage)));
        }
    }

    /// Events of a whole (non-streaming) answer: the same events a stream would give.
    pub fn response(&mut self, response: v1::ChatResponse, out: &mut Vec<Event>) {
        let choice = response.choices.into_iter().find(|c| c.index == 0);
        if let Some(choice) = choice {
            self.message(choice.message, out);
            if let Some(usage) = response.usage {
                out.push(Event::Usage(usage_of(&usage)));
            }
            out.push(Event::Finish(
                self.finish(choice.finish_reason.as_deref().unwrap_or("stop")),
            ));
        } else if let Some(usage) = response.usage {
            out.push(Event::Usage(usage_of(&usage)));
        }
    }

    fn message(&mut self, m: v1::ResponseMessage, out: &mut Vec<Event>) {
        if m.role == Some(v1::Role::FunctionInProgress) {
            // Progress notes of a built-in function: not part of the answer.
            return;
        }
        if let Some(r) = m.reasoning_content.filter(|r| !r.is_empty()) {
            out.push(Event::Reasoning(r));
        }
        if let Some(t) = m.content.filter(|t| !t.is_empty()) {
            out.push(Event::Text(t));
        }
        if let Some(call) = m.function_call {
            if self.plan.structured_function.as_deref() == Some(call.name.as_str()) {
                self.structured_answer = true;
                out.push(Event::Text(call.arguments.to_string()));
                return;
            }
            out.push(Event::ToolCall(ToolCall {
                id: new_call_id(),
                name: self.plan.names.client_name(&call.name),
                arguments: call.arguments.to_string(),
            }));
        }
    }

    fn finish(&self, reason: &str) -> FinishReason {
        finish_reason(reason, self.structured_answer)
    }
}

/// GigaChat's `finish_reason` (v1 and v2 share the values, §4.6) as the proxy's.
/// `structured_answer`: a function-mode structured output ended the answer.
pub(crate) fn finish_reason(reason: &str, structured_answer: bool) -> FinishReason {
    match reason {
        "length" => FinishReason::Length,
        "function_call" if structured_answer => FinishReason::Stop,
        "function_call" => FinishReason::ToolCalls,
        "blacklist" | "request_blacklist" | "request_whitelist" | "request_filter"
        | "response_blacklist" => FinishReason::ContentFilter,
        // `stop`, and `error`/`function_call_error` (invalid arguments produced by
        // the model): the answer ends normally with what was produced.
        _ => FinishReason::Stop,
    }
}

fn usage_of(u: &v1::Usage) -> Usage {
    Usage {
        input_tokens: u.prompt_tokens,
        output_tokens: u.completion_tokens,
        cached_tokens: u.precached_prompt_tokens,
        reasoning_tokens: None,
        web_searches: 0,
    }
}

/// A unique tool-call id (`call_` + 24 hex digits).
pub(crate) fn new_call_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("call_{}", &id[..24])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapper() -> EventMapper {
        EventMapper::new(Plan::default())
    }

    #[test]
    fn recorded_stream_chunks_map_to_events() {
        let first: v1::ChatChunk = serde_json::from_str(r#"{"choices":[{"delta":{"content":"Hi","role":"assistant"},"index":0}],"created":1,"model":"GigaChat:2.0.28.2","object":"chat.completion"}"#).unwrap();
        let last: v1::ChatChunk = serde_json::from_str(r#"{"choices":[{"delta":{"content":""},"index":0,"finish_reason":"stop"}],"created":1,"model":"GigaChat:2.0.28.2","object":"chat.completion","usage":{"prompt_tokens":17,"completion_tokens":42,"total_tokens":59,"precached_prompt_tokens":2}}"#).unwrap();
        let mut m = mapper();
        let mut ev = vec![];
        m.chunk(first, &mut ev);
        m.chunk(last, &mut ev);
        assert_eq!(
            ev,
            vec![
                Event::Text("Hi".into()),
                Event::Usage(Usage {
                    input_tokens: 17,
                    output_tokens: 42,
                    cached_tokens: 2,
                    reasoning_tokens: None,
                    web_searches: 0,
                }),
                Event::Finish(FinishReason::Stop)
            ]
        );
    }

    #[test]
    fn function_calls_get_unique_ids_and_client_names() {
        let mut plan = Plan::default();
        let alias = plan.names.register("web_search");
        let mut m = EventMapper::new(plan);
        let resp = v1::ChatResponse {
            choices: vec![v1::Choice {
                message: v1::ResponseMessage {
                    content: Some(String::new()),
                    role: Some(v1::Role::Assistant),
                    function_call: Some(v1::FunctionCall {
                        name: alias,
                        arguments: json!({"q": "rust"}),
                    }),
                    functions_state_id: Some("s".into()),
                    ..Default::default()
                },
                index: 0,
                finish_reason: Some("function_call".into()),
            }],
            created: 0,
            model: String::new(),
            object: String::new(),
            usage: None,
        };
        let mut ev = vec![];
        m.response(resp.clone(), &mut ev);
        let Event::ToolCall(call) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(call.name, "web_search");
        assert_eq!(call.arguments, r#"{"q":"rust"}"#);
        assert!(call.id.starts_with("call_"));
        assert_eq!(ev[1], Event::Finish(FinishReason::ToolCalls));
        let mut ev2 = vec![];
        m.response(resp, &mut ev2);
        let Event::ToolCall(call2) = &ev2[0] else {
            panic!()
        };
        assert_ne!(call.id, call2.id);
    }

    #[test]
    fn structured_function_becomes_text() {
        let plan = Plan {
            structured_function: Some("structured_output".into()),
            ..Default::default()
        };
        let mut m = EventMapper::new(plan);
        let chunk: v1::ChatChunk = serde_json::from_str(r#"{"choices":[{"delta":{"content":"","role":"assistant","function_call":{"name":"structured_output","arguments":{"a":1}}},"index":0,"finish_reason":"function_call"}],"created":1,"model":"m","object":"chat.completion"}"#).unwrap();
        let mut ev = vec![];
        m.chunk(chunk, &mut ev);
        assert_eq!(
            ev,
            vec![
                Event::Text(r#"{"a":1}"#.into()),
                Event::Finish(FinishReason::Stop)
            ]
        );
    }

    #[test]
    fn reasoning_and_blacklist() {
        let mut m = mapper();
        let chunk: v1::ChatChunk = serde_json::from_str(r#"{"choices":[{"delta":{"reasoning_content":"hmm","content":"no"},"index":0,"finish_reason":"blacklist"}],"created":1,"model":"m","object":"chat.completion"}"#).unwrap();
        let mut ev = vec![];
        m.chunk(chunk, &mut ev);
        assert_eq!(
            ev,
            vec![
                Event::Reasoning("hmm".into()),
                Event::Text("no".into()),
                Event::Finish(FinishReason::ContentFilter)
            ]
        );
    }
}
