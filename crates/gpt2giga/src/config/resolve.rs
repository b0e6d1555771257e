//! Per-field resolution across the sources, the typed setters, warnings and
//! cross-field validation.

use std::collections::HashMap;
use std::path::Path;

use gigachat::Secret;
use serde_json::Value;

use super::cli::{self, CliValues};
use super::env::{self, EnvLayer};
use super::parse::{self, Parsed, Raw};
use super::spec::{CLIENT_ENV, DEMO_ENV, DEMO_FLAG, FIELDS, FieldSpec, Group, Kind};
use super::{Config, ConfigError, Listen, LogLevel};

pub fn load(
    args: impl IntoIterator<Item = String>,
    env: &HashMap<String, String>,
    cwd: &Path,
) -> Result<Config, ConfigError> {
    let cli = cli::parse(args)?;
    let env_path = env::dotenv_path(cli.env_path.as_deref(), cwd)?;
    let process = EnvLayer::from_vars(env);
    let dotenv = match &env_path {
        Some(path) => EnvLayer::read_dotenv(path)?,
        None => EnvLayer::default(),
    };
    let sources = Sources {
        cli: &cli,
        layers: [&process, &dotenv],
    };

    let mut config = Config {
        env_path,
        ..Config::default()
    };
    for f in FIELDS {
        sources.apply(f, &mut config)?;
    }
    config.demo = sources.demo()?;
    if config.proxy.otlp_endpoint.is_none() {
        config.proxy.otlp_endpoint = otel_var(env, OTEL_ENDPOINT, parse::http_url)?;
    }
    // Like an OpenTelemetry SDK, read the protocol variables only when traces are on: a
    // variable meant for another program in the same environment cannot stop the proxy.
    if config.proxy.otlp_endpoint.is_some() && config.proxy.otlp_protocol.is_none() {
        config.proxy.otlp_protocol = otel_var(env, OTEL_PROTOCOL, parse::otlp_protocol)?;
    }
    config.warnings = sources.warnings(&config);
    validate(&config)?;
    Ok(config)
}

/// OpenTelemetry's own variables for the endpoint, when `--proxy.otlp-endpoint` is unset:
/// the traces endpoint (used as it is), else the collector's base endpoint.
const OTEL_ENDPOINT: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// The same for the protocol, when `--proxy.otlp-protocol` is unset.
const OTEL_PROTOCOL: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

/// The first of `names` set (non-empty) in the process environment, parsed; a bad
/// value is an error naming the variable.
fn otel_var<T>(
    env: &HashMap<String, String>,
    names: [&str; 2],
    parse: impl Fn(Raw<'_>) -> Parsed<T>,
) -> Result<Option<T>, ConfigError> {
    for name in names {
        if let Some(v) = env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            return parse(Raw::Text(v))
                .map(Some)
                .map_err(|reason| ConfigError::InvalidValue {
                    name: name.to_string(),
                    value: Raw::Text(v).display(),
                    reason,
                });
        }
    }
    Ok(None)
}

/// `host`, `port` and `use_https` from the environment and `./.env` alone, resolved and
/// parsed exactly as [`load`] does; no command line, no other field, no cross-field
/// validation (a value that only the command line makes consistent stays a non-error).
pub fn listen(env: &HashMap<String, String>, cwd: &Path) -> Result<Listen, ConfigError> {
    let cli = CliValues::default();
    let process = EnvLayer::from_vars(env);
    let dotenv = match env::dotenv_path(None, cwd)? {
        Some(path) => EnvLayer::read_dotenv(&path)?,
        None => EnvLayer::default(),
    };
    let sources = Sources {
        cli: &cli,
        layers: [&process, &dotenv],
    };
    let mut config = Config::default();
    for f in FIELDS
        .iter()
        .filter(|f| f.group == Group::Proxy && LISTEN_FIELDS.contains(&f.name))
    {
        sources.apply(f, &mut config)?;
    }
    Ok(Listen {
        host: config.proxy.host,
        port: config.proxy.port,
        use_https: config.proxy.use_https,
    })
}

