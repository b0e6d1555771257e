//! GigaChat embeddings for every dialect: a request's texts split into GigaChat-sized
//! batches, sent under one concurrency slot, and the vectors returned in input order.

use futures::StreamExt;
use gigachat::RequestContext;

use super::Upstream;
use crate::error::ProxyError;
use crate::telemetry::metrics;

/// Max inputs and characters per GigaChat call; larger requests are split.
pub(crate) const BATCH_MAX_INPUTS: usize = 90;
pub(crate) const BATCH_MAX_CHARS: usize = 1_000_000;

/// Batches in flight at once when no concurrency cap holds the request to one.
const PARALLEL: usize = 4;

/// The vectors of a request, in input order, and the prompt tokens GigaChat counted.
pub(crate) struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    pub tokens: u64,
}

/// Embeds `texts` with `model` on `upstream` (the caller's GigaChat identity).
pub(crate) async fn embed(
    upstream: &Upstream,
    model: &str,
    texts: Vec<String>,
    ctx: &RequestContext,
) -> Result<Embedded, ProxyError> {
    // One slot per request under the concurrency cap; its batches then go one at a time.
    let slot = metrics::waiting(upstream.slot(model)).await?;
    let parallel = if slot.is_some() { 1 } else { PARALLEL };
    let client = upstream.client();
    let results: Vec<Result<gigachat::types::EmbeddingsResponse, gigachat::Error>> =
        futures::stream::iter(batches(texts))
            .map(|input| {
                let request = gigachat::types::EmbeddingsRequest {
                    input,
                    model: model.to_string(),
                };
                async move {
                    metrics::upstream("embeddings", client.embeddings(&request, ctx)).await
                }
            })
            .buffered(parallel)
            .collect()
            .await;
    drop(slot);
    let mut out = Embedded {
        vectors: Vec::new(),
        tokens: 0,
    };
    for r in results {
        let mut r = r.map_err(|e| upstream.error(e.into()))?;
        r.data.sort_by_key(|d| d.index);
        for d in r.data {
            out.tokens += d.usage.map_or(0, |u| u.prompt_tokens);
            out.vectors.push(d.embedding);
        }
    }
    Ok(out)
}

/// Splits texts into GigaChat-sized batches, keeping order.
pub fn batches(texts: Vec<String>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut chars = 0usize;
    for t in texts {
        let len = t.chars().count();
        let start_new = match out.last() {
            None => true,
            Some(b) => b.len() >= BATCH_MAX_INPUTS || chars + len > BATCH_MAX_CHARS,
        };
        if start_new {
            out.push(Vec::new());
            chars = 0;
        }
        chars += len;
        if let Some(b) = out.last_mut() {
            b.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batching_keeps_order_and_limits() {
        let texts: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        let b = batches(texts.clone());
        assert_eq!(b.len(), 3);
        assert!(b.iter().all(|x| x.len() <= BATCH_MAX_INPUTS));
        assert_eq!(b.concat(), texts);
        let big = vec!["x".repeat(600_000), "y".repeat(600_000)];
        assert_eq!(batches(big).len(), 2);
    }
}
