//! GigaChat embeddings for every dialect: a request's texts split into GigaChat-sized
//! batches, sent under one concurrency slot, and the vectors returned in input order.

use futures::StreamExt;
use gigachat::RequestContext;
use gigachat::types::Vector;
use serde::Serialize;

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
    pub vectors: Vec<Vector>,
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

/// A vector as a dialect writes it: GigaChat's numbers passed on as they came (no parsing
/// and re-printing of every value), or the floats computed from them.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Values {
    AsSent(Vector),
    Computed(Vec<f32>),
}

impl Values {
    /// The values as `f32`, for a binary encoding.
    pub(crate) fn into_f32(self) -> Result<Vec<f32>, ProxyError> {
        match self {
            Self::AsSent(v) => floats(&v),
            Self::Computed(f) => Ok(f),
        }
    }
}

/// In the API description, a list of numbers either way.
impl utoipa::PartialSchema for Values {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <Vec<f32> as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Values {}

/// `v` as it came, or shortened to `dimensions` (then parsed, cut and renormalised).
pub(crate) fn values(v: Vector, dimensions: Option<u32>) -> Result<Values, ProxyError> {
    match dimensions {
        None => Ok(Values::AsSent(v)),
        Some(d) => Ok(Values::Computed(shorten(floats(&v)?, d)?)),
    }
}

fn floats(v: &Vector) -> Result<Vec<f32>, ProxyError> {
    v.to_f32().map_err(|e| {
        ProxyError::Upstream(gigachat::Error::Decode(format!(
            "GigaChat returned an embedding that is not a list of numbers: {e}"
        )))
    })
}

/// The first `dimensions` values of `v`, rescaled to unit L2 norm (a zero vector stays
/// zero); OpenAI's behaviour for `dimensions` below the model's size.
fn shorten(mut v: Vec<f32>, dimensions: u32) -> Result<Vec<f32>, ProxyError> {
    let d = dimensions as usize;
    if d == 0 || d > v.len() {
        return Err(ProxyError::invalid_param(
            format!(
                "dimensions={dimensions} cannot be honoured: the GigaChat embeddings model returns {}-dimensional vectors (dimensions must be between 1 and {})",
                v.len(),
                v.len()
            ),
            "dimensions",
        ));
    }
    v.truncate(d);
    let norm = v
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x = (f64::from(*x) / norm) as f32;
        }
    }
    Ok(v)
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
