//! `/embeddings` (inputs, encodings, dimensions, batching) and `/models` (list, retrieve,
//! any name without pass-model, 404 with it, the Anthropic shape).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::{TestProxy, bodies, http, json_of};
use gigachat_mock::embed;
use serde_json::{Value, json};

const DIM: usize = 1024;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("float array")
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn assert_vector_of(got: &[f32], text: &str) {
    let want = embed(text, DIM);
    assert_eq!(got.len(), want.len(), "{text}");
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-6, "{text}: {a} vs {b}");
    }
}

async fn embeddings(p: &TestProxy, body: &Value) -> Value {
    let (status, _, v) = json_of(p.post("/v1/embeddings", body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "list");
    v
}

#[tokio::test]
async fn single_string() {
    let p = TestProxy::start().await;
    let v = embeddings(
        &p,
        &json!({"model": "text-embedding-3-small", "input": "Hello, world!"}),
    )
    .await;
    assert_eq!(v["model"], "text-embedding-3-small");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["object"], "embedding");
    assert_eq!(data[0]["index"], 0);
    assert_vector_of(&floats(&data[0]["embedding"]), "Hello, world!");
    assert_eq!(
        v["usage"]["prompt_tokens"],
        gigachat_mock::tokens::count_tokens("Hello, world!")
    );

    let sent = bodies(p.ctl(), "/embeddings");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["model"], "EmbeddingsGigaR");
    assert_eq!(sent[0]["input"], json!(["Hello, world!"]));
}

#[tokio::test]
async fn array_of_strings_keeps_order() {
    let p = TestProxy::start_with(&["--proxy.embeddings", "Embeddings-2"], &[]).await;
    let texts = ["first", "second", "third"];
    let v = embeddings(
        &p,
        &json!({"model": "text-embedding-3-large", "input": texts}),
    )
    .await;
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for (i, t) in texts.iter().enumerate() {
        assert_eq!(data[i]["index"], i);
        assert_vector_of(&floats(&data[i]["embedding"]), t);
    }
    let sent = bodies(p.ctl(), "/embeddings");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["model"], "Embeddings-2");
    assert_eq!(sent[0]["input"], json!(texts));
}

#[tokio::test]
async fn token_arrays_are_decoded_to_text() {
    let p = TestProxy::start().await;
    let bpe = tiktoken_rs::cl100k_base().unwrap();
    let a = bpe.encode_ordinary("Hello world");
    let b = bpe.encode_ordinary("Token ids in, text out");
    // One list of token ids.
    let v = embeddings(
        &p,
        &json!({"model": "text-embedding-ada-002", "input": a.clone()}),
    )
    .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_vector_of(&floats(&v["data"][0]["embedding"]), "Hello world");
    assert_eq!(
        p.ctl().last_request("/embeddings").unwrap().json().unwrap()["input"],
        json!(["Hello world"])
    );
    // A list of token-id lists.
    let v = embeddings(
        &p,
        &json!({"model": "text-embedding-3-small", "input": [a, b]}),
    )
    .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_vector_of(
        &floats(&v["data"][1]["embedding"]),
        "Token ids in, text out",
    );
    assert_eq!(
        p.ctl().last_request("/embeddings").unwrap().json().unwrap()["input"],
        json!(["Hello world", "Token ids in, text out"])
    );
}

#[tokio::test]
async fn base64_equals_float() {
    let p = TestProxy::start().await;
    let input = json!(["alpha", "beta"]);
    let f = embeddings(
        &p,
        &json!({"model": "m", "input": input, "encoding_format": "float"}),
    )
    .await;
    let b = embeddings(
        &p,
        &json!({"model": "m", "input": input, "encoding_format": "base64"}),
    )
    .await;
    for i in 0..2 {
        let s = b["data"][i]["embedding"].as_str().expect("base64 string");
        let bytes = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        assert_eq!(bytes.len(), DIM * 4);
        let decoded: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(decoded, floats(&f["data"][i]["embedding"]), "item {i}");
    }
    assert_eq!(bodies(p.ctl(), "/embeddings").len(), 2);
}

/// `embed(text)` cut to its first `d` values and rescaled to unit length.
fn shortened(text: &str, d: usize) -> Vec<f32> {
    let v = &embed(text, DIM)[..d];
    let n = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    v.iter().map(|x| (f64::from(*x) / n) as f32).collect()
}

