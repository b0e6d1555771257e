//! The table of every setting: one row drives the clap flag, the environment
//! variable, the key accepted in group JSON, the `--help` text and the tests.

/// Which settings group a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// `ProxySettings`: flags `--proxy.*`, variables `GPT2GIGA_*`.
    Proxy,
    /// `GigaChatSettings`: flags `--gigachat.*`, variables `GIGACHAT_*`.
    GigaChat,
}

impl Group {
    /// The group flag (`--proxy`, `--gigachat`) without dashes.
    pub fn name(self) -> &'static str {
        match self {
            Group::Proxy => "proxy",
            Group::GigaChat => "gigachat",
        }
    }

    /// Upper-case environment prefix including the trailing underscore.
    pub(crate) fn env_prefix(self) -> &'static str {
        match self {
            Group::Proxy => "GPT2GIGA_",
            Group::GigaChat => "GIGACHAT_",
        }
    }
}

/// How the command line treats a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A boolean: `--x true`, `--x=false`, or bare `--x` (= true).
    Bool,
    /// A single value; the last occurrence wins.
    Value,
    /// A list: each occurrence is a JSON array or a comma-separated list, and
    /// repeated occurrences are concatenated (like pydantic-settings).
    List,
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub group: Group,
    /// Field name in snake_case, as in the Python model and in group JSON.
    pub name: &'static str,
    /// `--help` section.
    pub heading: &'static str,
    pub value_name: &'static str,
    pub help: &'static str,
    /// Default as shown in `--help` (`None` = unset).
    pub default: Option<&'static str>,
    pub kind: Kind,
    /// The field is an `Option` (CLI value `null` resets it; an empty
    /// environment value means unset).
    pub optional: bool,
    /// A secret: masked in summaries, warned about on the command line.
    pub secret: bool,
    /// Rust-only setting that the Python 0.1.4 proxy does not have.
    pub extension: bool,
}

impl FieldSpec {
    /// The dotted long flag without the leading dashes, e.g. `proxy.use-https`.
    pub fn long(&self) -> String {
        format!("{}.{}", self.group.name(), self.name.replace('_', "-"))
    }

    /// The dotted long flag with dashes, e.g. `--proxy.use-https`.
    pub fn flag(&self) -> String {
        format!("--{}", self.long())
    }

    /// The environment variable, e.g. `GPT2GIGA_USE_HTTPS`.
    pub fn env_var(&self) -> String {
        format!(
            "{}{}",
            self.group.env_prefix(),
            self.name.to_ascii_uppercase()
        )
    }
}

pub(crate) const HEADING_GENERAL: &str = "General";
pub(crate) const HEADING_PROXY: &str = "Proxy";
pub(crate) const HEADING_HTTPS: &str = "HTTPS";
pub(crate) const HEADING_SECURITY: &str = "Security";
pub(crate) const HEADING_LIMITS: &str = "Limits";
pub(crate) const HEADING_LOGGING: &str = "Logging";
pub(crate) const HEADING_GIGACHAT: &str = "GigaChat";
pub(crate) const HEADING_GIGACHAT_AUTH: &str = "GigaChat authentication";
pub(crate) const HEADING_GIGACHAT_TLS: &str = "GigaChat TLS";
pub(crate) const HEADING_GIGACHAT_NET: &str = "GigaChat connection";

/// Headings in `--help` order.
pub(crate) const HEADINGS: &[&str] = &[
    HEADING_GENERAL,
    HEADING_PROXY,
    HEADING_HTTPS,
    HEADING_SECURITY,
    HEADING_LIMITS,
    HEADING_LOGGING,
    HEADING_GIGACHAT,
    HEADING_GIGACHAT_AUTH,
    HEADING_GIGACHAT_TLS,
    HEADING_GIGACHAT_NET,
];

