//! `POST /embeddings` (§5): deterministic unit vectors seeded by a hash of each text.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use crate::control::MockControl;
use crate::http::{ApiError, json_response, parse_body};
use crate::tokens::count_tokens;
use crate::wire::common::{EmbeddingItem, Embeddings, EmbeddingsRequest, PromptTokens};

/// FNV-1a, 64 bit.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64 step.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic, L2-normalised vector for `text` (same text → same vector).
pub fn embed(text: &str, dim: usize) -> Vec<f32> {
    let mut state = fnv1a(text.as_bytes());
    let unit = |s: &mut u64| (splitmix(s) >> 11) as f64 / (1u64 << 53) as f64;
    // Sum of four uniforms: a cheap bell-shaped distribution centred on 0.
    let raw: Vec<f64> = (0..dim)
        .map(|_| (0..4).map(|_| unit(&mut state)).sum::<f64>() - 2.0)
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt();
    let norm = if norm > 0.0 { norm } else { 1.0 };
    raw.into_iter().map(|x| (x / norm) as f32).collect()
}

/// `POST /embeddings`.
pub(crate) async fn embeddings(
    State(ctl): State<MockControl>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let snap = ctl.shared().snapshot();
    let req: EmbeddingsRequest =
        serde_json::from_value(parse_body(&body)?).map_err(|_| ApiError::invalid_json())?;
    snap.model_of_kind(&req.model, "embedder")
        .ok_or_else(ApiError::no_such_model)?;
    let texts = &req.input.0;
    if texts.is_empty() {
        // [U] text
        return Err(ApiError::invalid_params("input must not be empty"));
    }
    if snap
        .cfg
        .embeddings_max_inputs
        .is_some_and(|max| texts.len() > max)
    {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
        ));
    }
    let dim = snap.cfg.embedding_dim(&req.model);
    let data = texts
        .iter()
        .enumerate()
        .map(|(index, text)| EmbeddingItem {
            object: "embedding",
            index,
            embedding: embed(text, dim),
            usage: PromptTokens {
                prompt_tokens: count_tokens(text),
            },
        })
        .collect();
    let resp = Embeddings {
        object: "list",
        model: &req.model,
        data,
    };
    Ok(json_response(StatusCode::OK, &resp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_deterministic_and_normalised() {
        let a = embed("Hello, world!", 1024);
        let b = embed("Hello, world!", 1024);
        let c = embed("Hello, world?", 1024);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 1024);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        assert!(embed("x", 0).is_empty());
    }
}
