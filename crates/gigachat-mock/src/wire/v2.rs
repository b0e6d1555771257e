//! The v2 chat contract (§4): `POST …/v2/chat/completions`, content parts, `tools`,
//! `tool_config`, `model_options`, named-event SSE without `[DONE]`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::{CustomFunction, ResponseFormat};

// ----- request (§4.1–§4.4) -----------------------------------------------------------------

/// The request body. Fields the emulator does not act on are type-checked only.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatRequest {
    /// Required unless `assistant_id` is given.
    #[serde(default)]
    pub model: Option<String>,
    pub messages: Vec<Message>,
    #[serde(default)]
    pub model_options: ModelOptions,
    #[serde(default)]
    pub stream: bool,
    #[serde(default)]
    pub tool_config: Option<ToolConfig>,
    #[serde(default)]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, rename = "tools_state_id")]
    pub _tools_state_id: Option<String>,
    #[serde(default, rename = "disable_filter")]
    pub _disable_filter: Option<bool>,
    #[serde(default, rename = "filter_config")]
    pub _filter_config: Option<Value>,
    /// `{}` or `{limit?, thread_id?, metadata?}`: the answer then names its thread.
    #[serde(default)]
    pub storage: Option<Value>,
    #[serde(default)]
    pub assistant_id: Option<String>,
    #[serde(default, rename = "ranker_options")]
    pub _ranker_options: Option<Value>,
    #[serde(default, rename = "user_info")]
    pub _user_info: Option<Value>,
    #[serde(default, rename = "flags")]
    pub _flags: Option<Vec<String>>,
}

/// A message: a role and an array of content parts. The state id of a function round
/// trip is accepted under all three spellings seen (`tools_state_id` — SDK,
/// `tool_state_id` — spec, `functions_state_id` — live) and otherwise ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    pub role: String,
    #[serde(default)]
    pub content: Vec<Part>,
    #[serde(default, rename = "tools_state_id")]
    pub _tools_state_id: Option<String>,
    #[serde(default, rename = "tool_state_id")]
    pub _tool_state_id: Option<String>,
    #[serde(default, rename = "functions_state_id")]
    pub _functions_state_id: Option<String>,
    #[serde(default, rename = "message_id")]
    pub _message_id: Option<String>,
    #[serde(default, rename = "finish_reason")]
    pub _finish_reason: Option<String>,
}

/// A content part: keyed objects without a `type` discriminator (§4.2).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Part {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub files: Option<Vec<FileIn>>,
    #[serde(default)]
    pub function_call: Option<CallIn>,
    #[serde(default)]
    pub function_result: Option<ResultIn>,
}

/// `{"id":"<file id>"}` (answers add `mime` and `target`, which may be echoed back).
#[derive(Debug, Deserialize)]
pub(crate) struct FileIn {
    #[serde(rename = "id")]
    pub _id: String,
    #[serde(default, rename = "mime")]
    pub _mime: Option<String>,
    #[serde(default, rename = "target")]
    pub _target: Option<String>,
}

/// `{"name":"f","arguments":{…}}` (live answers add an `id`, which may be echoed back).
/// String arguments are converted or refused by validation before parsing.
#[derive(Debug, Deserialize)]
pub(crate) struct CallIn {
    #[serde(default, rename = "id")]
    pub _id: Option<String>,
    pub name: String,
    #[serde(default = "empty_object")]
    pub arguments: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// `{"name":"f","result":{…} | "<JSON text>"}`; checked by validation before parsing.
#[derive(Debug, Deserialize)]
pub(crate) struct ResultIn {
    pub name: String,
    pub result: Value,
}

/// One entry of `tools`: a single-key object (§4.3). Built-in configs stay opaque.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Tool {
    Functions {
        specifications: Vec<CustomFunction>,
    },
    WebSearch(Value),
    UrlContentExtraction(Value),
    CodeInterpreter(Value),
    ImageGenerate(Value),
    #[serde(rename = "model_3d_generate")]
    Model3dGenerate(Value),
}

/// `{"mode":"auto"|"none"|"forced","tool_name"?,"function_name"?}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ToolConfig {
    pub mode: String,
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub function_name: Option<String>,
}

