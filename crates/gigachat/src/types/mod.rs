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
    pub embedding: Vector,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<EmbeddingUsage>,
}

/// An embedding vector as GigaChat wrote it: a JSON array of numbers kept as its text, so
/// it can be passed on without parsing and re-printing every number. Checked when read:
/// anything but an array of numbers is refused.
#[derive(Debug, Clone)]
pub struct Vector {
    raw: Box<serde_json::value::RawValue>,
}

impl Vector {
    /// The array's JSON text, exactly as GigaChat sent it.
    pub fn raw(&self) -> &serde_json::value::RawValue {
        &self.raw
    }

    /// The number of values (counted from the text, which was checked when read).
    pub fn len(&self) -> usize {
        Self::count_numbers(self.raw.get()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as `f32` (for arithmetic or a binary encoding).
    pub fn to_f32(&self) -> Result<Vec<f32>, serde_json::Error> {
        serde_json::from_str(self.raw.get())
    }

    /// The count of values when `text` is a JSON array of numbers only. `text` is
    /// already valid JSON, so an array holding only number characters, commas and
    /// whitespace holds numbers only (no strings, literals, objects or arrays).
    fn count_numbers(text: &str) -> Option<usize> {
        let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
        let numeric = |b: &u8| {
            matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b',')
                || b.is_ascii_whitespace()
        };
        if !inner.as_bytes().iter().all(numeric) {
            return None;
        }
        if inner.trim().is_empty() {
            return Some(0);
        }
        Some(memchr::memchr_iter(b',', inner.as_bytes()).count() + 1)
    }
}

impl PartialEq for Vector {
    fn eq(&self, other: &Self) -> bool {
        self.raw.get() == other.raw.get()
    }
}

impl Serialize for Vector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Vector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        if Self::count_numbers(raw.get()).is_none() {
            return Err(serde::de::Error::custom(
                "an embedding must be an array of numbers",
            ));
        }
        Ok(Self { raw })
    }
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
    fn embedding_vectors_keep_their_text_and_refuse_anything_but_numbers() {
        let raw = r#"{"object":"embedding","index":0,"embedding":[ 0.88623046875,-1E-3 , 2 ],"usage":{"prompt_tokens":7}}"#;
        let e: Embedding = serde_json::from_str(raw).unwrap();
        assert_eq!(e.embedding.len(), 3);
        assert_eq!(e.embedding.raw().get(), "[ 0.88623046875,-1E-3 , 2 ]");
        assert_eq!(
            e.embedding.to_f32().unwrap(),
            vec![0.886_230_47, -0.001, 2.0]
        );
        assert!(
            serde_json::to_string(&e)
                .unwrap()
                .contains(r#""embedding":[ 0.88623046875,-1E-3 , 2 ]"#)
        );
        let empty: Vector = serde_json::from_str("[ ]").unwrap();
        assert!(empty.is_empty());
        for bad in [
            r#"["1"]"#,
            "[1,null]",
            "[true]",
            "[[1]]",
            r#"[{"a":1}]"#,
            "1",
            r#""[1]""#,
            "{}",
        ] {
            assert!(serde_json::from_str::<Vector>(bad).is_err(), "{bad}");
        }
    }

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
