//! Whose GigaChat account a request uses: the proxy's own, or — with
//! `--proxy.pass-token` — the caller's.
//!
//! # The pass-token rules
//!
//! A caller names its GigaChat identity with one of three values (the Python gpt2giga's
//! spelling):
//!
//! * `giga-cred-<authorization key>[:<scope>]` — an authorization key and its OAuth
//!   scope (default `GIGACHAT_API_PERS`, as in Python);
//! * `giga-auth-<access token>` — a pre-issued access token (never refreshed);
//! * `giga-user-<user>:<password>` — user and password (the password may contain `:`).
//!
//! `server::auth` reads it from `Authorization: Bearer giga-…`, or, when `Authorization`
//! carries none, from the `x-api-key` header (where Anthropic SDKs put their key). It
//! is never read from the query string (URLs end up in logs). Then:
//!
//! 1. a `giga-…` value that does not parse is a 401 — never a fall-back;
//! 2. without one, the proxy's own credentials are used only when the request has no
//!    `Authorization` header, or its bearer is one of the proxy's API keys;
//! 3. any other `Authorization` (a raw key without the `giga-` prefix, `Bearer unused`,
//!    a Basic header) is a 401 naming the expected forms.
//!
//! GigaChat's own verdict on the identity (the token endpoint refuses it, or GigaChat
//! answers 401) reaches the caller as a 401 as well: a per-caller client has no other
//! credentials to fall back to.
//!
//! # The pool
//!
//! [`ClientPool`] keeps one [`gigachat::Client`] per identity (so each keeps its token
//! cache), all sharing the proxy's certificate-free connection pool
//! ([`gigachat::Client::with_credentials`]). It holds at most `capacity` identities,
//! evicting the least recently used, and forgets an identity after `idle_ttl` without a
//! request. Entries are keyed by a salted SHA-256 of the identity; the secret itself
//! lives only inside the client ([`gigachat::Secret`]), and logs show a short
//! fingerprint ([`Owner`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gigachat::{Credentials, Secret};
use moka::policy::EvictionPolicy;
use sha2::{Digest, Sha256};

use super::limiter::{Cap, Slot};
use crate::error::ProxyError;

/// Identities kept at most.
pub(crate) const POOL_CAPACITY: usize = 256;
/// An identity unused this long is forgotten (its token with it).
pub(crate) const POOL_IDLE_TTL: Duration = Duration::from_secs(600);

const CRED: &str = "giga-cred-";
const AUTH: &str = "giga-auth-";
const USER: &str = "giga-user-";
/// Anything starting with this is meant as a GigaChat identity, never as a proxy key.
pub(crate) const PREFIX: &str = "giga-";

/// The forms, for error messages.
pub(crate) const FORMS: &str = "giga-cred-<authorization key>[:<scope>], giga-auth-<access token> or giga-user-<user>:<password>";

/// A GigaChat identity sent by the caller.
#[derive(Clone, PartialEq)]
pub enum PassToken {
    Credentials { key: Secret, scope: String },
    AccessToken(Secret),
    UserPassword { user: String, password: Secret },
}

impl fmt::Debug for PassToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassToken::Credentials { scope, .. } => write!(f, "giga-cred-***:{scope}"),
            PassToken::AccessToken(_) => f.write_str("giga-auth-***"),
            PassToken::UserPassword { .. } => f.write_str("giga-user-***"),
        }
    }
}

impl PassToken {
    /// Parses a `giga-…` value. `None` when `value` does not start with `giga-`; the
    /// error names what is wrong, never the value.
    pub fn parse(value: &str) -> Option<Result<PassToken, String>> {
        if !value.starts_with(PREFIX) {
            return None;
        }
        Some(Self::parse_prefixed(value))
    }

