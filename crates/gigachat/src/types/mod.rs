//! Wire types of the GigaChat REST API. Pure data: no I/O.

pub mod v1;
pub mod v2;

use serde::{Deserialize, Serialize};

/// `POST /embeddings` request. `input` is always sent as an array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsRequest {
    #[serde(deserialize_with = "string_or_seq")]
    pub input: Vec<String>,
    pub model: String,
}

fn string_or_seq<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsResponse {
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub model: String,
    pub data: Vec<Embedding>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    #[serde(default)]
    pub object: String,
    pub index: usize,
    pub embedding: Vec<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<EmbeddingUsage>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
}

/// `GET /models` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    #[serde(default)]
    pub object: String,
    pub data: Vec<Model>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub owned_by: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `POST /tokens/count` request; the response is a bare array of [`TokensCount`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokensCountRequest {
    pub model: String,
    /// Always sent as an array; a single string is accepted when reading.
    #[serde(deserialize_with = "string_or_seq")]
    pub input: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensCount {
    #[serde(default)]
    pub object: String,
    pub tokens: u64,
    pub characters: u64,
}

impl TokensCount {
    pub fn new(tokens: u64, characters: u64) -> Self {
        Self {
            object: "tokens".to_string(),
            tokens,
            characters,
        }
    }
}

/// `GET /balance` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    pub balance: Vec<BalanceItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceItem {
    pub usage: String,
    pub value: f64,
}

/// A stored file (`POST /files`, `GET /files/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileObject {
    pub id: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub filename: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modalities: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileList {
    pub data: Vec<FileObject>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDeleted {
    pub id: String,
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_policy: Option<String>,
}

/// Error body on the API host: `{"status": 404, "message": "No such model"}`;
/// the OAuth host uses `{"code": 6, "message": "…"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
}

/// Token endpoint answer in either of its two shapes, normalised by
/// [`TokenResponse::expires_at_ms`].
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TokenResponse {
    /// OAuth shape: `expires_at` in milliseconds.
    AccessToken {
        access_token: String,
        expires_at: i64,
    },
    /// `/token` shape: `exp` in seconds.
    Tok { tok: String, exp: i64 },
}

impl TokenResponse {
    pub fn token(&self) -> &str {
        match self {
            TokenResponse::AccessToken { access_token, .. } => access_token,
            TokenResponse::Tok { tok, .. } => tok,
        }
    }

    /// Expiry in Unix milliseconds. Both shapes are seen with either unit in the wild,
    /// so any value below 10^12 is taken to be seconds.
    pub fn expires_at_ms(&self) -> i64 {
        let raw = match self {
            TokenResponse::AccessToken { expires_at, .. } => *expires_at,
            TokenResponse::Tok { exp, .. } => *exp,
        };
        if raw < 1_000_000_000_000 {
            raw.saturating_mul(1000)
        } else {
            raw
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes_normalise_to_ms() {
        let a: TokenResponse =
            serde_json::from_str(r#"{"access_token":"t","expires_at":4102444800000}"#).unwrap();
        let b: TokenResponse = serde_json::from_str(r#"{"tok":"t","exp":4102444800}"#).unwrap();
        assert_eq!(a.expires_at_ms(), 4_102_444_800_000);
        assert_eq!(b.expires_at_ms(), 4_102_444_800_000);
        assert_eq!(b.token(), "t");
    }

    #[test]
    fn tokens_count_is_a_bare_array() {
        let raw = r#"[{"object":"tokens","tokens":2,"characters":10}]"#;
        let v: Vec<TokensCount> = serde_json::from_str(raw).unwrap();
        assert_eq!(v[0], TokensCount::new(2, 10));
    }

    #[test]
    fn embeddings_input_accepts_a_string() {
        let r: EmbeddingsRequest =
            serde_json::from_str(r#"{"input":"x","model":"Embeddings"}"#).unwrap();
        assert_eq!(r.input, vec!["x".to_string()]);
    }
}
