//! Schemas of answers that the proxy builds as JSON values (probes) or with its stream
//! encoders (completions, messages, responses): documentation only, never serialised.
//! Request bodies, model lists, embeddings and error envelopes are documented from the
//! types the proxy really decodes or encodes.

#![expect(
    dead_code,
    reason = "documentation types: derived into schemas, never built"
)]

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::ToSchema;

/// Token usage of an OpenAI answer.
#[derive(ToSchema)]
pub struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: Option<CachedTokens>,
}

#[derive(ToSchema)]
pub(crate) struct CachedTokens {
    cached_tokens: u64,
}

/// A tool call in an assistant message.
#[derive(ToSchema)]
pub struct ToolCall {
    id: String,
    /// `function`.
    r#type: String,
    function: FunctionCall,
}

#[derive(ToSchema)]
pub(crate) struct FunctionCall {
    name: String,
    /// The arguments as JSON text.
    arguments: String,
}

/// The assistant's message in a completion.
#[derive(ToSchema)]
pub(crate) struct AssistantMessage {
    /// `assistant`.
    role: String,
    content: Option<String>,
    /// GigaChat's reasoning, when it returned any.
    reasoning_content: Option<String>,
    tool_calls: Option<Vec<ToolCall>>,
}

#[derive(ToSchema)]
pub(crate) struct Choice {
    index: u32,
    message: AssistantMessage,
    /// `stop`, `length`, `tool_calls` or `content_filter`.
    finish_reason: String,
}

/// An OpenAI `chat.completion` object. Streams send `chat.completion.chunk` objects
/// whose accumulation is this object.
#[derive(ToSchema)]
pub(crate) struct ChatCompletion {
    id: String,
    /// `chat.completion`.
    object: String,
    created: i64,
    model: String,
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

/// An Anthropic `message` object. Streams follow Anthropic's event grammar, whose
/// accumulation is this object.
#[derive(ToSchema)]
pub struct Message {
    id: String,
    /// `message`.
    r#type: String,
    /// `assistant`.
    role: String,
    model: String,
    /// `thinking`, `text` and `tool_use` blocks.
    content: Vec<Value>,
    /// `end_turn`, `max_tokens`, `tool_use`, `stop_sequence` or `refusal`.
    stop_reason: Option<String>,
    stop_sequence: Option<String>,
    usage: MessageUsage,
}

#[derive(ToSchema)]
pub(crate) struct MessageUsage {
    input_tokens: u64,
    output_tokens: u64,
    cache_read_input_tokens: Option<u64>,
}

#[derive(ToSchema)]
pub(crate) struct CountTokensResponse {
    input_tokens: u64,
}

/// An OpenAI Responses `response` object; the request's settings (`instructions`,
/// `tools`, `temperature`…) are echoed back beside these fields.
#[derive(ToSchema)]
pub struct Response {
    /// `resp_…`
    id: String,
    /// `response`.
    object: String,
    created_at: i64,
    model: String,
    /// `completed`, `incomplete`, `failed` or `in_progress`.
    status: String,
    /// `reasoning`, `message`, `function_call` and `custom_tool_call` items.
    output: Vec<Value>,
    output_text: Option<String>,
    usage: Option<Value>,
    previous_response_id: Option<String>,
}

#[derive(ToSchema)]
pub(crate) struct ResponseDeleted {
    id: String,
    /// `response`.
    object: String,
    deleted: bool,
}

#[derive(ToSchema)]
pub(crate) struct ResponseItemList {
    /// `list`.
    object: String,
    data: Vec<Value>,
    first_id: Option<String>,
    last_id: Option<String>,
    has_more: bool,
}

/// `/health`.
#[derive(ToSchema)]
pub struct Health {
    /// `ok`.
    status: String,
    version: String,
    /// `DEV`, `PROD` or `demo`.
    mode: String,
}

/// `/ready`: 200 when every check passes, else 503 naming the failing ones.
#[derive(ToSchema)]
pub(crate) struct Ready {
    /// `ready` or `not_ready`.
    status: String,
    /// The checks that failed.
    not_ready: Vec<String>,
    /// `gigachat`, `redis` (with `--proxy.state-url`), `shutdown`.
    checks: BTreeMap<String, ReadyCheck>,
    /// Where stored responses live: `memory` or `redis`.
    state: String,
}

#[derive(ToSchema)]
pub(crate) struct ReadyCheck {
    /// `ok` or `error`.
    status: String,
    error: Option<String>,
}

/// `/` and `/ping`.
#[derive(ToSchema)]
pub struct Status {
    /// `ok`.
    status: String,
    service: Option<String>,
    mode: Option<String>,
}

/// A part of a Gemini answer: `text` (with `thought: true` for reasoning when the
/// request asked for `includeThoughts`) or a `functionCall`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct GeminiPart {
    text: Option<String>,
    thought: Option<bool>,
    function_call: Option<GeminiFunctionCall>,
}

/// `{"id", "name", "args"}`.
#[derive(ToSchema)]
pub(crate) struct GeminiFunctionCall {
    id: String,
    name: String,
    args: BTreeMap<String, Value>,
}

#[derive(ToSchema)]
pub(crate) struct GeminiAnswerContent {
    /// `model`.
    role: String,
    parts: Vec<GeminiPart>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct GeminiCandidate {
    content: GeminiAnswerContent,
    /// `STOP`, `MAX_TOKENS`, `SAFETY` (GigaChat's blacklist) or `MALFORMED_FUNCTION_CALL`.
    finish_reason: Option<String>,
    /// Why a function call was malformed.
    finish_message: Option<String>,
    index: u32,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct GeminiUsage {
    prompt_token_count: u64,
    /// Answer tokens without reasoning.
    candidates_token_count: u64,
    total_token_count: u64,
    thoughts_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
}

/// A Gemini `GenerateContentResponse` (also each frame of a stream).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    candidates: Vec<GeminiCandidate>,
    usage_metadata: Option<GeminiUsage>,
    /// The model as the request named it.
    model_version: String,
    response_id: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct GeminiCountTokensResponse {
    total_tokens: u64,
}
