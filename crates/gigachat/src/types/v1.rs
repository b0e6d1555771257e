//! GigaChat v1 chat contract: `POST {base}/chat/completions` (JSON and `data:`-only SSE).
//!
//! Field order follows the order seen on the wire (see `gigachat-api.md` §3) so that
//! serialised bodies look like GigaChat's own. `None` fields are never serialised: the
//! official SDK never sends JSON `null`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Request body of v1 chat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_interval: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profanity_check: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCallMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions: Option<Vec<Function>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_ranker: Option<Value>,
}

/// Message roles known to v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
    Function,
    /// Response-only role seen while a built-in function runs in a stream.
    FunctionInProgress,
    /// Deprecated response-only role known to the SDK.
    SearchResult,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Function => "function",
            Role::FunctionInProgress => "function_in_progress",
            Role::SearchResult => "search_result",
        }
    }
}

/// One message of the v1 history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions_state_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<String>>,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            name: None,
            function_call: None,
            functions_state_id: None,
            attachments: None,
        }
    }
}

/// A function call: `arguments` is a JSON **object** on the wire, in both directions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    #[serde(default = "empty_object")]
    pub arguments: Value,
}

pub(crate) fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// `function_call` request field: `"auto"`, `"none"` or `{"name", "partial_arguments"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FunctionCallMode {
    Mode(FunctionCallKeyword),
    Named {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partial_arguments: Option<Value>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionCallKeyword {
    Auto,
    None,
}

/// A function the model may call (`CustomFunction` in the spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub few_shot_examples: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_parameters: Option<Value>,
}

/// v1 `response_format`: `schema` sits directly under it (unlike OpenAI's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFormat {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// Non-streaming v1 response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub message: ResponseMessage,
    #[serde(default)]
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// Assistant message in a response (also used for stream deltas, where every field is partial).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions_state_id: Option<String>,
    /// Built-in function name on `function_in_progress` stream chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Token usage. `total_tokens == prompt_tokens + completion_tokens` in every recording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default)]
    pub precached_prompt_tokens: u64,
}

/// One `data:` chunk of a v1 stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatChunk {
    pub choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    pub delta: ResponseMessage,
    #[serde(default)]
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_response_roundtrips_byte_for_byte() {
        let raw = r#"{"choices":[{"message":{"content":"Hello.","role":"assistant"},"index":0,"finish_reason":"stop"}],"created":1768996171,"model":"GigaChat:2.0.28.2","object":"chat.completion","usage":{"prompt_tokens":17,"completion_tokens":3,"total_tokens":20,"precached_prompt_tokens":2}}"#;
        let parsed: ChatResponse = serde_json::from_str(raw).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), raw);
    }

    #[test]
    fn function_call_mode_shapes() {
        let auto: FunctionCallMode = serde_json::from_str(r#""auto""#).unwrap();
        assert_eq!(auto, FunctionCallMode::Mode(FunctionCallKeyword::Auto));
        let named: FunctionCallMode = serde_json::from_str(r#"{"name":"f"}"#).unwrap();
        assert_eq!(serde_json::to_string(&named).unwrap(), r#"{"name":"f"}"#);
    }

    #[test]
    fn request_omits_absent_fields() {
        let req = ChatRequest {
            model: "GigaChat".into(),
            messages: vec![Message::new(Role::User, "Hi")],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"model":"GigaChat","messages":[{"role":"user","content":"Hi"}]}"#
        );
    }
}
