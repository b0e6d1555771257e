//! OpenTelemetry traces: collectors started by the test — a tiny OTLP/HTTP receiver
//! (protobuf decoded with `opentelemetry-proto`) and a real OTLP/gRPC one (tonic serving
//! `opentelemetry-proto`'s `TraceService`) — get the proxy's spans: a server span per
//! request whose parent is the client's `traceparent`, a client span per GigaChat call
//! under it, with the GenAI semantic-convention attributes. Both protocols run the same
//! scenario and the same assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::procs::Gpt2Giga;
use common::{TestProxy, http};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::json;

/// What a collector received: the spans, the resources' service names and the
/// content type of each export.
#[derive(Clone, Default)]
struct Received {
    spans: Arc<Mutex<Vec<Span>>>,
    services: Arc<Mutex<Vec<String>>>,
    content_types: Arc<Mutex<Vec<String>>>,
}

impl Received {
    fn record(&self, content_type: &str, req: ExportTraceServiceRequest) {
        self.content_types
            .lock()
            .unwrap()
            .push(content_type.to_string());
        for rs in req.resource_spans {
            if let Some(r) = &rs.resource {
                for kv in &r.attributes {
                    if kv.key == "service.name"
                        && let Some(AnyValue::StringValue(s)) =
                            kv.value.as_ref().and_then(|v| v.value.clone())
                    {
                        self.services.lock().unwrap().push(s);
                    }
                }
            }
            for ss in rs.scope_spans {
                self.spans.lock().unwrap().extend(ss.spans);
            }
        }
    }

    /// The spans of trace `trace_id` received so far.
    fn spans_now(&self, trace_id: &str) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| hex(&s.trace_id) == trace_id)
            .cloned()
            .collect()
    }

    /// The spans of trace `trace_id`, once there are at least `n` (waits up to 15 s).
    async fn spans_of(&self, trace_id: &str, n: usize) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let spans = self.spans_now(trace_id);
            if spans.len() >= n {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "only {} spans of trace {trace_id} arrived",
                spans.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An OTLP/HTTP collector on a free loopback port: its base URL and what it gets.
async fn http_collector() -> (String, Received) {
    let got = Received::default();
    let state = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                state.record(ct, ExportTraceServiceRequest::decode(body).unwrap());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), got)
}

/// The OTLP `TraceService` of the gRPC collector.
struct GrpcCollector(Received);

