//! Configuration of the proxy, drop-in compatible with the Python
//! `gpt2giga` 0.1.4 (`ProxySettings` + the GigaChat SDK settings).
//!
//! # Sources and precedence
//!
//! Every setting can come from four places. For each field separately the
//! first source that provides it wins:
//!
//! 1. **Command line.** Dotted kebab-case flags `--proxy.port 8090`,
//!    `--gigachat.base-url URL` (also `--flag=value`; booleans may be bare,
//!    `--proxy.use-https` = true). Then the group flags `--proxy '{json}'` /
//!    `--gigachat '{json}'` (JSON objects with snake_case keys): a dotted
//!    flag beats the same key in the group JSON regardless of their order. A
//!    repeated flag: the last one wins, except list flags, whose occurrences
//!    are concatenated; of several `--proxy` JSON flags only the last counts
//!    (as in pydantic-settings).
//! 2. **Process environment.** `GPT2GIGA_<FIELD>` for proxy settings,
//!    `GIGACHAT_<FIELD>` for GigaChat settings; names are case-insensitive
//!    (`gpt2giga_port` works).
//! 3. **`.env` file.** `--env-path PATH` (relative to the working directory;
//!    it must exist), otherwise `./.env` if present. Like python-dotenv it
//!    never overrides a variable that is set in the real environment. The
//!    file is read into a map; the process environment is not modified.
//! 4. **Defaults**, equal to the Python 0.1.4 defaults.
//!
//! A value is parsed only when it is the winning one, so an invalid value
//! that is overridden by a higher source is ignored (as in Python).
//!
//! Lists (`cors_allow_*`, `logs_ip_allowlist`, `flags`,
//! `retry_on_status_codes`) accept a JSON array, a comma-separated list or a
//! Python tuple `(429, 503)` from every source. Optional settings are unset
//! by the CLI value `null` or by an empty environment value.
//!
//! # Rust extensions
//!
//! Not in Python 0.1.4: `--proxy.log-format` / `GPT2GIGA_LOG_FORMAT`
//! (`text`|`json`), `--proxy.shutdown-timeout-secs` /
//! `GPT2GIGA_SHUTDOWN_TIMEOUT_SECS` (graceful-shutdown grace period) and
//! `--demo` / `GPT2GIGA_DEMO` (serve from the built-in emulator).
//!
//! # Entry points
//!
//! [`Config::load`] reads the real process; [`Config::load_from`] takes the
//! arguments, the environment and the working directory explicitly, which is
//! what tests use. The loader never prints: warnings (secrets on the command
//! line, insecure PROD settings, unknown `GPT2GIGA_*` variables) are returned
//! in [`Config::warnings`] for the caller to log, and [`Config::summary`]
//! renders the effective configuration with every secret masked.

mod aliases;
mod cli;
mod env;
mod error;
pub(crate) mod parse;
mod resolve;
pub mod spec;
mod summary;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use gigachat::{ClientConfig, Secret};

pub use aliases::{Alias, AliasSettings, ModelAliases};
pub use cli::command;
pub use error::ConfigError;

