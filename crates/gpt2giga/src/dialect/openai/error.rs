//! OpenAI error envelope: `{"error":{"message","type","param","code"}}`.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use crate::error::{ErrorClass, ProxyError};

/// OpenAI's error envelope (the `OpenAIError` schema of the API docs).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OpenAIError)]
pub(crate) struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OpenAIErrorBody)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// OpenAI's `type` and `code` for an error.
fn names(e: &ProxyError) -> (&'static str, Option<&'static str>) {
    match e.class() {
        ErrorClass::InvalidRequest => ("invalid_request_error", None),
        ErrorClass::Authentication => ("authentication_error", Some("invalid_api_key")),
        ErrorClass::Permission => ("permission_error", None),
        ErrorClass::NotFound => ("invalid_request_error", Some("not_found")),
        ErrorClass::TooLarge => ("invalid_request_error", Some("request_too_large")),
        ErrorClass::RateLimit => ("rate_limit_error", Some("rate_limit_exceeded")),
        ErrorClass::Overloaded => ("server_error", Some("overloaded")),
        ErrorClass::Timeout => ("server_error", Some("timeout")),
        ErrorClass::Api => ("server_error", None),
    }
}

/// The JSON body of an error (also used for in-stream error frames).
pub fn body(e: &ProxyError) -> Bytes {
    let message = e.client_message();
    let (kind, code) = names(e);
    let code = match e {
        ProxyError::Upstream(gigachat::Error::Api { status: 402, .. }) => {
            Some("insufficient_quota")
        }
        ProxyError::Unavailable(_) => Some("service_unavailable"),
        _ => code,
    };
    let env = Envelope {
        error: Body {
            message: &message,
            kind,
            param: e.param(),
            code,
        },
    };
    Bytes::from(serde_json::to_vec(&env).unwrap_or_default())
}

/// A complete HTTP error response in OpenAI's format.
pub fn response(e: &ProxyError) -> Response {
    crate::dialect::respond::error(e.status(), body(e), e)
}

/// Wrapper so handlers can `?` into an OpenAI-formatted error.
pub struct OpenAiError(pub ProxyError);

impl<E: Into<ProxyError>> From<E> for OpenAiError {
    fn from(e: E) -> Self {
        OpenAiError(e.into())
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        response(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{StatusCode, header};
    use std::time::Duration;

    #[test]
    fn envelope_shape() {
        let e = ProxyError::invalid_param("bad n", "n");
        let v: serde_json::Value = serde_json::from_slice(&body(&e)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error":{"message":"bad n","type":"invalid_request_error","param":"n","code":null}})
        );
    }

    #[test]
    fn rate_limit_keeps_retry_after() {
        let e = ProxyError::Upstream(gigachat::Error::Api {
            status: 429,
            message: "Too many requests".into(),
            code: None,
            retry_after: Some(Duration::from_millis(1500)),
            request_id: None,
        });
        let r = response(&e);
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
    }
}