    fn parse_prefixed(value: &str) -> Result<PassToken, String> {
        if let Some(rest) = value.strip_prefix(CRED) {
            let mut parts = rest.split(':');
            let key = parts.next().unwrap_or_default();
            let scope = parts.next();
            if parts.next().is_some() {
                return Err("giga-cred- takes <authorization key>[:<scope>]: too many ':'".into());
            }
            if !is_token(key, 4096) {
                return Err(
                    "giga-cred- needs a non-empty authorization key of printable ASCII characters"
                        .into(),
                );
            }
            let scope = match scope {
                None => gigachat::DEFAULT_SCOPE.to_string(),
                Some(s)
                    if !s.is_empty()
                        && s.len() <= 64
                        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
                {
                    s.to_string()
                }
                Some(_) => {
                    return Err(
                        "giga-cred- scope must be a word like GIGACHAT_API_PERS, GIGACHAT_API_B2B or GIGACHAT_API_CORP"
                            .into(),
                    );
                }
            };
            return Ok(PassToken::Credentials {
                key: Secret::new(key),
                scope,
            });
        }
        if let Some(token) = value.strip_prefix(AUTH) {
            if !is_token(token, 16384) {
                return Err(
                    "giga-auth- needs a non-empty access token of printable ASCII characters"
                        .into(),
                );
            }
            return Ok(PassToken::AccessToken(Secret::new(token)));
        }
        if let Some(rest) = value.strip_prefix(USER) {
            let Some((user, password)) = rest.split_once(':') else {
                return Err("giga-user- takes <user>:<password>".into());
            };
            let printable = |s: &str, max: usize| {
                !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control)
            };
            if !printable(user, 256) || !printable(password, 1024) {
                return Err(
                    "giga-user- needs a non-empty user and password without control characters"
                        .into(),
                );
            }
            return Ok(PassToken::UserPassword {
                user: user.to_string(),
                password: Secret::new(password),
            });
        }
        Err(format!("unknown giga- prefix: expected {FORMS}"))
    }

    fn credentials(&self) -> Credentials {
        match self {
            PassToken::Credentials { key, scope } => Credentials::AuthorizationKey {
                key: key.clone(),
                scope: scope.clone(),
            },
            PassToken::AccessToken(t) => Credentials::AccessToken(t.clone()),
            PassToken::UserPassword { user, password } => Credentials::UserPassword {
                user: user.clone(),
                password: password.clone(),
            },
        }
    }

    /// Salted SHA-256 over the kind and every field (length-prefixed).
    fn fingerprint(&self, salt: &[u8]) -> Fingerprint {
        let (kind, fields): (&str, [&str; 2]) = match self {
            PassToken::Credentials { key, scope } => ("cred", [key.expose(), scope]),
            PassToken::AccessToken(t) => ("auth", [t.expose(), ""]),
            PassToken::UserPassword { user, password } => ("user", [user, password.expose()]),
        };
        let mut h = Sha256::new();
        h.update(salt);
        for f in std::iter::once(kind).chain(fields) {
            h.update((f.len() as u64).to_le_bytes());
            h.update(f.as_bytes());
        }
        Fingerprint(h.finalize().into())
    }
}

/// Non-empty, at most `max` bytes, printable ASCII without spaces (a header-safe token).
fn is_token(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A salted hash of a caller's identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Fingerprint {
    /// The first 4 bytes in hex: enough to tell callers apart in logs, useless to guess
    /// a secret from (the hash is salted per process).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Whose GigaChat account a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The proxy's own configured credentials.
    Server,
    /// A caller's pass-token identity.
    Caller(Fingerprint),
}

impl Owner {
    /// A stable key for state that belongs to this owner (the full fingerprint, unlike
    /// the short one shown in logs).
    pub fn key(&self) -> String {
        match self {
            Owner::Server => "server".to_string(),
            Owner::Caller(fp) => {
                use std::fmt::Write;
                let mut out = String::with_capacity(64);
                for b in fp.0 {
                    let _ = write!(out, "{b:02x}");
                }
                out
            }
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Server => f.write_str("server"),
            Owner::Caller(fp) => write!(f, "pass-token:{fp}"),
        }
    }
}

/// Per-identity GigaChat clients (see the module docs).
pub(crate) struct ClientPool {
    base: gigachat::Client,
    salt: [u8; 16],
    /// Bounded (least recently used goes first) and forgetting idle identities.
    clients: moka::sync::Cache<Fingerprint, gigachat::Client>,
}

impl ClientPool {
    #[cfg(test)]
    pub fn new(base: gigachat::Client, capacity: usize, idle_ttl: Duration) -> Self {
        Self::with_salt(base, capacity, idle_ttl, *uuid::Uuid::new_v4().as_bytes())
    }

