use std::path::PathBuf;
use std::time::Duration;

use crate::Secret;

pub const DEFAULT_BASE_URL: &str = "https://gigachat.devices.sberbank.ru/api/v1";
pub const DEFAULT_AUTH_URL: &str = "https://ngw.devices.sberbank.ru:9443/api/v2/oauth";
pub const DEFAULT_SCOPE: &str = "GIGACHAT_API_PERS";

/// Everything the client needs; mirrors the official SDK's `GIGACHAT_*` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// API base, e.g. `https://gigachat.devices.sberbank.ru/api/v1`.
    pub base_url: String,
    /// OAuth endpoint for the authorization key.
    pub auth_url: String,
    /// Authorization key (`base64(client_id:client_secret)`).
    pub credentials: Option<Secret>,
    pub scope: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// A pre-issued access token; never expires client-side.
    pub access_token: Option<Secret>,
    /// Per-request timeout (connect, first byte, and gap between stream chunks).
    pub timeout: Duration,
    pub verify_ssl_certs: bool,
    pub ca_bundle_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub key_file_password: Option<Secret>,
    /// Cap on concurrent upstream requests (and so on open connections).
    pub max_connections: Option<usize>,
    pub max_retries: u32,
    pub retry_backoff_factor: f64,
    pub retry_on_status_codes: Vec<u16>,
    pub token_expiry_buffer_ms: u64,
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            auth_url: DEFAULT_AUTH_URL.to_string(),
            credentials: None,
            scope: DEFAULT_SCOPE.to_string(),
            user: None,
            password: None,
            access_token: None,
            timeout: Duration::from_secs(30),
            verify_ssl_certs: true,
            ca_bundle_file: None,
            cert_file: None,
            key_file: None,
            key_file_password: None,
            max_connections: None,
            max_retries: 0,
            retry_backoff_factor: 0.5,
            retry_on_status_codes: vec![429, 500, 502, 503, 504],
            token_expiry_buffer_ms: 60_000,
            user_agent: concat!("gpt2giga-rs/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}
