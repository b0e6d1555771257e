//! Anthropic error envelope: `{"type":"error","error":{"type","message"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use crate::error::{ErrorClass, ProxyError};

/// Anthropic's error envelope (the `AnthropicError` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AnthropicError)]
pub(crate) struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: Body<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AnthropicErrorBody)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

/// Anthropic's error `type` (the SDKs pick their exception class from the status;
/// `overloaded_error` makes them retry).
fn kind(e: &ProxyError) -> &'static str {
    match e.class() {
        ErrorClass::InvalidRequest => "invalid_request_error",
        ErrorClass::Authentication => "authentication_error",
        ErrorClass::Permission => "permission_error",
        ErrorClass::NotFound => "not_found_error",
        ErrorClass::TooLarge => "request_too_large",
        ErrorClass::RateLimit => "rate_limit_error",
        ErrorClass::Overloaded => "overloaded_error",
        ErrorClass::Timeout | ErrorClass::Api => "api_error",
    }
}

pub fn body(e: &ProxyError) -> Bytes {
    let message = with_param(e.client_message(), e.param());
    let env = Envelope {
        kind: "error",
        error: Body {
            kind: kind(e),
            message: &message,
        },
    };
    Bytes::from(serde_json::to_vec(&env).unwrap_or_default())
}

/// Anthropic's envelope has no `param`: the field goes in front of the message, as the
/// Anthropic API writes it (`messages[0].content[1].text: Field required`).
fn with_param(message: String, param: Option<&str>) -> String {
    let Some(param) = param.filter(|p| !p.is_empty() && !message.contains(*p)) else {
        return message;
    };
    let last = param.rsplit(['.', '[']).next().unwrap_or(param);
    let rest = message
        .strip_prefix(last)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(&message);
    format!("{param}: {rest}")
}

pub fn response(e: &ProxyError) -> Response {
    // Anthropic's overload status is 529; GigaChat's 503 maps there so the SDKs retry.
    let status = match e.class() {
        ErrorClass::Overloaded => {
            StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
        }
        _ => e.status(),
    };
    crate::dialect::respond::error(status, body(e), e)
}

pub struct AnthropicError(pub ProxyError);

impl<E: Into<ProxyError>> From<E> for AnthropicError {
    fn from(e: E) -> Self {
        AnthropicError(e.into())
    }
}

impl IntoResponse for AnthropicError {
    fn into_response(self) -> Response {
        response(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_leads_the_message() {
        let m = |msg: &str, p: Option<&str>| with_param(msg.to_string(), p);
        assert_eq!(
            m("text: Field required", Some("messages[0].content[1].text")),
            "messages[0].content[1].text: Field required"
        );
        assert_eq!(
            m("unknown role", Some("messages[2].role")),
            "messages[2].role: unknown role"
        );
        assert_eq!(
            m("bad `messages[1]`", Some("messages[1]")),
            "bad `messages[1]`"
        );
        assert_eq!(m("no param", None), "no param");
    }
    use axum::http::header;

    #[test]
    fn envelope_and_statuses() {
        let e = ProxyError::invalid("bad");
        let v: serde_json::Value = serde_json::from_slice(&body(&e)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"error","error":{"type":"invalid_request_error","message":"bad"}})
        );
        let over = ProxyError::Upstream(gigachat::Error::Api {
            status: 503,
            message: "busy".into(),
            code: None,
            retry_after: None,
            request_id: None,
        });
        assert_eq!(response(&over).status().as_u16(), 529);
        let rl = ProxyError::Upstream(gigachat::Error::Api {
            status: 429,
            message: "slow down".into(),
            code: None,
            retry_after: None,
            request_id: None,
        });
        let r = response(&rl);
        assert_eq!(r.status().as_u16(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }
}
