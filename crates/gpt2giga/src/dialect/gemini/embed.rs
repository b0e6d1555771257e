//! Gemini embeddings (`embedContent`, `batchEmbedContents`) and models in Gemini's
//! shapes (pure translation; the handlers call GigaChat).
//!
//! An embedding request's `content.parts` must be text (joined by newlines);
//! `outputDimensionality` shortens and re-normalises each vector as the OpenAI dialect's
//! `dimensions` does; `taskType` and `title` are knowingly ignored (GigaChat's
//! embeddings take neither).

use gigachat::types::{Model, ModelList, Vector};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::request::Content;
use crate::error::ProxyError;
use crate::upstream::catalog::{self, Served};
use crate::upstream::embeddings::{Values, values};

/// At most this many requests in one `batchEmbedContents` (Gemini's own cap).
pub(crate) const MAX_BATCH: usize = 250;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EmbedContentRequest)]
pub struct EmbedContentRequest {
    #[serde(default)]
    pub model: Option<String>,
    pub content: Content,
    #[serde(default, alias = "output_dimensionality")]
    pub output_dimensionality: Option<u32>,
    /// `taskType`, `title`: knowingly ignored.
    #[serde(flatten)]
    #[schema(ignore)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = BatchEmbedContentsRequest)]
pub struct BatchEmbedContentsRequest {
    pub requests: Vec<EmbedContentRequest>,
}

/// The text to embed for one request.
pub fn text_of(req: &EmbedContentRequest, param: &str) -> Result<String, ProxyError> {
    for key in req.other.keys() {
        tracing::debug!(field = %key, "ignoring embedContent field");
    }
    if req.output_dimensionality == Some(0) {
        return Err(ProxyError::invalid_param(
            "outputDimensionality must be at least 1",
            format!("{param}outputDimensionality"),
        ));
    }
    let mut texts = Vec::new();
    for (k, p) in req.content.parts.iter().enumerate() {
        match p.get("text").and_then(Value::as_str) {
            Some(t) => texts.push(t),
            None => {
                return Err(ProxyError::invalid_param(
                    "only text parts can be embedded",
                    format!("{param}content.parts[{k}]"),
                ));
            }
        }
    }
    let text = texts.join("\n");
    if text.is_empty() {
        return Err(ProxyError::invalid_param(
            "content must hold some text to embed",
            format!("{param}content"),
        ));
    }
    Ok(text)
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ContentEmbedding)]
pub(crate) struct EmbeddingOut {
    // GigaChat's numbers as it wrote them, unless `outputDimensionality` shortened them.
    #[schema(inline)]
    values: Values,
}

/// `{"embedding":{"values":[…]}}`
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EmbedContentResponse)]
pub(crate) struct EmbedOut {
    embedding: EmbeddingOut,
}

/// `{"embeddings":[{"values":[…]}, …]}`
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = BatchEmbedContentsResponse)]
pub(crate) struct BatchOut {
    embeddings: Vec<EmbeddingOut>,
}

/// A vector, shortened to `dimensions` when asked.
fn vector(v: Vector, dimensions: Option<u32>) -> Result<EmbeddingOut, ProxyError> {
    let values = values(v, dimensions).map_err(|e| match e {
        ProxyError::InvalidRequest { message, .. } => ProxyError::invalid_param(
            message.replace("dimensions", "outputDimensionality"),
            "outputDimensionality",
        ),
        other => other,
    })?;
    Ok(EmbeddingOut { values })
}

pub(crate) fn one(v: Vector, dimensions: Option<u32>) -> Result<EmbedOut, ProxyError> {
    Ok(EmbedOut {
        embedding: vector(v, dimensions)?,
    })
}

pub(crate) fn batch(vectors: Vec<(Vector, Option<u32>)>) -> Result<BatchOut, ProxyError> {
    Ok(BatchOut {
        embeddings: vectors
            .into_iter()
            .map(|(v, d)| vector(v, d))
            .collect::<Result<_, _>>()?,
    })
}

// ---- models -----------------------------------------------------------------------------------

/// A model in Gemini's shape (the `GeminiModel` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GeminiModel)]
pub(crate) struct ModelOut {
    name: String,
    base_model_id: String,
    version: String,
    display_name: String,
    description: String,
    /// The serving GigaChat model's context window, from the proxy's table of known
    /// sizes (absent when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    input_token_limit: Option<u32>,
    /// An alias's `max_tokens` (absent otherwise: GigaChat publishes no output cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    output_token_limit: Option<u32>,
    supported_generation_methods: Vec<&'static str>,
}

/// A page of models (`GeminiModelList`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GeminiModelList)]
pub(crate) struct ListOut {
    models: Vec<ModelOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

const CHAT_METHODS: &[&str] = &["generateContent", "streamGenerateContent", "countTokens"];
const EMBED_METHODS: &[&str] = &["embedContent", "batchEmbedContents"];

fn methods(embedding: bool) -> Vec<&'static str> {
    if embedding {
        EMBED_METHODS.to_vec()
    } else {
        CHAT_METHODS.to_vec()
    }
}

pub(crate) fn model_out(m: &Model) -> ModelOut {
    ModelOut {
        name: format!("models/{}", m.id),
        base_model_id: m.id.clone(),
        version: "001".into(),
        display_name: m.id.clone(),
        description: format!("GigaChat model {} (via gpt2giga)", m.id),
        input_token_limit: catalog::known(&m.id).map(|k| k.context),
        output_token_limit: None,
        supported_generation_methods: methods(catalog::is_embedder(&m.id, m.kind.as_deref())),
    }
}

