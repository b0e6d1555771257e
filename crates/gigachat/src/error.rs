use std::time::Duration;

use crate::types::ErrorBody;

/// A failure talking to GigaChat. Never carries a URL, a token or a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// GigaChat answered with a non-success status.
    #[error("GigaChat returned HTTP {status}: {message}")]
    Api {
        status: u16,
        /// GigaChat's own message (`{"status","message"}` or `{"code","message"}` body),
        /// or a short excerpt of a non-JSON body.
        message: String,
        /// OAuth-host error code (`{"code":6,…}`), when present.
        code: Option<i64>,
        retry_after: Option<Duration>,
        /// The upstream `X-Request-Id`, the key for support tickets.
        request_id: Option<String>,
    },
    /// Obtaining an access token failed (the OAuth or `/token` endpoint said no).
    #[error("GigaChat authentication failed (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    /// No response (or no next stream chunk) within the configured timeout.
    #[error("GigaChat did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection could not be made or broke before a response arrived.
    #[error("cannot reach GigaChat: {0}")]
    Connect(String),
    /// The response stream broke off after it had started.
    #[error("GigaChat stream interrupted: {0}")]
    StreamInterrupted(String),
    /// GigaChat answered something this client cannot decode.
    #[error("unexpected answer from GigaChat: {0}")]
    Decode(String),
    /// The client configuration is unusable (bad URL, unreadable certificate…).
    #[error("GigaChat client configuration: {0}")]
    Config(String),
}

/// A low-cardinality label for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Api,
    Auth,
    Timeout,
    Connect,
    StreamInterrupted,
    Decode,
    Config,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Api => "api",
            ErrorKind::Auth => "auth",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::StreamInterrupted => "stream_interrupted",
            ErrorKind::Decode => "decode",
            ErrorKind::Config => "config",
        }
    }
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Api { .. } => ErrorKind::Api,
            Error::Auth { .. } => ErrorKind::Auth,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Connect(_) => ErrorKind::Connect,
            Error::StreamInterrupted(_) => ErrorKind::StreamInterrupted,
            Error::Decode(_) => ErrorKind::Decode,
            Error::Config(_) => ErrorKind::Config,
        }
    }

    /// The upstream HTTP status, for errors that have one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Auth { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Builds an [`Error::Api`] from a status, headers and body bytes.
    pub(crate) fn from_response(status: u16, headers: &http::HeaderMap, body: &[u8]) -> Self {
        let (message, code) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) if !b.message.is_empty() => (b.message, b.code),
            _ => (body_excerpt(body, status), None),
        };
        Error::Api {
            status,
            message,
            code,
            retry_after: retry_after(headers),
            request_id: header_str(headers, "x-request-id"),
        }
    }

    pub(crate) fn from_reqwest(err: reqwest::Error, timeout: Duration) -> Self {
        if err.is_timeout() {
            return Error::Timeout(timeout);
        }
        let err = err.without_url();
        if err.is_body() || err.is_decode() {
            return Error::StreamInterrupted(error_chain(&err));
        }
        Error::Connect(error_chain(&err))
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn body_excerpt(body: &[u8], status: u16) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error")
            .to_string();
    }
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

pub(crate) fn header_str(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` as delay-seconds (the HTTP-date form is converted relative to now).
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = raw.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(3600.0)));
        }
        return None;
    }
    httpdate_delay(raw)
}

/// The HTTP-date form (IMF-fixdate, RFC 850 or asctime) as a delay from now, at most an
/// hour; a date in the past is no delay.
fn httpdate_delay(raw: &str) -> Option<Duration> {
    let at = httpdate::parse_http_date(raw).ok()?;
    let delay = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(delay.min(Duration::from_secs(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_from_gigachat_body() {
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        h.insert("x-request-id", "rid-1".parse().unwrap());
        let e = Error::from_response(429, &h, br#"{"status":429,"message":"Too many requests"}"#);
        assert_eq!(e.status(), Some(429));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(
            e.to_string(),
            "GigaChat returned HTTP 429: Too many requests"
        );
        match e {
            Error::Api { request_id, .. } => assert_eq!(request_id.as_deref(), Some("rid-1")),
            _ => unreachable!(),
        }
    }

    #[test]
    fn non_json_body_is_excerpted() {
        let e = Error::from_response(502, &http::HeaderMap::new(), b"<html>Bad Gateway</html>");
        assert!(e.to_string().contains("<html>Bad Gateway</html>"));
        let e = Error::from_response(503, &http::HeaderMap::new(), b"");
        assert!(e.to_string().contains("Service Unavailable"));
    }

    #[test]
    fn retry_after_http_date_in_the_past_is_zero() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_http_date_in_the_future_is_the_delay_capped_at_an_hour() {
        let in_a_minute = std::time::SystemTime::now() + Duration::from_secs(61);
        let mut h = http::HeaderMap::new();
        h.insert(
            "retry-after",
            httpdate::fmt_http_date(in_a_minute).parse().unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(55) && d <= Duration::from_secs(61),
            "{d:?}"
        );
        let far = std::time::SystemTime::now() + Duration::from_secs(86_400);
        h.insert("retry-after", httpdate::fmt_http_date(far).parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3600)));
        h.insert("retry-after", "tomorrow".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
