//! The HTTP server: router, middleware stack, listener and graceful shutdown.
//!
//! The request path reads top to bottom in [`router`]: request context (id + access
//! log) → route. Dialect endpoints are added by their own modules.

pub mod auth;
pub mod conn;
pub mod cors;
pub mod docs;
pub mod limits;
pub mod logs;
pub mod metrics;
pub mod middleware;
pub mod system;
pub mod tls;
pub mod traffic;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower::ServiceBuilder;

use crate::app::AppState;

/// Why the server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "port {port} is already in use on {host}: stop the other process or pick another port with --proxy.port / GPT2GIGA_PORT"
    )]
    PortInUse { host: String, port: u16 },
    #[error("cannot listen on {host}:{port}: {source}")]
    Bind {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// All routes of the proxy (paths are normalised by [`app`] before routing).
pub fn router(state: AppState) -> Router {
    use crate::dialect::anthropic::handlers as anthropic;
    use crate::dialect::files;
    use crate::dialect::gemini::handlers as gemini;
    use crate::dialect::openai::handlers as openai;
    use crate::dialect::openai_responses::handlers as responses;
    let api = Router::new()
        .route("/responses", post(responses::create))
        .route(
            "/responses/{id}",
            get(responses::retrieve).delete(responses::delete),
        )
        .route("/responses/{id}/input_items", get(responses::input_items))
        .route("/messages", post(anthropic::messages))
        .route("/messages/count_tokens", post(anthropic::count_tokens))
        .route("/chat/completions", post(openai::chat_completions))
        // OpenAI's models (Anthropic's with `anthropic-version`, Gemini's for a Gemini
        // client); POST is a Gemini model method (`/v1/models/{model}:generateContent`).
        .route("/models", get(gemini::v1_list_models))
        .route(
            "/models/{id}",
            get(gemini::v1_get_model)
                .post(gemini::model_post)
                .fallback(gemini::no_such_method),
        )
        .route(
            "/tunedModels/{*rest}",
            post(gemini::model_post).fallback(gemini::no_such_method),
        )
        .route("/model/info", get(openai::model_info))
        .route("/embeddings", post(openai::embeddings))
        .route("/files", post(files::create).get(files::list))
        .route("/files/{id}", get(files::retrieve).delete(files::delete))
        .route("/files/{id}/content", get(files::content));
    // Gemini (`v1beta`): `{model}:method` is one path segment, split by the handler.
    let gemini_api = Router::new()
        .route(
            "/models",
            get(gemini::list_models).fallback(gemini::no_such_method),
        )
        .route(
            "/models/{*rest}",
            get(gemini::get_model)
                .post(gemini::model_post)
                .fallback(gemini::no_such_method),
        )
        .route(
            "/tunedModels/{*rest}",
            post(gemini::model_post).fallback(gemini::no_such_method),
        );
    let (observability, open_pages) = observability(&state);
    // Each stack is one layer: axum clones a matched route's service for every request,
    // and a stack inside one `layer` call is cloned as one value, where separate `layer`
    // calls would box (and clone, and free) each middleware on its own.
    let common = || {
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(middleware::request_context))
            .layer(axum::extract::DefaultBodyLimit::disable())
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                metrics::track,
            ))
    };
    let keyed = Router::new()
        .route("/", get(system::root).head(system::root))
        .route("/health", get(system::health))
        .route("/ready", get(system::ready))
        .route("/ping", get(system::ping).post(system::ping))
        .merge(observability)
        .merge(api.clone())
        .nest("/v1", api)
        .nest("/v1beta", gemini_api)
        .fallback(not_found)
        .layer(
            common()
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    auth::require_api_key,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    limits::limit_body,
                )),
        );
    // Pages that hold no data skip the key check (see `observability`).
    keyed.merge(open_pages.layer(common())).with_state(state)
}

/// `/metrics` (always), and in DEV mode only `/logs*`, `/openapi.json`, `/docs` and
/// `/redoc` (absent, hence 404, in PROD); `/admin/traffic*` in DEV, and in PROD with
/// `--proxy.enable-traffic-admin` (a 404 saying so while the traffic log is off). The first router sits behind the API key;
/// the second holds the two viewer pages (`/logs/html`, `/docs`/`/redoc`), which carry
/// no data and must open in a browser that cannot send a key header — their scripts
/// ask for the key and send it with every data request.
fn observability(state: &AppState) -> (Router<AppState>, Router<AppState>) {
    let mut keyed = Router::new().route("/metrics", get(metrics::scrape));
    let mut open = Router::new();
    if !state.config().proxy.is_prod() {
        keyed = keyed
            .merge(logs::data_routes(state))
            .merge(docs::data_routes());
        open = open
            .merge(logs::page_routes(state))
            .merge(docs::page_routes());
    }
    if state.config().proxy.traffic_admin() {
        keyed = keyed.merge(traffic::routes(state));
        open = open.merge(traffic::page_routes(state));
    }
    (keyed, open)
}

/// The complete service: path normalisation in front of the router. The outer router
/// only hosts the layer, so the rewrite happens before the inner one matches a route.
pub fn app(state: AppState) -> Router {
    let cors = cors::layer(&state.config().proxy);
    Router::new().fallback_service(router(state)).layer(
        ServiceBuilder::new()
            .layer(cors)
            .layer(axum::middleware::from_fn(middleware::normalize_path)),
    )
}

/// Unknown routes: a 404 in the dialect the path suggests.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    crate::dialect::error_response(
        uri.path(),
        &crate::error::ProxyError::NotFound(format!("no route for {}", uri.path())),
    )
}

/// Accept-queue length: bursts of hundreds of simultaneous connections (agents opening
/// many streams at once) must not overflow the kernel's default of 128.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `host:port` (every address `host` resolves to is tried in turn), turning
/// "address in use" into a clear message.
pub async fn bind(host: &str, port: u16) -> Result<TcpListener, ServeError> {
    let bind_error = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            ServeError::PortInUse {
                host: host.to_string(),
                port,
            }
        } else {
            ServeError::Bind {
                host: host.to_string(),
                port,
                source,
            }
        }
    };
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(bind_error)?;
    let mut last = None;
    for addr in addrs {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        };
        let attempt = socket.and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            s.listen(LISTEN_BACKLOG)
        });
        match attempt {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(bind_error(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            "the host name resolved to no address",
        )
    })))
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
/// and streams finish for up to `grace` ([`conn::serve`]: connection cap, header and
/// idle timeouts, panics caught).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: conn::Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<(), ServeError> {
    conn::serve(listener, app, limits, shutdown, grace).await;
    Ok(())
}

/// [`serve`] over TLS (`--proxy.use-https`): the same routes, limits, graceful shutdown
/// and client addresses, with handshakes done off the accept path ([`tls::TlsListener`]).
pub async fn serve_tls(
    listener: TcpListener,
    tls: std::sync::Arc<rustls::ServerConfig>,
    app: Router,
    limits: conn::Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<(), ServeError> {
    let listener = tls::TlsListener::new(listener, tls)?;
    conn::serve(listener, app, limits, shutdown, grace).await;
    Ok(())
}

/// A request extension that resolves once the server starts shutting down, so endless
/// responses (the live log stream) end instead of holding up the drain.
#[derive(Clone)]
pub(crate) struct ShuttingDown(tokio::sync::watch::Receiver<bool>);

impl ShuttingDown {
    /// Resolves when shutdown begins (or the server is gone).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
