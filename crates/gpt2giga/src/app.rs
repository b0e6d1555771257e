//! Shared application state handed to every handler.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;

use gigachat::types::ModelList;

use crate::config::{Alias, Config, StructuredOutputMode};
use crate::error::ProxyError;
use crate::state::redis::{Redis, RedisStore, SharedSemaphore};
use crate::state::{MemoryStore, Store};
use crate::telemetry::RequestId;
use crate::telemetry::metrics::{self, Metrics};
use crate::telemetry::traces::Traces;
use crate::traffic::TrafficLog;
use crate::upstream::Upstream;
use crate::upstream::attachments::{Attachments, Limits};
use crate::upstream::limiter::Cap;
use crate::upstream::pool::{self, ClientPool, Owner};
use crate::upstream::request::{Options, StructuredOutput};
use crate::upstream::tokens::TokenCounts;

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
    /// GigaChat's model list (the proxy's own identity), cached for [`MODELS_TTL`].
    models: moka::future::Cache<(), Arc<ModelList>>,
    /// Token counts of texts already counted by GigaChat.
    token_counts: TokenCounts,
    api_keys: Vec<String>,
    responses: Arc<Store>,
    /// The shared Redis (`--proxy.state-url`), when configured.
    redis: Option<Redis>,
    /// Per-caller GigaChat clients (`--proxy.pass-token`).
    pool: Option<ClientPool>,
    /// The per-model concurrency cap (`--proxy.max-concurrent-requests-per-model`).
    limiter: Option<Arc<Cap<(Owner, String)>>>,
    /// Prometheus metrics of this instance (`/metrics`).
    metrics: Arc<Metrics>,
    /// Set once shutdown begins: `/ready` answers 503 from then on.
    draining: std::sync::atomic::AtomicBool,
    /// The traffic log (`--proxy.traffic-log-url`), once started.
    traffic: std::sync::OnceLock<TrafficLog>,
    /// OpenTelemetry traces (`--proxy.otlp-endpoint`), when configured.
    traces: Option<Traces>,
}

