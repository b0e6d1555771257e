//! OpenAI Embeddings ↔ GigaChat embeddings (pure translation; batching lives in the
//! handler).
//!
//! `input` may be a string, an array of strings, an array of token ids, or an array of
//! token-id arrays; token ids are decoded back to text with the tokenizer of the OpenAI
//! model the client named (GigaChat only embeds text). `encoding_format` `float` or
//! `base64` (little-endian f32, what the OpenAI SDKs request by default). `dimensions`
//! shortens each vector to its first `dimensions` values and L2-renormalises it, as
//! OpenAI does; more than GigaChat's vector size, or 0, is a 400.

use std::sync::OnceLock;

use base64::Engine;
use bytes::Bytes;
use gigachat::types::Vector;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tiktoken_rs::CoreBPE;

use crate::error::ProxyError;
use crate::upstream::embeddings::{Values, values};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmbeddingsRequest {
    pub input: Input,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub encoding_format: Option<String>,
    #[serde(default)]
    pub dimensions: Option<u32>,
    /// `user` and anything else: knowingly ignored.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = EmbeddingsInput)]
pub enum Input {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<u32>),
    TokenLists(Vec<Vec<u32>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Float,
    Base64,
}

/// Inputs in one request at most (OpenAI's own cap): a request fans out into at most
/// `MAX_INPUTS / upstream::embeddings::BATCH_MAX_INPUTS` GigaChat calls.
pub(crate) const MAX_INPUTS: usize = 2048;

/// The texts to embed and how to encode the answer.
pub fn decode(req: &EmbeddingsRequest) -> Result<(Vec<String>, Encoding), ProxyError> {
    for key in req.other.keys() {
        tracing::debug!(field = %key, "ignoring embeddings field");
    }
    let encoding = match req.encoding_format.as_deref() {
        None | Some("float") => Encoding::Float,
        Some("base64") => Encoding::Base64,
        Some(other) => {
            return Err(ProxyError::invalid_param(
                format!("unknown encoding_format {other:?} (expected float or base64)"),
                "encoding_format",
            ));
        }
    };
    if req.dimensions == Some(0) {
        return Err(ProxyError::invalid_param(
            "dimensions must be at least 1",
            "dimensions",
        ));
    }
    let count = match &req.input {
        Input::Text(_) | Input::Tokens(_) => 1,
        Input::Texts(v) => v.len(),
        Input::TokenLists(v) => v.len(),
    };
    if count > MAX_INPUTS {
        return Err(ProxyError::invalid_param(
            format!("input has {count} items; at most {MAX_INPUTS} are allowed per request"),
            "input",
        ));
    }
    let texts = match &req.input {
        Input::Text(t) => vec![t.clone()],
        Input::Texts(v) => v.clone(),
        Input::Tokens(t) => vec![detokenize(&req.model, t)?],
        Input::TokenLists(v) => v
            .iter()
            .map(|t| detokenize(&req.model, t))
            .collect::<Result<_, _>>()?,
    };
    if texts.is_empty() {
        return Err(ProxyError::invalid_param(
            "input must not be empty",
            "input",
        ));
    }
    if let Some(i) = texts.iter().position(|t| t.is_empty()) {
        return Err(ProxyError::invalid_param(
            "input strings must not be empty",
            format!("input[{i}]"),
        ));
    }
    Ok((texts, encoding))
}

fn bpe_for(model: &str) -> Result<&'static CoreBPE, ProxyError> {
    static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static P50K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static R50K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};
    let cell = match get_tokenizer(model) {
        Some(Tokenizer::O200kBase) => O200K.get_or_init(|| tiktoken_rs::o200k_base().ok()),
        Some(Tokenizer::P50kBase | Tokenizer::P50kEdit) => {
            P50K.get_or_init(|| tiktoken_rs::p50k_base().ok())
        }
        Some(Tokenizer::R50kBase | Tokenizer::Gpt2) => {
            R50K.get_or_init(|| tiktoken_rs::r50k_base().ok())
        }
        // Every OpenAI embeddings model uses cl100k_base; so does an unknown name.
        _ => CL100K.get_or_init(|| tiktoken_rs::cl100k_base().ok()),
    };
    cell.as_ref()
        .ok_or_else(|| ProxyError::Internal("tokenizer unavailable".into()))
}

