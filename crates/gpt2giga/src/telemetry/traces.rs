//! OpenTelemetry traces (`--proxy.otlp-endpoint`, or the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT`): one server span per request and one client span per
//! GigaChat call, exported in batches from the SDK's own thread over OTLP/HTTP
//! (protobuf, the default) or OTLP/gRPC (`--proxy.otlp-protocol grpc`, or the standard
//! `OTEL_EXPORTER_OTLP_PROTOCOL`). Off (and free) unless an endpoint is configured.
//!
//! The gRPC exporter is tonic's: its channel is built inside the proxy's Tokio runtime,
//! which then runs the connection (tonic spawns its buffer worker and the HTTP/2
//! connection there), while the batch processor's thread only waits for each export to
//! finish; so [`Traces::start`] must be called within the runtime, and
//! [`Traces::shutdown`] (which flushes) while it still runs, off its worker threads.
//! An `https://` collector is reached over rustls with the public web roots.
//!
//! The parent context comes from the client's W3C `traceparent` / `tracestate`. Spans
//! carry the HTTP attributes (`http.request.method`, `http.route`, `url.path`,
//! `http.response.status_code`) and the GenAI semantic-convention ones:
//! `gen_ai.system` (`gigachat`), `gen_ai.operation.name` (`chat`, `embeddings`),
//! `gen_ai.request.model` (the client's model on the request span, GigaChat's on the
//! call span), `gen_ai.response.model`, `gen_ai.usage.input_tokens` and
//! `gen_ai.usage.output_tokens`.
//!
//! The spans are made with the OpenTelemetry API in the per-request scope of
//! [`super::metrics`] (where the timings, models and usage already are), not through
//! `tracing` spans: the `tracing` subscriber is process-wide and installed by `main`,
//! while the scope is the request's own.

use std::time::Duration;

use axum::http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::tonic_types::transport::ClientTlsConfig;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _, WithTonicConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};

use crate::config::OtlpProtocol;

/// How often finished spans are sent (unless `OTEL_BSP_SCHEDULE_DELAY` says).
const EXPORT_EVERY: Duration = Duration::from_secs(1);
/// `gen_ai.system` of every span.
const SYSTEM: &str = "gigachat";

/// The running exporter (cheap to clone).
#[derive(Clone)]
pub struct Traces {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl std::fmt::Debug for Traces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traces").finish_non_exhaustive()
    }
}

/// The OTLP/HTTP traces URL of a collector `endpoint`: `/v1/traces` is added unless the
/// endpoint already names it (as `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` values do).
pub fn traces_url(endpoint: &str) -> String {
    let e = endpoint.trim().trim_end_matches('/');
    if e.ends_with("/v1/traces") {
        e.to_string()
    } else {
        format!("{e}/v1/traces")
    }
}

/// Whether the gRPC collector `endpoint` is reached over TLS (`https://`). gRPC uses the
/// endpoint as given: its scheme, host and port (the method names its own path).
fn grpc_tls(endpoint: &str) -> Result<bool, String> {
    let url = url::Url::parse(endpoint.trim())
        .map_err(|e| format!("invalid OTLP endpoint {endpoint:?}: {e}"))?;
    match url.scheme() {
        "http" => Ok(false),
        "https" => Ok(true),
        other => Err(format!(
            "invalid OTLP endpoint {endpoint:?}: expected http:// or https://, not {other}://"
        )),
    }
}

/// The span exporter for `endpoint` over `protocol`.
fn exporter(endpoint: &str, protocol: OtlpProtocol) -> Result<SpanExporter, String> {
    let built = match protocol {
        OtlpProtocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .build(),
        OtlpProtocol::Grpc => {
            // tonic spawns its channel's worker on the current runtime (and would panic
            // without one).
            if tokio::runtime::Handle::try_current().is_err() {
                return Err("OTLP/gRPC export must be started within the Tokio runtime".into());
            }
            let builder = SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.trim());
            if grpc_tls(endpoint)? {
                // tonic only speaks TLS to an https:// endpoint when given a TLS config.
                builder
                    .with_tls_config(ClientTlsConfig::new().with_webpki_roots())
                    .build()
            } else {
                builder.build()
            }
        }
    };
    built.map_err(|e| format!("cannot set up the OTLP trace exporter: {e}"))
}