/// 10 MiB: Python's `DEFAULT_MAX_REQUEST_BODY_BYTES`.
pub(crate) const DEFAULT_MAX_REQUEST_BODY_BYTES: u64 = 10 * 1024 * 1024;
/// 35 MiB.
pub(crate) const DEFAULT_MAX_AUDIO_FILE_SIZE_BYTES: u64 = 35 * 1024 * 1024;
/// 15 MiB.
pub(crate) const DEFAULT_MAX_IMAGE_FILE_SIZE_BYTES: u64 = 15 * 1024 * 1024;
/// 40 MiB.
pub(crate) const DEFAULT_MAX_TEXT_FILE_SIZE_BYTES: u64 = 40 * 1024 * 1024;
/// 80 MiB.
pub(crate) const DEFAULT_MAX_AUDIO_IMAGE_TOTAL_SIZE_BYTES: u64 = 80 * 1024 * 1024;
/// 10 MiB.
pub(crate) const DEFAULT_LOG_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// Default memory budget of the in-memory Responses store (256 MiB).
pub(crate) const DEFAULT_RESPONSES_STORE_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// The model used when `GIGACHAT_MODEL` is unset.
pub(crate) const DEFAULT_MODEL: &str = "GigaChat";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// `--proxy.*` / `GPT2GIGA_*`.
    pub proxy: ProxySettings,
    /// `--gigachat.*` / `GIGACHAT_*`.
    pub gigachat: GigaChatSettings,
    /// The `.env` file that was read: the `--env-path` file, or `./.env`
    /// when it exists; `None` when no file was read.
    pub env_path: Option<PathBuf>,
    /// `--demo` / `GPT2GIGA_DEMO`: serve from the built-in GigaChat emulator
    /// (Rust extension).
    pub demo: bool,
    /// Things the caller should log at WARN level. Never contains a secret.
    pub warnings: Vec<String>,
}

/// `DEV` or `PROD` (input is case-insensitive, as in Python).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Dev,
    Prod,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dev => "DEV",
            Mode::Prod => "PROD",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DEV" => Ok(Mode::Dev),
            "PROD" => Ok(Mode::Prod),
            _ => Err("expected DEV or PROD".to_string()),
        }
    }
}

/// Python log levels (input is case-insensitive; Python 0.1.4 wants upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    Critical,
    Error,
    Warning,
    #[default]
    Info,
    Debug,
}

impl LogLevel {
    const EXPECTED: &'static str = "expected one of CRITICAL, ERROR, WARNING, INFO, DEBUG";

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Critical => "CRITICAL",
            LogLevel::Error => "ERROR",
            LogLevel::Warning => "WARNING",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
        }
    }

    /// The matching `tracing` level directive (`CRITICAL` maps to `error`).
    pub(crate) fn tracing_directive(self) -> &'static str {
        match self {
            LogLevel::Critical | LogLevel::Error => "error",
            LogLevel::Warning => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "CRITICAL" => Ok(LogLevel::Critical),
            "ERROR" => Ok(LogLevel::Error),
            "WARNING" => Ok(LogLevel::Warning),
            "INFO" => Ok(LogLevel::Info),
            "DEBUG" => Ok(LogLevel::Debug),
            _ => Err(Self::EXPECTED.to_string()),
        }
    }
}

/// How `json_schema` structured output is obtained from GigaChat (Rust extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StructuredOutputMode {
    /// GigaChat's own `response_format` (GigaChat-2 models and later).
    #[default]
    Native,
    /// A forced function call whose arguments are the answer (older models).
    Function,
}

impl StructuredOutputMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StructuredOutputMode::Native => "native",
            StructuredOutputMode::Function => "function",
        }
    }
}

impl fmt::Display for StructuredOutputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StructuredOutputMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "native" => Ok(StructuredOutputMode::Native),
            "function" => Ok(StructuredOutputMode::Function),
            _ => Err("expected native or function".to_string()),
        }
    }
}

/// Which GigaChat chat contract serves chat requests (`--proxy.gigachat-api-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiMode {
    /// `POST {base}/chat/completions` (gigachat-api.md §3).
    #[default]
    V1,
    /// `POST …/v2/chat/completions`: content parts, several calls per turn, built-in
    /// tools (gigachat-api.md §4).
    V2,
}

impl ApiMode {
    pub const EXPECTED: &'static str = "expected v1 or v2";

    pub fn as_str(self) -> &'static str {
        match self {
            ApiMode::V1 => "v1",
            ApiMode::V2 => "v2",
        }
    }
}

impl fmt::Display for ApiMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v1" => Ok(ApiMode::V1),
            "v2" => Ok(ApiMode::V2),
            _ => Err(Self::EXPECTED.to_string()),
        }
    }
}