#[tokio::test]
async fn dimensions_shorten_and_renormalise() {
    let p = TestProxy::start().await;
    let v = embeddings(
        &p,
        &json!({"model": "m", "input": ["x", "y"], "dimensions": 256}),
    )
    .await;
    for (i, t) in ["x", "y"].iter().enumerate() {
        let got = floats(&v["data"][i]["embedding"]);
        assert_eq!(got.len(), 256);
        let norm = got
            .iter()
            .map(|x| f64::from(*x).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "{t}: norm {norm}");
        for (a, b) in got.iter().zip(shortened(t, 256)) {
            assert!((a - b).abs() <= 1e-6, "{t}: {a} vs {b}");
        }
    }
    // GigaChat is asked for the full vectors; the cut happens in the proxy.
    assert!(
        bodies(p.ctl(), "/embeddings")[0]
            .get("dimensions")
            .is_none()
    );

    // base64 carries the same shortened float32s.
    let b = embeddings(
        &p,
        &json!({"model": "m", "input": "x", "dimensions": 256, "encoding_format": "base64"}),
    )
    .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(decoded, floats(&v["data"][0]["embedding"]));

    // The full size stays allowed.
    let v = embeddings(&p, &json!({"model": "m", "input": "x", "dimensions": 1024})).await;
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), DIM);
}

#[tokio::test]
async fn dimensions_above_the_vector_size_or_zero_is_400() {
    let p = TestProxy::start().await;
    let (status, _, v) = json_of(
        p.post(
            "/v1/embeddings",
            &json!({"model": "m", "input": "x", "dimensions": 2048}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "dimensions");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("2048") && msg.contains("1024"), "{msg}");
    let sent = bodies(p.ctl(), "/embeddings").len();

    let (status, _, v) = json_of(
        p.post(
            "/v1/embeddings",
            &json!({"model": "m", "input": "x", "dimensions": 0}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "dimensions");
    // 0 is refused before GigaChat is called.
    assert_eq!(bodies(p.ctl(), "/embeddings").len(), sent);
}

#[tokio::test]
async fn large_inputs_are_batched_and_reassembled_in_order() {
    let p = TestProxy::start().await;
    // The emulator refuses more than 90 inputs per call (413).
    p.ctl().set_embeddings_max_inputs(Some(90));
    let texts: Vec<String> = (0..200).map(|i| format!("text number {i}")).collect();
    let v = embeddings(&p, &json!({"model": "m", "input": texts})).await;
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 200);
    for (i, d) in data.iter().enumerate() {
        assert_eq!(d["index"], i);
        assert_vector_of(&floats(&d["embedding"]), &texts[i]);
    }

    let sent = bodies(p.ctl(), "/embeddings");
    assert_eq!(sent.len(), 3, "expected 3 upstream calls");
    let mut sizes: Vec<usize> = sent
        .iter()
        .map(|b| b["input"].as_array().unwrap().len())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![20, 90, 90]);
    // Every text went up exactly once.
    let mut seen: Vec<String> = sent
        .iter()
        .flat_map(|b| b["input"].as_array().unwrap().clone())
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    seen.sort();
    let mut want = texts.clone();
    want.sort();
    assert_eq!(seen, want);
    assert!(
        p.ctl()
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/embeddings"))
            .all(|r| r.status == 200)
    );
}

#[tokio::test]
async fn embeddings_input_errors_are_400() {
    let p = TestProxy::start().await;
    for body in [
        json!({"model": "m", "input": []}),
        json!({"model": "m", "input": ["ok", ""]}),
        json!({"model": "m", "input": "x", "encoding_format": "int8"}),
        json!({"model": "m"}),
    ] {
        let (status, _, v) = json_of(p.post("/v1/embeddings", &body).await).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }
    assert!(bodies(p.ctl(), "/embeddings").is_empty());
}

// ---- models ---------------------------------------------------------------------------------

#[tokio::test]
async fn models_list_and_retrieve() {
    let p = TestProxy::start().await;
    let (status, _, v) = json_of(p.get("/v1/models").await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["object"], "model");
            assert!(m["owned_by"].is_string());
            assert!(m["created"].is_i64());
            m["id"].as_str().unwrap()
        })
        .collect();
    for id in ["GigaChat", "GigaChat-2-Max", "EmbeddingsGigaR"] {
        assert!(ids.contains(&id), "{ids:?}");
    }

    let (status, _, v) = json_of(p.get("/v1/models/GigaChat-2-Max").await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["id"], "GigaChat-2-Max");
    assert_eq!(v["object"], "model");

    // Without the /v1 prefix too.
    let (status, _, v) = json_of(p.get("/models/GigaChat").await).await;
    assert_eq!(status, 200);
    assert_eq!(v["id"], "GigaChat");

    // The list is cached: one upstream call served all three.
    let calls: Vec<_> = p
        .ctl()
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/models"))
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "GET");
    assert_eq!(calls[0].path, "/api/v1/models");
}

