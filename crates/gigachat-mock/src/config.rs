//! [`MockConfig`]: every knob of the emulator, with GigaChat-like defaults.
//!
//! The config is plain data (serde, so the `/__mock/config` control endpoint can read and
//! patch it as JSON). Durations travel as integer milliseconds (`*_ms`) or seconds
//! (`token_ttl_secs`) on the wire.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which JSON shape the OAuth endpoint answers with (§1.1 of the wire reference).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenShape {
    /// `{"access_token": "…", "expires_at": <unix ms>}` (documented shape, ngw host).
    #[default]
    AccessToken,
    /// `{"tok": "…", "exp": <unix s>}` (the `/token` shape, also seen on OAuth).
    Tok,
}

/// A model served by `/models` and accepted by chat, embeddings and tokens/count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Model id, e.g. `GigaChat-2-Max`.
    pub id: String,
    /// `chat`, `embedder`, `aicheck` or `filter`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Version suffix echoed in chat responses as `<id>:<version>`.
    pub version: String,
}

impl ModelSpec {
    /// A model entry.
    pub fn new(id: impl Into<String>, kind: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: kind.into(),
            version: version.into(),
        }
    }
}

/// The full model list observed in January 2026 plus `GigaChat-2-Reasoning` and
/// `GigaChat-3-Ultra` (§6.2), in the recorded order.
pub fn default_models() -> Vec<ModelSpec> {
    const V2: &str = "2.0.28.2";
    let chat = [
        ("GigaChat", V2),
        ("GigaChat-2", V2),
        ("GigaChat-2-Max", V2),
        ("GigaChat-2-Max-preview", V2),
        ("GigaChat-2-Pro", V2),
        ("GigaChat-2-Pro-preview", V2),
        ("GigaChat-2-Reasoning", V2),
        ("GigaChat-2-preview", V2),
        ("GigaChat-3-Ultra", "32.3.18.5"),
        ("GigaChat-Max", V2),
        ("GigaChat-Max-preview", V2),
        ("GigaChat-Plus", V2),
        ("GigaChat-Pro", V2),
        ("GigaChat-Pro-preview", V2),
        ("GigaChat-preview", V2),
    ];
    let other = [
        ("GigaFilter", "filter"),
        ("GigaCheckClassification", "aicheck"),
        ("GigaCheckDetection", "aicheck"),
        ("Embeddings", "embedder"),
        ("Embeddings-2", "embedder"),
        ("EmbeddingsGigaR", "embedder"),
        ("GigaEmbeddings-3B-2025-09", "embedder"),
    ];
    chat.iter()
        .map(|(id, v)| ModelSpec::new(*id, "chat", *v))
        .chain(other.iter().map(|(id, k)| ModelSpec::new(*id, *k, "1.0")))
        .collect()
}

/// One line of the `/balance` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceEntry {
    pub usage: String,
    pub value: u64,
}

fn default_balance() -> Option<Vec<BalanceEntry>> {
    Some(vec![
        BalanceEntry {
            usage: "GigaChat".into(),
            value: 900_000,
        },
        BalanceEntry {
            usage: "GigaChat-Pro".into(),
            value: 991_490,
        },
        BalanceEntry {
            usage: "embeddings".into(),
            value: 9_999_967,
        },
    ])
}

/// Per-kind upload size limits in bytes (§7.1: images 15 MB, audio 35 MB, text 40 MB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileLimits {
    pub image_bytes: u64,
    pub audio_bytes: u64,
    pub text_bytes: u64,
}

impl Default for FileLimits {
    fn default() -> Self {
        const MB: u64 = 1024 * 1024;
        Self {
            image_bytes: 15 * MB,
            audio_bytes: 35 * MB,
            text_bytes: 40 * MB,
        }
    }
}