    /// A pool whose fingerprints use `salt`: replicas that share state (and so must
    /// agree on who owns what) derive the same salt from their shared configuration.
    pub(crate) fn with_salt(
        base: gigachat::Client,
        capacity: usize,
        idle_ttl: Duration,
        salt: [u8; 16],
    ) -> Self {
        let clients = moka::sync::Cache::builder()
            .max_capacity(u64::try_from(capacity.max(1)).unwrap_or(u64::MAX))
            .eviction_policy(EvictionPolicy::lru())
            .time_to_idle(idle_ttl)
            .build();
        Self {
            base,
            salt,
            clients,
        }
    }

    /// The salt replicas sharing `state_url` agree on: a hash of the URL (which holds
    /// the Redis password when there is one), so it is stable across replicas and not
    /// guessable without the deployment's configuration.
    pub(crate) fn shared_salt(state_url: &str) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(b"gpt2giga/owner-salt/v1\0");
        h.update(state_url.as_bytes());
        let d = h.finalize();
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&d[..16]);
        salt
    }

    /// The client for `token`, made on first use (or after it idled out); concurrent
    /// first uses of one identity make one client.
    pub fn get(&self, token: &PassToken) -> Result<(Fingerprint, gigachat::Client), ProxyError> {
        let fp = token.fingerprint(&self.salt);
        let entry = self
            .clients
            .entry(fp)
            .or_try_insert_with(|| self.base.with_credentials(token.credentials()))
            .map_err(|e| ProxyError::Unauthorized(format!("unusable GigaChat identity: {e}")))?;
        if entry.is_fresh() {
            // Evict now rather than on a later call, so the bound holds promptly and
            // recency is recorded in order (new identities are rare).
            self.clients.run_pending_tasks();
            tracing::debug!(identity = %fp, pooled = self.clients.entry_count(), "new GigaChat client for a pass-token identity");
        }
        Ok((fp, entry.into_value()))
    }

    /// Identities currently kept.
    pub fn len(&self) -> usize {
        self.clients.run_pending_tasks();
        usize::try_from(self.clients.entry_count()).unwrap_or(usize::MAX)
    }
}

/// The GigaChat side of one request: the client to call, whose account it is, and the
/// per-model concurrency cap (when configured).
#[derive(Clone)]
pub struct Upstream {
    client: gigachat::Client,
    owner: Owner,
    limiter: Option<Arc<Cap<(Owner, String)>>>,
}

impl Upstream {
    pub fn new(
        client: gigachat::Client,
        owner: Owner,
        limiter: Option<Arc<Cap<(Owner, String)>>>,
    ) -> Self {
        Self {
            client,
            owner,
            limiter,
        }
    }

    pub fn client(&self) -> &gigachat::Client {
        &self.client
    }

    pub fn owner(&self) -> Owner {
        self.owner
    }

    /// Gives an upstream failure its meaning for this identity: a refused pass-token
    /// identity stays the caller's 401, a refused server identity is a 502
    /// ([`ProxyError::for_own_identity`]).
    pub fn error(&self, e: ProxyError) -> ProxyError {
        match self.owner {
            Owner::Server => e.for_own_identity(),
            Owner::Caller(_) => e,
        }
    }

