//! The global request-body cap (`--proxy.max-request-body-bytes`).
//!
//! Every API handler buffers its JSON body anyway, so the cap is enforced here, once:
//! a declared `Content-Length` over the cap is refused before reading, and a chunked
//! body is cut off as soon as it passes the cap. The refusal is a 413 in the caller's
//! dialect. Axum's own (smaller, plain-text) default limit is disabled in favour of this.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt, Limited};

use crate::app::AppState;
use crate::error::ProxyError;

pub(crate) async fn limit_body(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
    ) {
        return next.run(request).await;
    }
    let max = state.config().proxy.max_request_body_bytes;
    let path = request.uri().path().to_string();
    let too_large = || {
        crate::dialect::error_response(
            &path,
            &ProxyError::PayloadTooLarge(format!(
                "the request body exceeds the proxy's limit of {max} bytes (--proxy.max-request-body-bytes)"
            )),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(e) => {
            return crate::dialect::error_response(
                &path,
                &ProxyError::invalid(format!("could not read the request body: {e}")),
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
