//! [`MockServer`]: the emulator on a TCP port (TCP_NODELAY, graceful shutdown).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::MockConfig;
use crate::control::MockControl;
use crate::router::router;

/// How long `shutdown` waits for open connections before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running emulator. Dropping it stops the server (abruptly); prefer
/// [`MockServer::shutdown`] for a graceful stop.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    control: MockControl,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl MockServer {
    /// Starts on `127.0.0.1:0` with the default config.
    pub async fn start() -> io::Result<MockServer> {
        Self::start_with(MockConfig::default()).await
    }

    /// Starts on `127.0.0.1:0` with `cfg`.
    pub async fn start_with(cfg: MockConfig) -> io::Result<MockServer> {
        Self::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), cfg).await
    }

    /// Starts on `addr` (port 0 picks a free port) with `cfg`.
    pub async fn bind(addr: SocketAddr, cfg: MockConfig) -> io::Result<MockServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let control = MockControl::new(cfg);
        let app = router(control.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::trace!("gigachat-mock: TCP_NODELAY failed: {err}");
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(MockServer {
            addr,
            control,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// v1 API base: `http://HOST:PORT/api/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/api/v1", self.origin())
    }

    /// OAuth URL: `http://HOST:PORT/api/v2/oauth`.
    pub fn auth_url(&self) -> String {
        format!("{}/api/v2/oauth", self.origin())
    }

    /// v2 chat URL: `http://HOST:PORT/api/v2/chat/completions`.
    pub fn v2_chat_url(&self) -> String {
        format!("{}/api/v2/chat/completions", self.origin())
    }

    /// Control API root: `http://HOST:PORT/__mock`.
    pub fn control_url(&self) -> String {
        format!("{}/__mock", self.origin())
    }

    /// The control handle.
    pub fn control(&self) -> &MockControl {
        &self.control
    }

    /// Stops accepting, ends stalled streams and waits (up to 5 s) for open connections.
    pub async fn shutdown(mut self) {
        self.control.release_stalled_streams();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.control.release_stalled_streams();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