/// How traces reach the collector (`--proxy.otlp-protocol`), named as in the
/// OpenTelemetry specification's `OTEL_EXPORTER_OTLP_PROTOCOL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// OTLP/HTTP with protobuf bodies, `POST {endpoint}/v1/traces` (port 4318).
    #[default]
    HttpProtobuf,
    /// OTLP/gRPC to the endpoint as given (port 4317).
    Grpc,
}

impl OtlpProtocol {
    pub const EXPECTED: &'static str =
        "expected http/protobuf or grpc (http/json is not supported)";

    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::HttpProtobuf => "http/protobuf",
            OtlpProtocol::Grpc => "grpc",
        }
    }
}

impl fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OtlpProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
            "grpc" => Ok(OtlpProtocol::Grpc),
            _ => Err(Self::EXPECTED.to_string()),
        }
    }
}

/// Log line format (Rust extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected text or json".to_string()),
        }
    }
}

/// Python `ProxySettings` (env prefix `GPT2GIGA_`), field for field.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySettings {
    /// `DEV` | `PROD`. Default `DEV`.
    pub mode: Mode,
    /// Default `localhost`.
    pub host: String,
    /// Default 8090.
    pub port: u16,
    /// Default false. Requires `https_key_file` and `https_cert_file`.
    pub use_https: bool,
    pub https_key_file: Option<PathBuf>,
    pub https_cert_file: Option<PathBuf>,
    /// Pass the client's `model` to GigaChat. Default false.
    pub pass_model: bool,
    /// Pass the client's bearer token to GigaChat. Default false.
    pub pass_token: bool,
    /// Embeddings model. Default `EmbeddingsGigaR`.
    pub embeddings: String,
    /// Rust extension: client model names / globs → GigaChat model and per-alias
    /// defaults (`--proxy.model-aliases`). Default none.
    pub model_aliases: ModelAliases,
    /// Default `["*"]`.
    pub cors_allow_origins: Vec<String>,
    /// Default `["*"]`.
    pub cors_allow_methods: Vec<String>,
    /// Default `["*"]`.
    pub cors_allow_headers: Vec<String>,
    /// Default true.
    pub enable_images: bool,
    /// Add `reasoning_effort="high"` when the client did not set it. Default false.
    pub enable_reasoning: bool,
    /// Default 10 MiB.
    pub max_request_body_bytes: u64,
    /// Default 35 MiB.
    pub max_audio_file_size_bytes: u64,
    /// Default 15 MiB.
    pub max_image_file_size_bytes: u64,
    /// Default 40 MiB.
    pub max_text_file_size_bytes: u64,
    /// Default 80 MiB.
    pub max_audio_image_total_size_bytes: u64,
    /// Default `INFO`.
    pub log_level: LogLevel,
    /// Default `gpt2giga.log`.
    pub log_filename: PathBuf,
    /// Log rotation size in bytes. Default 10 MiB.
    pub log_max_size: u64,
    /// Default true.
    pub log_redact_sensitive: bool,
    /// IPs allowed to reach `/logs*`; empty = no restriction. Default `[]`.
    pub logs_ip_allowlist: Vec<String>,
    /// Default false (PROD always requires a key).
    pub enable_api_key_auth: bool,
    pub api_key: Option<Secret>,
    /// Rust extension: more accepted API keys (rotation). Default `[]`.
    pub api_keys: Vec<Secret>,
    /// Rust extension: GigaChat requests in flight per (model, GigaChat identity);
    /// `None` = no cap. Default `None`.
    pub max_concurrent_requests_per_model: Option<usize>,
    /// Rust extension: requests that may wait for a slot per (model, identity). Default 100.
    pub concurrency_queue_size: usize,
    /// Rust extension: how long a request waits for a slot, in seconds. Default 30.
    pub concurrency_queue_timeout_secs: f64,
    /// Rust extension: `text` | `json`. Default `text`.
    pub log_format: LogFormat,
    /// Rust extension: graceful-shutdown grace period. Default 30.
    pub shutdown_timeout_secs: u64,
    /// Rust extension: `native` | `function`. Default `native`.
    pub structured_output: StructuredOutputMode,
    /// `v1` | `v2`: the GigaChat chat contract. Default `v1`.
    pub gigachat_api_mode: ApiMode,
    /// Rust extension: stored Responses kept at most. Default 1000.
    pub responses_store_capacity: usize,
    /// Rust extension: how long a stored Response is kept. Default 3600.
    pub responses_store_ttl_secs: u64,
    /// Rust extension: memory budget of the in-memory Responses store. Default 256 MiB.
    pub responses_store_max_bytes: u64,
    /// Rust extension: shared state (`redis://…`); `None` = in process memory.
    pub state_url: Option<Secret>,
    /// Rust extension: lease of a concurrency slot held in Redis, in seconds. Default 30.
    pub concurrency_lease_secs: f64,
    /// Rust extension: how long `/ready` answers 503 before the drain starts. Default 0.
    pub shutdown_ready_delay_secs: f64,
    /// Rust extension: client connections open at once. Default 10,000.
    pub max_connections: usize,
    /// Rust extension: time to send a whole request head once started. Default 30.
    pub header_read_timeout_secs: f64,
    /// Rust extension: idle time before a connection is closed. Default 75.
    pub keepalive_timeout_secs: f64,
    /// Rust extension: the traffic log's database (`sqlite://…`, `postgres://…`);
    /// `None` = off.
    pub traffic_log_url: Option<Secret>,
    /// Rust extension: what a traffic record keeps. Default `metadata`.
    pub traffic_log_level: TrafficLogLevel,
    /// Rust extension: each captured body is cut at this size. Default 64 KiB.
    pub traffic_log_max_body_bytes: u64,
    /// Rust extension: records older than this are deleted; 0 = kept. Default 7 days.
    pub traffic_log_retention_secs: u64,
    /// Rust extension: the log's size budget; 0 = unbounded. Default 1 GiB.
    pub traffic_log_max_bytes: u64,
    /// Rust extension: records waiting to be written. Default 10,000.
    pub traffic_log_queue_size: usize,
    /// Rust extension: the OTLP collector traces go to; `None` = no traces.
    /// Falls back to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub otlp_endpoint: Option<String>,
    /// Rust extension: how traces are sent; `None` = not set here nor (when traces are
    /// on) by `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`, so
    /// http/protobuf (see [`ProxySettings::otlp_protocol`]).
    pub otlp_protocol: Option<OtlpProtocol>,
    /// Rust extension: `/admin/traffic` and `/console` in PROD too. Default false.
    pub enable_traffic_admin: bool,
    /// Rust extension: IPs allowed to reach `/admin/traffic` and `/console`. Default `[]`.
    pub traffic_ip_allowlist: Vec<String>,
}

