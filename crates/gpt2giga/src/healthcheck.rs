//! `gpt2giga healthcheck`: probes the proxy running beside it — in the same container —
//! and exits 0 when it answers 2xx, 1 otherwise, printing one line either way. Docker's
//! `HEALTHCHECK` runs it, so the image needs neither a shell nor `curl`.
//!
//! The target is `http://<host>:<port>/health` (`/ready` with `--ready`). Port, scheme
//! and host come from `GPT2GIGA_PORT`, `GPT2GIGA_USE_HTTPS` and `GPT2GIGA_HOST` in the
//! environment or `./.env`, resolved and parsed exactly as the proxy does it
//! ([`Config::listen_from_env`]); a wildcard listen address (`0.0.0.0`, as the image sets
//! it, or `::`) is probed on loopback (`127.0.0.1`, `[::1]`), the default `localhost` as
//! `localhost`. The proxy's command line is invisible from here, so a port given only as
//! `--proxy.port` needs `--url`.
//!
//! A loopback HTTPS target is probed without verifying its certificate: the proxy's
//! certificate names its public host, not `127.0.0.1`, and the probe sends nothing secret.
//! Any other `--url` is verified as usual. Proxy variables (`HTTPS_PROXY`…) are ignored.

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use url::{Host, Url};

use crate::config::Config;

/// The first argument that selects this subcommand.
pub const SUBCOMMAND: &str = "healthcheck";

/// Longest part of an unhealthy answer's body that is printed.
const BODY_SNIPPET_CHARS: usize = 200;

/// The subcommand's arguments.
#[derive(Debug, Parser)]
#[command(
    name = "gpt2giga healthcheck",
    bin_name = "gpt2giga healthcheck",
    about = "Probe the gpt2giga proxy running beside this process (e.g. in the same container): \
             exit 0 when it answers 2xx, 1 otherwise. The port and scheme come from \
             GPT2GIGA_PORT and GPT2GIGA_USE_HTTPS (environment or ./.env).",
    disable_version_flag = true
)]
pub struct Args {
    /// Probe /ready (ready to take traffic) instead of /health (alive)
    #[arg(long)]
    pub ready: bool,
    /// Probe this URL instead of the proxy found from the environment
    #[arg(long, value_name = "URL", conflicts_with = "ready")]
    pub url: Option<String>,
    /// Give up after this many seconds
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = seconds)]
    pub timeout: Duration,
}

fn seconds(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "expected a number of seconds between 0 and 3600".to_string())
}

/// Runs the subcommand. `args` start with the subcommand's name (`healthcheck`, used as
/// the program name in messages). Reads the process environment and working directory.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            // Docker reserves exit status 2 in health checks: a usage error is a plain 1.
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let env: HashMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| Path::new("/").to_path_buf());
    let url = match target(&args, &env, &cwd) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("unhealthy: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(probe(&url, args.timeout)) {
        Ok(line) => {
            println!("healthy: {line}");
            ExitCode::SUCCESS
        }
        Err(line) => {
            eprintln!("unhealthy: {line}");
            ExitCode::FAILURE
        }
    }
}

/// The URL to probe: `--url`, or the proxy's `/health` (`/ready`) found from `env` and
/// `cwd/.env`.
pub fn target(args: &Args, env: &HashMap<String, String>, cwd: &Path) -> Result<Url, String> {
    if let Some(raw) = &args.url {
        let url = Url::parse(raw).map_err(|e| format!("--url {raw:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("--url {raw:?}: expected an http or https URL"));
        }
        return Ok(url);
    }
    let listen =
        Config::listen_from_env(env, cwd).map_err(|e| format!("configuration error: {e}"))?;
    let scheme = if listen.use_https { "https" } else { "http" };
    let path = if args.ready { "/ready" } else { "/health" };
    let host = probe_host(&listen.host);
    let raw = format!("{scheme}://{host}:{}{path}", listen.port);
    Url::parse(&raw).map_err(|e| format!("cannot probe {raw:?}: {e}"))
}

/// Where to reach a proxy listening on `host`: wildcards mean loopback.
fn probe_host(host: &str) -> String {
    let host = host.trim();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => "127.0.0.1".to_string(),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => "[::1]".to_string(),
        Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
        Ok(IpAddr::V4(ip)) => ip.to_string(),
        Err(_) => host.to_string(),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// One GET of `url`: `Ok` with a line describing a 2xx answer, `Err` with a line saying
/// what went wrong (status and the start of the body, or the transport error).
pub async fn probe(url: &Url, timeout: Duration) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .danger_accept_invalid_certs(url.scheme() == "https" && is_loopback(url))
        .build()
        .map_err(|e| format!("cannot create the HTTP client: {}", chain(&e)))?;
    let response = client.get(url.clone()).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("GET {url}: no answer within {} s", timeout.as_secs_f64())
        } else {
            format!("GET {url}: {}", chain(&e.without_url()))
        }
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(format!("GET {url} → {status}"));
    }
    let body = response.text().await.unwrap_or_default();
    let snippet = snippet(&body);
    if snippet.is_empty() {
        Err(format!("GET {url} → {status}"))
    } else {
        Err(format!("GET {url} → {status}: {snippet}"))
    }
}

