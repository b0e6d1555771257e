//! API documentation (DEV mode only; absent in PROD):
//!
//! * `GET /openapi.json` — an OpenAPI 3.1 document of every endpoint (behind the API
//!   key when it is on), built here from one table so the `/v1` twins of the API
//!   routes cannot drift from the plain ones;
//! * `GET /docs` and `GET /redoc` — a self-contained reference page that renders that
//!   document in the browser. Swagger UI and ReDoc load their scripts from a CDN, which
//!   offline and locked-down installations cannot reach, so the proxy ships its own small
//!   renderer instead (no external resources; the content-security policy forbids them).
//!   The document itself works with any external Swagger UI or ReDoc.

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::AppState;

const VIEWER: &str = include_str!("../../assets/docs.html");

/// `/openapi.json` (behind the API key when it is on).
pub fn data_routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi))
}

/// `/docs` and `/redoc`: the viewer page, which holds no data.
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/docs", get(viewer))
        .route("/redoc", get(viewer))
}

static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string_pretty(&document()).unwrap_or_default());

async fn openapi() -> Response {
    let mut r = DOCUMENT.as_str().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

async fn viewer() -> Response {
    super::logs::page(VIEWER)
}

// ---- the document -------------------------------------------------------------------------

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_body(schema: Value) -> Value {
    json!({ "content": { "application/json": { "schema": schema } } })
}

fn ok_json(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// JSON, or SSE when the request says `"stream": true`.
fn ok_json_or_sse(description: &str, schema: Value, events: &str) -> Value {
    json!({
        "description": description,
        "content": {
            "application/json": { "schema": schema },
            "text/event-stream": {
                "schema": { "type": "string", "description": events }
            }
        }
    })
}

fn text(description: &str, media: &str) -> Value {
    json!({ "description": description, "content": { media: { "schema": { "type": "string" } } } })
}

/// The error responses of an API operation, in its dialect's envelope.
fn errors(anthropic: bool, codes: &[&str]) -> Vec<(String, Value)> {
    let resp = if anthropic {
        "AnthropicError"
    } else {
        "OpenAIError"
    };
    codes
        .iter()
        .map(|c| {
            (
                (*c).to_string(),
                json!({ "$ref": format!("#/components/responses/{resp}") }),
            )
        })
        .collect()
}

const API_ERRORS: &[&str] = &[
    "400", "401", "404", "413", "429", "500", "502", "503", "504",
];

/// One operation: where it lives and its OpenAPI object.
struct Op {
    path: &'static str,
    method: &'static str,
    /// Also served under `/v1`.
    v1: bool,
    /// Needs no API key.
    open: bool,
    operation: Value,
    responses: Vec<(String, Value)>,
}

fn op(path: &'static str, method: &'static str, v1: bool, operation: Value) -> Op {
    Op {
        path,
        method,
        v1,
        open: false,
        operation,
        responses: Vec::new(),
    }
}

impl Op {
    fn respond(mut self, code: &str, response: Value) -> Self {
        self.responses.push((code.to_string(), response));
        self
    }

    fn errors(mut self, anthropic: bool, codes: &[&str]) -> Self {
        self.responses.extend(errors(anthropic, codes));
        self
    }

    fn open(mut self) -> Self {
        self.open = true;
        self
    }
}

fn id_param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": "string" } })
}

fn operations() -> Vec<Op> {
    vec![
        // ---- OpenAI Chat Completions, Models, Embeddings
        op("/chat/completions", "post", true, json!({
            "tags": ["OpenAI"], "operationId": "createChatCompletion",
            "summary": "Chat completion (OpenAI Chat Completions)",
            "description": "Translated to GigaChat's v1 chat. With `\"stream\": true` the answer is Server-Sent Events of `chat.completion.chunk` objects ending with `data: [DONE]`.",
            "requestBody": { "required": true, "content": { "application/json": { "schema": r("ChatCompletionRequest") } } },
        }))
        .respond("200", ok_json_or_sse("The completion", r("ChatCompletion"), "`data: {chat.completion.chunk}` frames, then `data: [DONE]`"))
        .errors(false, API_ERRORS),
        op("/models", "get", true, json!({
            "tags": ["OpenAI"], "operationId": "listModels",
            "summary": "List GigaChat's models",
            "description": "OpenAI's list shape; Anthropic's when the request carries `anthropic-version`. Cached for 60 s.",
        }))
        .respond("200", ok_json("The models", r("ModelList")))
        .errors(false, &["401", "429", "502", "503", "504"]),
        op("/models/{id}", "get", true, json!({
            "tags": ["OpenAI"], "operationId": "retrieveModel",
            "summary": "One model",
            "parameters": [id_param("id", "The model id, e.g. `GigaChat-2-Max`")],
        }))
        .respond("200", ok_json("The model", r("Model")))
        .errors(false, &["401", "404", "502", "503", "504"]),
        op("/embeddings", "post", true, json!({
            "tags": ["OpenAI"], "operationId": "createEmbeddings",
            "summary": "Embeddings (OpenAI Embeddings)",
            "description": "Computed by the configured GigaChat embeddings model (`--proxy.embeddings`).",
            "requestBody": json_body(r("EmbeddingsRequest")),
        }))
        .respond("200", ok_json("The vectors", r("EmbeddingsResponse")))
        .errors(false, API_ERRORS),
        // ---- OpenAI Responses
        op("/responses", "post", true, json!({
            "tags": ["OpenAI Responses"], "operationId": "createResponse",
            "summary": "Create a response (OpenAI Responses)",
            "description": "With `\"stream\": true` the answer is the Responses event stream (`response.created` … `response.completed`).",
            "requestBody": json_body(r("ResponsesRequest")),
        }))
        .respond("200", ok_json_or_sse("The response", r("Response"), "`event: response.*` / `data: {…}` frames with increasing `sequence_number`"))
        .errors(false, API_ERRORS),
        op("/responses/{id}", "get", true, json!({
            "tags": ["OpenAI Responses"], "operationId": "retrieveResponse",
            "summary": "A stored response",
            "parameters": [id_param("id", "The response id (`resp_…`)")],
        }))
        .respond("200", ok_json("The stored response", r("Response")))
        .errors(false, &["401", "404"]),
        op("/responses/{id}", "delete", true, json!({
            "tags": ["OpenAI Responses"], "operationId": "deleteResponse",
            "summary": "Delete a stored response",
            "parameters": [id_param("id", "The response id (`resp_…`)")],
        }))
        .respond("200", ok_json("Deleted", r("ResponseDeleted")))
        .errors(false, &["401", "404"]),
        op("/responses/{id}/input_items", "get", true, json!({
            "tags": ["OpenAI Responses"], "operationId": "listResponseInputItems",
            "summary": "The input items of a stored response",
            "parameters": [
                id_param("id", "The response id (`resp_…`)"),
                { "name": "order", "in": "query", "schema": { "type": "string", "enum": ["asc", "desc"], "default": "desc" } },
                { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } },
                { "name": "after", "in": "query", "schema": { "type": "string" }, "description": "Item id to start after" },
            ],
        }))
        .respond("200", ok_json("The items", r("ResponseItemList")))
        .errors(false, &["400", "401", "404"]),
        // ---- Anthropic
        op("/messages", "post", true, json!({
            "tags": ["Anthropic"], "operationId": "createMessage",
            "summary": "Create a message (Anthropic Messages)",
            "description": "`?beta=true` is accepted. With `\"stream\": true` the answer follows Anthropic's event grammar (`message_start` … `message_stop`, `ping` keep-alives).",
            "parameters": [
                { "name": "anthropic-version", "in": "header", "schema": { "type": "string" }, "description": "Accepted, not required" },
                { "name": "beta", "in": "query", "schema": { "type": "boolean" } },
            ],
            "requestBody": json_body(r("MessagesRequest")),
        }))
        .respond("200", ok_json_or_sse("The message", r("Message"), "`event: <type>` / `data: {…}` frames"))
        .errors(true, &["400", "401", "404", "413", "429", "500", "502", "504", "529"]),
        op("/messages/count_tokens", "post", true, json!({
            "tags": ["Anthropic"], "operationId": "countMessageTokens",
            "summary": "Count the tokens of a message request",
            "description": "Counted by GigaChat's own tokenizer on the translated request; an error when it cannot count (never a guess).",
            "requestBody": json_body(r("CountTokensRequest")),
        }))
        .respond("200", ok_json("The count", r("CountTokensResponse")))
        .errors(true, &["400", "401", "413", "429", "502", "504"]),
        // ---- system
        op("/", "get", false, json!({
            "tags": ["System"], "operationId": "root", "summary": "Base-URL probe",
        }))
        .respond("200", ok_json("Up", r("Status")))
        .open(),
        op("/", "head", false, json!({
            "tags": ["System"], "operationId": "rootHead", "summary": "Base-URL probe (Claude Code sends `HEAD /`)",
        }))
        .respond("200", json!({ "description": "Up" }))
        .open(),
        op("/health", "get", false, json!({
            "tags": ["System"], "operationId": "health", "summary": "Liveness probe",
        }))
        .respond("200", ok_json("Up", r("Health")))
        .open(),
        op("/ready", "get", false, json!({
            "tags": ["System"], "operationId": "ready", "summary": "Readiness probe",
            "description": "200 only when the proxy can serve: a GigaChat token can be obtained (or a fixed token is configured), the shared Redis answers when `--proxy.state-url` is set, and it is not shutting down. Otherwise 503 with `not_ready` naming the failing checks.",
        }))
        .respond("200", ok_json("Ready", r("Ready")))
        .respond("503", ok_json("Not ready (see `not_ready` and `checks`)", r("Ready")))
        .open(),
        op("/ping", "get", false, json!({
            "tags": ["System"], "operationId": "ping", "summary": "Cheapest probe",
        }))
        .respond("200", ok_json("Up", r("Status")))
        .open(),
        op("/ping", "post", false, json!({
            "tags": ["System"], "operationId": "pingPost", "summary": "Cheapest probe (POST)",
        }))
        .respond("200", ok_json("Up", r("Status")))
        .open(),
        op("/metrics", "get", false, json!({
            "tags": ["System"], "operationId": "metrics",
            "summary": "Prometheus metrics",
            "description": "Prometheus text format 0.0.4: requests by route/dialect/method/status/model, latency histograms, upstream latency and errors, proxy overhead, time to first token, active streams, tokens, token refreshes, retries. Available in DEV and PROD; behind the API key when it is on.",
        }))
        .respond("200", text("The exposition", "text/plain"))
        .errors(false, &["401"]),
        // ---- DEV-only: logs and docs
        op("/logs/{n}", "get", false, json!({
            "tags": ["Logs (DEV)"], "operationId": "logTail",
            "summary": "The last n lines of the log file",
            "description": "At most 10,000 lines (larger n is capped); continues into the newest rotated file. DEV only; `--proxy.logs-ip-allowlist` applies.",
            "parameters": [{ "name": "n", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1, "maximum": 10000 } }],
        }))
        .respond("200", text("Log lines", "text/plain"))
        .respond("400", text("n is not a number", "text/plain"))
        .respond("403", json!({ "$ref": "#/components/responses/OpenAIError" }))
        .respond("404", text("No log file", "text/plain"))
        .errors(false, &["401"]),
        op("/logs", "get", false, json!({
            "tags": ["Logs (DEV)"], "operationId": "logTailQuery",
            "summary": "The last lines of the log file (Python gpt2giga's form)",
            "parameters": [{ "name": "lines", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 10000, "default": 100 } }],
        }))
        .respond("200", text("Log lines", "text/plain"))
        .respond("403", json!({ "$ref": "#/components/responses/OpenAIError" }))
        .respond("404", text("No log file", "text/plain"))
        .errors(false, &["401"]),
        op("/logs/stream", "get", false, json!({
            "tags": ["Logs (DEV)"], "operationId": "logStream",
            "summary": "New log lines as Server-Sent Events",
            "description": "One `data:` line per log line as it is written (already redacted); `event: skipped` with a count when the reader fell behind; `: keep-alive` comments every 15 s.",
        }))
        .respond("200", text("The live log", "text/event-stream"))
        .respond("403", json!({ "$ref": "#/components/responses/OpenAIError" }))
        .errors(false, &["401"]),
        op("/logs/html", "get", false, json!({
            "tags": ["Logs (DEV)"], "operationId": "logViewer",
            "summary": "Live log viewer page",
            "description": "Self-contained HTML; asks for the API key and streams `/logs/stream`. Needs no key to load.",
        }))
        .respond("200", text("The page", "text/html"))
        .respond("403", json!({ "$ref": "#/components/responses/OpenAIError" }))
        .open(),
        op("/openapi.json", "get", false, json!({
            "tags": ["Docs (DEV)"], "operationId": "openapi", "summary": "This document",
        }))
        .respond("200", ok_json("OpenAPI 3.1", json!({ "type": "object" })))
        .errors(false, &["401"]),
        op("/docs", "get", false, json!({
            "tags": ["Docs (DEV)"], "operationId": "docs", "summary": "API reference page",
        }))
        .respond("200", text("The page", "text/html"))
        .open(),
        op("/redoc", "get", false, json!({
            "tags": ["Docs (DEV)"], "operationId": "redoc", "summary": "API reference page (same viewer as /docs)",
        }))
        .respond("200", text("The page", "text/html"))
        .open(),
    ]
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in operations() {
        let mut operation = o.operation.clone();
        let mut responses = Map::new();
        for (code, resp) in &o.responses {
            responses.insert(code.clone(), resp.clone());
        }
        if let Some(obj) = operation.as_object_mut() {
            obj.insert("responses".into(), Value::Object(responses));
            if o.open {
                obj.insert("security".into(), json!([{}]));
            }
        }
        let mut variants = vec![(o.path.to_string(), operation.clone())];
        if o.v1 {
            let mut twin = operation;
            if let Some(id) = twin.get("operationId").and_then(Value::as_str) {
                let id = format!("{id}V1");
                twin["operationId"] = Value::String(id);
            }
            variants.push((format!("/v1{}", o.path), twin));
        }
        for (path, operation) in variants {
            let item = paths
                .entry(path)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(item) = item.as_object_mut() {
                item.insert(o.method.to_string(), operation);
            }
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "gpt2giga",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "OpenAI- and Anthropic-compatible proxy for GigaChat",
            "description": "Every API path also works under `/v1`, and any prefix before a known root is stripped (`/api/v1/chat/completions`). When the proxy API key is on (`--proxy.enable-api-key-auth`, always in PROD) send it as `x-api-key`, `Authorization: Bearer` or `?x-api-key=`; probes and the two viewer pages are open. Errors use OpenAI's envelope, or Anthropic's under `/messages`. `/docs`, `/redoc`, `/openapi.json` and `/logs*` exist in DEV mode only.",
            "license": { "name": "MIT", "identifier": "MIT" },
        },
        "servers": [{ "url": "/" }],
        "tags": [
            { "name": "OpenAI", "description": "Chat Completions, Models, Embeddings" },
            { "name": "OpenAI Responses", "description": "Responses API with an in-memory store" },
            { "name": "Anthropic", "description": "Messages API" },
            { "name": "System", "description": "Probes and metrics" },
            { "name": "Logs (DEV)", "description": "Log file and live log" },
            { "name": "Docs (DEV)", "description": "This documentation" },
        ],
        "security": [{ "ApiKeyHeader": [] }, { "BearerAuth": [] }, { "ApiKeyQuery": [] }],
        "paths": paths,
        "components": components(),
    })
}