/// What a traffic-log record keeps (`--proxy.traffic-log-level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrafficLogLevel {
    /// Ids, models, status, error, timings, usage.
    #[default]
    Metadata,
    /// Also the client request, GigaChat request, GigaChat answer and client answer.
    Bodies,
}

impl std::fmt::Display for TrafficLogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Metadata => "metadata",
            Self::Bodies => "bodies",
        })
    }
}

impl Default for ProxySettings {
    fn default() -> Self {
        let star = || vec!["*".to_string()];
        Self {
            mode: Mode::Dev,
            host: "localhost".to_string(),
            port: 8090,
            use_https: false,
            https_key_file: None,
            https_cert_file: None,
            pass_model: false,
            pass_token: false,
            embeddings: "EmbeddingsGigaR".to_string(),
            model_aliases: ModelAliases::default(),
            cors_allow_origins: star(),
            cors_allow_methods: star(),
            cors_allow_headers: star(),
            enable_images: true,
            enable_reasoning: false,
            max_request_body_bytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
            max_audio_file_size_bytes: DEFAULT_MAX_AUDIO_FILE_SIZE_BYTES,
            max_image_file_size_bytes: DEFAULT_MAX_IMAGE_FILE_SIZE_BYTES,
            max_text_file_size_bytes: DEFAULT_MAX_TEXT_FILE_SIZE_BYTES,
            max_audio_image_total_size_bytes: DEFAULT_MAX_AUDIO_IMAGE_TOTAL_SIZE_BYTES,
            log_level: LogLevel::Info,
            log_filename: PathBuf::from("gpt2giga.log"),
            log_max_size: DEFAULT_LOG_MAX_SIZE,
            log_redact_sensitive: true,
            logs_ip_allowlist: Vec::new(),
            enable_api_key_auth: false,
            api_key: None,
            api_keys: Vec::new(),
            max_concurrent_requests_per_model: None,
            concurrency_queue_size: 100,
            concurrency_queue_timeout_secs: 30.0,
            log_format: LogFormat::Text,
            shutdown_timeout_secs: 30,
            structured_output: StructuredOutputMode::Native,
            gigachat_api_mode: ApiMode::V1,
            responses_store_capacity: 1000,
            responses_store_ttl_secs: 3600,
            responses_store_max_bytes: DEFAULT_RESPONSES_STORE_MAX_BYTES,
            state_url: None,
            concurrency_lease_secs: 30.0,
            shutdown_ready_delay_secs: 0.0,
            max_connections: 10_000,
            header_read_timeout_secs: 30.0,
            keepalive_timeout_secs: 75.0,
            traffic_log_url: None,
            traffic_log_level: TrafficLogLevel::Metadata,
            traffic_log_max_body_bytes: 64 * 1024,
            traffic_log_retention_secs: 7 * 24 * 3600,
            traffic_log_max_bytes: 1024 * 1024 * 1024,
            traffic_log_queue_size: 10_000,
            otlp_endpoint: None,
            otlp_protocol: None,
            enable_traffic_admin: false,
            traffic_ip_allowlist: Vec::new(),
        }
    }
}

