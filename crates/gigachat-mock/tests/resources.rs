//! Models, tokens/count, embeddings, balance, files, unknown paths.

mod common;

use common::*;
use gigachat_mock::{FileLimits, MockConfig};
use serde_json::{Value, json};

#[tokio::test]
async fn models_list_and_lookup() {
    let srv = server().await;
    let t = token(&srv).await;
    let v: Value = get(&srv, &t, "/models").await.json().await.unwrap();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in [
        "GigaChat",
        "GigaChat-2-Max",
        "GigaChat-2-Reasoning",
        "GigaChat-3-Ultra",
        "Embeddings",
        "GigaEmbeddings-3B-2025-09",
        "GigaFilter",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    let (s, b) = status_text(get(&srv, &t, "/models/GigaChat").await).await;
    assert_eq!(
        (s, b.as_str()),
        (
            200,
            r#"{"id":"GigaChat","object":"model","owned_by":"salutedevices","type":"chat"}"#
        )
    );
    let (s, b) = status_text(get(&srv, &t, "/models/NonExistentModel").await).await;
    assert_eq!(
        (s, b.as_str()),
        (404, "{\"status\":404,\"message\":\"No such model\"}\n")
    );
}

#[tokio::test]
async fn tokens_count_matches_the_recording() {
    let srv = server().await;
    let t = token(&srv).await;
    let (s, b) = status_text(
        post(
            &srv,
            &t,
            "/tokens/count",
            &json!({"model": "GigaChat", "input": ["First text", "Second text"]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, b.as_str()),
        (
            200,
            r#"[{"object":"tokens","tokens":2,"characters":10},{"object":"tokens","tokens":2,"characters":11}]"#
        )
    );
    let v: Value = post(
        &srv,
        &t,
        "/tokens/count",
        &json!({"model": "GigaChat", "input": ["Hello, world!"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        v,
        json!([{"object": "tokens", "tokens": 4, "characters": 13}])
    );
    assert_eq!(
        post(
            &srv,
            &t,
            "/tokens/count",
            &json!({"model": "Nope", "input": ["x"]})
        )
        .await
        .status(),
        404
    );
}

#[tokio::test]
async fn embeddings_are_deterministic() {
    let srv = server().await;
    let t = token(&srv).await;
    let req = json!({"input": ["First text", "Second text"], "model": "Embeddings"});
    let body = post(&srv, &t, "/embeddings", &req)
        .await
        .text()
        .await
        .unwrap();
    assert!(body.starts_with(r#"{"object":"list","model":"Embeddings","data":[{"object":"embedding","index":0,"embedding":["#), "{}", &body[..120]);
    let a: Value = serde_json::from_str(&body).unwrap();
    let b: Value = post(&srv, &t, "/embeddings", &req)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a, b);
    let data = a["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(data[0]["embedding"].as_array().unwrap().len(), 1024);
    assert_eq!(data[0]["usage"], json!({"prompt_tokens": 2}));
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);
    let keys: Vec<&String> = data[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["object", "index", "embedding", "usage"]);
    // A single string input works; the same text yields the same vector.
    let single: Value = post(
        &srv,
        &t,
        "/embeddings",
        &json!({"input": "Second text", "model": "Embeddings"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(single["data"][0]["embedding"], data[1]["embedding"]);
    // Chat models are not embedders.
    assert_eq!(
        post(
            &srv,
            &t,
            "/embeddings",
            &json!({"input": ["x"], "model": "GigaChat"})
        )
        .await
        .status(),
        404
    );

    srv.control().set_embeddings_max_inputs(Some(1));
    let (s, b) = status_text(post(&srv, &t, "/embeddings", &req).await).await;
    assert_eq!(
        (s, b.as_str()),
        (413, "{\"status\":413,\"message\":\"Payload too large\"}\n")
    );
    srv.control().update_config(|c| {
        c.embeddings_max_inputs = None;
        c.embedding_dims.insert("EmbeddingsGigaR".into(), 2560);
    });
    let v: Value = post(
        &srv,
        &t,
        "/embeddings",
        &json!({"input": ["x"], "model": "EmbeddingsGigaR"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 2560);
}

#[tokio::test]
async fn balance_by_knob() {
    let srv = server().await;
    let t = token(&srv).await;
    let (s, b) = status_text(get(&srv, &t, "/balance").await).await;
    assert_eq!(s, 200);
    assert!(
        b.starts_with(r#"{"balance":[{"usage":"GigaChat","value":900000}"#),
        "{b}"
    );
    srv.control().set_balance(None);
    let (s, b) = status_text(get(&srv, &t, "/balance").await).await;
    assert_eq!(
        (s, b.as_str()),
        (403, "{\"status\":403,\"message\":\"Permission denied\"}\n")
    );
}

#[tokio::test]
async fn files_lifecycle_and_visibility() {
    let srv = server_with(MockConfig {
        file_limits: FileLimits {
            image_bytes: 1000,
            audio_bytes: 2000,
            text_bytes: 3000,
        },
        ..MockConfig::default()
    })
    .await;
    let t = token(&srv).await;
    let resp = upload(
        &srv,
        &t,
        Some("alice"),
        upload_form("image.jpg", "image/jpeg", vec![7u8; 500]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let meta: Value = resp.json().await.unwrap();
    let keys: Vec<&String> = meta.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "object",
            "bytes",
            "created_at",
            "filename",
            "purpose",
            "access_policy",
            "modalities"
        ]
    );
    assert_eq!(meta["bytes"], 500);
    assert_eq!(meta["filename"], "image.jpg");
    assert_eq!(meta["modalities"], json!(["image"]));
    let id = meta["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(srv.control().upload_count(), 1);

    let as_client = |method: reqwest::Method, path: String, c: &'static str| {
        client()
            .request(method, format!("{}{path}", srv.base_url()))
            .bearer_auth(&t)
            .header("X-Client-ID", c)
    };
    let list: Value = as_client(reqwest::Method::GET, "/files".into(), "alice")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let list: Value = as_client(reqwest::Method::GET, "/files".into(), "bob")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"], json!([]));
    let got: Value = as_client(reqwest::Method::GET, format!("/files/{id}"), "alice")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, meta);
    assert_eq!(
        as_client(reqwest::Method::GET, format!("/files/{id}"), "bob")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let content = as_client(
        reqwest::Method::GET,
        format!("/files/{id}/content"),
        "alice",
    )
    .send()
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    assert_eq!(content.to_vec(), vec![7u8; 500]);

    // Delete with the SDK's multipart body.
    let form = reqwest::multipart::Form::new().text("file", id.clone());
    let resp = as_client(
        reqwest::Method::POST,
        format!("/files/{id}/delete"),
        "alice",
    )
    .multipart(form)
    .send()
    .await
    .unwrap();
    let (s, b) = status_text(resp).await;
    assert_eq!(
        (s, b),
        (
            200,
            format!(r#"{{"id":"{id}","deleted":true,"access_policy":"private"}}"#)
        )
    );
    assert_eq!(
        as_client(reqwest::Method::GET, format!("/files/{id}"), "alice")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Delete with an empty body; files without a client id are visible to everyone.
    let meta: Value = upload(
        &srv,
        &t,
        None,
        upload_form("notes.txt", "text/plain", b"hello".to_vec()),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(meta["modalities"], json!(["text"]));
    let id = meta["id"].as_str().unwrap();
    let resp = client()
        .post(format!("{}/files/{id}/delete", srv.base_url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Limits and the MIME allow-list.
    let (s, b) = status_text(
        upload(
            &srv,
            &t,
            None,
            upload_form("big.png", "image/png", vec![0u8; 1001]),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, b.as_str()),
        (413, "{\"status\":413,\"message\":\"Payload too large\"}\n")
    );
    assert_eq!(
        upload(
            &srv,
            &t,
            None,
            upload_form("song.mp3", "audio/mp3", vec![0u8; 1500])
        )
        .await
        .status(),
        200
    );
    let (s, _) = status_text(
        upload(
            &srv,
            &t,
            None,
            upload_form("a.zip", "application/zip", vec![0u8; 10]),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(srv.control().upload_count(), 3);
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let srv = server().await;
    let t = token(&srv).await;
    for path in ["/api/v1/unknown", "/api/v3/chat/completions", "/something"] {
        let resp = client()
            .get(format!("{}{path}", srv.origin()))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
}