/// The error and its sources on one line, without repeats.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// The body on one line, whitespace collapsed, at most [`BODY_SNIPPET_CHARS`] characters.
fn snippet(body: &str) -> String {
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(BODY_SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("healthcheck").chain(args.iter().copied())).unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn target_in(args: &[&str], vars: &[(&str, &str)], dotenv: Option<&str>) -> String {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = dotenv {
            std::fs::write(dir.path().join(".env"), text).unwrap();
        }
        match target(&parse(args), &env(vars), dir.path()) {
            Ok(u) => u.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn default_target_is_health_on_port_8090() {
        // The proxy's default host is `localhost`, which may resolve to ::1 alone: the
        // probe resolves it the same way. The image sets GPT2GIGA_HOST=0.0.0.0.
        assert_eq!(target_in(&[], &[], None), "http://localhost:8090/health");
        let container = [("GPT2GIGA_HOST", "0.0.0.0")];
        assert_eq!(
            target_in(&[], &container, None),
            "http://127.0.0.1:8090/health"
        );
        assert_eq!(
            target_in(&["--ready"], &container, None),
            "http://127.0.0.1:8090/ready"
        );
    }

    #[test]
    fn port_scheme_and_host_come_from_the_environment_then_dotenv() {
        let vars = [
            ("GPT2GIGA_PORT", "9001"),
            ("gpt2giga_use_https", "yes"),
            ("GPT2GIGA_HOST", "0.0.0.0"),
        ];
        assert_eq!(target_in(&[], &vars, None), "https://127.0.0.1:9001/health");
        let dotenv = "GPT2GIGA_PORT=9002\nGPT2GIGA_USE_HTTPS=true\nGPT2GIGA_HOST=0.0.0.0\n";
        assert_eq!(
            target_in(&[], &[], Some(dotenv)),
            "https://127.0.0.1:9002/health"
        );
        // The environment beats `.env`, as for the proxy.
        assert_eq!(
            target_in(&[], &[("GPT2GIGA_PORT", "9003")], Some(dotenv)),
            "https://127.0.0.1:9003/health"
        );
    }

    #[test]
    fn listen_addresses_map_to_reachable_hosts() {
        for (host, expected) in [
            ("0.0.0.0", "http://127.0.0.1:8090/health"),
            ("::", "http://[::1]:8090/health"),
            ("[::]", "http://[::1]:8090/health"),
            ("::1", "http://[::1]:8090/health"),
            ("localhost", "http://localhost:8090/health"),
            ("10.1.2.3", "http://10.1.2.3:8090/health"),
            ("gpt2giga.internal", "http://gpt2giga.internal:8090/health"),
        ] {
            assert_eq!(
                target_in(&[], &[("GPT2GIGA_HOST", host)], None),
                expected,
                "{host}"
            );
        }
    }

    #[test]
    fn unrelated_settings_do_not_matter() {
        // HTTPS without key files is an error for the proxy (the files may come from its
        // command line), and an invalid unrelated value is none of the probe's business.
        let vars = [
            ("GPT2GIGA_USE_HTTPS", "true"),
            ("GPT2GIGA_MODE", "PROD"),
            ("GPT2GIGA_LOG_LEVEL", "nonsense"),
        ];
        assert_eq!(target_in(&[], &vars, None), "https://localhost:8090/health");
    }

    #[test]
    fn invalid_port_is_reported_with_its_variable() {
        let out = target_in(&[], &[("GPT2GIGA_PORT", "99999")], None);
        assert!(out.starts_with("error: configuration error"), "{out}");
        assert!(out.contains("GPT2GIGA_PORT"), "{out}");
    }

    #[test]
    fn url_overrides_and_must_be_http() {
        assert_eq!(
            target_in(&["--url", "http://10.0.0.1:1/x"], &[], None),
            "http://10.0.0.1:1/x"
        );
        assert!(target_in(&["--url", "ftp://h/"], &[], None).starts_with("error: "));
        assert!(target_in(&["--url", "not a url"], &[], None).starts_with("error: "));
        assert!(Args::try_parse_from(["healthcheck", "--ready", "--url", "http://h/"]).is_err());
    }

    #[test]
    fn timeout_is_positive_seconds() {
        assert_eq!(parse(&[]).timeout, Duration::from_secs(3));
        assert_eq!(
            parse(&["--timeout", "0.5"]).timeout,
            Duration::from_millis(500)
        );
        for bad in ["0", "-1", "x", "inf"] {
            assert!(
                Args::try_parse_from(["healthcheck", "--timeout", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_loopback_targets_skip_certificate_checks() {
        for (url, loopback) in [
            ("https://127.0.0.1:1/", true),
            ("https://127.9.9.9:1/", true),
            ("https://[::1]:1/", true),
            ("https://LOCALHOST:1/", true),
            ("https://example.com/", false),
            ("https://10.0.0.1/", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(url).unwrap()), loopback, "{url}");
        }
    }

    #[test]
    fn snippet_is_one_short_line() {
        assert_eq!(snippet("{\n  \"a\": 1\n}\n"), "{ \"a\": 1 }");
        let long = "я".repeat(500);
        let s = snippet(&long);
        assert_eq!(s.chars().count(), BODY_SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
    }
}
