//! OpenTelemetry traces: a tiny OTLP/HTTP receiver started by the test (protobuf decoded
//! with `opentelemetry-proto`) gets the proxy's spans — a server span per request whose
//! parent is the client's `traceparent`, a client span per GigaChat call under it — with
//! the GenAI semantic-convention attributes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::{TestProxy, http};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::json;

/// The spans an OTLP/HTTP collector received, and the resource's service name.
#[derive(Clone, Default)]
struct Received {
    spans: Arc<Mutex<Vec<Span>>>,
    services: Arc<Mutex<Vec<String>>>,
    content_types: Arc<Mutex<Vec<String>>>,
}

async fn collector() -> (String, Received) {
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
                    .unwrap_or("")
                    .to_string();
                state.content_types.lock().unwrap().push(ct);
                let req = ExportTraceServiceRequest::decode(body).unwrap();
                for rs in req.resource_spans {
                    if let Some(r) = &rs.resource {
                        for kv in &r.attributes {
                            if kv.key == "service.name"
                                && let Some(AnyValue::StringValue(s)) =
                                    kv.value.as_ref().and_then(|v| v.value.clone())
                            {
                                state.services.lock().unwrap().push(s);
                            }
                        }
                    }
                    for ss in rs.scope_spans {
                        state.spans.lock().unwrap().extend(ss.spans);
                    }
                }
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
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

/// The spans of trace `trace_id`, once there are at least `n` (waits up to 15 s).
async fn spans_of(got: &Received, trace_id: &str, n: usize) -> Vec<Span> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let spans: Vec<Span> = got
            .spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| hex(&s.trace_id) == trace_id)
            .cloned()
            .collect();
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

const SERVER: i32 = 2;
const CLIENT: i32 = 3;

#[tokio::test]
async fn spans_arrive_with_the_clients_parent_and_genai_attributes() {
    let (endpoint, got) = collector().await;
    let p = TestProxy::start_with(&["--proxy.otlp-endpoint", &endpoint], &[]).await;

    // A JSON chat call under the client's trace.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let r = http()
        .post(p.at("/v1/chat/completions"))
        .header("traceparent", format!("00-{trace_id}-{parent_id}-01"))
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap();
    let spans = spans_of(&got, trace_id, 2).await;
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
    assert!(got.services.lock().unwrap().iter().all(|s| s == "gpt2giga"));
    assert!(
        got.content_types
            .lock()
            .unwrap()
            .iter()
            .all(|c| c == "application/x-protobuf"),
        "OTLP/HTTP protobuf"
    );

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
    let spans = spans_of(&got, trace_id, 2).await;
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

#[tokio::test]
async fn otel_environment_variables_configure_the_endpoint() {
    let mock = gigachat_mock::MockServer::start().await.unwrap();
    let c = common::config_for(
        &mock.base_url(),
        &mock.auth_url(),
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")],
    );
    assert_eq!(
        c.proxy.otlp_endpoint.as_deref(),
        Some("http://127.0.0.1:4318")
    );
    let c = common::config_for(
        &mock.base_url(),
        &mock.auth_url(),
        &["--proxy.otlp-endpoint", "http://127.0.0.1:9999"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")],
    );
    assert_eq!(
        c.proxy.otlp_endpoint.as_deref(),
        Some("http://127.0.0.1:9999")
    );
    let c = common::config_for(&mock.base_url(), &mock.auth_url(), &[], &[]);
    assert!(c.proxy.otlp_endpoint.is_none());
}
