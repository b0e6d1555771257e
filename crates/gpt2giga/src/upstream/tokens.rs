//! Token counts through GigaChat's own tokenizer (`POST /tokens/count`, §6.1), for the
//! dialects' counting endpoints (Anthropic `count_tokens`, Gemini `countTokens`) and the
//! input tokens of Anthropic's `message_start`.

use gigachat::types::{TokensCountRequest, v1};

use super::Upstream;
use crate::error::ProxyError;
use crate::ir;
use crate::telemetry::metrics;

/// Counts the translated request (system, messages, function calls and results, tool
/// definitions) with GigaChat's own tokenizer. Never guesses: any failure is an error.
pub(crate) async fn count(
    gigachat: &Upstream,
    req: &ir::ChatRequest,
    options: &super::request::Options,
    ctx: &gigachat::RequestContext,
) -> Result<u64, ProxyError> {
    // The count is of the v1 form of the request: built-in tools (which GigaChat runs
    // itself) have no definition to count, and a choice forcing one changes nothing.
    let unforced;
    let req = if matches!(req.tool_choice, ir::ToolChoice::Builtin(_)) {
        unforced = ir::ChatRequest {
            tool_choice: ir::ToolChoice::Auto,
            ..req.clone()
        };
        &unforced
    } else {
        req
    };
    let (gc, _) = super::request::build(req, &[], options)?;
    let input = count_inputs(&gc);
    if input.is_empty() {
        return Ok(0);
    }
    let request = TokensCountRequest {
        model: gc.model.clone(),
        input,
    };
    let count = gigachat.client().tokens_count(&request, ctx);
    let counts = metrics::upstream("tokens_count", count)
        .await
        .map_err(|e| gigachat.error(e.into()))?;
    Ok(counts.iter().map(|c| c.tokens).sum())
}

/// The texts GigaChat will read for a request.
fn count_inputs(gc: &v1::ChatRequest) -> Vec<String> {
    let mut input = Vec::new();
    for m in &gc.messages {
        if !m.content.is_empty() {
            input.push(m.content.clone());
        }
        if let Some(fc) = &m.function_call {
            input.push(format!("{}({})", fc.name, fc.arguments));
        }
    }
    for f in gc.functions.iter().flatten() {
        input.push(serde_json::to_string(f).unwrap_or_default());
    }
    input
}