/// A name the proxy serves with another GigaChat model: an alias
/// (`--proxy.model-aliases`), or any name with `--proxy.pass-model` off.
pub(crate) fn served(s: Served<'_>) -> ModelOut {
    let (id, served_by) = (s.id, s.served_by);
    ModelOut {
        name: format!("models/{id}"),
        base_model_id: id.to_string(),
        version: "001".into(),
        display_name: format!("{id} (served by {served_by})"),
        description: format!("Answered by the GigaChat model {served_by} (via gpt2giga)"),
        input_token_limit: catalog::known(served_by).map(|k| k.context),
        output_token_limit: s.max_tokens,
        supported_generation_methods: methods(s.embedding),
    }
}

/// The catalogue in Gemini's shape: GigaChat's models no alias shadows, then the
/// exact-name aliases (as `/models` lists them).
pub(crate) fn catalogue(models: &ModelList, aliases: &[Served<'_>]) -> Vec<ModelOut> {
    let mut out: Vec<ModelOut> = catalog::unshadowed(models, aliases)
        .into_iter()
        .map(model_out)
        .collect();
    out.extend(aliases.iter().copied().map(served));
    out
}

/// Page size when the client names none, and the largest one honoured.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;

/// One page of `models`: `page_token` is the offset the previous page handed out.
pub(crate) fn page(
    mut models: Vec<ModelOut>,
    page_size: Option<&str>,
    page_token: Option<&str>,
) -> Result<ListOut, ProxyError> {
    let size = match page_size.filter(|s| !s.is_empty()) {
        None => DEFAULT_PAGE,
        Some(s) => match s.parse::<usize>() {
            Ok(0) => DEFAULT_PAGE,
            Ok(n) => n.min(MAX_PAGE),
            Err(_) => {
                return Err(ProxyError::invalid_param(
                    format!("pageSize {s:?} is not a number"),
                    "pageSize",
                ));
            }
        },
    };
    let start = match page_token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= models.len())
            .ok_or_else(|| {
                ProxyError::invalid_param(format!("invalid pageToken {t:?}"), "pageToken")
            })?,
    };
    let total = models.len();
    let end = start.saturating_add(size).min(total);
    models.truncate(end);
    Ok(ListOut {
        models: models.split_off(start),
        next_page_token: (end < total).then(|| end.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list() -> ModelList {
        serde_json::from_value(json!({"object": "list", "data": [
            {"id": "GigaChat", "object": "model", "owned_by": "s", "type": "chat"},
            {"id": "GigaChat-2-Max", "object": "model", "owned_by": "s", "type": "chat"},
            {"id": "Embeddings", "object": "model", "owned_by": "s", "type": "embedder"}
        ]}))
        .unwrap()
    }

    #[test]
    fn pages() {
        let l = list();
        let p = serde_json::to_value(page(catalogue(&l, &[]), Some("2"), None).unwrap()).unwrap();
        assert_eq!(p["models"].as_array().unwrap().len(), 2);
        assert_eq!(p["models"][0]["name"], "models/GigaChat");
        assert_eq!(
            p["models"][0]["supportedGenerationMethods"],
            json!(["generateContent", "streamGenerateContent", "countTokens"])
        );
        assert_eq!(p["nextPageToken"], "2");
        let p =
            serde_json::to_value(page(catalogue(&l, &[]), Some("2"), Some("2")).unwrap()).unwrap();
        assert_eq!(p["models"][0]["name"], "models/Embeddings");
        assert_eq!(
            p["models"][0]["supportedGenerationMethods"],
            json!(["embedContent", "batchEmbedContents"])
        );
        assert!(p.get("nextPageToken").is_none());
        assert_eq!(
            page(catalogue(&l, &[]), None, Some("zz"))
                .err()
                .unwrap()
                .param(),
            Some("pageToken")
        );
        assert_eq!(
            page(catalogue(&l, &[]), Some("x"), None)
                .err()
                .unwrap()
                .param(),
            Some("pageSize")
        );
    }

    #[test]
    fn embedding_text_and_dimensions() {
        let r: EmbedContentRequest = serde_json::from_value(json!({
            "content": {"parts": [{"text": "a"}, {"text": "b"}]}, "taskType": "RETRIEVAL_QUERY"}))
        .unwrap();
        assert_eq!(text_of(&r, "").unwrap(), "a\nb");
        let r: EmbedContentRequest = serde_json::from_value(json!({
            "content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "AA"}}]}}))
        .unwrap();
        assert_eq!(
            text_of(&r, "requests[0].").unwrap_err().param(),
            Some("requests[0].content.parts[0]")
        );
        let vector = |text: &str| -> Vector { serde_json::from_str(text).unwrap() };
        let v = serde_json::to_value(one(vector("[3.0, 4.0, 0.0]"), Some(2)).unwrap()).unwrap();
        let values = v["embedding"]["values"].as_array().unwrap();
        assert_eq!(values.len(), 2);
        assert!((values[0].as_f64().unwrap() - 0.6).abs() < 1e-6, "{v}");
        assert!((values[1].as_f64().unwrap() - 0.8).abs() < 1e-6, "{v}");
        let e = one(vector("[1.0]"), Some(5)).err().unwrap();
        assert_eq!(e.param(), Some("outputDimensionality"));
        // Without outputDimensionality, GigaChat's numbers pass as written.
        let raw =
            serde_json::to_string(&one(vector("[0.88623046875,-1e-3]"), None).unwrap()).unwrap();
        assert_eq!(raw, r#"{"embedding":{"values":[0.88623046875,-1e-3]}}"#);
    }
}