#[tokio::test]
async fn concurrent_model_requests_share_one_fetch() {
    let p = TestProxy::start().await;
    p.ctl().set_latency(std::time::Duration::from_millis(200));
    let gets = (0..5).map(|_| async { json_of(p.get("/v1/models").await).await });
    for (status, _, v) in futures::future::join_all(gets).await {
        assert_eq!(status, 200, "{v}");
    }
    let calls = p
        .ctl()
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/models"))
        .count();
    assert_eq!(calls, 1, "one upstream fetch for five concurrent callers");
}

#[tokio::test]
async fn any_name_is_a_model_without_pass_model() {
    let p = TestProxy::start_with(&["--gigachat.model", "GigaChat-2-Max"], &[]).await;
    for path in ["/v1/models/gpt-4o", "/models/gpt-4o"] {
        let (status, _, v) = json_of(p.get(path).await).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v,
            json!({"id": "gpt-4o", "object": "model", "created": 0,
                   "owned_by": "gpt2giga (served by GigaChat-2-Max)"})
        );
    }
    let r = http()
        .get(p.at("/v1/models/claude-sonnet-4-5"))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["type"], "model");
    assert_eq!(v["id"], "claude-sonnet-4-5");
    assert_eq!(
        v["display_name"],
        "claude-sonnet-4-5 (served by GigaChat-2-Max)"
    );
    assert!(v["created_at"].is_string());
    // GigaChat's own models keep their own entry.
    let (status, _, v) = json_of(p.get("/v1/models/GigaChat").await).await;
    assert_eq!(status, 200);
    assert_eq!(v["owned_by"], "salutedevices");
}

#[tokio::test]
async fn unknown_model_is_404_with_pass_model() {
    let p = TestProxy::start_with(&["--proxy.pass-model", "true"], &[]).await;
    let (status, _, v) = json_of(p.get("/v1/models/gpt-5-ultra").await).await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["code"], "not_found");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gpt-5-ultra")
    );
    assert_eq!(bodies(p.ctl(), "/models").len(), 1);

    let r = http()
        .get(p.at("/v1/models/claude-sonnet-4-5"))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 404, "{v}");
}

#[tokio::test]
async fn anthropic_shaped_models_with_anthropic_version() {
    let p = TestProxy::start().await;
    let r = http()
        .get(p.at("/v1/models"))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200, "{v}");
    assert!(v.get("object").is_none(), "{v}");
    assert_eq!(v["has_more"], false);
    let data = v["data"].as_array().unwrap();
    assert!(!data.is_empty());
    for m in data {
        assert_eq!(m["type"], "model");
        assert!(m["id"].is_string());
        assert!(m["display_name"].is_string());
        assert!(m["created_at"].is_string());
    }
    assert_eq!(v["first_id"], data[0]["id"]);
    assert_eq!(v["last_id"], data[data.len() - 1]["id"]);

    let r = http()
        .get(p.at("/v1/models/GigaChat"))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    let (status, _, v) = json_of(r).await;
    assert_eq!(status, 200);
    assert_eq!(v["type"], "model");
    assert_eq!(v["id"], "GigaChat");
    assert!(p.ctl().last_request("/models").is_some());
}

#[tokio::test]
async fn too_many_inputs_are_refused_at_once_without_fanning_out() {
    let p = TestProxy::start().await;
    let inputs: Vec<String> = (0..100_000).map(|i| format!("t{i}")).collect();
    let started = std::time::Instant::now();
    let (status, _, v) = json_of(
        p.post("/v1/embeddings", &json!({"model": "m", "input": inputs}))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "input", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("2048"),
        "{v}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(bodies(p.ctl(), "/embeddings").is_empty());
}
