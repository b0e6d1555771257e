//! The normalised conversation (what every client dialect decodes into) and the
//! normalised event stream (what every dialect encodes from).
//!
//! Dialects never see GigaChat types and `upstream` never sees client types: this module
//! is the only meeting point. Tool arguments stay JSON *text* here (the form both OpenAI
//! and Anthropic clients exchange); `upstream` parses them into the objects GigaChat
//! wants.

use std::pin::Pin;

use futures::Stream;
use serde_json::Value;

use crate::error::ProxyError;

/// Events of one answer, ending after `Finish` (and `Usage`).
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event, ProxyError>> + Send>>;

/// A chat request in dialect-neutral form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The model the client asked for (echoed back in responses).
    pub model: String,
    /// System/developer instructions, in order of appearance (merged into GigaChat's
    /// single leading system message).
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    /// Server-side tools GigaChat runs itself (v2 only: a request with any goes to v2).
    pub builtins: Vec<BuiltinTool>,
    pub tool_choice: ToolChoice,
    pub parallel_tool_calls: Option<bool>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u32>,
    pub repetition_penalty: Option<f64>,
    /// Stop sequences, enforced by the proxy (GigaChat has none).
    pub stop: Vec<String>,
    pub reasoning_effort: Option<String>,
    pub response_format: ResponseFormat,
    pub stream: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    /// A tool result (`role:"tool"`, `tool_result` block, `function_call_output` item).
    Tool,
}

/// One turn of the conversation (system content lives in [`ChatRequest::system`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
    /// Assistant turns: the tool calls it made, in order.
    pub tool_calls: Vec<ToolCall>,
    /// Tool turns: the id of the call this answers.
    pub tool_call_id: Option<String>,
    /// Tool turns: the function name, when the dialect carries it.
    pub name: Option<String>,
    /// Tool turns: the client flagged the result as an error (Anthropic `is_error`).
    pub is_error: bool,
    /// Assistant turns: reasoning the client sent back (Responses `reasoning` items).
    /// GigaChat takes no reasoning in history, so `upstream` knowingly leaves it out.
    pub reasoning: Option<String>,
}

impl Message {
    pub fn new(role: Role, parts: Vec<Part>) -> Self {
        Self {
            role,
            parts,
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
            is_error: false,
            reasoning: None,
        }
    }

    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self::new(role, vec![Part::Text(text.into())])
    }

    /// All text parts joined by blank lines.
    pub(crate) fn joined_text(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            if let Part::Text(t) = p {
                if !out.is_empty() && !t.is_empty() {
                    out.push_str("\n\n");
                }
                out.push_str(t);
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    /// An image or a document to upload to GigaChat as an attachment.
    Media(Media),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub kind: MediaKind,
    pub source: MediaSource,
    pub filename: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    File,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MediaSource {
    /// An `http(s)` URL the proxy must fetch (SSRF-guarded).
    Url(String),
    /// Inline base64 data (from a `data:` URL or a base64 source).
    Base64 { mime: Option<String>, data: String },
    /// Plain text content of a document (Anthropic text document source).
    Text { mime: String, text: String },
    /// A file already stored in GigaChat (uploaded through the Files APIs), by id;
    /// always checked with [`file_id`] first.
    FileId(String),
}

/// The longest file id accepted (GigaChat's ids are 36-character UUIDs).
const MAX_FILE_ID_LEN: usize = 128;

/// Checks a client's file id before it is used anywhere (URL paths, GigaChat's
/// `attachments`): 1–128 ASCII letters, digits, `-` and `_`, so no id can smuggle a
/// path, query or separator. A bad id is a 400 naming `param`.
pub fn file_id(id: &str, param: &str) -> Result<String, ProxyError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_FILE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id.to_string())
    } else {
        let shown: String = id.chars().take(MAX_FILE_ID_LEN).collect();
        Err(ProxyError::invalid_param(
            format!(
                "invalid file id {shown:?}: expected 1 to {MAX_FILE_ID_LEN} letters, digits, \
                 '-' or '_'"
            ),
            param,
        ))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// Arguments as JSON text, exactly as the client dialect carries them.
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments (normalised for GigaChat in `upstream`).
    pub parameters: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum ToolChoice {
    #[default]
    Auto,
    None,
    /// The model must call some tool.
    Required,
    /// The model must call this tool.
    Function(String),
    /// The model must use this built-in tool.
    Builtin(Builtin),
}

/// GigaChat's server-side tools, as the clients' hosted/server tools map onto them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// OpenAI `web_search`/`web_search_preview`, Chat `web_search_options`, Anthropic
    /// `web_search_*`, Gemini `googleSearch` → v2 `web_search`.
    WebSearch,
    /// OpenAI `code_interpreter` → v2 `code_interpreter`.
    CodeInterpreter,
    /// OpenAI `image_generation` → v2 `image_generate`.
    ImageGeneration,
    /// Anthropic `web_fetch_*` → v2 `url_content_extraction`.
    UrlFetch,
}

