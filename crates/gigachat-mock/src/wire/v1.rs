//! The v1 chat contract (§3): `POST {base}/chat/completions`, OpenAI-like `choices`,
//! `data:`-only SSE ending in `[DONE]`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{CustomFunction, ResponseFormat};

// ----- request (§3.1–§3.4) -----------------------------------------------------------------

/// The request body. Fields the emulator does not act on are type-checked only.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default, rename = "top_p")]
    pub _top_p: Option<f64>,
    #[serde(default, rename = "n")]
    pub _n: Option<u32>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub repetition_penalty: Option<f64>,
    /// Seconds between stream sends.
    #[serde(default)]
    pub update_interval: Option<f64>,
    #[serde(default, rename = "profanity_check")]
    pub _profanity_check: Option<bool>,
    #[serde(default)]
    pub function_call: Option<FunctionChoice>,
    #[serde(default)]
    pub functions: Vec<CustomFunction>,
    #[serde(default)]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, rename = "reasoning_effort")]
    pub _reasoning_effort: Option<String>,
    #[serde(default, rename = "flags")]
    pub _flags: Option<Vec<String>>,
    #[serde(default, rename = "storage")]
    pub _storage: Option<Value>,
    #[serde(default, rename = "function_ranker")]
    pub _function_ranker: Option<Value>,
}

/// Message roles a request may carry (§3.2: the documented four, and the two the SDK
/// also knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    System,
    User,
    Assistant,
    Function,
    SearchResult,
    FunctionInProgress,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Function => "function",
            Role::SearchResult => "search_result",
            Role::FunctionInProgress => "function_in_progress",
        }
    }
}

/// `{"role","content","name"?,"function_call"?,"functions_state_id"?,"attachments"?}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    pub role: Role,
    /// Always a string in v1 (a JSON object serialised to text for `function` results).
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub function_call: Option<CallIn>,
    #[serde(default, rename = "functions_state_id")]
    pub _functions_state_id: Option<String>,
    #[serde(default, rename = "attachments")]
    pub _attachments: Option<Vec<String>>,
}

/// A function call in the history: `{"name":"f","arguments":{…}}`. Arguments are checked
/// to be an object by validation (a string is a 400, as live).
#[derive(Debug, Deserialize)]
pub(crate) struct CallIn {
    pub name: String,
    #[serde(default = "empty_object")]
    pub arguments: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// `function_call`: `"auto"`, `"none"` or `{"name":"f","partial_arguments"?:{…}}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum FunctionChoice {
    Keyword(Keyword),
    Forced {
        name: String,
        #[serde(default)]
        partial_arguments: Option<Value>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Keyword {
    Auto,
    None,
}

// ----- answer (§3.5, §3.6) ------------------------------------------------------------------

/// The non-stream answer:
/// `{"choices":[{"message":{…},"index":0,"finish_reason":"stop"}],"created":…,"model":"GigaChat:2.0.28.2","object":"chat.completion","usage":{…}}`.
#[derive(Debug, Serialize)]
pub(crate) struct Completion<'a> {
    pub choices: [Choice<'a>; 1],
    pub created: i64,
    pub model: &'a str,
    pub object: &'static str,
    pub usage: Usage,
}

#[derive(Debug, Serialize)]
pub(crate) struct Choice<'a> {
    pub message: Delta<'a>,
    pub index: u32,
    pub finish_reason: &'a str,
}

/// One stream chunk; only the last carries `finish_reason` and `usage`.
#[derive(Debug, Serialize)]
pub(crate) struct Chunk<'a> {
    pub choices: [ChunkChoice<'a>; 1],
    pub created: i64,
    pub model: &'a str,
    pub object: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ChunkChoice<'a> {
    pub delta: Delta<'a>,
    pub index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<&'a str>,
}

/// An assistant message (`choices[].message`) or a piece of one (`choices[].delta`), in
/// the recorded key order: `content`, `reasoning_content`, `role`, `function_call`,
/// `functions_state_id`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<CallOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub functions_state_id: Option<&'a str>,
}

/// A function call the model makes: `{"name":"f","arguments":{…}}` (arguments an object).
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct CallOut<'a> {
    pub name: &'a str,
    pub arguments: &'a Value,
}

/// `{"prompt_tokens","completion_tokens","total_tokens","precached_prompt_tokens"}`.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub precached_prompt_tokens: u64,
}

/// `object` of every v1 answer and chunk (January 2026 recordings; an April recording of
/// `GigaChat-3-Ultra` says `chat.completions` — clients must not rely on it, §3.5).
pub(crate) const OBJECT: &str = "chat.completion";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_choice_forms() {
        let parse = |s: &str| serde_json::from_str::<FunctionChoice>(s).unwrap();
        assert!(matches!(
            parse(r#""auto""#),
            FunctionChoice::Keyword(Keyword::Auto)
        ));
        assert!(matches!(
            parse(r#""none""#),
            FunctionChoice::Keyword(Keyword::None)
        ));
        assert!(matches!(
            parse(r#"{"name":"f","partial_arguments":{"a":1}}"#),
            FunctionChoice::Forced { name, partial_arguments: Some(_) } if name == "f"
        ));
        assert!(serde_json::from_str::<FunctionChoice>(r#""required""#).is_err());
    }

    #[test]
    fn wrong_types_are_rejected() {
        let bad =
            r#"{"model":"GigaChat","messages":[{"role":"user","content":"x"}],"top_p":"high"}"#;
        assert!(serde_json::from_str::<ChatRequest>(bad).is_err());
        let bad = r#"{"model":"GigaChat","messages":[{"role":"user","content":[{"text":"x"}]}]}"#;
        assert!(serde_json::from_str::<ChatRequest>(bad).is_err());
        let bad = r#"{"model":"GigaChat","messages":[{"role":"robot","content":"x"}]}"#;
        assert!(serde_json::from_str::<ChatRequest>(bad).is_err());
    }
}