impl ProxySettings {
    pub(crate) fn is_prod(&self) -> bool {
        self.mode == Mode::Prod
    }

    /// API-key auth is enforced when enabled explicitly or in PROD (Python
    /// `SecuritySettings.auth_required`).
    pub fn auth_required(&self) -> bool {
        self.enable_api_key_auth || self.is_prod()
    }

    /// The API key, if set and non-empty.
    pub fn api_key(&self) -> Option<&str> {
        self.api_key
            .as_ref()
            .map(Secret::expose)
            .filter(|k| !k.is_empty())
    }

    /// Every accepted API key: `api_key` and `api_keys`, trimmed, empty ones dropped,
    /// without duplicates.
    pub(crate) fn accepted_api_keys(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for k in self.api_key.iter().chain(&self.api_keys) {
            let k = k.expose().trim();
            if !k.is_empty() && !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }

    /// How long a request waits for a concurrency slot.
    pub(crate) fn concurrency_queue_timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.concurrency_queue_timeout_secs)
            .unwrap_or(Duration::from_secs(30))
    }

    /// Lease of a concurrency slot held in Redis.
    pub(crate) fn concurrency_lease(&self) -> Duration {
        Duration::try_from_secs_f64(self.concurrency_lease_secs).unwrap_or(Duration::from_secs(30))
    }

    /// `--proxy.logs-ip-allowlist` as networks (entries were validated at load).
    pub(crate) fn logs_allowlist(&self) -> Vec<ipnet::IpNet> {
        self.logs_ip_allowlist
            .iter()
            .filter_map(|e| parse::ip_net(e).ok())
            .collect()
    }

    /// `--proxy.traffic-ip-allowlist` as networks (entries were validated at load).
    pub(crate) fn traffic_allowlist(&self) -> Vec<ipnet::IpNet> {
        self.traffic_ip_allowlist
            .iter()
            .filter_map(|e| parse::ip_net(e).ok())
            .collect()
    }

    /// The traffic log's URL, if set and non-empty.
    pub fn traffic_log_url(&self) -> Option<&str> {
        self.traffic_log_url
            .as_ref()
            .map(Secret::expose)
            .filter(|u| !u.trim().is_empty())
    }

    /// `/admin/traffic` and `/console` are routed: in DEV, or in PROD when enabled
    /// explicitly (with the traffic log off they answer 404 saying so).
    pub fn traffic_admin(&self) -> bool {
        !self.is_prod() || self.enable_traffic_admin
    }

    /// How traces are sent: the setting, else http/protobuf.
    pub fn otlp_protocol(&self) -> OtlpProtocol {
        self.otlp_protocol.unwrap_or_default()
    }

    /// The shared-state URL, if set and non-empty.
    pub fn state_url(&self) -> Option<&str> {
        self.state_url
            .as_ref()
            .map(Secret::expose)
            .filter(|u| !u.is_empty())
    }

    /// How long `/ready` answers 503 before the drain starts.
    pub(crate) fn shutdown_ready_delay(&self) -> Duration {
        Duration::try_from_secs_f64(self.shutdown_ready_delay_secs).unwrap_or(Duration::ZERO)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }
}