fn detokenize(model: &str, tokens: &[u32]) -> Result<String, ProxyError> {
    let bpe = bpe_for(model)?;
    bpe.decode(tokens).map_err(|_| {
        ProxyError::invalid_param(
            "input holds token ids that are not valid for this model's tokenizer",
            "input",
        )
    })
}

/// OpenAI's embeddings list (also the `EmbeddingsResponse` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EmbeddingsResponse)]
pub(crate) struct ListOut<'a> {
    object: &'static str,
    data: Vec<ItemOut>,
    model: &'a str,
    usage: UsageOut,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Embedding)]
struct ItemOut {
    object: &'static str,
    index: usize,
    embedding: EmbeddingOut,
}

/// Floats (GigaChat's own numbers unless shortened), or little-endian f32 in base64
/// (`encoding_format: "base64"`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = EmbeddingVector)]
enum EmbeddingOut {
    Float(#[schema(inline)] Values),
    Base64(String),
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EmbeddingsUsage)]
struct UsageOut {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// Encodes the vectors (in input order) as OpenAI's list object. Floats are GigaChat's
/// numbers as it wrote them, unless `dimensions` shortened the vectors.
pub fn encode(
    vectors: Vec<Vector>,
    prompt_tokens: u64,
    model: &str,
    encoding: Encoding,
    dimensions: Option<u32>,
) -> Result<Bytes, ProxyError> {
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(index, v)| {
            let values = values(v, dimensions)?;
            let embedding = match encoding {
                Encoding::Float => EmbeddingOut::Float(values),
                Encoding::Base64 => {
                    let floats = values.into_f32()?;
                    let mut bytes = Vec::with_capacity(floats.len() * 4);
                    for f in floats {
                        bytes.extend_from_slice(&f.to_le_bytes());
                    }
                    EmbeddingOut::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
                }
            };
            Ok(ItemOut {
                object: "embedding",
                index,
                embedding,
            })
        })
        .collect::<Result<Vec<_>, ProxyError>>()?;
    let body = ListOut {
        object: "list",
        data,
        model,
        usage: UsageOut {
            prompt_tokens,
            total_tokens: prompt_tokens,
        },
    };
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .map_err(|e| ProxyError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: Value) -> EmbeddingsRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn input_shapes() {
        let (t, e) = decode(&req(json!({"input":"hi","model":"text-embedding-3-small"}))).unwrap();
        assert_eq!((t, e), (vec!["hi".to_string()], Encoding::Float));
        let (t, _) = decode(&req(json!({"input":["a","b"],"model":"m"}))).unwrap();
        assert_eq!(t, vec!["a", "b"]);
        // "hello world" in cl100k_base.
        let (t, _) = decode(&req(
            json!({"input":[15339, 1917],"model":"text-embedding-ada-002"}),
        ))
        .unwrap();
        assert_eq!(t, vec!["hello world"]);
        let (t, e) = decode(&req(json!({"input":[[15339],[1917]],"model":"text-embedding-3-large","encoding_format":"base64"}))).unwrap();
        assert_eq!(t, vec!["hello", " world"]);
        assert_eq!(e, Encoding::Base64);
        assert!(decode(&req(json!({"input":[],"model":"m"}))).is_err());
        // OpenAI's cap on inputs per request bounds the fan-out.
        let many: Vec<String> = (0..=MAX_INPUTS).map(|i| i.to_string()).collect();
        let e = decode(&req(json!({"input": many, "model": "m"}))).unwrap_err();
        assert_eq!((e.status().as_u16(), e.param()), (400, Some("input")));
        assert!(e.to_string().contains("2049 items"), "{e}");
        let fine: Vec<String> = (0..MAX_INPUTS).map(|i| i.to_string()).collect();
        assert!(decode(&req(json!({"input": fine, "model": "m"}))).is_ok());
        assert_eq!(
            decode(&req(json!({"input":["a",""],"model":"m"})))
                .unwrap_err()
                .param(),
            Some("input[1]")
        );
        assert!(decode(&req(json!({"input":"a","encoding_format":"int8"}))).is_err());
    }

