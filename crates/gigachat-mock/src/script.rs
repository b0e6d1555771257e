//! Scripted replies: what the emulated model says.
//!
//! A chat request is answered by, in order: the first matching [`Rule`], else the next
//! [`Reply`] of the FIFO queue, else the built-in default (see the crate docs).
//! Both types are serde-friendly so the `/__mock/replies` and `/__mock/rules` control
//! endpoints accept them as JSON:
//!
//! ```json
//! {"type":"text","text":"Hi"}
//! {"type":"chunks","chunks":["Hel","lo!"]}
//! {"type":"function_call","name":"get_weather","arguments":{"city":"Kazan"}}
//! {"type":"function_calls","calls":[{"name":"a","arguments":{}},{"name":"b","arguments":{}}]}
//! {"type":"reasoning","reasoning":"Let me think…","text":"42"}
//! {"type":"blacklist"}
//! {"type":"length","text":"Truncated answ"}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The canned refusal GigaChat sends with `finish_reason: "blacklist"` (§3.5).
pub const BLACKLIST_TEXT: &str =
    "Что-то в вашем вопросе меня смущает. Может, поговорим на другую тему?";

/// One function call of a scripted reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptedCall {
    pub name: String,
    /// Must be a JSON object (GigaChat sends arguments as objects, never strings).
    #[serde(default = "empty_object")]
    pub arguments: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// A scripted model answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "ReplyWire", from = "ReplyWire")]
pub enum Reply {
    /// Plain assistant text, `finish_reason: "stop"` (or `length` if `max_tokens` cuts it).
    Text(String),
    /// Text streamed exactly as these pieces, one delta each, whatever the chunk size
    /// (a JSON answer carries them joined): replays a recorded stream byte for byte.
    Chunks(Vec<String>),
    /// One client function call: v1 `function_call` + fresh `functions_state_id`; v2 a
    /// `function_call` part + `tool_state_id`. `finish_reason: "function_call"`.
    FunctionCall { name: String, arguments: Value },
    /// Several calls in one assistant turn (v2). v1 can carry only one: the first is used.
    FunctionCalls(Vec<ScriptedCall>),
    /// A reasoning model answer: v1 `reasoning_content` (streamed before `content`),
    /// v2 a `role: "reasoning"` message before the assistant message.
    Reasoning { reasoning: String, text: String },
    /// The canned Russian refusal with `finish_reason: "blacklist"`.
    Blacklist,
    /// Text ending with `finish_reason: "length"`.
    Length(String),
}

impl Reply {
    /// `Reply::Text` from anything string-like.
    pub fn text(text: impl Into<String>) -> Self {
        Reply::Text(text.into())
    }

    /// `Reply::FunctionCall`; `arguments` should be a JSON object.
    pub fn function_call(name: impl Into<String>, arguments: Value) -> Self {
        Reply::FunctionCall {
            name: name.into(),
            arguments,
        }
    }

    /// `Reply::Reasoning`.
    pub fn reasoning(reasoning: impl Into<String>, text: impl Into<String>) -> Self {
        Reply::Reasoning {
            reasoning: reasoning.into(),
            text: text.into(),
        }
    }

    /// The calls carried by a function-call reply (empty for other replies).
    pub(crate) fn calls(&self) -> Vec<ScriptedCall> {
        match self {
            Reply::FunctionCall { name, arguments } => vec![ScriptedCall {
                name: name.clone(),
                arguments: arguments.clone(),
            }],
            Reply::FunctionCalls(calls) => calls.clone(),
            _ => Vec::new(),
        }
    }
}

/// JSON form of [`Reply`] (internally tagged by `type`).
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ReplyWire {
    Text {
        text: String,
    },
    Chunks {
        chunks: Vec<String>,
    },
    FunctionCall {
        name: String,
        #[serde(default = "empty_object")]
        arguments: Value,
    },
    FunctionCalls {
        calls: Vec<ScriptedCall>,
    },
    Reasoning {
        reasoning: String,
        text: String,
    },
    Blacklist,
    Length {
        text: String,
    },
}

impl From<Reply> for ReplyWire {
    fn from(r: Reply) -> Self {
        match r {
            Reply::Text(text) => ReplyWire::Text { text },
            Reply::Chunks(chunks) => ReplyWire::Chunks { chunks },
            Reply::FunctionCall { name, arguments } => ReplyWire::FunctionCall { name, arguments },
            Reply::FunctionCalls(calls) => ReplyWire::FunctionCalls { calls },
            Reply::Reasoning { reasoning, text } => ReplyWire::Reasoning { reasoning, text },
            Reply::Blacklist => ReplyWire::Blacklist,
            Reply::Length(text) => ReplyWire::Length { text },
        }
    }
}

