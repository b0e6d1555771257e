//! GigaChat v2 chat contract: `POST …/v2/chat/completions` (content parts, `tools`,
//! named-event SSE). See `gigachat-api.md` §4.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_options: Option<ModelOptions>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_state_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_filter: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranker_options: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_info: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
}

/// A v2 message. `role` is kept as a string: responses may carry `reasoning`, and
/// function results are accepted as either `tool` or `function`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_state_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_state_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions_state_id: Option<String>,
    #[serde(default)]
    pub content: Vec<ContentPart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

impl Message {
    /// The state id under whichever spelling was used.
    pub fn state_id(&self) -> Option<&str> {
        self.tool_state_id
            .as_deref()
            .or(self.tools_state_id.as_deref())
            .or(self.functions_state_id.as_deref())
    }
}

/// A content part: a keyed object without a `type` discriminator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContentPart {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileRef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_result: Option<FunctionResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_execution: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
}

impl ContentPart {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default = "super::v1::empty_object")]
    pub arguments: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionResult {
    pub name: String,
    /// An object, or a string that is itself valid JSON.
    pub result: Value,
}

/// One entry of `tools`: a single-key object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    Functions {
        specifications: Vec<super::v1::Function>,
    },
    WebSearch(Value),
    UrlContentExtraction(Value),
    CodeInterpreter(Value),
    ImageGenerate(Value),
    #[serde(rename = "model_3d_generate")]
    Model3dGenerate(Value),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolConfig {
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_interval: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unnormalized_history: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFormat {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reasoning {
    pub effort: String,
}

/// Non-streaming v2 response; also the payload of every v2 stream event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_state_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub input_tokens_details: InputTokensDetails,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputTokensDetails {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub cached_tokens: u64,
}

/// Names of the v2 SSE events.
pub mod event {
    pub const MESSAGE_DELTA: &str = "response.message.delta";
    pub const MESSAGE_DONE: &str = "response.message.done";
    pub const TOOL_IN_PROGRESS: &str = "response.tool.in_progress";
    pub const TOOL_COMPLETED: &str = "response.tool.completed";
}

/// One decoded v2 stream event: its name and its payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamEvent {
    pub event: String,
    pub data: ChatResponse,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_function_call_response_parses() {
        let raw = r#"{"model":"GigaChat-3-Ultra:32.3.18.5","created_at":1780321868,"messages":[{"role":"assistant","tool_state_id":"019e8373-dc9a-7883-af60-ebb20b79e1e1","content":[{"function_call":{"name":"get_order_status","arguments":{"order_id":"A-1024"}}}]}],"finish_reason":"function_call","usage":{"input_tokens":88,"input_tokens_details":{"prompt_tokens":88,"cached_tokens":0},"output_tokens":25,"total_tokens":113}}"#;
        let parsed: ChatResponse = serde_json::from_str(raw).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), raw);
        assert_eq!(
            parsed.messages[0].state_id(),
            Some("019e8373-dc9a-7883-af60-ebb20b79e1e1")
        );
    }

    #[test]
    fn tools_are_single_key_objects() {
        let raw = r#"[{"functions":{"specifications":[{"name":"f","parameters":{"type":"object","properties":{}}}]}},{"web_search":{"type":"actual_info_web_search"}}]"#;
        let tools: Vec<Tool> = serde_json::from_str(raw).unwrap();
        assert_eq!(serde_json::to_string(&tools).unwrap(), raw);
    }
}
