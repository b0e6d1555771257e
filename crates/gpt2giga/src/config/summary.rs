//! A one-screen, secret-free rendering of the effective configuration.

use std::fmt::Write as _;
use std::path::PathBuf;

use gigachat::Secret;

use super::{AuthMode, Config, GigaChatSettings};

fn mask(s: &Option<Secret>) -> &'static str {
    match s {
        Some(_) => "***",
        None => "-",
    }
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn opt_path(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map_or_else(|| "-".to_string(), |p| p.display().to_string())
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let inner: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", inner.join(", "))
}

fn bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} B")
    }
}

fn auth(g: &GigaChatSettings) -> String {
    let mode = g.auth_mode();
    let mut s = mode.to_string();
    let refresh = if g.has_credentials() {
        Some(AuthMode::Credentials)
    } else if g.has_user_password() {
        Some(AuthMode::UserPassword)
    } else {
        None
    };
    if mode == AuthMode::AccessToken
        && let Some(r) = refresh
    {
        let _ = write!(s, ", refreshed via {r}");
    }
    if mode != AuthMode::Mtls && g.has_mtls() {
        s.push_str(" + mTLS client certificate");
    }
    s
}

pub(crate) fn render(c: &Config) -> String {
    let p = &c.proxy;
    let g = &c.gigachat;
    let mut out = String::new();
    let scheme = if p.use_https { "https" } else { "http" };
    let _ = writeln!(out, "gpt2giga {} configuration:", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        out,
        "  Proxy:      mode={} listen={scheme}://{}:{} demo={} pass_model={} pass_token={} \
         embeddings={} images={} reasoning={} structured_output={} gigachat_api_mode={} \
         shutdown_timeout={}s \
         shutdown_ready_delay={}s",
        p.mode,
        p.host,
        p.port,
        on(c.demo),
        on(p.pass_model),
        on(p.pass_token),
        p.embeddings,
        on(p.enable_images),
        on(p.enable_reasoning),
        p.structured_output,
        p.gigachat_api_mode,
        p.shutdown_timeout_secs,
        p.shutdown_ready_delay_secs,
    );
    let _ = writeln!(out, "  Aliases:    {}", p.model_aliases.summary());
    let _ = writeln!(
        out,
        "  HTTPS:      {} key_file={} cert_file={}",
        on(p.use_https),
        opt_path(&p.https_key_file),
        opt_path(&p.https_cert_file),
    );
    let _ = writeln!(
        out,
        "  Security:   api_key_auth={} (required: {}) api_key={} api_keys={} cors_origins={} \
         cors_methods={} cors_headers={} logs_ip_allowlist={}",
        on(p.enable_api_key_auth),
        if p.auth_required() { "yes" } else { "no" },
        mask(&p.api_key),
        if p.api_keys.is_empty() {
            "-".to_string()
        } else {
            format!("{} x ***", p.api_keys.len())
        },
        list(&p.cors_allow_origins),
        list(&p.cors_allow_methods),
        list(&p.cors_allow_headers),
        if p.logs_ip_allowlist.is_empty() {
            "[] (any)".to_string()
        } else {
            list(&p.logs_ip_allowlist)
        },
    );
    let _ = writeln!(
        out,
        "  Limits:     body={} audio={} image={} text={} audio+image={} per_model_concurrency={} \
         connections={} header_read_timeout={}s keepalive_timeout={}s",
        bytes(p.max_request_body_bytes),
        bytes(p.max_audio_file_size_bytes),
        bytes(p.max_image_file_size_bytes),
        bytes(p.max_text_file_size_bytes),
        bytes(p.max_audio_image_total_size_bytes),
        match p.max_concurrent_requests_per_model {
            Some(n) => format!(
                "{n} (queue {} for {}s)",
                p.concurrency_queue_size, p.concurrency_queue_timeout_secs
            ),
            None => "off".to_string(),
        },
        p.max_connections,
        p.header_read_timeout_secs,
        p.keepalive_timeout_secs,
    );
    let _ = writeln!(
        out,
        "  State:      {} responses_store: capacity={} ttl={}s max_bytes={} concurrency_lease={}s",
        match p.state_url() {
            Some(url) => format!("redis ({})", mask_url(url)),
            None => "memory".to_string(),
        },
        p.responses_store_capacity,
        p.responses_store_ttl_secs,
        bytes(p.responses_store_max_bytes),
        p.concurrency_lease_secs,
    );
    let _ = writeln!(
        out,
        "  Logging:    level={} format={} file={} max_size={} redact_sensitive={}",
        p.log_level,
        p.log_format,
        p.log_filename.display(),
        bytes(p.log_max_size),
        on(p.log_redact_sensitive),
    );
    let _ = writeln!(
        out,
        "  Traces:     {}",
        match &p.otlp_endpoint {
            Some(e) => format!("OTLP {} {}", p.otlp_protocol(), mask_url(e)),
            None => "off".to_string(),
        }
    );
    let _ = writeln!(
        out,
        "  Traffic:    log={} level={} max_body={} retention={}s max_bytes={} queue={} admin={} ip_allowlist={}",
        match p.traffic_log_url() {
            Some(url) => mask_url(url),
            None => "off".to_string(),
        },
        p.traffic_log_level,
        bytes(p.traffic_log_max_body_bytes),
        p.traffic_log_retention_secs,
        bytes(p.traffic_log_max_bytes),
        p.traffic_log_queue_size,
        if p.traffic_log_url().is_some() && p.traffic_admin() {
            "on"
        } else {
            "off"
        },
        if p.traffic_ip_allowlist.is_empty() {
            "any".to_string()
        } else {
            list(&p.traffic_ip_allowlist)
        },
    );
    let _ = writeln!(
        out,
        "  GigaChat:   base_url={} model={}{} profanity_check={} flags={}",
        g.base_url,
        g.model(),
        if g.model.is_none() { " (default)" } else { "" },
        g.profanity_check.map_or("-", on),
        list(&g.flags),
    );
    let _ = writeln!(
        out,
        "  Auth:       mode={} auth_url={} scope={} credentials={} user={} password={} access_token={}",
        auth(g),
        g.auth_url,
        g.scope,
        mask(&g.credentials),
        g.user.as_deref().unwrap_or("-"),
        mask(&g.password),
        mask(&g.access_token),
    );
    let _ = writeln!(
        out,
        "  TLS:        verify_ssl_certs={} ca_bundle_file={} cert_file={} key_file={} \
         key_file_password={}",
        on(g.verify_ssl_certs),
        opt_path(&g.ca_bundle_file),
        opt_path(&g.cert_file),
        opt_path(&g.key_file),
        mask(&g.key_file_password),
    );
    let _ = writeln!(
        out,
        "  Connection: timeout={}s max_connections={} max_retries={} retry_backoff_factor={} \
         retry_on_status_codes={} token_expiry_buffer_ms={}",
        g.timeout,
        g.max_connections
            .map_or_else(|| "-".to_string(), |n| n.to_string()),
        g.max_retries,
        g.retry_backoff_factor,
        list(&g.retry_on_status_codes),
        g.token_expiry_buffer_ms,
    );
    let _ = write!(out, "  .env file:  {}", opt_path(&c.env_path));
    out
}

