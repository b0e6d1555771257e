//! Access tokens: where they come from, how long they live, and a cache that refreshes
//! them single-flight (one token request however many callers find the token stale).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use base64::Engine;
use http::HeaderValue;

use crate::error::header_str;
use crate::types::{ErrorBody, TokenResponse};
use crate::{Error, Secret};

/// Where fresh tokens come from.
#[derive(Debug, Clone)]
pub(crate) enum TokenSource {
    /// Authorization key + scope against the OAuth endpoint.
    OAuth {
        url: String,
        credentials: Secret,
        scope: String,
    },
    /// Basic user:password against `{base}/token`.
    Password {
        url: String,
        user: String,
        password: Secret,
    },
    /// No way to get a token: only a pre-issued one (or none, for mTLS).
    Fixed,
}

/// A usable access token with its pre-built `Authorization` header.
#[derive(Debug)]
pub(crate) struct Token {
    /// Unix ms; 0 = never expires (a pre-issued token).
    expires_at_ms: i64,
    pub(crate) header: HeaderValue,
}

impl Token {
    fn new(token: &str, expires_at_ms: i64) -> Result<Self, Error> {
        let mut header = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Error::Decode("access token is not a valid header value".into()))?;
        header.set_sensitive(true);
        Ok(Self {
            expires_at_ms,
            header,
        })
    }

    fn usable(&self, buffer_ms: u64) -> bool {
        self.expires_at_ms == 0
            || self.expires_at_ms > now_ms().saturating_add(buffer_ms.min(i64::MAX as u64) as i64)
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) struct TokenCache {
    current: ArcSwapOption<Token>,
    refresh: tokio::sync::Mutex<()>,
    source: TokenSource,
    buffer_ms: u64,
    fetches: AtomicU64,
    family: Arc<AtomicU64>,
    /// The outcome of the last fetch that was refused (status, message) and its
    /// number: callers that waited behind that fetch share its refusal instead of
    /// each asking again.
    refused: std::sync::Mutex<Option<(u64, u16, String)>>,
    /// Fetches finished so far (numbers the refusals).
    finished: AtomicU64,
    /// A per-caller identity (derived client): refusals are the caller's business and
    /// are logged at `warn`; the configured identity's at `error`.
    derived: bool,
}

impl TokenCache {
    /// `family` counts the token requests of this cache and of its relatives (the
    /// per-identity caches of clients derived from one client).
    pub(crate) fn new(
        source: TokenSource,
        initial: Option<&Secret>,
        buffer_ms: u64,
        family: Arc<AtomicU64>,
        derived: bool,
    ) -> Result<Self, Error> {
        let current = match initial {
            Some(t) => Some(Arc::new(Token::new(t.expose(), 0)?)),
            None => None,
        };
        Ok(Self {
            current: ArcSwapOption::new(current),
            refresh: tokio::sync::Mutex::new(()),
            source,
            buffer_ms,
            fetches: AtomicU64::new(0),
            family,
            refused: std::sync::Mutex::new(None),
            finished: AtomicU64::new(0),
            derived,
        })
    }

    /// Whether a rejected token can be replaced by a fresh one.
    pub(crate) fn can_refresh(&self) -> bool {
        !matches!(self.source, TokenSource::Fixed)
    }

    /// The family counter, for a derived cache.
    pub(crate) fn family(&self) -> Arc<AtomicU64> {
        self.family.clone()
    }

    /// Token requests of the whole family so far.
    pub(crate) fn family_fetches(&self) -> u64 {
        self.family.load(Ordering::Relaxed)
    }