/// The GigaChat SDK settings (env prefix `GIGACHAT_`), field for field
/// (`ssl_context` excepted: it is a Python object).
#[derive(Debug, Clone, PartialEq)]
pub struct GigaChatSettings {
    /// Default `https://gigachat.devices.sberbank.ru/api/v1`.
    pub base_url: String,
    /// Default `https://ngw.devices.sberbank.ru:9443/api/v2/oauth`.
    pub auth_url: String,
    pub credentials: Option<Secret>,
    /// Default `GIGACHAT_API_PERS`.
    pub scope: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub access_token: Option<Secret>,
    /// Unset = `GigaChat` (see [`GigaChatSettings::model`]).
    pub model: Option<String>,
    pub profanity_check: Option<bool>,
    /// Seconds. Default 30.0.
    pub timeout: f64,
    /// Default true.
    pub verify_ssl_certs: bool,
    pub ca_bundle_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub key_file_password: Option<Secret>,
    /// Feature flags sent to GigaChat. Default empty (Python: `None`).
    pub flags: Vec<String>,
    pub max_connections: Option<usize>,
    /// Default 0.
    pub max_retries: u32,
    /// Default 0.5.
    pub retry_backoff_factor: f64,
    /// Default `[429, 500, 502, 503, 504]`.
    pub retry_on_status_codes: Vec<u16>,
    /// Default 60000.
    pub token_expiry_buffer_ms: u64,
}

impl Default for GigaChatSettings {
    /// The client's own defaults (one source of truth), which are the SDK's.
    fn default() -> Self {
        let c = ClientConfig::default();
        Self {
            base_url: c.base_url,
            auth_url: c.auth_url,
            credentials: None,
            scope: c.scope,
            user: None,
            password: None,
            access_token: None,
            model: None,
            profanity_check: None,
            timeout: c.timeout.as_secs_f64(),
            verify_ssl_certs: c.verify_ssl_certs,
            ca_bundle_file: None,
            cert_file: None,
            key_file: None,
            key_file_password: None,
            flags: Vec::new(),
            max_connections: c.max_connections,
            max_retries: c.max_retries,
            retry_backoff_factor: c.retry_backoff_factor,
            retry_on_status_codes: c.retry_on_status_codes,
            token_expiry_buffer_ms: c.token_expiry_buffer_ms,
        }
    }
}

/// How the proxy authenticates to GigaChat, by the client's priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// `access_token` is set (used as is; never refreshed unless credentials
    /// or user/password are also configured).
    AccessToken,
    /// `credentials` + `scope` (OAuth).
    Credentials,
    /// `user` + `password` (`/token`).
    UserPassword,
    /// Client certificate only (`cert_file` + `key_file`).
    Mtls,
    /// Nothing configured (only works with `pass_token` or a mock).
    None,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::AccessToken => "access token",
            AuthMode::Credentials => "credentials+scope",
            AuthMode::UserPassword => "user+password",
            AuthMode::Mtls => "mTLS",
            AuthMode::None => "none",
        }
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_set(s: &Option<Secret>) -> bool {
    s.as_ref().is_some_and(|s| !s.is_empty())
}