/// A URL with its password (and user) masked: `redis://***@host:6379/0`.
fn mask_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("***");
                let _ = u.set_password(None);
            }
            u.to_string()
        }
        Err(_) => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_units() {
        assert_eq!(bytes(10 * 1024 * 1024), "10 MiB");
        assert_eq!(bytes(2048), "2 KiB");
        assert_eq!(bytes(1000), "1000 B");
        assert_eq!(bytes(0), "0 B");
    }

    #[test]
    fn default_summary_names_no_auth() {
        let s = Config::default().summary();
        assert!(s.contains("Auth:       mode=none"), "{s}");
        assert!(s.contains("model=GigaChat (default)"), "{s}");
        assert!(s.contains("api_key=-"), "{s}");
    }

    #[test]
    fn traces_line_names_the_protocol() {
        let mut c = Config::default();
        assert!(c.summary().contains("Traces:     off"));
        c.proxy.otlp_endpoint = Some("http://u:pw@collector:4318".into());
        let s = c.summary();
        assert!(
            s.contains("Traces:     OTLP http/protobuf http://***@collector:4318/"),
            "{s}"
        );
        c.proxy.otlp_protocol = Some(crate::config::OtlpProtocol::Grpc);
        let s = c.summary();
        assert!(
            s.contains("Traces:     OTLP grpc http://***@collector:4318/"),
            "{s}"
        );
    }

    #[test]
    fn auth_modes() {
        let mut g = GigaChatSettings::default();
        assert_eq!(auth(&g), "none");
        g.cert_file = Some("c".into());
        g.key_file = Some("k".into());
        assert_eq!(auth(&g), "mTLS");
        g.user = Some("u".into());
        g.password = Some(Secret::new("p"));
        assert_eq!(auth(&g), "user+password + mTLS client certificate");
        g.cert_file = None;
        g.credentials = Some(Secret::new("c"));
        assert_eq!(auth(&g), "credentials+scope");
        g.access_token = Some(Secret::new("t"));
        assert_eq!(auth(&g), "access token, refreshed via credentials+scope");
    }
}