    #[test]
    fn base64_is_little_endian_f32() {
        let body = encode(vs(vec![vec![1.0, -2.5]]), 3, "m", Encoding::Base64, None).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            raw,
            [1.0f32.to_le_bytes(), (-2.5f32).to_le_bytes()].concat()
        );
        assert_eq!(v["usage"], json!({"prompt_tokens":3,"total_tokens":3}));
        assert!(encode(vs(vec![vec![1.0]]), 1, "m", Encoding::Float, Some(2)).is_err());
        assert!(encode(vs(vec![vec![1.0]]), 1, "m", Encoding::Float, Some(1)).is_ok());
    }

    fn vs(vectors: Vec<Vec<f32>>) -> Vec<Vector> {
        vectors
            .iter()
            .map(|v| serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn floats_are_gigachats_numbers_as_written() {
        // GigaChat writes exact binary fractions; they pass through digit for digit
        // (parsed to f32 and printed again, 0.88623046875 would become 0.88623047).
        let v: Vector = serde_json::from_str("[0.88623046875, -0.367919921875,1e-3]").unwrap();
        assert_eq!(v.len(), 3);
        let body = encode(vec![v.clone()], 7, "m", Encoding::Float, None).unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        assert!(
            text.contains(r#""embedding":[0.88623046875, -0.367919921875,1e-3]"#),
            "{text}"
        );
        // Base64 and dimensions work from the parsed numbers.
        let b64 = encode(vec![v.clone()], 7, "m", Encoding::Base64, None).unwrap();
        let j: Value = serde_json::from_slice(&b64).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(j["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        assert_eq!(&raw[..4], &0.886_230_47_f32.to_le_bytes());
        assert_eq!(
            floats(
                &encode(vec![v], 7, "m", Encoding::Float, Some(2)).unwrap(),
                0
            )
            .len(),
            2
        );
    }

    fn norm(v: &[f32]) -> f64 {
        v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt()
    }

    fn floats(body: &Bytes, i: usize) -> Vec<f32> {
        let v: Value = serde_json::from_slice(body).unwrap();
        v["data"][i]["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    }

    #[test]
    fn dimensions_shorten_and_renormalise() {
        let full: Vec<f32> = (1..=8).map(|i| i as f32 * 0.1).collect();
        let body = encode(
            vs(vec![full.clone(), vec![0.0; 8]]),
            1,
            "m",
            Encoding::Float,
            Some(3),
        )
        .unwrap();
        let short = floats(&body, 0);
        assert_eq!(short.len(), 3);
        assert!((norm(&short) - 1.0).abs() < 1e-6, "{short:?}");
        // Same direction as the first three values.
        let n = norm(&full[..3]);
        for (a, b) in short.iter().zip(&full[..3]) {
            assert!((f64::from(*a) - f64::from(*b) / n).abs() < 1e-6);
        }
        // A zero vector stays zero instead of becoming NaN.
        assert_eq!(floats(&body, 1), vec![0.0; 3]);
        // Equal to the size: only renormalised.
        let same = floats(
            &encode(vs(vec![full.clone()]), 1, "m", Encoding::Float, Some(8)).unwrap(),
            0,
        );
        assert_eq!(same.len(), 8);
        assert!((norm(&same) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn dimensions_above_size_or_zero_is_400() {
        let e = encode(vs(vec![vec![0.5; 4]]), 1, "m", Encoding::Float, Some(5)).unwrap_err();
        assert_eq!((e.status().as_u16(), e.param()), (400, Some("dimensions")));
        let msg = e.to_string();
        assert!(
            msg.contains("dimensions=5") && msg.contains("4-dimensional"),
            "{msg}"
        );
        let e = decode(&req(json!({"input":"a","model":"m","dimensions":0}))).unwrap_err();
        assert_eq!((e.status().as_u16(), e.param()), (400, Some("dimensions")));
        assert!(decode(&req(json!({"input":"a","model":"m","dimensions":1}))).is_ok());
    }

    #[test]
    fn dimensions_with_base64_encode_the_truncated_floats() {
        let full: Vec<f32> = vec![3.0, 4.0, 12.0, 5.0];
        let as_float = floats(
            &encode(vs(vec![full.clone()]), 1, "m", Encoding::Float, Some(2)).unwrap(),
            0,
        );
        let body = encode(vs(vec![full]), 1, "m", Encoding::Base64, Some(2)).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        let decoded: Vec<f32> = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(decoded, as_float);
        assert_eq!(decoded, vec![0.6, 0.8]);
    }
}