    /// Number of token requests made so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A usable token, fetching one if needed. Concurrent callers share one fetch.
    pub(crate) async fn get(
        &self,
        http: &reqwest::Client,
        user_agent: &str,
        timeout: Duration,
    ) -> Result<Option<Arc<Token>>, Error> {
        if let Some(t) = self.current.load_full() {
            if t.usable(self.buffer_ms) || !self.can_refresh() {
                return Ok(Some(t));
            }
        } else if !self.can_refresh() {
            return Ok(None);
        }
        let before = self.finished.load(Ordering::Acquire);
        let _guard = self.refresh.lock().await;
        // Double check: whoever held the lock before us may have refreshed already.
        if let Some(t) = self.current.load_full()
            && t.usable(self.buffer_ms)
        {
            return Ok(Some(t));
        }
        // ... or been refused while we waited: share that answer (one token request
        // and one log line per refresh, not per waiting request).
        if let Ok(refused) = self.refused.lock()
            && let Some((n, status, message)) = refused.as_ref()
            && *n > before
        {
            return Err(Error::Auth {
                status: *status,
                message: message.clone(),
            });
        }
        let result = self.fetch(http, user_agent, timeout).await;
        let n = self.finished.fetch_add(1, Ordering::AcqRel) + 1;
        match result {
            Ok(t) => {
                let fresh = Arc::new(t);
                self.current.store(Some(fresh.clone()));
                if let Ok(mut r) = self.refused.lock() {
                    *r = None;
                }
                Ok(Some(fresh))
            }
            Err(e) => {
                if let Error::Auth { status, message } = &e
                    && let Ok(mut r) = self.refused.lock()
                {
                    *r = Some((n, *status, message.clone()));
                }
                Err(e)
            }
        }
    }

    /// Drops `rejected` (after a 401) unless another caller already replaced it.
    pub(crate) fn invalidate(&self, rejected: &Arc<Token>) {
        let _ = self
            .current
            .compare_and_swap(&Some(rejected.clone()), None::<Arc<Token>>);
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        user_agent: &str,
        timeout: Duration,
    ) -> Result<Token, Error> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        self.family.fetch_add(1, Ordering::Relaxed);
        let request = match &self.source {
            TokenSource::OAuth {
                url,
                credentials,
                scope,
            } => {
                let mut auth = HeaderValue::try_from(format!("Basic {}", credentials.expose()))
                    .map_err(|_| {
                        Error::Config("credentials are not a valid header value".into())
                    })?;
                auth.set_sensitive(true);
                http.post(url)
                    .header(http::header::AUTHORIZATION, auth)
                    .header("RqUID", uuid::Uuid::new_v4().to_string())
                    .header(http::header::ACCEPT, "application/json")
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(format!("scope={}", form_encode(scope)))
            }
            TokenSource::Password {
                url,
                user,
                password,
            } => {
                let basic = base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{}", password.expose()));
                let mut auth = HeaderValue::try_from(format!("Basic {basic}"))
                    .map_err(|_| Error::Config("user/password are not a valid header".into()))?;
                auth.set_sensitive(true);
                http.post(url)
                    .header(http::header::AUTHORIZATION, auth)
                    .header(http::header::CONTENT_LENGTH, "0")
            }
            TokenSource::Fixed => {
                return Err(Error::Auth {
                    status: 401,
                    message: "the access token was rejected and no credentials are configured to get a new one".into(),
                });
            }
        };
        let response = request
            .header(http::header::USER_AGENT, user_agent)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| Error::from_reqwest(e, timeout))?;
        let status = response.status().as_u16();
        let request_id = header_str(response.headers(), "x-request-id");
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(e, timeout))?;
        if !(200..300).contains(&status) {
            let message = match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(b) if !b.message.is_empty() => match b.code {
                    Some(code) => format!("{} (code {code})", b.message),
                    None => b.message,
                },
                _ => String::from_utf8_lossy(&body).chars().take(200).collect(),
            };
            if self.derived {
                tracing::warn!(status, request_id, error = %message, "GigaChat refused a caller's identity (token request failed)");
            } else {
                tracing::error!(status, request_id, error = %message, "GigaChat refused the configured credentials (token request failed)");
            }
            return Err(Error::Auth { status, message });
        }
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| Error::Decode(format!("token response: {e}")))?;
        tracing::debug!(
            expires_at_ms = parsed.expires_at_ms(),
            "GigaChat token refreshed"
        );
        Token::new(parsed.token(), parsed.expires_at_ms())
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_honours_the_buffer() {
        let soon = Token::new("t", now_ms() + 30_000).unwrap();
        assert!(soon.usable(10_000));
        assert!(!soon.usable(60_000));
        assert!(Token::new("t", 0).unwrap().usable(u64::MAX));
    }

    #[test]
    fn scope_is_form_encoded() {
        assert_eq!(form_encode("GIGACHAT_API_PERS"), "GIGACHAT_API_PERS");
        assert_eq!(form_encode("a b&c"), "a+b%26c");
    }
}