const LISTEN_FIELDS: [&str; 3] = ["host", "port", "use_https"];

struct Sources<'a> {
    cli: &'a CliValues,
    /// Process environment first, then the `.env` file.
    layers: [&'a EnvLayer; 2],
}

impl Sources<'_> {
    /// Set one field from the highest-priority source that has it.
    fn apply(&self, f: &FieldSpec, config: &mut Config) -> Result<(), ConfigError> {
        if let Some(values) = self.cli.dotted.get(&(f.group, f.name)) {
            let name = f.flag();
            if f.kind == Kind::List && values.len() > 1 {
                // Repeated list flags are concatenated.
                let mut items = Vec::new();
                for v in values {
                    let raw = Raw::Text(v);
                    items.extend(parse::list_items(raw).map_err(|r| invalid(f, &name, raw, r))?);
                }
                let combined = Value::Array(items);
                return set(config, f, Some(Raw::Json(&combined)), &name);
            }
            if let Some(v) = values.last() {
                // pydantic-settings reads `null` on the command line as None.
                let raw = (!(f.optional && v.trim() == "null")).then_some(Raw::Text(v));
                return set(config, f, raw, &name);
            }
        }
        if let Some((key, value)) = self.cli.groups.get(&(f.group, f.name)) {
            let name = format!("\"{key}\" in --{}", f.group.name());
            let raw = (!(f.optional && value.is_null())).then_some(Raw::Json(value));
            return set(config, f, raw, &name);
        }
        for layer in self.layers {
            if let Some((var, value)) = layer.get(&f.env_var()) {
                let name = var_name(var, layer);
                let raw = (!(f.optional && value.trim().is_empty())).then_some(Raw::Text(value));
                return set(config, f, raw, &name);
            }
        }
        Ok(())
    }

    fn demo(&self) -> Result<bool, ConfigError> {
        let (name, value) = if let Some(v) = &self.cli.demo {
            (format!("--{DEMO_FLAG}"), v.as_str())
        } else if let Some((name, v)) = self
            .layers
            .iter()
            .find_map(|l| l.get(DEMO_ENV).map(|(n, v)| (var_name(n, l), v)))
        {
            (name, v)
        } else {
            return Ok(false);
        };
        parse::boolean(Raw::Text(value)).map_err(|reason| ConfigError::InvalidValue {
            name,
            value: Raw::Text(value).display(),
            reason,
        })
    }

    fn warnings(&self, config: &Config) -> Vec<String> {
        let mut out = Vec::new();
        for f in FIELDS.iter().filter(|f| f.secret) {
            if self.cli.dotted.contains_key(&(f.group, f.name)) {
                out.push(secret_warning(&f.flag(), f));
            }
            if let Some((key, value)) = self.cli.groups.get(&(f.group, f.name))
                && !value.is_null()
            {
                out.push(secret_warning(
                    &format!("\"{key}\" in --{}", f.group.name()),
                    f,
                ));
            }
        }

        let mut unknown = Vec::new();
        for layer in self.layers {
            for name in layer.names_with_prefix(Group::Proxy.env_prefix()) {
                let known = name.eq_ignore_ascii_case(DEMO_ENV)
                    || CLIENT_ENV.iter().any(|c| name.eq_ignore_ascii_case(c))
                    || FIELDS.iter().any(|f| {
                        f.group == Group::Proxy && name.eq_ignore_ascii_case(&f.env_var())
                    });
                if !known {
                    unknown.push(format!(
                        "Unknown variable {} is ignored",
                        var_name(name, layer)
                    ));
                }
            }
        }
        unknown.sort();
        out.extend(unknown);

        let p = &config.proxy;
        if p.is_prod() {
            // The warnings of Python's ProxySettings._validate_prod_security
            // and api_server.run().
            if p.cors_allow_origins.iter().any(|o| o == "*") {
                out.push(
                    "PROD mode with wildcard CORS origins ('*') is insecure. \
                     Set GPT2GIGA_CORS_ALLOW_ORIGINS to a list of trusted origins."
                        .to_string(),
                );
            }
            if !p.enable_api_key_auth && p.accepted_api_keys().is_empty() {
                out.push(
                    "PROD mode without API-key auth is insecure. \
                     Set GPT2GIGA_ENABLE_API_KEY_AUTH=True and GPT2GIGA_API_KEY."
                        .to_string(),
                );
            }
            if !p.log_redact_sensitive {
                out.push(
                    "PROD mode with log_redact_sensitive=False may leak secrets to logs."
                        .to_string(),
                );
            }
            if p.log_level == LogLevel::Debug {
                out.push(
                    "DEBUG log level in PROD mode may expose sensitive data. \
                     Consider using INFO or higher."
                        .to_string(),
                );
            }
        }
        out
    }
}