    /// A slot for one GigaChat request to `model` (`None` when no cap is configured):
    /// waits in the bounded queue, or fails with 429 and `Retry-After`.
    pub async fn slot(&self, model: &str) -> Result<Option<Slot>, ProxyError> {
        match &self.limiter {
            None => Ok(None),
            Some(l) => {
                let shared_key = format!("{}:{model}", self.owner.key());
                l.acquire((self.owner, model.to_string()), &shared_key, model)
                    .await
                    .map(Some)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<PassToken, String> {
        PassToken::parse(v).unwrap()
    }

    fn ok(v: &str) -> PassToken {
        parse(v).unwrap()
    }

    #[test]
    fn parses_the_three_forms_like_python() {
        assert_eq!(
            ok("giga-cred-QUJD:GIGACHAT_API_CORP"),
            PassToken::Credentials {
                key: Secret::new("QUJD"),
                scope: "GIGACHAT_API_CORP".into()
            }
        );
        assert_eq!(
            ok("giga-cred-QUJD=="),
            PassToken::Credentials {
                key: Secret::new("QUJD=="),
                scope: "GIGACHAT_API_PERS".into()
            }
        );
        assert_eq!(
            ok("giga-auth-eyJ.abc-_"),
            PassToken::AccessToken(Secret::new("eyJ.abc-_"))
        );
        assert_eq!(
            ok("giga-user-alice:pa:ss"),
            PassToken::UserPassword {
                user: "alice".into(),
                password: Secret::new("pa:ss")
            }
        );
        assert!(PassToken::parse("sk-123").is_none());
        assert!(PassToken::parse("").is_none());
    }

    #[test]
    fn malformed_values_are_errors_that_never_echo_the_secret() {
        for bad in [
            "giga-cred-",
            "giga-cred-:GIGACHAT_API_PERS",
            "giga-cred-KEY:",
            "giga-cred-KEY:a:b",
            "giga-cred-KEY:bad scope",
            "giga-cred-K EY",
            "giga-auth-",
            "giga-auth-tok en",
            "giga-user-alice",
            "giga-user-:pw",
            "giga-user-alice:",
            "giga-user-al\u{7}ice:pw",
            "giga-token-x",
            "giga-",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.contains("KEY") && !e.contains("alice"), "{bad}: {e}");
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let t = parse("giga-user-alice:hunter2").unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
        let t = parse("giga-cred-SECRETKEY").unwrap();
        assert!(!format!("{t:?}").contains("SECRETKEY"));
    }

    fn pool(capacity: usize, ttl: Duration) -> ClientPool {
        let base = gigachat::Client::new(gigachat::ClientConfig {
            base_url: "http://127.0.0.1:9/api/v1".into(),
            ..Default::default()
        })
        .unwrap();
        ClientPool::new(base, capacity, ttl)
    }

    #[test]
    fn pool_reuses_clients_and_evicts_the_least_recently_used() {
        let p = pool(2, Duration::from_secs(60));
        let a = parse("giga-auth-A").unwrap();
        let b = parse("giga-auth-B").unwrap();
        let c = parse("giga-auth-C").unwrap();
        let (fa, ca) = p.get(&a).unwrap();
        let (fa2, ca2) = p.get(&a).unwrap();
        assert_eq!(fa, fa2);
        // Same client: same token cache.
        assert!(std::ptr::eq(ca.config(), ca2.config()));
        let (fb, _) = p.get(&b).unwrap();
        assert_ne!(fa, fb);
        // Touch A, then C evicts B (the least recently used).
        p.get(&a).unwrap();
        p.get(&c).unwrap();
        assert_eq!(p.len(), 2);
        let (_, ca3) = p.get(&a).unwrap();
        assert!(std::ptr::eq(ca.config(), ca3.config()));
        let (_, cb2) = p.get(&b).unwrap();
        assert_eq!(cb2.config().access_token.as_ref().unwrap().expose(), "B");
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn pool_forgets_idle_identities() {
        let p = pool(8, Duration::from_millis(0));
        let a = parse("giga-auth-A").unwrap();
        let (_, c1) = p.get(&a).unwrap();
        let (_, c2) = p.get(&a).unwrap();
        assert!(!std::ptr::eq(c1.config(), c2.config()));
    }

    #[test]
    fn fingerprints_are_salted_and_distinguish_fields() {
        let p1 = pool(8, Duration::from_secs(60));
        let p2 = pool(8, Duration::from_secs(60));
        let a = parse("giga-cred-K:GIGACHAT_API_PERS").unwrap();
        let b = parse("giga-cred-K:GIGACHAT_API_CORP").unwrap();
        assert_ne!(a.fingerprint(&p1.salt), b.fingerprint(&p1.salt));
        assert_ne!(a.fingerprint(&p1.salt), a.fingerprint(&p2.salt));
        assert_eq!(a.fingerprint(&p1.salt), a.fingerprint(&p1.salt));
        assert_eq!(
            Owner::Caller(a.fingerprint(&p1.salt)).to_string().len(),
            "pass-token:".len() + 8
        );
    }
}
