//! The proxy's error type. Errors are data until the edge: each dialect renders a
//! [`ProxyError`] in its own envelope (OpenAI `{"error":{…}}`, Anthropic
//! `{"type":"error",…}`) with the status from [`ProxyError::status`].

use std::time::Duration;

use http::StatusCode;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    /// The client sent something invalid (400). `param` names the offending field.
    #[error("{message}")]
    InvalidRequest {
        message: String,
        param: Option<String>,
    },
    /// Missing or wrong proxy API key / GigaChat identity (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Unknown resource (404).
    #[error("{0}")]
    NotFound(String),
    /// Body or attachment too large (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The proxy is saturated (429 with `Retry-After`).
    #[error("{message}")]
    Busy {
        message: String,
        retry_after: Duration,
    },
    /// GigaChat refused the proxy's **own** configured credentials (502): the
    /// deployment is misconfigured, not the caller's key.
    #[error("{0}")]
    UpstreamCredentials(String),
    /// A service the proxy needs for this request (the shared state store) is
    /// unreachable (503).
    #[error("{0}")]
    Unavailable(String),
    /// GigaChat failed or refused.
    #[error(transparent)]
    Upstream(#[from] gigachat::Error),
    /// A bug or an impossible state in the proxy itself (500).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Broad classes each dialect maps to its own error `type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    TooLarge,
    RateLimit,
    Overloaded,
    Api,
    Timeout,
}

impl ProxyError {
    /// The error as the proxy's own identity sees it: GigaChat refusing the configured
    /// credentials is the deployment's fault (502), never the caller's key (401).
    pub(crate) fn for_own_identity(self) -> Self {
        match self {
            ProxyError::Upstream(gigachat::Error::Auth { status, message })
                if (400..500).contains(&status) =>
            {
                ProxyError::UpstreamCredentials(format!(
                    "GigaChat rejected the proxy's own credentials (HTTP {status}: {message}). \
                     The proxy is misconfigured (check GIGACHAT_CREDENTIALS / GIGACHAT_SCOPE, \
                     GIGACHAT_USER / GIGACHAT_PASSWORD or GIGACHAT_ACCESS_TOKEN); your API key \
                     was not the problem."
                ))
            }
            other => other,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ProxyError::InvalidRequest {
            message: message.into(),
            param: None,
        }
    }

    pub(crate) fn invalid_param(message: impl Into<String>, param: impl Into<String>) -> Self {
        ProxyError::InvalidRequest {
            message: message.into(),
            param: Some(param.into()),
        }
    }

    /// The HTTP status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
            ProxyError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ProxyError::NotFound(_) => StatusCode::NOT_FOUND,
            ProxyError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ProxyError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::UpstreamCredentials(_) => StatusCode::BAD_GATEWAY,
            ProxyError::Upstream(e) => upstream_status(e),
        }
    }

    pub(crate) fn class(&self) -> ErrorClass {
        match self.status().as_u16() {
            400 | 422 => ErrorClass::InvalidRequest,
            401 => ErrorClass::Authentication,
            402 | 403 => ErrorClass::Permission,
            404 => ErrorClass::NotFound,
            413 => ErrorClass::TooLarge,
            429 => ErrorClass::RateLimit,
            503 => ErrorClass::Overloaded,
            504 => ErrorClass::Timeout,
            _ => ErrorClass::Api,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProxyError::Busy { retry_after, .. } => Some(*retry_after),
            ProxyError::Unavailable(_) => Some(Duration::from_secs(2)),
            ProxyError::Upstream(e) => e.retry_after(),
            _ => None,
        }
    }

    pub fn param(&self) -> Option<&str> {
        match self {
            ProxyError::InvalidRequest { param, .. } => param.as_deref(),
            _ => None,
        }
    }

    /// The message shown to the client: never a URL, token or credential.
    pub(crate) fn client_message(&self) -> String {
        match self {
            ProxyError::Upstream(e) => upstream_message(e),
            other => other.to_string(),
        }
    }
}

/// Upstream failures keep their meaning: 4xx stay 4xx, 429 stays 429, server-side
/// trouble becomes 502/503/504.
fn upstream_status(e: &gigachat::Error) -> StatusCode {
    use gigachat::Error as E;
    match e {
        E::Api { status, .. } => match *status {
            400 | 401 | 402 | 403 | 404 | 409 | 413 | 422 | 429 => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            503 => StatusCode::SERVICE_UNAVAILABLE,
            504 => StatusCode::GATEWAY_TIMEOUT,
            s if (400..500).contains(&s) => StatusCode::BAD_REQUEST,
            _ => StatusCode::BAD_GATEWAY,
        },
        E::Auth { status, .. } if (400..500).contains(status) => StatusCode::UNAUTHORIZED,
        E::Auth { .. } => StatusCode::BAD_GATEWAY,
        E::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        E::Connect(_) | E::StreamInterrupted(_) | E::Decode(_) => StatusCode::BAD_GATEWAY,
        E::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn upstream_message(e: &gigachat::Error) -> String {
    use gigachat::Error as E;
    match e {
        E::Api {
            status,
            message,
            request_id,
            ..
        } => match request_id {
            Some(id) => format!("GigaChat error {status}: {message} (upstream request id {id})"),
            None => format!("GigaChat error {status}: {message}"),
        },
        E::Auth { message, .. } => {
            format!("GigaChat rejected the credentials: {message}")
        }
        E::Timeout(d) => format!("GigaChat did not answer within {}s", d.as_secs_f64()),
        E::Connect(m) => format!("cannot reach GigaChat: {m}"),
        E::StreamInterrupted(m) => format!("the GigaChat stream broke off: {m}"),
        E::Decode(m) => format!("unexpected answer from GigaChat: {m}"),
        E::Config(_) => "the proxy's GigaChat client is misconfigured".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> ProxyError {
        ProxyError::Upstream(gigachat::Error::Api {
            status,
            message: "m".into(),
            code: None,
            retry_after: Some(Duration::from_secs(3)),
            request_id: None,
        })
    }

    #[test]
    fn upstream_statuses_keep_their_meaning() {
        for (up, down) in [
            (400, 400),
            (401, 401),
            (402, 402),
            (403, 403),
            (404, 404),
            (413, 413),
            (422, 422),
            (429, 429),
            (500, 502),
            (502, 502),
            (503, 503),
            (504, 504),
            (418, 400),
        ] {
            assert_eq!(api(up).status().as_u16(), down, "upstream {up}");
        }
        assert_eq!(api(429).retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            ProxyError::Upstream(gigachat::Error::Timeout(Duration::from_secs(1)))
                .status()
                .as_u16(),
            504
        );
    }
}
