//! HTTPS (`--proxy.use-https` with `--proxy.https-cert-file` / `--proxy.https-key-file`)
//! through rustls.
//!
//! [`load`] reads the PEM certificate chain and private key (PKCS#8, PKCS#1 or SEC1) at
//! start-up and checks that they belong together; every failure names the file and
//! the flag. [`TlsListener`] is an [`axum::serve::Listener`]: a background task accepts
//! TCP connections and runs the TLS handshakes concurrently (each bounded by
//! [`HANDSHAKE_TIMEOUT`], at most [`MAX_HANDSHAKES`] at once), so a slow or silent
//! client never holds up the others, and the server hands out only finished TLS
//! streams. Graceful shutdown is the plain-HTTP one (`server::serve_tls`).

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client has this long to complete its handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at most; further connections wait to be accepted.
pub(crate) const MAX_HANDSHAKES: usize = 512;

/// Why HTTPS cannot start. Every message names the file and the setting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the HTTPS {what} file {path} ({flag}): {source}")]
    Read {
        what: &'static str,
        flag: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("the HTTPS {what} file {path} ({flag}) {problem}")]
    Invalid {
        what: &'static str,
        flag: &'static str,
        path: PathBuf,
        problem: String,
    },
    #[error(
        "the HTTPS private key {key} (--proxy.https-key-file) cannot be used with the certificate {cert} (--proxy.https-cert-file): {reason}"
    )]
    Mismatch {
        key: PathBuf,
        cert: PathBuf,
        reason: String,
    },
}

const CERT: (&str, &str) = (
    "certificate",
    "--proxy.https-cert-file / GPT2GIGA_HTTPS_CERT_FILE",
);
const KEY: (&str, &str) = (
    "private key",
    "--proxy.https-key-file / GPT2GIGA_HTTPS_KEY_FILE",
);

fn read(path: &Path, (what, flag): (&'static str, &'static str)) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        flag,
        path: path.to_path_buf(),
        source,
    })
}

fn invalid(path: &Path, (what, flag): (&'static str, &'static str), problem: String) -> TlsError {
    TlsError::Invalid {
        what,
        flag,
        path: path.to_path_buf(),
        problem,
    }
}

/// The rustls server configuration for a PEM certificate chain and private key
/// (ALPN: h2, http/1.1).
pub fn load(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let cert_pem = read(cert_file, CERT)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_file, CERT, format!("is not valid PEM: {e}")))?;
    if chain.is_empty() {
        return Err(invalid(
            cert_file,
            CERT,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let key_pem = read(key_file, KEY)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        invalid(
            key_file,
            KEY,
            format!("holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Mismatch {
            key: key_file.to_path_buf(),
            cert: cert_file.to_path_buf(),
            reason: e.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Mismatch {
            key: key_file.to_path_buf(),
            cert: cert_file.to_path_buf(),
            reason: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Finished TLS connections from a TCP listener (see the module docs).
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx));
        Ok(Self {
            ready,
            local,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // Stop accepting: the TCP listener closes with the task.
        self.acceptor.abort();
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off, as axum does.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if ready.is_closed() {
            return;
        }
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The acceptor stopped: nothing will ever come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = load(&missing, &missing).unwrap_err().to_string();
        assert!(
            e.contains("nope.pem") && e.contains("--proxy.https-cert-file"),
            "{e}"
        );

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let e = load(&garbage, &garbage).unwrap_err().to_string();
        assert!(
            e.contains("garbage.pem") && e.contains("no PEM certificate"),
            "{e}"
        );
    }
}