/// Every knob of the emulator. `MockConfig::default()` behaves like a personal
/// (`GIGACHAT_API_PERS`) account that accepts any well-formed authorization key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockConfig {
    /// Expected authorization key (`base64(client_id:secret)`); `None` accepts any
    /// well-formed base64 key. A mismatch answers 401 `{"code":6,…}`.
    pub credentials: Option<String>,
    /// Scope the key is registered for; `None` accepts any valid scope. A mismatch
    /// answers 400 `{"code":7,…}`.
    pub scope: Option<String>,
    /// Expected `/token` user (`None`: any).
    pub user: Option<String>,
    /// Expected `/token` password (`None`: any).
    pub password: Option<String>,
    /// OAuth response shape.
    pub token_shape: TokenShape,
    /// Lifetime of issued tokens.
    #[serde(rename = "token_ttl_secs", with = "secs")]
    pub token_ttl: Duration,
    /// Accept any non-empty bearer token on API calls (demo and benchmark mode).
    pub accept_any_token: bool,
    /// Ring-buffer size of recorded requests; 0 disables recording.
    pub record_capacity: usize,
    /// Delay before the response head of every (non-control) request.
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    /// Delay between two stream frames.
    #[serde(rename = "chunk_delay_ms", with = "millis")]
    pub chunk_delay: Duration,
    /// Characters of text per stream delta (at least 1).
    pub chunk_size: usize,
    /// Honour the request's `update_interval` (seconds) as a minimum inter-frame delay.
    pub honour_update_interval: bool,
    /// Maximum requests in flight per access token; more answer 429 `Too many requests`.
    pub concurrency_limit: Option<usize>,
    /// `precached_prompt_tokens` / `cached_tokens` reported in usage (capped at the prompt size).
    pub precached_tokens: u64,
    /// Reject `temperature` outside (0, 2] with 422 (an assumption about the real API).
    pub validate_temperature: bool,
    /// v2: reject `function_call.arguments` given as a string with 400 (live behaviour);
    /// when false, a string holding a JSON object is accepted.
    pub v2_strict_arguments: bool,
    /// Built-in v2 tools that answer 422 `Tool <name> is unavailable`.
    pub unavailable_tools: Vec<String>,
    /// v2: answers' `function_call` parts carry an `id` (a UUID), as live answers do
    /// (§4.2 [L]); off by default, as in the recorded cassettes.
    pub v2_call_ids: bool,
    /// `/balance` lines; `None` answers 403 `Permission denied` (pay-as-you-go account).
    pub balance: Option<Vec<BalanceEntry>>,
    /// Maximum inputs per `/embeddings` call; more answer 413 `Payload too large`.
    pub embeddings_max_inputs: Option<usize>,
    /// Vector size per embeddings model; models not listed use `default_embedding_dim`.
    pub embedding_dims: BTreeMap<String, usize>,
    /// Vector size for embeddings models without an entry in `embedding_dims`.
    pub default_embedding_dim: usize,
    /// Upload size limits.
    pub file_limits: FileLimits,
    /// Served models (order = `/models` order).
    pub models: Vec<ModelSpec>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            credentials: None,
            scope: None,
            user: None,
            password: None,
            token_shape: TokenShape::AccessToken,
            token_ttl: Duration::from_secs(1800),
            accept_any_token: false,
            record_capacity: 1000,
            latency: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            chunk_size: 20,
            honour_update_interval: true,
            concurrency_limit: None,
            precached_tokens: 0,
            validate_temperature: true,
            v2_strict_arguments: true,
            unavailable_tools: Vec::new(),
            v2_call_ids: false,
            balance: default_balance(),
            embeddings_max_inputs: None,
            embedding_dims: BTreeMap::new(),
            default_embedding_dim: 1024,
            file_limits: FileLimits::default(),
            models: default_models(),
        }
    }
}

impl MockConfig {
    /// Vector size for an embeddings model.
    pub fn embedding_dim(&self, model: &str) -> usize {
        self.embedding_dims
            .get(model)
            .copied()
            .unwrap_or(self.default_embedding_dim)
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_roundtrips_through_json() {
        let cfg = MockConfig {
            latency: Duration::from_millis(25),
            token_shape: TokenShape::Tok,
            ..MockConfig::default()
        };
        let v = serde_json::to_value(&cfg).unwrap();
        assert_eq!(v["latency_ms"], 25);
        assert_eq!(v["token_ttl_secs"], 1800);
        assert_eq!(v["token_shape"], "tok");
        let back: MockConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn default_models_include_reasoning_and_ultra() {
        let ids: Vec<_> = default_models().into_iter().map(|m| m.id).collect();
        assert!(ids.contains(&"GigaChat-2-Reasoning".to_string()));
        assert!(ids.contains(&"GigaChat-3-Ultra".to_string()));
        assert!(ids.contains(&"Embeddings".to_string()));
    }
}
