//! Shared application state handed to every handler.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use gigachat::types::ModelList;

use crate::config::{Config, StructuredOutputMode};
use crate::error::ProxyError;
use crate::server::middleware::RequestId;
use crate::state::{MemoryStore, ResponseStore};
use crate::upstream::attachments::{Attachments, Limits};
use crate::upstream::request::{Options, StructuredOutput};

/// Cheap to clone: everything lives behind one `Arc`.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    gigachat: gigachat::Client,
    attachments: Attachments,
    /// Request options shared by every chat call (the model is set per call).
    options: Options,
    /// GigaChat's model list, cached for [`MODELS_TTL`].
    models: tokio::sync::Mutex<Option<(Instant, Arc<ModelList>)>>,
    api_keys: Vec<String>,
    responses: Arc<dyn ResponseStore>,
}

/// How long the upstream model list is reused.
pub const MODELS_TTL: Duration = Duration::from_secs(60);

impl AppState {
    pub fn new(config: Config, gigachat: gigachat::Client) -> Result<Self, ProxyError> {
        let p = &config.proxy;
        let attachments = Attachments::new(Limits {
            enable_images: p.enable_images,
            max_image_bytes: p.max_image_file_size_bytes,
            max_audio_bytes: p.max_audio_file_size_bytes,
            max_text_bytes: p.max_text_file_size_bytes,
            max_audio_image_total_bytes: p.max_audio_image_total_size_bytes,
            ..Limits::default()
        })?;
        let api_keys: Vec<String> = if p.auth_required() {
            match p.api_key() {
                Some(k) => vec![k.to_string()],
                None => {
                    return Err(ProxyError::Internal(
                        "an API key is required (PROD mode or --proxy.enable-api-key-auth) but none is set: set GPT2GIGA_API_KEY".into(),
                    ));
                }
            }
        } else {
            Vec::new()
        };
        let responses: Arc<dyn ResponseStore> = Arc::new(MemoryStore::new(
            p.responses_store_capacity,
            Duration::from_secs(p.responses_store_ttl_secs),
        ));
        let options = Options {
            model: config.gigachat.model().to_string(),
            enable_reasoning: p.enable_reasoning,
            structured_output: match p.structured_output {
                StructuredOutputMode::Native => StructuredOutput::Native,
                StructuredOutputMode::Function => StructuredOutput::Function,
            },
            profanity_check: config.gigachat.profanity_check,
            flags: config.gigachat.flags.clone(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                gigachat,
                attachments,
                options,
                models: tokio::sync::Mutex::new(None),
                api_keys,
                responses,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn gigachat(&self) -> &gigachat::Client {
        &self.inner.gigachat
    }

    pub fn attachments(&self) -> &Attachments {
        &self.inner.attachments
    }

    /// Chat options for a request that asked for `requested_model`: the configured
    /// model, or the requested one with `--proxy.pass-model`.
    pub fn chat_options(&self, requested_model: &str) -> Options {
        let mut o = self.inner.options.clone();
        if self.inner.config.proxy.pass_model && !requested_model.is_empty() {
            o.model = requested_model.to_string();
        }
        o
    }

    /// The context propagated to GigaChat: our request id, the client's session and
    /// client ids when it sent them.
    pub fn request_context(
        &self,
        rid: &RequestId,
        headers: &HeaderMap,
    ) -> gigachat::RequestContext {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty() && v.len() <= 128)
                .map(str::to_string)
        };
        gigachat::RequestContext {
            request_id: Some(rid.0.clone()),
            session_id: header("x-session-id"),
            client_id: header("x-client-id"),
        }
    }

    /// GigaChat's model list (cached briefly; concurrent callers share one fetch).
    pub async fn models(
        &self,
        ctx: &gigachat::RequestContext,
    ) -> Result<Arc<ModelList>, ProxyError> {
        let mut cache = self.inner.models.lock().await;
        if let Some((at, list)) = cache.as_ref()
            && at.elapsed() < MODELS_TTL
        {
            return Ok(list.clone());
        }
        let list = Arc::new(self.inner.gigachat.models(ctx).await?);
        *cache = Some((Instant::now(), list.clone()));
        Ok(list)
    }

    /// Keys accepted by the proxy's API-key check; empty when the check is off.
    pub fn api_keys(&self) -> &[String] {
        &self.inner.api_keys
    }

    /// Stored Responses (`previous_response_id`, retrieve, delete, input items).
    pub fn responses(&self) -> &dyn ResponseStore {
        self.inner.responses.as_ref()
    }

    /// A shared handle to the store, for streams that outlive the handler.
    pub fn responses_handle(&self) -> Arc<dyn ResponseStore> {
        self.inner.responses.clone()
    }

    pub fn is_demo(&self) -> bool {
        self.inner.config.demo
    }

    pub fn mode_label(&self) -> &'static str {
        if self.inner.config.demo {
            "demo"
        } else if self.inner.config.proxy.is_prod() {
            "PROD"
        } else {
            "DEV"
        }
    }
}
