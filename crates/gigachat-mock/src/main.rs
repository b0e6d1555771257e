//! `gigachat-mock` — run the GigaChat emulator as a standalone HTTP server.
//!
//! Prints exactly one line to stdout once listening —
//! `gigachat-mock listening on http://HOST:PORT` — so harnesses can read the port;
//! logs go to stderr. Stops gracefully on SIGINT / SIGTERM.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use gigachat_mock::{MockConfig, MockServer, TokenShape};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ShapeArg {
    /// `{"access_token","expires_at"(ms)}`
    AccessToken,
    /// `{"tok","exp"(s)}`
    Tok,
}

/// A faithful GigaChat REST API emulator.
#[derive(Debug, Parser)]
#[command(name = "gigachat-mock", version, about)]
struct Args {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1", env = "GIGACHAT_MOCK_HOST")]
    host: IpAddr,
    /// Port to bind (0 picks a free port).
    #[arg(long, default_value_t = 8091, env = "GIGACHAT_MOCK_PORT")]
    port: u16,
    /// Delay before every response head, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Delay between stream frames, in milliseconds.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Characters per stream delta.
    #[arg(long, default_value_t = 20)]
    chunk_size: usize,
    /// OAuth response shape.
    #[arg(long, value_enum, default_value_t = ShapeArg::AccessToken)]
    token_shape: ShapeArg,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 1800)]
    token_ttl_secs: u64,
    /// Accept any non-empty bearer token (demo / benchmark mode).
    #[arg(long)]
    accept_any_token: bool,
    /// Recorded-request ring buffer size (0 disables recording).
    #[arg(long, default_value_t = 1000)]
    record_capacity: usize,
    /// Only accept this authorization key on OAuth (default: any base64 key).
    #[arg(long, env = "GIGACHAT_MOCK_CREDENTIALS")]
    credentials: Option<String>,
    /// Scope the key is registered for (default: any valid scope).
    #[arg(long)]
    scope: Option<String>,
    /// Only accept this user on `/token`.
    #[arg(long)]
    user: Option<String>,
    /// Only accept this password on `/token`.
    #[arg(long, env = "GIGACHAT_MOCK_PASSWORD")]
    password: Option<String>,
    /// Maximum in-flight requests per token (429 beyond).
    #[arg(long)]
    concurrency_limit: Option<usize>,
    /// `precached_prompt_tokens` reported in usage.
    #[arg(long, default_value_t = 0)]
    precached_tokens: u64,
    /// Answer `/balance` with 403 (pay-as-you-go account).
    #[arg(long)]
    no_balance: bool,
    /// Do not reject temperature outside (0, 2].
    #[arg(long)]
    lenient_temperature: bool,
    /// Pre-register a never-expiring access token (repeatable).
    #[arg(long = "static-token", value_name = "TOKEN")]
    static_tokens: Vec<String>,
}

impl Args {
    fn config(&self) -> MockConfig {
        let defaults = MockConfig::default();
        MockConfig {
            credentials: self.credentials.clone(),
            scope: self.scope.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            token_shape: match self.token_shape {
                ShapeArg::AccessToken => TokenShape::AccessToken,
                ShapeArg::Tok => TokenShape::Tok,
            },
            token_ttl: Duration::from_secs(self.token_ttl_secs),
            accept_any_token: self.accept_any_token,
            record_capacity: self.record_capacity,
            latency: Duration::from_millis(self.latency_ms),
            chunk_delay: Duration::from_millis(self.chunk_delay_ms),
            chunk_size: self.chunk_size.max(1),
            concurrency_limit: self.concurrency_limit,
            precached_tokens: self.precached_tokens,
            balance: if self.no_balance {
                None
            } else {
                defaults.balance.clone()
            },
            validate_temperature: !self.lenient_temperature,
            ..defaults
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let addr = SocketAddr::new(args.host, args.port);
    let server = match MockServer::bind(addr, args.config()).await {
        Ok(s) => s,
        Err(err) => {
            tracing::error!("gigachat-mock: cannot bind {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    for token in &args.static_tokens {
        server.control().register_token(token, None);
    }
    let mut stdout = std::io::stdout().lock();
    let announced = writeln!(stdout, "gigachat-mock listening on {}", server.origin())
        .and_then(|()| stdout.flush());
    drop(stdout);
    if announced.is_err() {
        return ExitCode::FAILURE;
    }
    shutdown_signal().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}
