//! Demo mode: the proxy wired to an in-process GigaChat emulator, so a newcomer without a
//! GigaChat account gets real (emulated) answers from the first minute.

use std::net::SocketAddr;

use gigachat::Secret;
use gigachat_mock::{MockConfig, MockServer};

use crate::config::Config;

/// Starts the emulator on a random loopback port and points the GigaChat settings at it.
pub async fn start(config: &mut Config) -> anyhow::Result<MockServer> {
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
    Ok(mock)
}

/// The loud start-up notice.
pub fn banner(proxy: SocketAddr) {
    let line = "=".repeat(72);
    tracing::warn!(
        "\n{line}\n  DEMO MODE — every answer comes from the built-in GigaChat EMULATOR.\n  No GigaChat account is used. Try:\n    curl http://{proxy}/v1/chat/completions -H 'Content-Type: application/json' \\\n      -d '{{\"model\":\"GigaChat\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hello\"}}]}}'\n{line}"
    );
}
