//! Client dialects. Each one translates its wire format to and from [`crate::ir`] and
//! renders errors in its own envelope. Dialects do no I/O (architecture invariant 2):
//! the `handlers` files wire them to [`crate::upstream`]. Each dialect has one answer
//! [`encoder::Encoder`] that yields both its stream and its JSON answer.

pub mod anthropic;
pub mod encoder;
pub mod files;
pub mod gemini;
pub mod openai;
pub mod openai_responses;
pub mod respond;
pub mod schemas;
pub mod sse;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::ProxyError;

/// An error response in the dialect a path belongs to (Anthropic for `/messages…`,
/// Gemini for `/v1beta…` and model methods, OpenAI otherwise), for errors raised before
/// a handler runs.
pub(crate) fn error_response(path: &str, e: &ProxyError) -> axum::response::Response {
    if is_anthropic_path(path) {
        anthropic::error::response(e)
    } else if is_gemini_path(path) {
        gemini::error::response(e)
    } else {
        openai::error::response(e)
    }
}

/// [`error_response`] for a request whose headers are known: on the paths dialects
/// share the headers name the dialect (Anthropic's Files API; Gemini's `GET /v1/models`).
pub(crate) fn error_response_for(
    path: &str,
    headers: &axum::http::HeaderMap,
    e: &ProxyError,
) -> axum::response::Response {
    if files::is_files_path(path) && files::is_anthropic(headers) {
        anthropic::error::response(e)
    } else if is_models_path(path)
        && (headers.contains_key("x-goog-api-key") || headers.contains_key("x-goog-api-client"))
    {
        gemini::error::response(e)
    } else {
        error_response(path, e)
    }
}

/// Gemini's paths: everything under `/v1beta`, `tunedModels/…`, and a model method
/// (`/v1/models/{model}:generateContent`) under `/v1` or at the root.
pub(crate) fn is_gemini_path(path: &str) -> bool {
    if path == "/v1beta" || path.starts_with("/v1beta/") {
        return true;
    }
    let rest = path.strip_prefix("/v1").unwrap_or(path);
    rest.starts_with("/tunedModels/")
        || rest
            .strip_prefix("/models/")
            .is_some_and(|model| model.contains(':'))
}

/// `/models`, `/models/{id}` (also under `/v1`): shared by all three dialects.
fn is_models_path(path: &str) -> bool {
    let rest = path.strip_prefix("/v1").unwrap_or(path);
    rest == "/models" || rest.starts_with("/models/")
}

pub(crate) fn is_anthropic_path(path: &str) -> bool {
    path.starts_with("/messages") || path.starts_with("/v1/messages")
}

/// A possibly missing `type` (or similar) value for an error message: `"image"` or
/// `(missing)`.
pub fn shown(v: Option<&str>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "(missing)".to_string(),
    }
}

/// The string field `key` of a content part or block, required: a missing or non-string
/// value is a 400 naming `{param}.{key}` (never silently an empty string).
pub(crate) fn required_str(
    part: &serde_json::Value,
    key: &str,
    param: &str,
) -> Result<String, ProxyError> {
    match part.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        None | Some(serde_json::Value::Null) => Err(ProxyError::invalid_param(
            format!("{key}: Field required"),
            format!("{param}.{key}"),
        )),
        Some(_) => Err(ProxyError::invalid_param(
            format!("{key}: Input should be a valid string"),
            format!("{param}.{key}"),
        )),
    }
}

/// Parses a JSON body, naming the offending field on failure (`messages[2].role: …`).
pub fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ProxyError> {
    if body.is_empty() {
        return Err(ProxyError::invalid(
            "the request body is empty; a JSON object is required",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => {
            if de.end().is_err() {
                return Err(ProxyError::invalid(
                    "trailing characters after the JSON body",
                ));
            }
            Ok(v)
        }
        Err(e) => Err(path_error(e)),
    }
}

fn path_error(e: serde_path_to_error::Error<serde_json::Error>) -> ProxyError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let message = if inner.is_syntax() || inner.is_eof() {
        format!("the request body is not valid JSON: {inner}")
    } else if path == "." {
        format!("invalid request: {inner}")
    } else {
        format!("invalid value at `{path}`: {inner}")
    };
    ProxyError::InvalidRequest {
        message,
        param: (path != ".").then_some(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[expect(dead_code)]
    struct T {
        a: Vec<U>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[expect(dead_code)]
    struct U {
        b: u32,
    }

    #[test]
    fn gemini_paths() {
        assert!(is_gemini_path("/v1beta/models"));
        assert!(is_gemini_path("/v1beta/anything"));
        assert!(is_gemini_path(
            "/v1/models/gemini-2.5-flash:generateContent"
        ));
        assert!(is_gemini_path("/models/x:countTokens"));
        assert!(is_gemini_path("/v1/tunedModels/x"));
        assert!(!is_gemini_path("/v1/models/GigaChat"));
        assert!(!is_gemini_path("/v1/chat/completions"));
        assert!(!is_gemini_path("/v1betax"));
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_json::<T>(&Bytes::from_static(br#"{"a":[{"b":1},{"b":"x"}]}"#)).unwrap_err();
        assert_eq!(e.param(), Some("a[1].b"));
        let e = parse_json::<T>(&Bytes::from_static(br#"{"a":[{}]}"#)).unwrap_err();
        assert!(e.to_string().contains("missing field `b`"), "{e}");
        let e = parse_json::<T>(&Bytes::from_static(b"{nope")).unwrap_err();
        assert!(e.to_string().contains("not valid JSON"));
        assert!(parse_json::<T>(&Bytes::new()).is_err());
    }
}