impl GigaChatSettings {
    /// The configured model, or `GigaChat`.
    pub fn model(&self) -> &str {
        self.model
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or(DEFAULT_MODEL)
    }

    pub(crate) fn has_credentials(&self) -> bool {
        is_set(&self.credentials)
    }

    pub(crate) fn has_user_password(&self) -> bool {
        self.user.as_deref().is_some_and(|u| !u.is_empty()) && is_set(&self.password)
    }

    pub(crate) fn has_access_token(&self) -> bool {
        is_set(&self.access_token)
    }

    pub(crate) fn has_mtls(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }

    /// The primary way of authenticating: access token, then credentials,
    /// then user/password, then mTLS.
    pub fn auth_mode(&self) -> AuthMode {
        if self.has_access_token() {
            AuthMode::AccessToken
        } else if self.has_credentials() {
            AuthMode::Credentials
        } else if self.has_user_password() {
            AuthMode::UserPassword
        } else if self.has_mtls() {
            AuthMode::Mtls
        } else {
            AuthMode::None
        }
    }

    /// The request timeout as a `Duration`.
    pub fn timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout).unwrap_or(Duration::from_secs(30))
    }

    /// Settings for [`gigachat::Client`]; `user_agent` keeps
    /// `ClientConfig`'s default. Empty secrets count as unset.
    pub fn to_client_config(&self) -> ClientConfig {
        let secret = |s: &Option<Secret>| s.clone().filter(|s| !s.is_empty());
        ClientConfig {
            base_url: self.base_url.clone(),
            auth_url: self.auth_url.clone(),
            credentials: secret(&self.credentials),
            scope: self.scope.clone(),
            user: self.user.clone().filter(|u| !u.is_empty()),
            password: secret(&self.password),
            access_token: secret(&self.access_token),
            timeout: self.timeout(),
            verify_ssl_certs: self.verify_ssl_certs,
            ca_bundle_file: self.ca_bundle_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            key_file_password: secret(&self.key_file_password),
            max_connections: self.max_connections,
            max_retries: self.max_retries,
            retry_backoff_factor: self.retry_backoff_factor,
            retry_on_status_codes: self.retry_on_status_codes.clone(),
            token_expiry_buffer_ms: self.token_expiry_buffer_ms,
            ..ClientConfig::default()
        }
    }
}

/// The listening settings alone (see [`Config::listen_from_env`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listen {
    pub host: String,
    pub port: u16,
    pub use_https: bool,
}

impl Config {
    /// Load from the real process: `std::env::args`, `std::env::vars` and
    /// the current directory. Non-UTF-8 arguments/variables are converted
    /// lossily.
    pub fn load() -> Result<Config, ConfigError> {
        let args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
        let env: HashMap<String, String> = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let cwd = std::env::current_dir().map_err(ConfigError::CurrentDir)?;
        Self::load_from(args, &env, &cwd)
    }

    /// Load from explicit inputs. `args[0]` is the program name; `env` is the
    /// process environment; `cwd` is where `./.env` and a relative
    /// `--env-path` are looked up. Nothing global is read or modified
    /// (except that `dotenvy` may expand `$VAR` references inside the `.env`
    /// file from the real environment).
    pub fn load_from(
        args: impl IntoIterator<Item = String>,
        env: &HashMap<String, String>,
        cwd: &Path,
    ) -> Result<Config, ConfigError> {
        resolve::load(args, env, cwd)
    }

    /// Where the proxy listens according to the process environment and `./.env` in
    /// `cwd` (the command line is not consulted): what `gpt2giga healthcheck` needs to find
    /// the proxy running beside it, e.g. in the same container.
    pub(crate) fn listen_from_env(
        env: &HashMap<String, String>,
        cwd: &Path,
    ) -> Result<Listen, ConfigError> {
        resolve::listen(env, cwd)
    }

    /// A human-readable summary for the start-up log; secrets are shown as
    /// `***` (set) or `-` (unset).
    pub fn summary(&self) -> String {
        summary::render(self)
    }
}