/// One built-in tool a client asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinTool {
    pub kind: Builtin,
    /// The client's name for it (`web_search_preview`, `web_search_20250305`, …), for
    /// error messages.
    pub client_name: String,
}

impl BuiltinTool {
    pub fn new(kind: Builtin, client_name: impl Into<String>) -> Self {
        Self {
            kind,
            client_name: client_name.into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum ResponseFormat {
    #[default]
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: bool,
    },
}

// ---- events -------------------------------------------------------------------------------

/// One step of an answer. A dialect's encoder takes these as they come: a streaming
/// response is its frames, a non-streaming one the object it accumulated from the same
/// sequence (`dialect::encoder`).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Reasoning text, appended.
    Reasoning(String),
    /// Answer text, appended.
    Text(String),
    /// A complete tool call (GigaChat sends calls whole, never in pieces).
    ToolCall(ToolCall),
    /// A built-in tool started (GigaChat runs it; the client shows its progress).
    BuiltinStarted(BuiltinCall),
    /// A running built-in tool is still at work (keeps the client's view alive).
    BuiltinProgress(BuiltinCall),
    /// A built-in tool finished, with what it produced.
    BuiltinDone(BuiltinOutcome),
    /// Sources cited by the answer text: spans are byte offsets into the answer's text
    /// (the concatenation of every `Text` event), always of text already sent.
    Citations(Vec<Citation>),
    /// Token usage (arrives once, at the end).
    Usage(Usage),
    /// The answer is complete.
    Finish(FinishReason),
}

/// A run of a built-in tool. `id` is unique within the answer (dialects prefix it).
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinCall {
    pub id: String,
    pub kind: Builtin,
    /// What it was asked (GigaChat does not report its search queries: the user's last
    /// message stands in).
    pub query: String,
}

/// A finished built-in tool run.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinOutcome {
    pub call: BuiltinCall,
    /// GigaChat reported success (or did not say).
    pub ok: bool,
    /// Web pages found (web search).
    pub sources: Vec<Source>,
    /// Generated images (image generation).
    pub images: Vec<GeneratedImage>,
}

/// A web page a built-in tool found.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub url: String,
    pub title: Option<String>,
}

/// A generated image, downloaded from GigaChat's file store by `upstream` before the
/// event is passed on.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedImage {
    /// GigaChat's file id.
    pub file_id: String,
    pub mime: String,
    /// Base64 of the image bytes.
    pub data: String,
}

/// One cited span of the answer text.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    pub source: Source,
    /// Byte offsets into the answer text, on `char` boundaries.
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Prompt tokens served from GigaChat's cache (`precached_prompt_tokens`).
    pub cached_tokens: u64,
    pub reasoning_tokens: Option<u64>,
    /// Web searches GigaChat ran for the answer.
    pub web_searches: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    /// A client stop sequence matched (the text before it was sent).
    StopSequence(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_text_skips_media() {
        let m = Message::new(
            Role::User,
            vec![
                Part::Text("a".into()),
                Part::Media(Media {
                    kind: MediaKind::Image,
                    source: MediaSource::Url("https://x".into()),
                    filename: None,
                }),
                Part::Text("b".into()),
            ],
        );
        assert_eq!(m.joined_text(), "a\n\nb");
    }

    #[test]
    fn file_ids_are_checked() {
        for ok in ["c757a9c5-de04-498f-baa3-efcc54de7853", "file_011CNha8", "a"] {
            assert_eq!(file_id(ok, "p").unwrap(), ok);
        }
        let long = "a".repeat(129);
        for bad in [
            "",
            "../etc",
            "a/b",
            "a?b",
            "a b",
            "%2e%2e",
            "a.b",
            long.as_str(),
            "é",
        ] {
            let e = file_id(bad, "messages[0].content[1]").unwrap_err();
            assert_eq!(e.param(), Some("messages[0].content[1]"), "{bad}");
            assert_eq!(e.status(), 400);
        }
    }
}
