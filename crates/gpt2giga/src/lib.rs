//! # gpt2giga — OpenAI- and Anthropic-compatible proxy in front of GigaChat
//!
//! A map of the crate (see `ARCHITECTURE.md` for the picture and the invariants):
//!
//! * [`config`] — CLI flags, `GPT2GIGA_*` / `GIGACHAT_*` variables and `.env`, compatible
//!   with the Python gpt2giga;
//! * [`server`] — router, middleware (request id, access log, path normalisation),
//!   system endpoints, listener and graceful shutdown;
//! * [`ir`] — the normalised conversation and event stream every dialect meets in;
//! * [`dialect`] — client wire formats (OpenAI today) ↔ `ir`, and their error envelopes;
//! * [`upstream`] — `ir` ↔ GigaChat, attachment upload, stop sequences;
//! * [`state`] — stored Responses (bounded, in memory by default);
//! * [`app`] — state shared by handlers; [`demo`] — the offline emulator mode (the
//!   `demo` cargo feature, on by default, brings the emulator in);
//! * [`healthcheck`] — the `gpt2giga healthcheck` probe (Docker's `HEALTHCHECK`);
//! * [`error`] — the proxy's error type, rendered by each dialect at the edge.

pub mod app;
pub mod config;
pub mod demo;
pub mod dialect;
pub mod error;
pub mod healthcheck;
pub mod ir;
pub mod logging;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod traffic;
pub mod upstream;

use anyhow::Context;

use crate::config::Config;

/// Starts the proxy with `config` and serves until SIGINT/SIGTERM.
pub async fn run(mut config: Config) -> anyhow::Result<()> {
    let demo = if config.demo {
        Some(demo::start(&mut config).await?)
    } else {
        None
    };
    tracing::info!("effective configuration:\n{}", config.summary());
    let client = gigachat::Client::new(config.gigachat.to_client_config())
        .context("cannot create the GigaChat client")?;
    let host = config.proxy.host.clone();
    let port = config.proxy.port;
    let grace = config.proxy.shutdown_timeout();
    // Certificate problems stop the start-up before anything listens.
    let tls = match (
        config.proxy.use_https,
        &config.proxy.https_cert_file,
        &config.proxy.https_key_file,
    ) {
        (true, Some(cert), Some(key)) => Some(server::tls::load(cert, key)?),
        (true, _, _) => anyhow::bail!(
            "--proxy.use-https needs --proxy.https-cert-file and --proxy.https-key-file"
        ),
        (false, _, _) => None,
    };
    let listener = server::bind(&host, port).await?;
    let local = listener.local_addr()?;
    let state = app::AppState::new(config, client).map_err(|e| anyhow::anyhow!("{e}"))?;
    state
        .start_traffic_log()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(
        address = %local,
        "gpt2giga {} listening on {}://{local}",
        env!("CARGO_PKG_VERSION"),
        if tls.is_some() { "https" } else { "http" }
    );
    if demo.is_some() {
        demo::banner(local);
    }
    let ready_delay = state.config().proxy.shutdown_ready_delay();
    let shutdown = {
        let state = state.clone();
        async move {
            server::shutdown_signal().await;
            // Not ready first, so load balancers stop sending traffic; then drain.
            state.begin_drain();
            if !ready_delay.is_zero() {
                tracing::info!(
                    delay_secs = ready_delay.as_secs_f64(),
                    "shutdown requested: /ready answers 503; draining starts after the delay"
                );
                tokio::time::sleep(ready_delay).await;
            }
        }
    };
    let limits = server::conn::Limits::from_settings(&state.config().proxy);
    let traces = state.traces().cloned();
    let app = server::app(state);
    match tls {
        Some(tls) => server::serve_tls(listener, tls, app, limits, shutdown, grace).await?,
        None => server::serve(listener, app, limits, shutdown, grace).await?,
    }
    if let Some(d) = demo {
        d.shutdown().await;
    }
    if let Some(t) = traces {
        // Sends the spans still buffered.
        let _ = tokio::task::spawn_blocking(move || t.shutdown()).await;
    }
    tracing::info!("gpt2giga stopped");
    Ok(())
}