/// `model_options` (§4.4).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ModelOptions {
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default, rename = "top_p")]
    pub _top_p: Option<f64>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub repetition_penalty: Option<f64>,
    #[serde(default)]
    pub update_interval: Option<f64>,
    #[serde(default, rename = "unnormalized_history")]
    pub _unnormalized_history: Option<bool>,
    #[serde(default, rename = "top_logprobs")]
    pub _top_logprobs: Option<u32>,
    #[serde(default)]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, rename = "reasoning")]
    pub _reasoning: Option<ReasoningOptions>,
    #[serde(default, rename = "preset")]
    pub _preset: Option<String>,
}

/// `{"effort":"low"|"medium"|"high"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ReasoningOptions {
    #[serde(rename = "effort")]
    pub _effort: String,
}

// ----- answer (§4.6, §4.7) ------------------------------------------------------------------

/// A non-stream answer and every stream event's payload:
/// `{"model","created_at",["thread_id","message_id"],["messages"],["finish_reason","usage"]}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Completion<'a> {
    pub model: &'a str,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<MessageOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// `{"role":"assistant","tool_state_id"?:"…","content":[…]}` (`tool_state_id` singular,
/// as recorded).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MessageOut<'a> {
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_state_id: Option<&'a str>,
    pub content: Vec<PartOut<'a>>,
}

/// An answer part; one key set per part, in the recorded order.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct PartOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<&'a [GeneratedFile]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<CallOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_execution: Option<Value>,
}

/// A file a built-in tool produced: `{"id","mime","target"}` (recorded order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct GeneratedFile {
    pub id: String,
    pub mime: &'static str,
    pub target: &'static str,
}

/// `{"name":"f","arguments":{…}}`.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct CallOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub arguments: &'a Value,
}

/// `{"input_tokens","input_tokens_details":{"prompt_tokens","cached_tokens"},
/// "output_tokens","total_tokens"}`.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Usage {
    pub input_tokens: u64,
    pub input_tokens_details: InputDetails,
    pub output_tokens: u64,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct InputDetails {
    pub prompt_tokens: u64,
    pub cached_tokens: u64,
}

/// Event names of the v2 stream (§4.7).
pub(crate) const MESSAGE_DELTA: &str = "response.message.delta";
pub(crate) const MESSAGE_DONE: &str = "response.message.done";
pub(crate) const TOOL_IN_PROGRESS: &str = "response.tool.in_progress";
pub(crate) const TOOL_COMPLETED: &str = "response.tool.completed";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_single_key_objects() {
        let tools: Vec<Tool> = serde_json::from_str(
            r#"[{"functions":{"specifications":[{"name":"f"}]}},{"web_search":{"type":"actual_info_web_search"}},{"model_3d_generate":{}}]"#,
        )
        .unwrap();
        assert!(
            matches!(&tools[0], Tool::Functions { specifications } if specifications[0].name == "f")
        );
        assert!(matches!(tools[2], Tool::Model3dGenerate(_)));
    }

    #[test]
    fn all_state_id_spellings_are_accepted() {
        for key in ["tools_state_id", "tool_state_id", "functions_state_id"] {
            let raw = format!(r#"{{"role":"assistant","{key}":"s","content":[{{"text":"x"}}]}}"#);
            assert!(serde_json::from_str::<Message>(&raw).is_ok(), "{key}");
        }
    }

    #[test]
    fn answer_parts_keep_the_recorded_order() {
        let files = [GeneratedFile {
            id: "f".into(),
            mime: "image/jpeg",
            target: "image",
        }];
        let msg = MessageOut {
            role: "assistant",
            tool_state_id: Some("s"),
            content: vec![
                PartOut {
                    files: Some(&files),
                    ..PartOut::default()
                },
                PartOut {
                    text: Some("done"),
                    ..PartOut::default()
                },
            ],
        };
        assert_eq!(
            serde_json::to_string(&msg).unwrap(),
            r#"{"role":"assistant","tool_state_id":"s","content":[{"files":[{"id":"f","mime":"image/jpeg","target":"image"}]},{"text":"done"}]}"#
        );
    }
}