const fn field(
    group: Group,
    name: &'static str,
    heading: &'static str,
    value_name: &'static str,
    default: Option<&'static str>,
    kind: Kind,
    help: &'static str,
) -> FieldSpec {
    FieldSpec {
        group,
        name,
        heading,
        value_name,
        help,
        default,
        kind,
        optional: default.is_none(),
        secret: false,
        extension: false,
    }
}

const fn secret(mut f: FieldSpec) -> FieldSpec {
    f.secret = true;
    f
}

const fn extension(mut f: FieldSpec) -> FieldSpec {
    f.extension = true;
    f
}

const fn required(mut f: FieldSpec) -> FieldSpec {
    f.optional = false;
    f
}

use Group::{GigaChat as G, Proxy as P};
use Kind::{Bool, List, Value};

/// Every `--proxy.*` / `GPT2GIGA_*` and `--gigachat.*` / `GIGACHAT_*` setting.
pub const FIELDS: &[FieldSpec] = &[
    // ---- Proxy ----
    field(
        P,
        "mode",
        HEADING_PROXY,
        "DEV|PROD",
        Some("DEV"),
        Value,
        "Run mode. PROD disables /docs, /redoc, /openapi.json and /logs*, requires an API key and drops wildcard CORS (case-insensitive)",
    ),
    field(
        P,
        "host",
        HEADING_PROXY,
        "HOST",
        Some("localhost"),
        Value,
        "Address to listen on",
    ),
    field(
        P,
        "port",
        HEADING_PROXY,
        "PORT",
        Some("8090"),
        Value,
        "Port to listen on (0-65535)",
    ),
    field(
        P,
        "pass_model",
        HEADING_PROXY,
        "BOOL",
        Some("false"),
        Bool,
        "Pass the client's `model` to GigaChat instead of the configured model",
    ),
    field(
        P,
        "pass_token",
        HEADING_PROXY,
        "BOOL",
        Some("false"),
        Bool,
        "Pass the token from the client's Authorization header to GigaChat",
    ),
    field(
        P,
        "embeddings",
        HEADING_PROXY,
        "MODEL",
        Some("EmbeddingsGigaR"),
        Value,
        "GigaChat model used for embeddings",
    ),
    extension(field(
        P,
        "model_aliases",
        HEADING_PROXY,
        "JSON|FILE",
        None,
        Value,
        "Model aliases: inline JSON or a JSON/YAML file mapping client model names or globs (gpt-4o, claude-*) to a GigaChat model, optionally with per-alias max_tokens, reasoning_effort, temperature bounds and embeddings_model; exact names before globs, then the most specific glob [Rust extension]",
    )),
    field(
        P,
        "enable_images",
        HEADING_PROXY,
        "BOOL",
        Some("true"),
        Bool,
        "Forward images (OpenAI image parts) to GigaChat",
    ),
    field(
        P,
        "enable_reasoning",
        HEADING_PROXY,
        "BOOL",
        Some("false"),
        Bool,
        "Send reasoning_effort=\"high\" to GigaChat when the client did not set reasoning_effort",
    ),
    extension(field(
        P,
        "shutdown_timeout_secs",
        HEADING_PROXY,
        "SECONDS",
        Some("30"),
        Value,
        "Graceful-shutdown grace period for in-flight requests [Rust extension]",
    )),
    extension(field(
        P,
        "shutdown_ready_delay_secs",
        HEADING_PROXY,
        "SECONDS",
        Some("0"),
        Value,
        "On SIGTERM/SIGINT, answer /ready with 503 for this long while still serving, so load balancers stop sending traffic before the drain begins [Rust extension]",
    )),
    field(
        P,
        "gigachat_api_mode",
        HEADING_PROXY,
        "v1|v2",
        Some("v1"),
        Value,
        "GigaChat chat contract: v1 (/chat/completions) or v2 (/v2/chat/completions: several tool calls per turn, built-in tools, citations); requests that ask for a built-in tool use v2 either way",
    ),
    extension(field(
        P,
        "structured_output",
        HEADING_PROXY,
        "native|function",
        Some("native"),
        Value,
        "How json_schema (and json_object) structured output is requested: GigaChat's native response_format, or a forced function call for models without it [Rust extension]",
    )),
    extension(field(
        P,
        "responses_store_capacity",
        HEADING_PROXY,
        "N",
        Some("1000"),
        Value,
        "Stored Responses kept in memory for previous_response_id (0 = store nothing) [Rust extension]",
    )),
    extension(field(
        P,
        "responses_store_ttl_secs",
        HEADING_PROXY,
        "SECONDS",
        Some("3600"),
        Value,
        "How long a stored Response is kept [Rust extension]",
    )),
    extension(field(
        P,
        "responses_store_max_bytes",
        HEADING_PROXY,
        "BYTES",
        Some("268435456"),
        Value,
        "Memory budget of the in-memory Responses store; the oldest are evicted first (256 MiB) [Rust extension]",
    )),
    extension(field(
        P,
        "state_url",
        HEADING_PROXY,
        "URL",
        None,
        Value,
        "Shared state for several replicas: redis://host:6379/0 (stored Responses, the concurrency cap); unset = in this process's memory; a password in the URL is masked in logs [Rust extension]",
    )),
    extension(field(
        P,
        "traffic_log_url",
        HEADING_LOGGING,
        "URL",
        None,
        Value,
        "Traffic log: one record per request in sqlite:///path/traffic.db or postgres://user:pass@host/db; unset = off (a password in the URL is masked in logs) [Rust extension]",
    )),
    extension(field(
        P,
        "traffic_log_level",
        HEADING_LOGGING,
        "metadata|bodies",
        Some("metadata"),
        Value,
        "What a traffic record keeps: metadata (ids, models, status, timings, usage) or also the four bodies (redacted, truncated) [Rust extension]",
    )),
    extension(field(
        P,
        "traffic_log_max_body_bytes",
        HEADING_LOGGING,
        "BYTES",
        Some("65536"),
        Value,
        "Each body in a traffic record is cut at this size (64 KiB) [Rust extension]",
    )),
    extension(field(
        P,
        "traffic_log_retention_secs",
        HEADING_LOGGING,
        "SECONDS",
        Some("604800"),
        Value,
        "Traffic records older than this are deleted (7 days; 0 = no age limit) [Rust extension]",
    )),
    extension(field(
        P,
        "traffic_log_max_bytes",
        HEADING_LOGGING,
        "BYTES",
        Some("1073741824"),
        Value,
        "The oldest traffic records are deleted once their bodies and metadata pass this size (1 GiB; 0 = no size limit) [Rust extension]",
    )),
    extension(field(
        P,
        "traffic_log_queue_size",
        HEADING_LOGGING,
        "N",
        Some("10000"),
        Value,
        "Traffic records waiting to be written; when full, new ones are dropped and counted (gpt2giga_traffic_log_dropped_total) [Rust extension]",
    )),
    extension(field(
        P,
        "otlp_endpoint",
        HEADING_LOGGING,
        "URL",
        None,
        Value,
        "OpenTelemetry traces to this collector, e.g. http://localhost:4318 for OTLP/HTTP (/v1/traces is added) or http://localhost:4317 for gRPC (used as given); unset = OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, else off [Rust extension]",
    )),
    extension(field(
        P,
        "otlp_protocol",
        HEADING_LOGGING,
        "PROTOCOL",
        None,
        Value,
        "How traces are sent: http/protobuf (OTLP/HTTP) or grpc (OTLP/gRPC; an https:// endpoint uses TLS with the public web roots); unset = OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf [Rust extension]",
    )),
    extension(field(
        P,
        "enable_traffic_admin",
        HEADING_SECURITY,
        "BOOL",
        Some("false"),
        Bool,
        "Serve /admin/traffic and /console in PROD too (in DEV they are on whenever the traffic log is) [Rust extension]",
    )),
    extension(required(field(
        P,
        "traffic_ip_allowlist",
        HEADING_SECURITY,
        "LIST",
        Some("[]"),
        List,
        "IP addresses allowed to use /admin/traffic and /console (empty = no restriction) [Rust extension]",
    ))),
    // ---- HTTPS ----
    field(
        P,
        "use_https",
        HEADING_HTTPS,
        "BOOL",
        Some("false"),
        Bool,
        "Serve HTTPS (needs --proxy.https-key-file and --proxy.https-cert-file)",
    ),
    field(
        P,
        "https_key_file",
        HEADING_HTTPS,
        "PATH",
        None,
        Value,
        "PEM private key for HTTPS",
    ),
    field(
        P,
        "https_cert_file",
        HEADING_HTTPS,
        "PATH",
        None,
        Value,
        "PEM certificate (chain) for HTTPS",
    ),
    // ---- Security ----
    field(
        P,
        "enable_api_key_auth",
        HEADING_SECURITY,
        "BOOL",
        Some("false"),
        Bool,
        "Require an API key on every endpoint (always required in PROD)",
    ),
    secret(field(
        P,
        "api_key",
        HEADING_SECURITY,
        "KEY",
        None,
        Value,
        "The API key clients must send (prefer the environment: command lines are visible in `ps`)",
    )),
    extension(secret(required(field(
        P,
        "api_keys",
        HEADING_SECURITY,
        "LIST",
        Some("[]"),
        List,
        "More accepted API keys, e.g. the old and the new key during a rotation (JSON array or comma-separated; added to --proxy.api-key) [Rust extension]",
    )))),
    required(field(
        P,
        "cors_allow_origins",
        HEADING_SECURITY,
        "LIST",
        Some("[\"*\"]"),
        List,
        "Allowed CORS origins (JSON array or comma-separated)",
    )),
    required(field(
        P,
        "cors_allow_methods",
        HEADING_SECURITY,
        "LIST",
        Some("[\"*\"]"),
        List,
        "Allowed CORS methods (JSON array or comma-separated)",
    )),
    required(field(
        P,
        "cors_allow_headers",
        HEADING_SECURITY,
        "LIST",
        Some("[\"*\"]"),
        List,
        "Allowed CORS headers (JSON array or comma-separated)",
    )),
    required(field(
        P,
        "logs_ip_allowlist",
        HEADING_SECURITY,
        "LIST",
        Some("[]"),
        List,
        "IP addresses allowed to use /logs* (empty = no restriction)",
    )),
    // ---- Limits ----
    field(
        P,
        "max_request_body_bytes",
        HEADING_LIMITS,
        "BYTES",
        Some("10485760"),
        Value,
        "Maximum HTTP request body size (10 MiB)",
    ),
    field(
        P,
        "max_audio_file_size_bytes",
        HEADING_LIMITS,
        "BYTES",
        Some("36700160"),
        Value,
        "Maximum size of one audio attachment (35 MiB)",
    ),
    field(
        P,
        "max_image_file_size_bytes",
        HEADING_LIMITS,
        "BYTES",
        Some("15728640"),
        Value,
        "Maximum size of one image attachment (15 MiB)",
    ),
    field(
        P,
        "max_text_file_size_bytes",
        HEADING_LIMITS,
        "BYTES",
        Some("41943040"),
        Value,
        "Maximum size of one text/document attachment (40 MiB)",
    ),
    field(
        P,
        "max_audio_image_total_size_bytes",
        HEADING_LIMITS,
        "BYTES",
        Some("83886080"),
        Value,
        "Maximum total size of audio and images in one request (80 MiB)",
    ),
    extension(field(
        P,
        "max_connections",
        HEADING_LIMITS,
        "N",
        Some("10000"),
        Value,
        "Client connections open at once; past it a new connection gets 503 with Retry-After and is closed [Rust extension]",
    )),
    extension(field(
        P,
        "header_read_timeout_secs",
        HEADING_LIMITS,
        "SECONDS",
        Some("30"),
        Value,
        "A client that has started a request must send its whole header within this, or the connection is closed [Rust extension]",
    )),
    extension(field(
        P,
        "keepalive_timeout_secs",
        HEADING_LIMITS,
        "SECONDS",
        Some("75"),
        Value,
        "A connection with no request in flight is closed after this long idle [Rust extension]",
    )),
    extension(field(
        P,
        "max_concurrent_requests_per_model",
        HEADING_LIMITS,
        "N",
        None,
        Value,
        "GigaChat requests in flight per model and GigaChat identity; more wait in a queue (unset = no cap) [Rust extension]",
    )),
    extension(field(
        P,
        "concurrency_queue_size",
        HEADING_LIMITS,
        "N",
        Some("100"),
        Value,
        "Requests that may wait for a slot per model and identity; more get 429 at once [Rust extension]",
    )),
    extension(field(
        P,
        "concurrency_queue_timeout_secs",
        HEADING_LIMITS,
        "SECONDS",
        Some("30"),
        Value,
        "How long a request waits for a slot before it gets 429 with Retry-After [Rust extension]",
    )),
    extension(field(
        P,
        "concurrency_lease_secs",
        HEADING_LIMITS,
        "SECONDS",
        Some("30"),
        Value,
        "With --proxy.state-url: how long a slot taken in Redis lives unless its replica renews it (a dead replica's slots return after this) [Rust extension]",
    )),
    // ---- Logging ----
    field(
        P,
        "log_level",
        HEADING_LOGGING,
        "LEVEL",
        Some("INFO"),
        Value,
        "CRITICAL, ERROR, WARNING, INFO or DEBUG (case-insensitive)",
    ),
    field(
        P,
        "log_filename",
        HEADING_LOGGING,
        "PATH",
        Some("gpt2giga.log"),
        Value,
        "Log file",
    ),
    field(
        P,
        "log_max_size",
        HEADING_LOGGING,
        "BYTES",
        Some("10485760"),
        Value,
        "Rotate the log file at this size (10 MiB)",
    ),
    field(
        P,
        "log_redact_sensitive",
        HEADING_LOGGING,
        "BOOL",
        Some("true"),
        Bool,
        "Mask API keys, tokens, passwords and credentials in logs",
    ),
    extension(field(
        P,
        "log_format",
        HEADING_LOGGING,
        "text|json",
        Some("text"),
        Value,
        "Log line format [Rust extension]",
    )),
    // ---- GigaChat ----
    field(
        G,
        "base_url",
        HEADING_GIGACHAT,
        "URL",
        Some(gigachat::DEFAULT_BASE_URL),
        Value,
        "GigaChat API base URL (http or https)",
    ),
    field(
        G,
        "model",
        HEADING_GIGACHAT,
        "MODEL",
        None,
        Value,
        "Chat model (unset = GigaChat)",
    ),
    field(
        G,
        "profanity_check",
        HEADING_GIGACHAT,
        "BOOL",
        None,
        Bool,
        "Profanity filter on/off (unset = GigaChat's default)",
    ),
    required(field(
        G,
        "flags",
        HEADING_GIGACHAT,
        "LIST",
        Some("[]"),
        List,
        "Feature flags sent to GigaChat (JSON array or comma-separated)",
    )),
    // ---- GigaChat auth ----
    field(
        G,
        "auth_url",
        HEADING_GIGACHAT_AUTH,
        "URL",
        Some(gigachat::DEFAULT_AUTH_URL),
        Value,
        "OAuth URL for the authorization key (http or https)",
    ),
    secret(field(
        G,
        "credentials",
        HEADING_GIGACHAT_AUTH,
        "KEY",
        None,
        Value,
        "Authorization key (base64 client_id:client_secret)",
    )),
    field(
        G,
        "scope",
        HEADING_GIGACHAT_AUTH,
        "SCOPE",
        Some(gigachat::DEFAULT_SCOPE),
        Value,
        "OAuth scope: GIGACHAT_API_PERS, GIGACHAT_API_B2B or GIGACHAT_API_CORP",
    ),
    field(
        G,
        "user",
        HEADING_GIGACHAT_AUTH,
        "USER",
        None,
        Value,
        "User for user/password authentication",
    ),
    secret(field(
        G,
        "password",
        HEADING_GIGACHAT_AUTH,
        "PASSWORD",
        None,
        Value,
        "Password for user/password authentication",
    )),
    secret(field(
        G,
        "access_token",
        HEADING_GIGACHAT_AUTH,
        "TOKEN",
        None,
        Value,
        "Pre-issued access token",
    )),
    // ---- GigaChat TLS ----
    field(
        G,
        "verify_ssl_certs",
        HEADING_GIGACHAT_TLS,
        "BOOL",
        Some("true"),
        Bool,
        "Verify GigaChat's TLS certificates",
    ),
    field(
        G,
        "ca_bundle_file",
        HEADING_GIGACHAT_TLS,
        "PATH",
        None,
        Value,
        "Extra CA bundle (PEM), e.g. the Russian Trusted Root CA",
    ),
    field(
        G,
        "cert_file",
        HEADING_GIGACHAT_TLS,
        "PATH",
        None,
        Value,
        "Client certificate for mTLS (PEM)",
    ),
    field(
        G,
        "key_file",
        HEADING_GIGACHAT_TLS,
        "PATH",
        None,
        Value,
        "Client private key for mTLS (PEM)",
    ),
    secret(field(
        G,
        "key_file_password",
        HEADING_GIGACHAT_TLS,
        "PASSWORD",
        None,
        Value,
        "Password of an encrypted client private key",
    )),
    // ---- GigaChat connection ----
    field(
        G,
        "timeout",
        HEADING_GIGACHAT_NET,
        "SECONDS",
        Some("30.0"),
        Value,
        "Request timeout in seconds (> 0)",
    ),
    field(
        G,
        "max_connections",
        HEADING_GIGACHAT_NET,
        "N",
        None,
        Value,
        "Maximum concurrent requests to GigaChat (unset = unlimited)",
    ),
    field(
        G,
        "max_retries",
        HEADING_GIGACHAT_NET,
        "N",
        Some("0"),
        Value,
        "Retries for transient errors (0 = off)",
    ),
    field(
        G,
        "retry_backoff_factor",
        HEADING_GIGACHAT_NET,
        "FACTOR",
        Some("0.5"),
        Value,
        "Retry delay = factor * 2^attempt seconds",
    ),
    required(field(
        G,
        "retry_on_status_codes",
        HEADING_GIGACHAT_NET,
        "CODES",
        Some("[429,500,502,503,504]"),
        List,
        "HTTP statuses to retry: JSON array, comma list or (429, 503)",
    )),
    field(
        G,
        "token_expiry_buffer_ms",
        HEADING_GIGACHAT_NET,
        "MS",
        Some("60000"),
        Value,
        "Refresh the access token this long before it expires",
    ),
];

/// Look a field up by group and snake_case name.
pub fn find(group: Group, name: &str) -> Option<&'static FieldSpec> {
    FIELDS.iter().find(|f| f.group == group && f.name == name)
}

/// The `--demo` flag and its variable (not part of either group).
pub(crate) const DEMO_FLAG: &str = "demo";
pub(crate) const DEMO_ENV: &str = "GPT2GIGA_DEMO";
/// Variables of the `examples/` clients (where the proxy is, which model to ask for):
/// they share the `GPT2GIGA_` prefix but the proxy never reads them, so a shell that sets
/// them for the examples does not get an "unknown variable" warning.
pub(crate) const CLIENT_ENV: &[&str] = &["GPT2GIGA_URL", "GPT2GIGA_MODEL"];
pub(crate) const ENV_PATH_FLAG: &str = "env-path";