impl Traces {
    /// Starts exporting to the collector at `endpoint` over `protocol` (gRPC: call it
    /// within the Tokio runtime). The service is `gpt2giga` unless `OTEL_SERVICE_NAME`
    /// names it (`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS` and
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` are honoured).
    pub fn start(endpoint: &str, protocol: OtlpProtocol) -> Result<Self, String> {
        let exporter = exporter(endpoint, protocol)?;
        // The SDK's default reads the OTEL_BSP_* variables; the delay is ours unless set.
        let mut batch = BatchConfigBuilder::default();
        if std::env::var_os("OTEL_BSP_SCHEDULE_DELAY").is_none() {
            batch = batch.with_scheduled_delay(EXPORT_EVERY);
        }
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch.build())
            .build();
        let mut resource = Resource::builder();
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("gpt2giga");
        }
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer("gpt2giga");
        Ok(Self { provider, tracer })
    }

    /// Sends what is still buffered and stops the exporter (blocks up to its timeout;
    /// with gRPC, call it from a blocking thread while the runtime still runs).
    pub fn shutdown(&self) {
        let _ = self.provider.shutdown();
    }

    /// Opens the server span of one request, as a child of the client's `traceparent`.
    pub fn request(
        &self,
        headers: &HeaderMap,
        method: &str,
        route: &str,
        path: &str,
    ) -> RequestTrace {
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        let span = self
            .tracer
            .span_builder(format!("{method} {route}"))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", method.to_string()),
                KeyValue::new("http.route", route.to_string()),
                KeyValue::new("url.path", path.to_string()),
            ])
            .start_with_context(&self.tracer, &parent);
        RequestTrace {
            cx: parent.with_span(span),
            tracer: self.tracer.clone(),
        }
    }
}

/// `traceparent` and `tracestate` from the request's headers.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The `gen_ai.operation.name` of a GigaChat call (`None`: not a model call).
pub(crate) fn operation_name(operation: &str) -> Option<&'static str> {
    match operation {
        "chat" | "chat_stream" => Some("chat"),
        "embeddings" => Some("embeddings"),
        _ => None,
    }
}

/// What the request span is given when the request ends.
#[derive(Debug, Default)]
pub(crate) struct Outcome<'a> {
    pub status: u16,
    pub operation: Option<&'static str>,
    pub client_model: Option<&'a str>,
    pub gigachat_model: Option<&'a str>,
    pub usage: Option<(u64, u64)>,
    pub error: Option<String>,
}

/// One request's span (its context is the parent of its GigaChat calls).
pub struct RequestTrace {
    cx: Context,
    tracer: SdkTracer,
}

impl RequestTrace {
    /// A client span for the GigaChat call `operation` (ended by [`CallSpan::end`]).
    pub(crate) fn call(&self, operation: &str, model: Option<&str>) -> CallSpan {
        let genai = operation_name(operation);
        let name = match (genai, model) {
            (Some(op), Some(m)) => format!("{op} {m}"),
            _ => format!("gigachat {operation}"),
        };
        let mut attributes = vec![KeyValue::new("gen_ai.system", SYSTEM)];
        if let Some(op) = genai {
            attributes.push(KeyValue::new("gen_ai.operation.name", op));
        }
        if let Some(m) = model {
            attributes.push(KeyValue::new("gen_ai.request.model", m.to_string()));
        }
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &self.cx);
        CallSpan(span)
    }

    /// Ends the request span with its outcome.
    pub(crate) fn end(&self, o: &Outcome<'_>) {
        let span = self.cx.span();
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(o.status),
        ));
        if let Some(op) = o.operation {
            span.set_attribute(KeyValue::new("gen_ai.system", SYSTEM));
            span.set_attribute(KeyValue::new("gen_ai.operation.name", op));
        }
        if let Some(m) = o.client_model {
            span.set_attribute(KeyValue::new("gen_ai.request.model", m.to_string()));
        }
        if let Some(m) = o.gigachat_model {
            span.set_attribute(KeyValue::new("gen_ai.response.model", m.to_string()));
        }
        if let Some((input, output)) = o.usage {
            let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            span.set_attribute(KeyValue::new("gen_ai.usage.input_tokens", n(input)));
            span.set_attribute(KeyValue::new("gen_ai.usage.output_tokens", n(output)));
        }
        if o.status >= 500 {
            span.set_attribute(KeyValue::new("error.type", o.status.to_string()));
            span.set_status(Status::error(o.error.clone().unwrap_or_default()));
        } else if let Some(e) = &o.error {
            // A failure inside a stream that had already answered 200.
            span.set_status(Status::error(e.clone()));
        }
        span.end();
    }
}

/// A GigaChat call's span.
pub(crate) struct CallSpan(opentelemetry_sdk::trace::Span);

impl CallSpan {
    /// Ends it; `failure` is GigaChat's status (or the kind of failure) and message.
    pub(crate) fn end(mut self, failure: Option<(String, String)>) {
        if let Some((kind, message)) = failure {
            self.0.set_attribute(KeyValue::new("error.type", kind));
            self.0.set_status(Status::error(message));
        }
        self.0.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_urls() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }

    #[test]
    fn grpc_endpoints() {
        assert_eq!(grpc_tls("http://c:4317"), Ok(false));
        assert_eq!(grpc_tls(" HTTPS://c:4317/ "), Ok(true));
        assert!(grpc_tls("unix:/tmp/otel.sock").is_err());
        assert!(grpc_tls("c:4317x").is_err());
    }

    #[test]
    fn grpc_outside_a_runtime_is_an_error_not_a_panic() {
        let e = Traces::start("http://127.0.0.1:4317", OtlpProtocol::Grpc)
            .err()
            .unwrap_or_default();
        assert!(e.contains("Tokio runtime"), "{e}");
    }

    /// The first bytes the exporter sends to a raw loopback listener when it flushes one
    /// span to `scheme://127.0.0.1:PORT` over gRPC.
    async fn first_bytes_of_a_grpc_export(scheme: &str) -> Vec<u8> {
        use tokio::io::AsyncReadExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let read = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 16];
            conn.read_exact(&mut buf).await.unwrap();
            buf // the connection closes here: the export fails, the flush returns
        });
        let t = Traces::start(&format!("{scheme}://127.0.0.1:{port}"), OtlpProtocol::Grpc).unwrap();
        t.request(&HeaderMap::new(), "GET", "/x", "/x")
            .end(&Outcome::default());
        tokio::task::spawn_blocking(move || t.shutdown())
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn grpc_speaks_h2c_to_http_and_tls_to_https_endpoints() {
        let plain = first_bytes_of_a_grpc_export("http").await;
        assert_eq!(&plain[..], b"PRI * HTTP/2.0\r\n", "the HTTP/2 preface");
        let tls = first_bytes_of_a_grpc_export("https").await;
        // A TLS record of type handshake (a ClientHello), not the plain preface.
        assert_eq!(tls[0], 0x16, "{tls:?}");
        assert_eq!(tls[1], 0x03, "{tls:?}");
    }

    #[test]
    fn operations() {
        assert_eq!(operation_name("chat_stream"), Some("chat"));
        assert_eq!(operation_name("embeddings"), Some("embeddings"));
        assert_eq!(operation_name("files_upload"), None);
    }
}
