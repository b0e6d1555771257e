//! Wire shapes outside chat (§1, §5–§8), plus the function description (`CustomFunction`,
//! §3.3) that v1 `functions` and v2 `tools[].functions.specifications` share.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::config::BalanceEntry;

// ----- errors (§1.1, §8) ------------------------------------------------------------------

/// API-host error: `{"status":404,"message":"No such model"}`.
#[derive(Debug, Serialize)]
pub(crate) struct ApiErrorBody<'a> {
    pub status: u16,
    pub message: &'a str,
}

/// OAuth-host error: `{"code":6,"message":"…"}` (the `RqUID` error has no code).
#[derive(Debug, Serialize)]
pub(crate) struct OAuthErrorBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    pub message: &'a str,
}

// ----- tokens (§1.1, §1.3) ----------------------------------------------------------------

/// An issued access token in one of its two recorded shapes.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum IssuedToken<'a> {
    /// `{"access_token":"…","expires_at":<unix ms>}` (OAuth, ngw host).
    Oauth {
        access_token: &'a str,
        expires_at: i64,
    },
    /// `{"tok":"…","exp":<unix s>}` (`/token`; some OAuth hosts too).
    Short { tok: &'a str, exp: i64 },
}

// ----- models (§6.2) ----------------------------------------------------------------------

/// Who owns every model in the recordings.
const MODEL_OWNER: &str = "salutedevices";

/// `{"id":"GigaChat","object":"model","owned_by":"salutedevices","type":"chat"}`.
#[derive(Debug, Serialize)]
pub(crate) struct Model<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub owned_by: &'static str,
    #[serde(rename = "type")]
    pub kind: &'a str,
}

impl<'a> Model<'a> {
    pub fn new(id: &'a str, kind: &'a str) -> Self {
        Self {
            id,
            object: "model",
            owned_by: MODEL_OWNER,
            kind,
        }
    }
}

/// `{"object":"list","data":[Model…]}`.
#[derive(Debug, Serialize)]
pub(crate) struct ModelList<'a> {
    pub object: &'static str,
    pub data: Vec<Model<'a>>,
}

impl<'a> ModelList<'a> {
    pub fn new(data: Vec<Model<'a>>) -> Self {
        Self {
            object: "list",
            data,
        }
    }
}

// ----- tokens/count (§6.1) and embeddings (§5) ---------------------------------------------

/// Texts given either as an array or as a single string.
#[derive(Debug, Default)]
pub(crate) struct Texts(pub Vec<String>);

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Many(Vec<String>),
            One(String),
        }
        Ok(Texts(match Given::deserialize(d)? {
            Given::Many(texts) => texts,
            Given::One(text) => vec![text],
        }))
    }
}

/// `POST /tokens/count`: `{"model":"GigaChat","input":["…"]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct TokensCountRequest {
    pub model: String,
    pub input: Texts,
}

/// One entry of the bare array `/tokens/count` answers with.
#[derive(Debug, Serialize)]
pub(crate) struct TokenCount {
    pub object: &'static str,
    pub tokens: u64,
    pub characters: u64,
}

impl TokenCount {
    pub fn new(tokens: u64, characters: u64) -> Self {
        Self {
            object: "tokens",
            tokens,
            characters,
        }
    }
}

/// `POST /embeddings`: `{"input":["…"],"model":"Embeddings"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct EmbeddingsRequest {
    pub input: Texts,
    pub model: String,
}

/// `{"object":"list","model":"Embeddings","data":[…]}` (no version suffix on `model`).
#[derive(Debug, Serialize)]
pub(crate) struct Embeddings<'a> {
    pub object: &'static str,
    pub model: &'a str,
    pub data: Vec<EmbeddingItem>,
}

/// `{"object":"embedding","index":0,"embedding":[…],"usage":{"prompt_tokens":7}}`.
#[derive(Debug, Serialize)]
pub(crate) struct EmbeddingItem {
    pub object: &'static str,
    pub index: usize,
    pub embedding: Vec<f32>,
    pub usage: PromptTokens,
}

#[derive(Debug, Serialize)]
pub(crate) struct PromptTokens {
    pub prompt_tokens: u64,
}

// ----- balance (§6.3) ---------------------------------------------------------------------

/// `{"balance":[{"usage":"GigaChat","value":900000},…]}`.
#[derive(Debug, Serialize)]
pub(crate) struct Balance<'a> {
    pub balance: &'a [BalanceEntry],
}

// ----- files (§7) -------------------------------------------------------------------------

/// A stored file as `POST /files` and `GET /files/{id}` describe it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileInfo {
    pub id: String,
    pub object: &'static str,
    pub bytes: u64,
    pub created_at: i64,
    pub filename: String,
    pub purpose: String,
    pub access_policy: &'static str,
    pub modalities: [&'static str; 1],
}

/// `GET /files`: `{"data":[FileInfo…]}`.
#[derive(Debug, Serialize)]
pub(crate) struct FileListing {
    pub data: Vec<FileInfo>,
}

/// `POST /files/{id}/delete`: `{"id":"…","deleted":true,"access_policy":"private"}`.
#[derive(Debug, Serialize)]
pub(crate) struct FileDeletion<'a> {
    pub id: &'a str,
    pub deleted: bool,
    pub access_policy: &'a str,
}

// ----- function descriptions (§3.3) ---------------------------------------------------------

/// A client function: `{"name","description"?,"parameters"?,"few_shot_examples"?,
/// "return_parameters"?}`. Schemas stay opaque JSON. Serialised only to count its tokens.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct CustomFunction {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub few_shot_examples: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_parameters: Option<Value>,
}

/// `response_format` (v1 top level, v2 under `model_options`): `{"type":"text"}`,
/// `{"type":"json_schema","schema":{…},"strict":true}`, v2 also `{"type":"regex","regex":"…"}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResponseFormat {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default, rename = "strict")]
    pub _strict: Option<bool>,
    #[serde(default)]
    pub regex: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_take_a_string_or_an_array() {
        let one: EmbeddingsRequest =
            serde_json::from_str(r#"{"input":"x","model":"Embeddings"}"#).unwrap();
        assert_eq!(one.input.0, ["x"]);
        let many: TokensCountRequest =
            serde_json::from_str(r#"{"model":"GigaChat","input":["a","b"]}"#).unwrap();
        assert_eq!(many.input.0, ["a", "b"]);
        assert!(serde_json::from_str::<TokensCountRequest>(r#"{"model":"m","input":1}"#).is_err());
    }

    #[test]
    fn shapes_serialise_compactly_in_recorded_order() {
        let list = ModelList::new(vec![Model::new("GigaChat", "chat")]);
        assert_eq!(
            serde_json::to_string(&list).unwrap(),
            r#"{"object":"list","data":[{"id":"GigaChat","object":"model","owned_by":"salutedevices","type":"chat"}]}"#
        );
        let token = IssuedToken::Short { tok: "t", exp: 1 };
        assert_eq!(
            serde_json::to_string(&token).unwrap(),
            r#"{"tok":"t","exp":1}"#
        );
        let err = OAuthErrorBody {
            code: None,
            message: "m",
        };
        assert_eq!(serde_json::to_string(&err).unwrap(), r#"{"message":"m"}"#);
    }
}
