//! CORS from `--proxy.cors-allow-{origins,methods,headers}`, as in the Python gpt2giga.
//!
//! DEV allows credentials; a `*` entry then mirrors the request's origin, method or
//! headers (a literal `*` is not allowed with credentials). PROD drops every `*`, allows
//! no credentials, and falls back to `GET, POST, OPTIONS` and
//! `authorization, content-type, x-api-key` when nothing else is left.

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

use crate::config::ProxySettings;

pub fn layer(p: &ProxySettings) -> CorsLayer {
    let prod = p.is_prod();
    let wild = |list: &[String]| list.iter().any(|x| x.trim() == "*");
    let origins: Vec<HeaderValue> = p
        .cors_allow_origins
        .iter()
        .filter(|o| o.trim() != "*")
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    let methods: Vec<Method> = p
        .cors_allow_methods
        .iter()
        .filter(|m| m.trim() != "*")
        .filter_map(|m| Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes()).ok())
        .collect();
    let headers: Vec<HeaderName> = p
        .cors_allow_headers
        .iter()
        .filter(|h| h.trim() != "*")
        .filter_map(|h| HeaderName::from_bytes(h.trim().to_ascii_lowercase().as_bytes()).ok())
        .collect();
    let mut layer = CorsLayer::new();
    layer = if !prod && wild(&p.cors_allow_origins) {
        layer.allow_origin(AllowOrigin::mirror_request())
    } else {
        layer.allow_origin(origins)
    };
    layer = if !prod && wild(&p.cors_allow_methods) {
        layer.allow_methods(AllowMethods::mirror_request())
    } else if methods.is_empty() {
        layer.allow_methods([Method::GET, Method::POST, Method::OPTIONS])
    } else {
        layer.allow_methods(methods)
    };
    layer = if !prod && wild(&p.cors_allow_headers) {
        layer.allow_headers(AllowHeaders::mirror_request())
    } else if headers.is_empty() {
        layer.allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static("x-api-key"),
        ])
    } else {
        layer.allow_headers(headers)
    };
    layer
        .allow_credentials(!prod)
        .expose_headers([HeaderName::from_static("x-request-id")])
}
