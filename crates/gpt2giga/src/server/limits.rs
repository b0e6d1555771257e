//! The global request-body cap (`--proxy.max-request-body-bytes`).
//!
//! Every API handler buffers its JSON body anyway, so the cap is enforced here, once:
//! a declared `Content-Length` over the cap is refused before reading, and a chunked
//! body is cut off as soon as it passes the cap. The refusal is a 413 in the caller's
//! dialect. Uploads to the Files APIs (`/files`) may be as large as the largest
//! attachment cap instead. Axum's own (smaller, plain-text) default limit is disabled in favour of this.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt, Limited};

use crate::app::AppState;
use crate::error::ProxyError;

/// Room for a multipart form's boundaries and part headers around an uploaded file.
const UPLOAD_FRAMING_BYTES: u64 = 64 * 1024;

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
    let path = request.uri().path().to_string();
    let configured = state.config().proxy.max_request_body_bytes;
    // A Files API upload may be as large as the largest attachment a file kind
    // accepts (plus the multipart framing); the per-kind caps are checked once the
    // type is known.
    let upload = crate::dialect::files::is_files_path(&path)
        .then(|| state.attachments().largest_file() + UPLOAD_FRAMING_BYTES);
    let max = configured.max(upload.unwrap_or(0));
    let headers = request.headers().clone();
    let too_large = || {
        let message = match upload {
            Some(cap) if cap >= configured => format!(
                "the upload exceeds the proxy's limit of {cap} bytes for /files (the largest \
                 attachment size, --proxy.max-*-file-size-bytes, plus the form's framing)"
            ),
            _ => format!(
                "the request body exceeds the proxy's limit of {max} bytes (--proxy.max-request-body-bytes)"
            ),
        };
        crate::dialect::error_response_for(&path, &headers, &ProxyError::PayloadTooLarge(message))
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
            return crate::dialect::error_response_for(
                &path,
                &headers,
                &ProxyError::invalid(format!("could not read the request body: {e}")),
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