#[tonic::async_trait]
impl TraceService for GrpcCollector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let ct = request
            .metadata()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        self.0.record(&ct, request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// An OTLP/gRPC collector (tonic, plaintext HTTP/2) on a free loopback port: its
/// endpoint and what it gets.
async fn grpc_collector() -> (String, Received) {
    let got = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = TraceServiceServer::new(GrpcCollector(got.clone()));
    tokio::spawn(tonic::transport::Server::builder().serve_with_incoming(
        service,
        tonic::transport::server::TcpIncoming::from(listener),
    ));
    (format!("http://{addr}"), got)
}

fn attrs(span: &Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.clone()) {
                Some(AnyValue::StringValue(s)) => s,
                Some(AnyValue::IntValue(i)) => i.to_string(),
                Some(AnyValue::BoolValue(b)) => b.to_string(),
                Some(AnyValue::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const SERVER: i32 = 2;
const CLIENT: i32 = 3;

/// A JSON chat call to the proxy at `base` under the client's trace (model `gpt-4o`).
async fn traced_chat(base: &str, trace_id: &str, parent_id: &str) {
    let r = http()
        .post(format!("{base}/v1/chat/completions"))
        .header("traceparent", format!("00-{trace_id}-{parent_id}-01"))
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap();
}

/// The spans of one [`traced_chat`]: the request's server span under the client's
/// `parent_id`, the GigaChat call's client span under it, both with their attributes.
fn assert_chat_trace(spans: &[Span], parent_id: &str, got: &Received) {
    let server = spans.iter().find(|s| s.kind == SERVER).unwrap();
    let client = spans.iter().find(|s| s.kind == CLIENT).unwrap();
    assert_eq!(
        hex(&server.parent_span_id),
        parent_id,
        "the client's span is the parent"
    );
    assert_eq!(
        client.parent_span_id, server.span_id,
        "the call is under the request"
    );
    assert_eq!(server.name, "POST /chat/completions");
    assert_eq!(client.name, "chat GigaChat");
    let s = attrs(server);
    assert_eq!(s["http.request.method"], "POST");
    assert_eq!(s["http.route"], "/chat/completions");
    assert_eq!(s["http.response.status_code"], "200");
    assert_eq!(s["gen_ai.system"], "gigachat");
    assert_eq!(s["gen_ai.operation.name"], "chat");
    assert_eq!(s["gen_ai.request.model"], "gpt-4o");
    assert_eq!(s["gen_ai.response.model"], "GigaChat");
    assert!(
        s["gen_ai.usage.input_tokens"].parse::<u64>().unwrap() > 0,
        "{s:?}"
    );
    assert!(
        s["gen_ai.usage.output_tokens"].parse::<u64>().unwrap() > 0,
        "{s:?}"
    );
    let c = attrs(client);
    assert_eq!(c["gen_ai.system"], "gigachat");
    assert_eq!(c["gen_ai.operation.name"], "chat");
    assert_eq!(c["gen_ai.request.model"], "GigaChat");
    assert!(server.end_time_unix_nano >= client.end_time_unix_nano);
    let services = got.services.lock().unwrap();
    assert!(!services.is_empty() && services.iter().all(|s| s == "gpt2giga"));
}

/// The scenario every protocol must pass against the proxy `p` exporting to `got`: a
/// traced JSON chat call, a traced stream in another dialect, an untraced request (a
/// root span) and a probe (no span).
async fn traces_arrive(p: &TestProxy, got: &Received) {
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    traced_chat(&p.url, trace_id, parent_id).await;
    let spans = got.spans_of(trace_id, 2).await;
    assert_chat_trace(&spans, parent_id, got);

    // A stream in another dialect: its span ends with the stream, usage included.
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let parent_id = "b7ad6b7169203331";
    let r = http()
        .post(p.at("/v1/messages"))
        .header("traceparent", format!("00-{trace_id}-{parent_id}-01"))
        .json(
            &json!({"model": "claude-x", "max_tokens": 50, "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap();
    let spans = got.spans_of(trace_id, 2).await;
    let server = spans.iter().find(|s| s.kind == SERVER).unwrap();
    let s = attrs(server);
    assert_eq!(hex(&server.parent_span_id), parent_id);
    assert_eq!(s["gen_ai.request.model"], "claude-x");
    assert!(s.contains_key("gen_ai.usage.output_tokens"), "{s:?}");
    let client = spans.iter().find(|s| s.kind == CLIENT).unwrap();
    assert_eq!(client.parent_span_id, server.span_id);

    // Without a traceparent the request starts its own trace; probes are not traced.
    let before = got.spans.lock().unwrap().len();
    assert_eq!(p.get("/health").await.status(), 200);
    let r = p
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let spans = got.spans.lock().unwrap()[before..].to_vec();
        if spans.iter().any(|s| s.kind == SERVER) {
            let server = spans.iter().find(|s| s.kind == SERVER).unwrap();
            assert!(server.parent_span_id.is_empty(), "a root span");
            assert!(spans.iter().all(|s| !s.name.contains("/health")));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no span for the untraced request"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every export `got` received had `content_type`.
fn assert_content_types(got: &Received, content_type: &str) {
    let cts = got.content_types.lock().unwrap();
    assert!(
        !cts.is_empty() && cts.iter().all(|c| c == content_type),
        "{cts:?}"
    );
}

#[tokio::test]
async fn spans_arrive_over_otlp_http_by_default() {
    let (endpoint, got) = http_collector().await;
    let p = TestProxy::start_with(&["--proxy.otlp-endpoint", &endpoint], &[]).await;
    traces_arrive(&p, &got).await;
    assert_content_types(&got, "application/x-protobuf");
}

#[tokio::test]
async fn spans_arrive_over_otlp_grpc() {
    let (endpoint, got) = grpc_collector().await;
    let p = TestProxy::start_with(
        &[
            "--proxy.otlp-endpoint",
            &endpoint,
            "--proxy.otlp-protocol",
            "grpc",
        ],
        &[],
    )
    .await;
    traces_arrive(&p, &got).await;
    assert_content_types(&got, "application/grpc");
}

/// The real binary, configured only by OpenTelemetry's variables: gRPC chosen by
/// `OTEL_EXPORTER_OTLP_PROTOCOL`, and the batch held back (`OTEL_BSP_SCHEDULE_DELAY`
/// of a minute) so that the spans can only arrive by the flush on SIGTERM.
#[tokio::test]
async fn the_binary_exports_over_grpc_from_otel_variables_and_flushes_on_sigterm() {
    let (endpoint, got) = grpc_collector().await;
    let mock = gigachat_mock::MockServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut proxy = Gpt2Giga::spawn_with(
        dir.path(),
        "gpt2giga",
        (&mock.base_url(), &mock.auth_url()),
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ],
    );
    proxy.wait_ready().await;
    let trace_id = "5bf92f3577b34da6a3ce929d0e0e4737";
    let parent_id = "10f067aa0ba902b8";
    traced_chat(&proxy.url, trace_id, parent_id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        got.spans_now(trace_id).is_empty(),
        "the batch is held until shutdown"
    );

    // SIGTERM, waited for off the runtime (the collector runs on it).
    let Gpt2Giga { mut proc, .. } = proxy;
    let mut proc = tokio::task::spawn_blocking(move || {
        proc.terminate(Duration::from_secs(30));
        proc
    })
    .await
    .unwrap();
    let status = proc.exited().unwrap();
    assert!(status.success(), "{status}:\n{}", proc.log_tail());
    let spans = got.spans_now(trace_id);
    assert_eq!(spans.len(), 2, "flushed before exit:\n{}", proc.log_tail());
    assert_chat_trace(&spans, parent_id, &got);
    assert_content_types(&got, "application/grpc");
}

#[tokio::test]
async fn otel_environment_variables_configure_the_endpoint_and_protocol() {
    use gpt2giga::config::OtlpProtocol;
    let mock = gigachat_mock::MockServer::start().await.unwrap();
    let config = |args: &[&str], env: &[(&str, &str)]| {
        common::config_for(&mock.base_url(), &mock.auth_url(), args, env)
    };
    let c = config(
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")],
    );
    assert_eq!(
        c.proxy.otlp_endpoint.as_deref(),
        Some("http://127.0.0.1:4318")
    );
    assert_eq!(c.proxy.otlp_protocol(), OtlpProtocol::HttpProtobuf);
    let c = config(
        &["--proxy.otlp-endpoint", "http://127.0.0.1:9999"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
        ],
    );
    assert_eq!(
        c.proxy.otlp_endpoint.as_deref(),
        Some("http://127.0.0.1:9999")
    );
    assert_eq!(c.proxy.otlp_protocol(), OtlpProtocol::Grpc);
    let c = config(
        &["--proxy.otlp-protocol", "http/protobuf"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    );
    assert_eq!(c.proxy.otlp_protocol(), OtlpProtocol::HttpProtobuf);
    let c = config(&[], &[]);
    assert!(c.proxy.otlp_endpoint.is_none());
}