impl From<ReplyWire> for Reply {
    fn from(r: ReplyWire) -> Self {
        match r {
            ReplyWire::Text { text } => Reply::Text(text),
            ReplyWire::Chunks { chunks } => Reply::Chunks(chunks),
            ReplyWire::FunctionCall { name, arguments } => Reply::FunctionCall { name, arguments },
            ReplyWire::FunctionCalls { calls } => Reply::FunctionCalls(calls),
            ReplyWire::Reasoning { reasoning, text } => Reply::Reasoning { reasoning, text },
            ReplyWire::Blacklist => Reply::Blacklist,
            ReplyWire::Length { text } => Reply::Length(text),
        }
    }
}

/// What a [`Rule`] looks at. JSON: `{"last_user_contains":"X"}`, `"always"`, …
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matcher {
    /// The text of the last user message contains this substring.
    LastUserContains(String),
    /// The text of the last user message starts with this prefix.
    LastUserStartsWith(String),
    /// The requested model equals this id.
    Model(String),
    /// The last message of the history is a function/tool result.
    AfterFunctionResult,
    /// Every chat request.
    Always,
}

/// A persistent reply rule: when `matcher` matches, answer `reply`; `times` limits how
/// often (then the rule is dropped); `None` means forever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub matcher: Matcher,
    pub reply: Reply,
    #[serde(default)]
    pub times: Option<u32>,
}

impl Rule {
    /// A rule that fires forever.
    pub fn new(matcher: Matcher, reply: Reply) -> Self {
        Self {
            matcher,
            reply,
            times: None,
        }
    }

    /// Limit how many times the rule fires.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
}

/// What the matchers need to know about a chat request (built by the v1 and v2 handlers).
#[derive(Debug, Default)]
pub(crate) struct MatchInput<'a> {
    pub model: &'a str,
    pub last_user_text: Option<&'a str>,
    pub last_is_function_result: bool,
}

impl Matcher {
    pub(crate) fn matches(&self, input: &MatchInput<'_>) -> bool {
        match self {
            Matcher::LastUserContains(s) => input.last_user_text.is_some_and(|t| t.contains(s)),
            Matcher::LastUserStartsWith(s) => {
                input.last_user_text.is_some_and(|t| t.starts_with(s))
            }
            Matcher::Model(m) => input.model == m,
            Matcher::AfterFunctionResult => input.last_is_function_result,
            Matcher::Always => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reply_json_forms() {
        let r: Reply = serde_json::from_value(json!({"type":"text","text":"Hi"})).unwrap();
        assert_eq!(r, Reply::text("Hi"));
        let r: Reply =
            serde_json::from_value(json!({"type":"function_call","name":"f","arguments":{"a":1}}))
                .unwrap();
        assert_eq!(r, Reply::function_call("f", json!({"a":1})));
        let r: Reply = serde_json::from_value(json!({"type":"chunks","chunks":["a","b"]})).unwrap();
        assert_eq!(r, Reply::Chunks(vec!["a".into(), "b".into()]));
        let r: Reply = serde_json::from_value(json!({"type":"blacklist"})).unwrap();
        assert_eq!(r, Reply::Blacklist);
        assert_eq!(
            serde_json::to_value(Reply::Length("x".into())).unwrap(),
            json!({"type":"length","text":"x"})
        );
    }

    #[test]
    fn rule_json_form() {
        let r: Rule = serde_json::from_value(json!({
            "matcher": {"last_user_contains": "weather"},
            "reply": {"type": "text", "text": "Sunny"},
            "times": 2
        }))
        .unwrap();
        assert_eq!(
            r,
            Rule::new(
                Matcher::LastUserContains("weather".into()),
                Reply::text("Sunny")
            )
            .times(2)
        );
        let always: Matcher = serde_json::from_value(json!("always")).unwrap();
        assert_eq!(always, Matcher::Always);
    }

    #[test]
    fn matchers() {
        let input = MatchInput {
            model: "GigaChat",
            last_user_text: Some("what is the weather"),
            last_is_function_result: false,
        };
        assert!(Matcher::LastUserContains("weather".into()).matches(&input));
        assert!(Matcher::LastUserStartsWith("what".into()).matches(&input));
        assert!(!Matcher::LastUserStartsWith("weather".into()).matches(&input));
        assert!(Matcher::Model("GigaChat".into()).matches(&input));
        assert!(!Matcher::AfterFunctionResult.matches(&input));
    }
}
