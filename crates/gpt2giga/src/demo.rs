//! Demo mode: the proxy wired to an in-process GigaChat emulator, so a newcomer without a
//! GigaChat account gets real (emulated) answers from the first minute.
//!
//! The emulator comes with the `demo` cargo feature (on by default). A build without it
//! still knows `--demo`, and refuses it with a message saying so.

use std::net::SocketAddr;

use crate::config::Config;

/// What `--demo` answers in a build without the `demo` feature.
#[cfg(not(feature = "demo"))]
pub(crate) const NOT_BUILT: &str = "this build has no demo emulator; rebuild with the demo feature";

/// The running emulator of demo mode.
#[derive(Debug)]
pub struct Demo {
    #[cfg(feature = "demo")]
    mock: gigachat_mock::MockServer,
}

/// Starts the emulator on a random loopback port and points the GigaChat settings at it.
#[cfg(feature = "demo")]
pub async fn start(config: &mut Config) -> anyhow::Result<Demo> {
    use gigachat::Secret;
    use gigachat_mock::{MockConfig, MockServer};

    let mock = MockServer::start_with(MockConfig::default()).await?;
    let g = &mut config.gigachat;
    g.base_url = mock.base_url();
    g.auth_url = mock.auth_url();
    g.credentials = Some(Secret::new("ZGVtbzpkZW1v"));
    g.user = None;
    g.password = None;
    g.access_token = None;
    g.cert_file = None;
    g.key_file = None;
    g.verify_ssl_certs = true;
    g.ca_bundle_file = None;
    tracing::warn!(
        emulator = %mock.addr(),
        "DEMO MODE: answers come from the built-in GigaChat emulator, not from GigaChat"
    );
    Ok(Demo { mock })
}

/// Refuses demo mode: this build has no emulator.
#[cfg(not(feature = "demo"))]
pub async fn start(_config: &mut Config) -> anyhow::Result<Demo> {
    anyhow::bail!("--demo: {NOT_BUILT}")
}

impl Demo {
    /// Stops the emulator.
    pub async fn shutdown(self) {
        #[cfg(feature = "demo")]
        self.mock.shutdown().await;
    }
}

/// The loud start-up notice.
pub fn banner(proxy: SocketAddr) {
    let line = "=".repeat(72);
    tracing::warn!(
        "\n{line}\n  DEMO MODE — every answer comes from the built-in GigaChat EMULATOR.\n  No GigaChat account is used. Try:\n    curl http://{proxy}/v1/chat/completions -H 'Content-Type: application/json' \\\n      -d '{{\"model\":\"GigaChat\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hello\"}}]}}'\n{line}"
    );
}

#[cfg(all(test, not(feature = "demo")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn demo_is_refused_without_the_feature() {
        let mut config = Config::default();
        let err = start(&mut config).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "--demo: this build has no demo emulator; rebuild with the demo feature"
        );
    }
}