fn var_name(var: &str, layer: &EnvLayer) -> String {
    match layer.file() {
        Some(path) => format!("{var} (from {})", path.display()),
        None => var.to_string(),
    }
}

fn secret_warning(what: &str, f: &FieldSpec) -> String {
    format!(
        "Security warning: secret {what} was given on the command line, where other users \
         of this host can read it (e.g. with `ps aux`); set {} in the environment or a .env \
         file instead.",
        f.env_var()
    )
}

fn invalid(f: &FieldSpec, name: &str, raw: Raw<'_>, reason: String) -> ConfigError {
    ConfigError::InvalidValue {
        name: name.to_string(),
        value: if f.secret {
            "***".to_string()
        } else {
            raw.display()
        },
        reason,
    }
}

fn set(
    config: &mut Config,
    f: &FieldSpec,
    raw: Option<Raw<'_>>,
    name: &str,
) -> Result<(), ConfigError> {
    set_field(config, f, raw).map_err(|reason| match raw {
        Some(raw) => invalid(f, name, raw, reason),
        None => ConfigError::InvalidValue {
            name: name.to_string(),
            value: "null".to_string(),
            reason,
        },
    })
}

fn req(raw: Option<Raw<'_>>) -> Parsed<Raw<'_>> {
    raw.ok_or_else(|| "a value is required".to_string())
}

fn opt<'a, T>(raw: Option<Raw<'a>>, parse: impl FnOnce(Raw<'a>) -> Parsed<T>) -> Parsed<Option<T>> {
    raw.map(parse).transpose()
}

fn secret(raw: Raw<'_>) -> Parsed<Secret> {
    parse::string(raw).map(Secret::new)
}

/// The typed setter for every field of the table.
fn set_field(c: &mut Config, f: &FieldSpec, raw: Option<Raw<'_>>) -> Parsed<()> {
    use parse::{
        api_mode, boolean, http_url, ip_nets, log_format, log_level, mode, non_negative_float,
        path, port, positive_seconds, positive_usize, state_url, status_codes, string, string_list,
        structured_output, u32_value, u64_value, word,
    };
    let p = &mut c.proxy;
    let g = &mut c.gigachat;
    match (f.group, f.name) {
        (Group::Proxy, "mode") => p.mode = mode(req(raw)?)?,
        (Group::Proxy, "host") => p.host = word(req(raw)?)?,
        (Group::Proxy, "port") => p.port = port(req(raw)?)?,
        (Group::Proxy, "use_https") => p.use_https = boolean(req(raw)?)?,
        (Group::Proxy, "https_key_file") => p.https_key_file = opt(raw, path)?,
        (Group::Proxy, "https_cert_file") => p.https_cert_file = opt(raw, path)?,
        (Group::Proxy, "pass_model") => p.pass_model = boolean(req(raw)?)?,
        (Group::Proxy, "pass_token") => p.pass_token = boolean(req(raw)?)?,
        (Group::Proxy, "embeddings") => p.embeddings = word(req(raw)?)?,
        (Group::Proxy, "model_aliases") => {
            p.model_aliases = opt(raw, parse::model_aliases)?.unwrap_or_default();
        }
        (Group::Proxy, "cors_allow_origins") => p.cors_allow_origins = string_list(req(raw)?)?,
        (Group::Proxy, "cors_allow_methods") => p.cors_allow_methods = string_list(req(raw)?)?,
        (Group::Proxy, "cors_allow_headers") => p.cors_allow_headers = string_list(req(raw)?)?,
        (Group::Proxy, "enable_images") => p.enable_images = boolean(req(raw)?)?,
        (Group::Proxy, "enable_reasoning") => p.enable_reasoning = boolean(req(raw)?)?,
        (Group::Proxy, "max_request_body_bytes") => {
            p.max_request_body_bytes = u64_value(req(raw)?)?;
        }
        (Group::Proxy, "max_audio_file_size_bytes") => {
            p.max_audio_file_size_bytes = u64_value(req(raw)?)?;
        }
        (Group::Proxy, "max_image_file_size_bytes") => {
            p.max_image_file_size_bytes = u64_value(req(raw)?)?;
        }
        (Group::Proxy, "max_text_file_size_bytes") => {
            p.max_text_file_size_bytes = u64_value(req(raw)?)?;
        }
        (Group::Proxy, "max_audio_image_total_size_bytes") => {
            p.max_audio_image_total_size_bytes = u64_value(req(raw)?)?;
        }
        (Group::Proxy, "log_level") => p.log_level = log_level(req(raw)?)?,
        (Group::Proxy, "log_filename") => p.log_filename = path(req(raw)?)?,
        (Group::Proxy, "log_max_size") => p.log_max_size = u64_value(req(raw)?)?,
        (Group::Proxy, "log_redact_sensitive") => p.log_redact_sensitive = boolean(req(raw)?)?,
        (Group::Proxy, "logs_ip_allowlist") => p.logs_ip_allowlist = ip_nets(req(raw)?)?,
        (Group::Proxy, "enable_api_key_auth") => p.enable_api_key_auth = boolean(req(raw)?)?,
        (Group::Proxy, "api_key") => p.api_key = opt(raw, secret)?,
        (Group::Proxy, "api_keys") => {
            p.api_keys = string_list(req(raw)?)?
                .into_iter()
                .map(Secret::new)
                .collect();
        }
        (Group::Proxy, "max_connections") => p.max_connections = positive_usize(req(raw)?)?,
        (Group::Proxy, "header_read_timeout_secs") => {
            p.header_read_timeout_secs = positive_seconds(req(raw)?)?
        }
        (Group::Proxy, "keepalive_timeout_secs") => {
            p.keepalive_timeout_secs = positive_seconds(req(raw)?)?
        }
        (Group::Proxy, "max_concurrent_requests_per_model") => {
            p.max_concurrent_requests_per_model = opt(raw, positive_usize)?;
        }
        (Group::Proxy, "concurrency_queue_size") => {
            p.concurrency_queue_size = usize::try_from(u64_value(req(raw)?)?)
                .map_err(|_| "expected a non-negative integer".to_string())?;
        }
        (Group::Proxy, "concurrency_queue_timeout_secs") => {
            p.concurrency_queue_timeout_secs = positive_seconds(req(raw)?)?;
        }
        (Group::Proxy, "log_format") => p.log_format = log_format(req(raw)?)?,
        (Group::Proxy, "structured_output") => p.structured_output = structured_output(req(raw)?)?,
        (Group::Proxy, "gigachat_api_mode") => p.gigachat_api_mode = api_mode(req(raw)?)?,
        (Group::Proxy, "responses_store_capacity") => {
            p.responses_store_capacity = u64_value(req(raw)?)? as usize
        }
        (Group::Proxy, "responses_store_ttl_secs") => {
            p.responses_store_ttl_secs = u64_value(req(raw)?)?
        }
        (Group::Proxy, "responses_store_max_bytes") => {
            p.responses_store_max_bytes = u64_value(req(raw)?)?
        }
        (Group::Proxy, "state_url") => p.state_url = opt(raw, state_url)?,
        (Group::Proxy, "traffic_log_url") => p.traffic_log_url = opt(raw, parse::traffic_log_url)?,
        (Group::Proxy, "traffic_log_level") => {
            p.traffic_log_level = parse::traffic_log_level(req(raw)?)?;
        }
        (Group::Proxy, "traffic_log_max_body_bytes") => {
            p.traffic_log_max_body_bytes = u64_value(req(raw)?)?;
        }
        (Group::Proxy, "traffic_log_retention_secs") => {
            p.traffic_log_retention_secs = u64_value(req(raw)?)?;
        }
        (Group::Proxy, "traffic_log_max_bytes") => p.traffic_log_max_bytes = u64_value(req(raw)?)?,
        (Group::Proxy, "traffic_log_queue_size") => {
            p.traffic_log_queue_size = positive_usize(req(raw)?)?;
        }
        (Group::Proxy, "otlp_endpoint") => p.otlp_endpoint = opt(raw, http_url)?,
        (Group::Proxy, "otlp_protocol") => p.otlp_protocol = opt(raw, parse::otlp_protocol)?,
        (Group::Proxy, "enable_traffic_admin") => p.enable_traffic_admin = boolean(req(raw)?)?,
        (Group::Proxy, "traffic_ip_allowlist") => p.traffic_ip_allowlist = ip_nets(req(raw)?)?,
        (Group::Proxy, "concurrency_lease_secs") => {
            p.concurrency_lease_secs = positive_seconds(req(raw)?)?;
        }
        (Group::Proxy, "shutdown_timeout_secs") => p.shutdown_timeout_secs = u64_value(req(raw)?)?,
        (Group::Proxy, "shutdown_ready_delay_secs") => {
            p.shutdown_ready_delay_secs = non_negative_float(req(raw)?)?
        }

        (Group::GigaChat, "base_url") => g.base_url = http_url(req(raw)?)?,
        (Group::GigaChat, "auth_url") => g.auth_url = http_url(req(raw)?)?,
        (Group::GigaChat, "credentials") => g.credentials = opt(raw, secret)?,
        (Group::GigaChat, "scope") => g.scope = word(req(raw)?)?,
        (Group::GigaChat, "user") => g.user = opt(raw, string)?,
        (Group::GigaChat, "password") => g.password = opt(raw, secret)?,
        (Group::GigaChat, "access_token") => g.access_token = opt(raw, secret)?,
        (Group::GigaChat, "model") => g.model = opt(raw, word)?,
        (Group::GigaChat, "profanity_check") => g.profanity_check = opt(raw, boolean)?,
        (Group::GigaChat, "timeout") => g.timeout = positive_seconds(req(raw)?)?,
        (Group::GigaChat, "verify_ssl_certs") => g.verify_ssl_certs = boolean(req(raw)?)?,
        (Group::GigaChat, "ca_bundle_file") => g.ca_bundle_file = opt(raw, path)?,
        (Group::GigaChat, "cert_file") => g.cert_file = opt(raw, path)?,
        (Group::GigaChat, "key_file") => g.key_file = opt(raw, path)?,
        (Group::GigaChat, "key_file_password") => g.key_file_password = opt(raw, secret)?,
        (Group::GigaChat, "flags") => g.flags = string_list(req(raw)?)?,
        (Group::GigaChat, "max_connections") => g.max_connections = opt(raw, positive_usize)?,
        (Group::GigaChat, "max_retries") => g.max_retries = u32_value(req(raw)?)?,
        (Group::GigaChat, "retry_backoff_factor") => {
            g.retry_backoff_factor = non_negative_float(req(raw)?)?;
        }
        (Group::GigaChat, "retry_on_status_codes") => {
            g.retry_on_status_codes = status_codes(req(raw)?)?;
        }
        (Group::GigaChat, "token_expiry_buffer_ms") => {
            g.token_expiry_buffer_ms = u64_value(req(raw)?)?;
        }
        (group, name) => {
            return Err(format!(
                "internal error: no setter for {}.{name}",
                group.name()
            ));
        }
    }
    Ok(())
}

fn validate(config: &Config) -> Result<(), ConfigError> {
    let p = &config.proxy;
    if p.use_https && (p.https_key_file.is_none() || p.https_cert_file.is_none()) {
        let mut missing = Vec::new();
        if p.https_key_file.is_none() {
            missing.push("--proxy.https-key-file");
        }
        if p.https_cert_file.is_none() {
            missing.push("--proxy.https-cert-file");
        }
        return Err(ConfigError::Inconsistent(format!(
            "--proxy.use-https (GPT2GIGA_USE_HTTPS) needs both --proxy.https-key-file \
             (GPT2GIGA_HTTPS_KEY_FILE) and --proxy.https-cert-file (GPT2GIGA_HTTPS_CERT_FILE); \
             missing: {}",
            missing.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_setter() {
        for f in FIELDS {
            let mut c = Config::default();
            // Any parse error is fine here; "no setter" is not.
            if let Err(e) = set_field(&mut c, f, Some(Raw::Text("x"))) {
                assert!(!e.contains("no setter"), "{}: {e}", f.name);
            }
        }
    }

    #[test]
    fn null_only_resets_optional_fields() {
        let mut c = Config::default();
        c.gigachat.model = Some("m".into());
        for f in FIELDS {
            let r = set_field(&mut c, f, None);
            assert_eq!(r.is_ok(), f.optional, "{}", f.name);
        }
        assert_eq!(c.gigachat.model, None);
    }

    fn load_env(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(["gpt2giga".to_string()], &env, &std::env::temp_dir())
    }

    #[test]
    fn otel_protocol_variables_apply_when_traces_are_on() {
        use crate::config::OtlpProtocol::{Grpc, HttpProtobuf};
        const EP: (&str, &str) = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317");
        let protocol = |vars: &[(&str, &str)]| load_env(vars).map(|c| c.proxy.otlp_protocol);
        assert_eq!(protocol(&[EP]).unwrap(), None);
        assert_eq!(
            protocol(&[EP, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap(),
            Some(Grpc)
        );
        // The traces variable wins over the general one.
        assert_eq!(
            protocol(&[
                EP,
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ])
            .unwrap(),
            Some(HttpProtobuf)
        );
        // The proxy's own setting wins over both.
        assert_eq!(
            protocol(&[
                EP,
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
                ("GPT2GIGA_OTLP_PROTOCOL", "GRPC"),
            ])
            .unwrap(),
            Some(Grpc)
        );
        let e = protocol(&[EP, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            r#"invalid value "http/json" for OTEL_EXPORTER_OTLP_PROTOCOL: expected http/protobuf or grpc (http/json is not supported)"#
        );
        // Traces off: the variables are someone else's business.
        assert_eq!(
            protocol(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).unwrap(),
            None
        );
    }

    #[test]
    fn unknown_proxy_variables_warn_but_the_examples_variables_do_not() {
        let env: HashMap<String, String> = [
            ("GPT2GIGA_PORTT", "1"),
            ("GPT2GIGA_URL", "http://localhost:8090"),
            ("GPT2GIGA_MODEL", "GigaChat"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let dir = std::env::temp_dir();
        let c = load(["gpt2giga".to_string()], &env, &dir).unwrap();
        let unknown: Vec<&String> = c
            .warnings
            .iter()
            .filter(|w| w.starts_with("Unknown variable"))
            .collect();
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert!(unknown[0].contains("GPT2GIGA_PORTT"), "{unknown:?}");
    }
}