fn components() -> Value {
    json!({
        "securitySchemes": {
            "ApiKeyHeader": { "type": "apiKey", "in": "header", "name": "x-api-key" },
            "BearerAuth": { "type": "http", "scheme": "bearer", "description": "The proxy API key as a bearer token" },
            "ApiKeyQuery": { "type": "apiKey", "in": "query", "name": "x-api-key" },
        },
        "responses": {
            "OpenAIError": { "description": "An error in OpenAI's envelope", "content": { "application/json": { "schema": r("OpenAIError") } } },
            "AnthropicError": { "description": "An error in Anthropic's envelope", "content": { "application/json": { "schema": r("AnthropicError") } } },
        },
        "schemas": schemas(),
    })
}

fn schemas() -> Value {
    let mut s = Map::new();
    let mut put = |name: &str, v: Value| {
        s.insert(name.to_string(), v);
    };
    put(
        "OpenAIError",
        json!({
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "object", "required": ["message", "type"], "properties": {
                "message": { "type": "string" },
                "type": { "type": "string", "examples": ["invalid_request_error", "authentication_error", "not_found_error", "rate_limit_error", "api_error"] },
                "param": { "type": ["string", "null"] },
                "code": { "type": ["string", "null"] },
            } } },
        }),
    );
    put(
        "AnthropicError",
        json!({
            "type": "object", "required": ["type", "error"],
            "properties": {
                "type": { "const": "error" },
                "error": { "type": "object", "required": ["type", "message"], "properties": {
                    "type": { "type": "string", "examples": ["invalid_request_error", "authentication_error", "not_found_error", "rate_limit_error", "api_error", "overloaded_error"] },
                    "message": { "type": "string" },
                } },
            },
        }),
    );
    put(
        "ChatMessage",
        json!({
            "type": "object", "required": ["role"],
            "properties": {
                "role": { "enum": ["system", "developer", "user", "assistant", "tool", "function"] },
                "content": { "oneOf": [{ "type": "string" }, { "type": "array", "items": r("ContentPart") }, { "type": "null" }] },
                "name": { "type": "string" },
                "tool_calls": { "type": "array", "items": r("ToolCall") },
                "tool_call_id": { "type": "string" },
                "reasoning_content": { "type": "string" },
            },
        }),
    );
    put(
        "ContentPart",
        json!({
            "type": "object", "required": ["type"],
            "description": "`text`, `image_url` (data: or http(s) URL), `file` (base64 `file_data`), `input_audio`",
            "properties": {
                "type": { "enum": ["text", "image_url", "file", "input_audio"] },
                "text": { "type": "string" },
                "image_url": { "type": "object", "properties": { "url": { "type": "string" }, "detail": { "type": "string" } } },
                "file": { "type": "object", "properties": { "file_data": { "type": "string" }, "filename": { "type": "string" } } },
                "input_audio": { "type": "object", "properties": { "data": { "type": "string" }, "format": { "type": "string" } } },
            },
        }),
    );
    put(
        "ToolCall",
        json!({
            "type": "object", "required": ["id", "type", "function"],
            "properties": {
                "id": { "type": "string" },
                "type": { "const": "function" },
                "function": { "type": "object", "required": ["name", "arguments"], "properties": {
                    "name": { "type": "string" }, "arguments": { "type": "string", "description": "JSON text" },
                } },
            },
        }),
    );
    put(
        "FunctionTool",
        json!({
            "type": "object", "required": ["type", "function"],
            "properties": {
                "type": { "const": "function" },
                "function": { "type": "object", "required": ["name"], "properties": {
                    "name": { "type": "string" }, "description": { "type": "string" },
                    "parameters": { "type": "object", "description": "JSON Schema (normalised for GigaChat)" },
                    "strict": { "type": "boolean" },
                } },
            },
        }),
    );
    put(
        "ChatCompletionRequest",
        json!({
            "type": "object", "required": ["model", "messages"],
            "properties": {
                "model": { "type": "string", "description": "Echoed back; GigaChat's model is `GIGACHAT_MODEL` unless `--proxy.pass-model`" },
                "messages": { "type": "array", "items": r("ChatMessage") },
                "stream": { "type": "boolean" },
                "stream_options": { "type": "object", "properties": { "include_usage": { "type": "boolean" } } },
                "tools": { "type": "array", "items": r("FunctionTool") },
                "tool_choice": { "oneOf": [{ "enum": ["auto", "none", "required"] }, { "type": "object" }] },
                "functions": { "type": "array", "items": { "type": "object" }, "deprecated": true },
                "temperature": { "type": "number" },
                "top_p": { "type": "number" },
                "max_tokens": { "type": "integer" },
                "max_completion_tokens": { "type": "integer" },
                "stop": { "oneOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }] },
                "response_format": { "type": "object", "description": "`text`, `json_object` or `json_schema`" },
                "reasoning_effort": { "enum": ["none", "minimal", "low", "medium", "high", "xhigh"] },
                "n": { "type": "integer", "const": 1 },
            },
            "additionalProperties": true,
        }),
    );
    put(
        "Usage",
        json!({
            "type": "object",
            "properties": {
                "prompt_tokens": { "type": "integer" }, "completion_tokens": { "type": "integer" }, "total_tokens": { "type": "integer" },
                "prompt_tokens_details": { "type": "object", "properties": { "cached_tokens": { "type": "integer" } } },
            },
        }),
    );
    put(
        "ChatCompletion",
        json!({
            "type": "object", "required": ["id", "object", "created", "model", "choices"],
            "properties": {
                "id": { "type": "string" }, "object": { "const": "chat.completion" },
                "created": { "type": "integer" }, "model": { "type": "string" },
                "choices": { "type": "array", "items": { "type": "object", "properties": {
                    "index": { "type": "integer" },
                    "message": r("ChatMessage"),
                    "finish_reason": { "enum": ["stop", "length", "tool_calls", "content_filter"] },
                } } },
                "usage": r("Usage"),
            },
        }),
    );
    put(
        "Model",
        json!({
            "type": "object", "required": ["id", "object"],
            "properties": { "id": { "type": "string" }, "object": { "const": "model" }, "created": { "type": "integer" }, "owned_by": { "type": "string" } },
        }),
    );
    put(
        "ModelList",
        json!({
            "type": "object", "required": ["object", "data"],
            "properties": { "object": { "const": "list" }, "data": { "type": "array", "items": r("Model") } },
        }),
    );
    put(
        "EmbeddingsRequest",
        json!({
            "type": "object", "required": ["input"],
            "properties": {
                "input": { "oneOf": [
                    { "type": "string" }, { "type": "array", "items": { "type": "string" } },
                    { "type": "array", "items": { "type": "integer" } },
                    { "type": "array", "items": { "type": "array", "items": { "type": "integer" } } },
                ] },
                "model": { "type": "string" },
                "encoding_format": { "enum": ["float", "base64"] },
                "dimensions": { "type": "integer" },
            },
        }),
    );
    put(
        "EmbeddingsResponse",
        json!({
            "type": "object", "required": ["object", "data", "model"],
            "properties": {
                "object": { "const": "list" },
                "data": { "type": "array", "items": { "type": "object", "properties": {
                    "object": { "const": "embedding" }, "index": { "type": "integer" },
                    "embedding": { "oneOf": [{ "type": "array", "items": { "type": "number" } }, { "type": "string" }] },
                } } },
                "model": { "type": "string" },
                "usage": { "type": "object", "properties": { "prompt_tokens": { "type": "integer" }, "total_tokens": { "type": "integer" } } },
            },
        }),
    );
    put(
        "ResponsesRequest",
        json!({
            "type": "object",
            "properties": {
                "model": { "type": "string" },
                "input": { "oneOf": [{ "type": "string" }, { "type": "array", "items": { "type": "object", "description": "message, function_call, function_call_output, custom_tool_call(_output), reasoning" } }] },
                "instructions": { "type": "string" },
                "tools": { "type": "array", "items": { "type": "object", "description": "function, custom, namespace (hosted tools are skipped)" } },
                "tool_choice": { "oneOf": [{ "type": "string" }, { "type": "object" }] },
                "stream": { "type": "boolean" },
                "store": { "type": "boolean", "default": true },
                "previous_response_id": { "type": "string" },
                "include": { "type": "array", "items": { "type": "string" } },
                "text": { "type": "object", "properties": { "format": { "type": "object" } } },
                "reasoning": { "type": "object", "properties": { "effort": { "type": "string" }, "summary": { "type": "string" } } },
                "max_output_tokens": { "type": "integer" },
                "temperature": { "type": "number" },
                "top_p": { "type": "number" },
            },
            "additionalProperties": true,
        }),
    );
    put(
        "Response",
        json!({
            "type": "object", "required": ["id", "object", "status", "output"],
            "properties": {
                "id": { "type": "string" }, "object": { "const": "response" },
                "created_at": { "type": "integer" }, "model": { "type": "string" },
                "status": { "enum": ["completed", "incomplete", "failed", "in_progress"] },
                "output": { "type": "array", "items": { "type": "object", "description": "reasoning, message, function_call, custom_tool_call" } },
                "output_text": { "type": "string" },
                "usage": { "type": "object", "properties": {
                    "input_tokens": { "type": "integer" }, "output_tokens": { "type": "integer" }, "total_tokens": { "type": "integer" },
                    "input_tokens_details": { "type": "object" }, "output_tokens_details": { "type": "object" },
                } },
                "previous_response_id": { "type": ["string", "null"] },
            },
            "additionalProperties": true,
        }),
    );
    put(
        "ResponseDeleted",
        json!({
            "type": "object", "required": ["id", "object", "deleted"],
            "properties": { "id": { "type": "string" }, "object": { "const": "response" }, "deleted": { "const": true } },
        }),
    );
    put(
        "ResponseItemList",
        json!({
            "type": "object", "required": ["object", "data", "has_more"],
            "properties": {
                "object": { "const": "list" }, "data": { "type": "array", "items": { "type": "object" } },
                "first_id": { "type": ["string", "null"] }, "last_id": { "type": ["string", "null"] },
                "has_more": { "type": "boolean" },
            },
        }),
    );
    put(
        "AnthropicMessageParam",
        json!({
            "type": "object", "required": ["role", "content"],
            "properties": {
                "role": { "enum": ["user", "assistant"] },
                "content": { "oneOf": [{ "type": "string" }, { "type": "array", "items": { "type": "object", "description": "text, image, document, tool_use, tool_result, thinking blocks" } }] },
            },
        }),
    );
    put(
        "MessagesRequest",
        json!({
            "type": "object", "required": ["model", "max_tokens", "messages"],
            "properties": {
                "model": { "type": "string" },
                "max_tokens": { "type": "integer" },
                "messages": { "type": "array", "items": r("AnthropicMessageParam") },
                "system": { "oneOf": [{ "type": "string" }, { "type": "array", "items": { "type": "object" } }] },
                "tools": { "type": "array", "items": { "type": "object", "properties": {
                    "name": { "type": "string" }, "description": { "type": "string" }, "input_schema": { "type": "object" },
                } } },
                "tool_choice": { "type": "object" },
                "thinking": { "type": "object" },
                "stream": { "type": "boolean" },
                "temperature": { "type": "number" },
                "top_p": { "type": "number" },
                "stop_sequences": { "type": "array", "items": { "type": "string" } },
            },
            "additionalProperties": true,
        }),
    );
    put(
        "Message",
        json!({
            "type": "object", "required": ["id", "type", "role", "content", "model"],
            "properties": {
                "id": { "type": "string" }, "type": { "const": "message" }, "role": { "const": "assistant" },
                "model": { "type": "string" },
                "content": { "type": "array", "items": { "type": "object", "description": "thinking, text, tool_use blocks" } },
                "stop_reason": { "enum": ["end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal", null] },
                "stop_sequence": { "type": ["string", "null"] },
                "usage": { "type": "object", "properties": {
                    "input_tokens": { "type": "integer" }, "output_tokens": { "type": "integer" },
                    "cache_read_input_tokens": { "type": "integer" },
                } },
            },
        }),
    );
    put(
        "CountTokensRequest",
        json!({
            "type": "object", "required": ["model", "messages"],
            "properties": {
                "model": { "type": "string" },
                "messages": { "type": "array", "items": r("AnthropicMessageParam") },
                "system": { "oneOf": [{ "type": "string" }, { "type": "array", "items": { "type": "object" } }] },
                "tools": { "type": "array", "items": { "type": "object" } },
            },
        }),
    );
    put(
        "CountTokensResponse",
        json!({
            "type": "object", "required": ["input_tokens"],
            "properties": { "input_tokens": { "type": "integer" } },
        }),
    );
    put(
        "Health",
        json!({
            "type": "object", "required": ["status"],
            "properties": { "status": { "const": "ok" }, "version": { "type": "string" }, "mode": { "enum": ["DEV", "PROD", "demo"] } },
        }),
    );
    put(
        "Ready",
        json!({
            "type": "object", "required": ["status", "not_ready", "checks"],
            "properties": {
                "status": { "enum": ["ready", "not_ready"] },
                "not_ready": { "type": "array", "items": { "type": "string" } },
                "checks": { "type": "object", "additionalProperties": {
                    "type": "object", "required": ["status"],
                    "properties": { "status": { "enum": ["ok", "error"] }, "error": { "type": "string" } },
                } },
                "state": { "enum": ["memory", "redis"] },
            },
        }),
    );
    put(
        "Status",
        json!({
            "type": "object", "required": ["status"],
            "properties": { "status": { "const": "ok" }, "service": { "type": "string" }, "mode": { "type": "string" } },
        }),
    );
    Value::Object(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` points at something that exists.
    #[test]
    fn references_resolve() {
        let doc = document();
        let text = doc.to_string();
        let mut rest = text.as_str();
        let mut seen = 0;
        while let Some(i) = rest.find("\"$ref\":\"#/") {
            let tail = &rest[i + 9..];
            let end = tail.find('"').unwrap_or(0);
            let pointer = &tail[..end];
            assert!(
                doc.pointer(pointer).is_some(),
                "dangling reference #/{pointer}"
            );
            seen += 1;
            rest = &tail[end..];
        }
        assert!(seen > 20);
    }

    #[test]
    fn api_routes_have_v1_twins() {
        let doc = document();
        let paths = doc["paths"].as_object().map(|p| p.len()).unwrap_or(0);
        assert!(paths > 20);
        assert!(doc.pointer("/paths/~1v1~1chat~1completions/post").is_some());
        assert!(doc.pointer("/paths/~1chat~1completions/post").is_some());
        assert!(doc.pointer("/paths/~1v1~1health").is_none());
        assert_eq!(
            doc.pointer("/paths/~1health/get/security"),
            Some(&json!([{}]))
        );
    }
}
