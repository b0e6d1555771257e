//! Token counts through GigaChat's own tokenizer (`POST /tokens/count`, §6.1), for the
//! dialects' counting endpoints (Anthropic `count_tokens`, Gemini `countTokens`) and the
//! input tokens of Anthropic's `message_start`.
//!
//! GigaChat counts each input text on its own, so a request's count is the sum of its
//! texts' counts. [`TokenCounts`] remembers them: an agent's next turn resends the
//! whole conversation, and only its new texts need counting.

use std::borrow::Cow;
use std::time::Duration;

use gigachat::types::{TokensCountRequest, v1};
use sha2::{Digest, Sha256};

use super::Upstream;
use crate::error::ProxyError;
use crate::ir;
use crate::telemetry::metrics;

/// Texts whose counts are remembered; at most a few megabytes.
const REMEMBERED: u64 = 16 * 1024;
/// How long a count is reused (a model name may come to mean a newer model).
const REMEMBER_FOR: Duration = Duration::from_secs(3600);

/// Token counts of single texts by model, as GigaChat gave them to one identity (the
/// proxy's, or a pass-token caller's: a count is only ever reused for the identity
/// GigaChat gave it to, so a refused token is still refused). Keyed by a SHA-256 of
/// identity, model and text: the texts themselves are not kept.
pub(crate) struct TokenCounts {
    cache: moka::sync::Cache<[u8; 16], u64>,
}

impl TokenCounts {
    pub fn new() -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(REMEMBERED)
                .time_to_live(REMEMBER_FOR)
                .build(),
        }
    }

    fn key(owner: &str, model: &str, text: &str) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(owner.as_bytes());
        h.update([0]);
        h.update(model.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        let digest = h.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }
}

/// Counts the translated request (system, messages, function calls and results, tool
/// definitions) with GigaChat's own tokenizer, asking GigaChat only for the texts whose
/// counts `counts` does not hold yet. Never guesses: any failure is an error.
pub(crate) async fn count(
    gigachat: &Upstream,
    counts: &TokenCounts,
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
    let owner = gigachat.owner().key();
    let mut total = 0;
    let (mut input, mut keys) = (Vec::new(), Vec::new());
    for text in count_inputs(&gc) {
        let key = TokenCounts::key(&owner, &gc.model, &text);
        match counts.cache.get(&key) {
            Some(n) => total += n,
            None => {
                input.push(text.into_owned());
                keys.push(key);
            }
        }
    }
    if input.is_empty() {
        return Ok(total);
    }
    let request = TokensCountRequest {
        model: gc.model.clone(),
        input,
    };
    let count = gigachat.client().tokens_count(&request, ctx);
    let counted = metrics::upstream("tokens_count", count)
        .await
        .map_err(|e| gigachat.error(e.into()))?;
    // One count per text, in order (§6.1); anything else is summed but not remembered.
    if counted.len() == keys.len() {
        for (key, c) in keys.into_iter().zip(&counted) {
            counts.cache.insert(key, c.tokens);
        }
    }
    Ok(total + counted.iter().map(|c| c.tokens).sum::<u64>())
}

/// The texts GigaChat will read for a request (messages borrowed: most of a long
/// conversation is only hashed, and only texts not counted yet are copied to be sent).
fn count_inputs(gc: &v1::ChatRequest) -> Vec<Cow<'_, str>> {
    let mut input = Vec::new();
    for m in &gc.messages {
        if !m.content.is_empty() {
            input.push(Cow::Borrowed(m.content.as_str()));
        }
        if let Some(fc) = &m.function_call {
            input.push(Cow::Owned(format!("{}({})", fc.name, fc.arguments)));
        }
    }
    for f in gc.functions.iter().flatten() {
        input.push(Cow::Owned(serde_json::to_string(f).unwrap_or_default()));
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_belongs_to_its_identity_model_and_text() {
        let k = |model, text| TokenCounts::key("server", model, text);
        assert_eq!(k("GigaChat", "Hello"), k("GigaChat", "Hello"));
        assert_ne!(k("GigaChat", "Hello"), k("GigaChat-2-Max", "Hello"));
        assert_ne!(k("GigaChat", "Hello"), k("GigaChat", "Hello "));
        assert_ne!(
            k("GigaChat", "Hello"),
            TokenCounts::key("0a1b", "GigaChat", "Hello")
        );
        // The separators keep identity, model and text apart.
        assert_ne!(k("GigaChat", "a"), k("GigaCha", "ta"));
        assert_ne!(
            TokenCounts::key("ab", "c", "t"),
            TokenCounts::key("a", "bc", "t")
        );
    }
}