/// How long the upstream model list is reused.
pub(crate) const MODELS_TTL: Duration = Duration::from_secs(60);

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
            let keys: Vec<String> = p
                .accepted_api_keys()
                .into_iter()
                .map(str::to_string)
                .collect();
            if keys.is_empty() {
                return Err(ProxyError::Internal(
                    "an API key is required (PROD mode or --proxy.enable-api-key-auth) but none is set: set GPT2GIGA_API_KEY (or GPT2GIGA_API_KEYS)".into(),
                ));
            }
            keys
        } else {
            Vec::new()
        };
        if p.pass_token && api_keys.iter().any(|k| k.starts_with(pool::PREFIX)) {
            return Err(ProxyError::Internal(format!(
                "with --proxy.pass-token an API key must not start with {:?}: such values are GigaChat identities",
                pool::PREFIX
            )));
        }
        let redis = p
            .state_url()
            .map(Redis::new)
            .transpose()
            .map_err(ProxyError::Internal)?;
        let pool = p.pass_token.then(|| {
            let salt = match p.state_url() {
                // Replicas sharing state must agree on who owns what.
                Some(url) => ClientPool::shared_salt(url),
                None => *uuid::Uuid::new_v4().as_bytes(),
            };
            ClientPool::with_salt(
                gigachat.clone(),
                pool::POOL_CAPACITY,
                pool::POOL_IDLE_TTL,
                salt,
            )
        });
        let limiter = p.max_concurrent_requests_per_model.map(|max| {
            let (queue, timeout) = (p.concurrency_queue_size, p.concurrency_queue_timeout());
            Arc::new(match &redis {
                Some(r) => Cap::shared(
                    max,
                    queue,
                    timeout,
                    SharedSemaphore::new(r.clone(), p.concurrency_lease()),
                ),
                None => Cap::local(max, queue, timeout),
            })
        });

        let ttl = Duration::from_secs(p.responses_store_ttl_secs);
        let responses = Arc::new(match &redis {
            Some(r) => Store::Redis(RedisStore::new(r.clone(), ttl)),
            None => Store::Memory(MemoryStore::new(
                p.responses_store_capacity,
                ttl,
                p.responses_store_max_bytes,
            )),
        });
        let options = Options {
            model: config.gigachat.model().to_string(),
            enable_reasoning: p.enable_reasoning,
            structured_output: match p.structured_output {
                StructuredOutputMode::Native => StructuredOutput::Native,
                StructuredOutputMode::Function => StructuredOutput::Function,
            },
            profanity_check: config.gigachat.profanity_check,
            flags: config.gigachat.flags.clone(),
            alias: crate::config::AliasSettings::default(),
            api_mode: p.gigachat_api_mode,
            media_per_message: attachments.limits().max_images_per_message,
        };
        let metrics = Arc::new(Metrics::new(Some(gigachat.clone())));
        let traces = p
            .otlp_endpoint
            .as_deref()
            .map(|endpoint| Traces::start(endpoint, p.otlp_protocol()))
            .transpose()
            .map_err(ProxyError::Internal)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                gigachat,
                attachments,
                options,
                models: moka::future::Cache::builder()
                    .max_capacity(1)
                    .time_to_live(MODELS_TTL)
                    .build(),
                token_counts: TokenCounts::new(),
                api_keys,
                responses,
                redis,
                pool,
                limiter,
                metrics,
                draining: std::sync::atomic::AtomicBool::new(false),
                traffic: std::sync::OnceLock::new(),
                traces,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Token counts of texts GigaChat has already counted (for `upstream::tokens`).
    pub(crate) fn token_counts(&self) -> &TokenCounts {
        &self.inner.token_counts
    }

    /// The proxy's own GigaChat client (its configured credentials).
    pub fn gigachat(&self) -> &gigachat::Client {
        &self.inner.gigachat
    }

    /// The GigaChat side of a request: the proxy's own account, or the caller's
    /// `token` (with `--proxy.pass-token`; `server::auth` reads it from the
    /// request).
    pub fn upstream(&self, token: Option<&pool::PassToken>) -> Result<Upstream, ProxyError> {
        let limiter = self.inner.limiter.clone();
        match (&self.inner.pool, token) {
            (Some(pool), Some(token)) => {
                let (fp, client) = pool.get(token)?;
                Ok(Upstream::new(client, Owner::Caller(fp), limiter))
            }
            _ => Ok(Upstream::new(
                self.inner.gigachat.clone(),
                Owner::Server,
                limiter,
            )),
        }
    }

    /// `--proxy.pass-token` is on: requests may name their own GigaChat identity.
    pub fn pass_token(&self) -> bool {
        self.inner.pool.is_some()
    }

    /// Pass-token identities currently pooled (0 without `--proxy.pass-token`).
    pub fn pooled_identities(&self) -> usize {
        self.inner.pool.as_ref().map_or(0, ClientPool::len)
    }

    pub(crate) fn attachments(&self) -> &Attachments {
        &self.inner.attachments
    }

    /// The alias (`--proxy.model-aliases`) that applies to a requested model name.
    pub(crate) fn alias(&self, requested_model: &str) -> Option<&Alias> {
        self.inner
            .config
            .proxy
            .model_aliases
            .resolve(requested_model)
    }

    /// The one decision of which GigaChat chat model serves `requested_model`: its
    /// alias's model; else the requested name with `--proxy.pass-model`; else the
    /// configured model.
    pub(crate) fn chat_model<'a>(&'a self, requested_model: &'a str) -> &'a str {
        if let Some(model) = self
            .alias(requested_model)
            .and_then(|a| a.settings.model.as_deref())
        {
            return model;
        }
        if self.inner.config.proxy.pass_model && !requested_model.is_empty() {
            return requested_model;
        }
        &self.inner.options.model
    }

    /// The GigaChat embeddings model for an embeddings request naming
    /// `requested_model`: its alias's `embeddings_model`, else `--proxy.embeddings`.
    pub(crate) fn embeddings_model(&self, requested_model: &str) -> &str {
        self.alias(requested_model)
            .and_then(|a| a.settings.embeddings_model.as_deref())
            .unwrap_or(&self.inner.config.proxy.embeddings)
    }

    /// Chat options for a request that asked for `requested_model`: the model
    /// [`chat_model`](Self::chat_model) picks and the alias's defaults.
    pub(crate) fn chat_options(&self, requested_model: &str) -> Options {
        let mut o = self.inner.options.clone();
        o.model = self.chat_model(requested_model).to_string();
        if let Some(a) = self.alias(requested_model) {
            o.alias = a.settings.clone();
            if let Some(mode) = a.settings.api_mode {
                o.api_mode = mode;
            }
        }
        o
    }

    /// Runs a chat request on `upstream` (the caller's GigaChat identity) with this
    /// proxy's options and attachments.
    pub async fn chat(
        &self,
        upstream: &crate::upstream::Upstream,
        ctx: gigachat::RequestContext,
        req: &crate::ir::ChatRequest,
    ) -> Result<crate::ir::EventStream, ProxyError> {
        let options = self.chat_options(&req.model);
        let call = crate::upstream::ChatCall {
            upstream,
            attachments: self.attachments(),
            options: &options,
            ctx,
        };
        crate::upstream::chat(call, req).await
    }

    /// The context propagated to GigaChat: our request id, the client's session and
    /// client ids when it sent them.
    pub(crate) fn request_context(
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

    /// GigaChat's model list as `upstream` sees it (the proxy's own list is cached
    /// briefly and concurrent callers share one fetch; a pass-token caller's is fetched
    /// with its own identity every time).
    pub async fn models(
        &self,
        upstream: &Upstream,
        ctx: &gigachat::RequestContext,
    ) -> Result<Arc<ModelList>, ProxyError> {
        if upstream.owner() != Owner::Server {
            let fetch = upstream.client().models(ctx);
            let list = metrics::upstream("models", fetch)
                .await
                .map_err(|e| upstream.error(e.into()))?;
            return Ok(Arc::new(list));
        }
        let fetch = async {
            let fetch = self.inner.gigachat.models(ctx);
            let list = metrics::upstream("models", fetch)
                .await
                .map_err(|e| ProxyError::from(e).for_own_identity())?;
            Ok::<_, ProxyError>(Arc::new(list))
        };
        self.inner
            .models
            .try_get_with((), fetch)
            .await
            .map_err(|e| ProxyError::clone(&e))
    }

    /// Opens the traffic log when `--proxy.traffic-log-url` is set (its database
    /// reachable, its schema up to date) and starts its writer. A second call does
    /// nothing.
    pub async fn start_traffic_log(&self) -> Result<(), ProxyError> {
        if self.inner.traffic.get().is_some() {
            return Ok(());
        }
        if let Some(log) = TrafficLog::open(&self.inner.config, &self.inner.metrics)
            .await
            .map_err(ProxyError::Internal)?
        {
            let _ = self.inner.traffic.set(log);
        }
        Ok(())
    }

    /// The trace exporter, when traces are on.
    pub fn traces(&self) -> Option<&Traces> {
        self.inner.traces.as_ref()
    }

    /// The traffic log, when it is on.
    pub fn traffic(&self) -> Option<&TrafficLog> {
        self.inner.traffic.get()
    }

    /// This instance's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Keys accepted by the proxy's API-key check; empty when the check is off.
    pub fn api_keys(&self) -> &[String] {
        &self.inner.api_keys
    }

    /// Stored Responses (`previous_response_id`, retrieve, delete, input items).
    pub fn responses(&self) -> &Store {
        self.inner.responses.as_ref()
    }

    /// A shared handle to the store, for streams that outlive the handler.
    pub(crate) fn responses_handle(&self) -> Arc<Store> {
        self.inner.responses.clone()
    }

    /// The shared Redis, when `--proxy.state-url` is set.
    pub fn redis(&self) -> Option<&Redis> {
        self.inner.redis.as_ref()
    }

    /// Shutdown has begun: stop being ready (in-flight requests still finish).
    pub(crate) fn begin_drain(&self) {
        self.inner
            .draining
            .store(true, std::sync::atomic::Ordering::Release);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.inner
            .draining
            .load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn mode_label(&self) -> &'static str {
        if self.inner.config.demo {
            "demo"
        } else if self.inner.config.proxy.is_prod() {
            "PROD"
        } else {
            "DEV"
        }
    }
}
