//! Model aliases (`--proxy.model-aliases`): which GigaChat model each dialect's request
//! reaches (glob precedence, pass-model on and off), per-alias defaults as GigaChat
//! receives them (max_tokens, reasoning effort, temperature bounds, embeddings model),
//! the catalogue (`/models`, `/models/{id}`, LiteLLM's `/model/info`) and start-up
//! errors for a bad alias file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestProxy, bodies, http, json_of};
use serde_json::{Value, json};

const ALIASES: &str = r#"{
    "*": "GigaChat-2",
    "gpt-*": "GigaChat-2-Pro",
    "gpt-4o*": "GigaChat-2-Max",
    "gpt-4o-mini": "GigaChat-2-Max-preview",
    "claude-*": {"model": "GigaChat-2-Max", "max_tokens": 4096, "reasoning_effort": "high",
                 "temperature": {"min": 0.3, "max": 0.8}},
    "text-embedding-3-small": {"embeddings_model": "Embeddings-2"}
}"#;

async fn proxy(extra: &[&str]) -> TestProxy {
    let mut args = vec!["--proxy.model-aliases", ALIASES];
    args.extend_from_slice(extra);
    TestProxy::start_with(&args, &[]).await
}

async fn chat(p: &TestProxy, body: Value) -> Value {
    let (s, _, v) = json_of(p.post("/v1/chat/completions", &body).await).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn hello(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
}

#[tokio::test]
async fn an_exact_name_beats_every_glob_and_the_most_specific_glob_wins() {
    let p = proxy(&[]).await;
    for (asked, served) in [
        ("gpt-4o-mini", "GigaChat-2-Max-preview"),
        ("gpt-4o-2024-08-06", "GigaChat-2-Max"),
        ("gpt-5", "GigaChat-2-Pro"),
        ("claude-sonnet-4", "GigaChat-2-Max"),
        ("mistral-large", "GigaChat-2"),
    ] {
        let v = chat(&p, hello(asked)).await;
        // The client sees the name it asked for, as without aliases.
        assert_eq!(v["model"], asked);
        assert_eq!(p.last_chat()["model"], served, "{asked}");
    }
}

#[tokio::test]
async fn the_alias_decides_with_pass_model_on_and_other_names_pass_through() {
    let p = TestProxy::start_with(
        &[
            "--proxy.pass-model",
            "true",
            "--proxy.model-aliases",
            r#"{"gpt-4o": "GigaChat-2-Max"}"#,
        ],
        &[],
    )
    .await;
    chat(&p, hello("gpt-4o")).await;
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Max");
    chat(&p, hello("GigaChat-2-Pro")).await;
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Pro");
}

#[tokio::test]
async fn names_no_alias_matches_are_served_by_the_configured_model() {
    let p = TestProxy::start_with(
        &[
            "--gigachat.model",
            "GigaChat-2-Pro",
            "--proxy.model-aliases",
            r#"{"gpt-*": "GigaChat-2-Max"}"#,
        ],
        &[],
    )
    .await;
    chat(&p, hello("gpt-4.1")).await;
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Max");
    chat(&p, hello("claude-3")).await;
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Pro");
}

#[tokio::test]
async fn alias_max_tokens_reaches_gigachat_only_when_the_client_sent_none() {
    let p = proxy(&[]).await;
    chat(&p, hello("claude-x")).await;
    assert_eq!(p.last_chat()["max_tokens"], 4096);
    let mut body = hello("claude-x");
    body["max_tokens"] = json!(50);
    chat(&p, body).await;
    assert_eq!(p.last_chat()["max_tokens"], 50);
    // An alias without max_tokens adds none.
    chat(&p, hello("gpt-5")).await;
    assert!(
        p.last_chat().get("max_tokens").is_none(),
        "{}",
        p.last_chat()
    );

    // Responses: max_output_tokens absent → the alias's; present → the client's.
    let (s, _, v) = json_of(
        p.post(
            "/v1/responses",
            &json!({"model": "claude-x", "input": "Hi"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["model"], "claude-x");
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Max");
    assert_eq!(p.last_chat()["max_tokens"], 4096);
    let (s, _, v) = json_of(
        p.post(
            "/v1/responses",
            &json!({"model": "claude-x", "input": "Hi", "max_output_tokens": 77}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(p.last_chat()["max_tokens"], 77);
}

#[tokio::test]
async fn temperature_is_clamped_and_reasoning_effort_defaults() {
    let p = proxy(&[]).await;
    let with = |t: Value| {
        let mut b = hello("claude-x");
        b["temperature"] = t;
        b
    };
    chat(&p, with(json!(1.5))).await;
    let sent = p.last_chat();
    assert_eq!(sent["temperature"], 0.8);
    assert_eq!(sent["reasoning_effort"], "high");
    // Greedy (0) is raised to the minimum rather than turned into top_p 0.
    chat(&p, with(json!(0))).await;
    let sent = p.last_chat();
    assert_eq!(sent["temperature"], 0.3);
    assert!(sent.get("top_p").is_none(), "{sent}");
    chat(&p, with(json!(0.5))).await;
    assert_eq!(p.last_chat()["temperature"], 0.5);
    // No temperature: none is invented.
    let mut b = hello("claude-x");
    b["reasoning_effort"] = json!("low");
    chat(&p, b).await;
    let sent = p.last_chat();
    assert!(sent.get("temperature").is_none(), "{sent}");
    assert_eq!(sent["reasoning_effort"], "low");
    // Another alias has no bounds.
    let mut b = hello("gpt-5");
    b["temperature"] = json!(1.5);
    chat(&p, b).await;
    assert_eq!(p.last_chat()["temperature"], 1.5);
    assert!(p.last_chat().get("reasoning_effort").is_none());
}

#[tokio::test]
async fn anthropic_messages_and_count_tokens_use_the_alias() {
    let p = proxy(&[]).await;
    let body = json!({"model": "claude-opus-4", "max_tokens": 100, "temperature": 1.0,
        "messages": [{"role": "user", "content": "Hi"}]});
    let (s, _, v) = json_of(p.post("/v1/messages", &body).await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["model"], "claude-opus-4");
    let sent = p.last_chat();
    assert_eq!(sent["model"], "GigaChat-2-Max");
    assert_eq!(sent["max_tokens"], 100);
    assert_eq!(sent["temperature"], 0.8);

    let (s, _, v) = json_of(
        p.post(
            "/v1/messages/count_tokens",
            &json!({"model": "claude-opus-4", "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let counted = bodies(p.ctl(), "/tokens/count");
    assert_eq!(counted.last().unwrap()["model"], "GigaChat-2-Max");
}

#[tokio::test]
async fn an_embeddings_alias_picks_the_embeddings_model() {
    let p = proxy(&[]).await;
    for (asked, served) in [
        ("text-embedding-3-small", "Embeddings-2"),
        // Matches only the "*" chat alias, which names no embeddings model.
        ("text-embedding-3-large", "EmbeddingsGigaR"),
    ] {
        let (s, _, v) = json_of(
            p.post("/v1/embeddings", &json!({"model": asked, "input": "x"}))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["model"], asked);
        let sent = bodies(p.ctl(), "/embeddings");
        assert_eq!(sent.last().unwrap()["model"], served, "{asked}");
    }
}

// ---- the catalogue ----------------------------------------------------------------------

fn owners(list: &Value) -> Vec<(String, String)> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["owned_by"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_model_list_adds_exact_aliases_naming_their_model() {
    let p = proxy(&[]).await;
    let (s, _, v) = json_of(p.get("/v1/models").await).await;
    assert_eq!(s, 200, "{v}");
    let got = owners(&v);
    let gigachat_models = p.ctl().config().models.len();
    assert_eq!(got.len(), gigachat_models + 2, "{got:?}");
    assert!(got.contains(&("GigaChat-2-Max".into(), "salutedevices".into())));
    assert!(got.contains(&(
        "gpt-4o-mini".into(),
        "gpt2giga (served by GigaChat-2-Max-preview)".into()
    )));
    assert!(got.contains(&(
        "text-embedding-3-small".into(),
        "gpt2giga (served by Embeddings-2)".into()
    )));
    assert!(!got.iter().any(|(id, _)| id.contains('*')), "{got:?}");

    let (s, _, v) = json_of(
        http()
            .get(p.at("/v1/models"))
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let last = v["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["id"], "text-embedding-3-small");
    assert_eq!(
        last["display_name"],
        "text-embedding-3-small (served by Embeddings-2)"
    );
    assert_eq!(v["last_id"], "text-embedding-3-small");
}

async fn retrieve(p: &TestProxy, id: &str) -> (u16, Value) {
    let (s, _, v) = json_of(p.get(&format!("/v1/models/{id}")).await).await;
    (s.as_u16(), v)
}

#[tokio::test]
async fn retrieve_answers_aliases_glob_matches_and_gigachat_models_even_with_pass_model() {
    let p = proxy(&["--proxy.pass-model", "true"]).await;
    let (s, v) = retrieve(&p, "gpt-4o-mini").await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"id": "gpt-4o-mini", "object": "model", "created": 0,
               "owned_by": "gpt2giga (served by GigaChat-2-Max-preview)"})
    );
    let (s, v) = retrieve(&p, "claude-haiku-4-5").await;
    assert_eq!(s, 200);
    assert_eq!(v["owned_by"], "gpt2giga (served by GigaChat-2-Max)");
    let (s, v) = retrieve(&p, "anything-at-all").await;
    assert_eq!(s, 200, "the \"*\" alias matches every name");
    assert_eq!(v["owned_by"], "gpt2giga (served by GigaChat-2)");

    // Without a catch-all alias, pass-model on: neither alias nor GigaChat model → 404.
    let p = TestProxy::start_with(
        &[
            "--proxy.pass-model",
            "true",
            "--proxy.model-aliases",
            r#"{"claude-*": "GigaChat-2-Max"}"#,
        ],
        &[],
    )
    .await;
    assert_eq!(retrieve(&p, "gpt-4o").await.0, 404);
    let (s, v) = retrieve(&p, "GigaChat-2-Pro").await;
    assert_eq!((s, v["owned_by"].as_str()), (200, Some("salutedevices")));
    let (s, _, v) = json_of(
        http()
            .get(p.at("/v1/models/claude-3-opus"))
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        v["display_name"],
        "claude-3-opus (served by GigaChat-2-Max)"
    );
}

#[tokio::test]
async fn retrieve_of_any_name_without_pass_model_names_the_configured_model() {
    let p = TestProxy::start_with(
        &[
            "--gigachat.model",
            "GigaChat-2-Pro",
            "--proxy.model-aliases",
            r#"{"claude-*": "GigaChat-2-Max"}"#,
        ],
        &[],
    )
    .await;
    let (s, v) = retrieve(&p, "gpt-4o").await;
    assert_eq!(s, 200);
    assert_eq!(v["owned_by"], "gpt2giga (served by GigaChat-2-Pro)");
}

#[tokio::test]
async fn model_info_lists_every_alias_and_gigachat_model_in_litellm_shape() {
    let p = proxy(&[]).await;
    for path in ["/model/info", "/v1/model/info"] {
        let (s, _, v) = json_of(p.get(path).await).await;
        assert_eq!(s, 200, "{path}: {v}");
        let data = v["data"].as_array().unwrap();
        let by_name = |n: &str| {
            data.iter()
                .find(|e| e["model_name"] == n)
                .unwrap_or_else(|| panic!("{n} missing from {path}"))
                .clone()
        };
        assert_eq!(
            by_name("claude-*"),
            json!({"model_name": "claude-*",
                "litellm_params": {"model": "gigachat/GigaChat-2-Max"},
                "model_info": {"id": "claude-*", "key": "GigaChat-2-Max", "mode": "chat",
                    "litellm_provider": "gigachat", "max_input_tokens": 128000,
                    "max_output_tokens": 4096, "max_tokens": 4096,
                    "supports_function_calling": true}})
        );
        let mini = by_name("gpt-4o-mini");
        assert_eq!(
            mini["litellm_params"]["model"],
            "gigachat/GigaChat-2-Max-preview"
        );
        assert_eq!(mini["model_info"]["max_input_tokens"], 128000);
        assert_eq!(mini["model_info"]["max_output_tokens"], Value::Null);
        let emb = by_name("text-embedding-3-small");
        assert_eq!(emb["model_info"]["mode"], "embedding");
        assert_eq!(emb["model_info"]["key"], "Embeddings-2");
        // GigaChat's own models: chat and embeddings ones, with the known sizes.
        assert_eq!(
            by_name("GigaChat-2-Pro")["model_info"]["max_input_tokens"],
            128000
        );
        assert_eq!(
            by_name("EmbeddingsGigaR")["model_info"]["mode"],
            "embedding"
        );
        assert!(!data.iter().any(|e| e["model_name"] == "GigaFilter"));
        let aliases = 6;
        let served: usize = p
            .ctl()
            .config()
            .models
            .iter()
            .filter(|m| m.kind == "chat" || m.kind == "embedder")
            .count();
        assert_eq!(data.len(), aliases + served, "{path}");
    }
}

#[tokio::test]
async fn model_info_is_behind_the_api_key_like_the_model_list() {
    let p = TestProxy::start_with(
        &[],
        &[
            ("GPT2GIGA_ENABLE_API_KEY_AUTH", "true"),
            ("GPT2GIGA_API_KEY", "k1"),
        ],
    )
    .await;
    for path in ["/v1/models", "/model/info", "/v1/model/info"] {
        let resp = p.get(path).await;
        assert_eq!(resp.status(), 401, "{path}");
        let resp = http()
            .get(p.at(path))
            .bearer_auth("k1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
}

// ---- start-up errors --------------------------------------------------------------------

#[test]
fn a_bad_alias_file_stops_start_up_naming_the_setting_the_place_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aliases.yaml");
    let run = |content: &str| {
        std::fs::write(&file, content).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gpt2giga"))
            .env_clear()
            .current_dir(dir.path())
            .env("GPT2GIGA_MODEL_ALIASES", &file)
            .env("GIGACHAT_CREDENTIALS", "eDp5")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run("claude-*:\n  model: GigaChat-2\n  api_mode: v9\n");
    assert!(err.contains("GPT2GIGA_MODEL_ALIASES"), "{err}");
    assert!(
        err.contains("alias \"claude-*\": \"api_mode\": expected v1 or v2, got \"v9\""),
        "{err}"
    );
    let err = run("gpt-4o: GigaChat-2\n  bad: [indent\n");
    assert!(
        err.contains("invalid YAML") && err.contains("line 2"),
        "{err}"
    );
    let err = run("gpt-4o:\n  model: GigaChat-2\n  max_tokens: 0\n");
    assert!(
        err.contains("\"max_tokens\" must be a positive integer"),
        "{err}"
    );
}

#[tokio::test]
async fn the_example_file_starts_the_proxy() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/model-aliases.yaml"
    );
    let p = TestProxy::start_with(&["--proxy.model-aliases", example], &[]).await;
    chat(&p, hello("claude-sonnet-4")).await;
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Max");
    assert_eq!(p.last_chat()["max_tokens"], 4096);
}

#[tokio::test]
async fn gemini_clients_see_the_same_aliases() {
    let p = proxy(&[]).await;
    // Generation through a glob alias, embeddings through an embeddings alias.
    let (s, _, v) = json_of(
        p.post(
            "/v1beta/models/gpt-4o-mini:generateContent",
            &json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Max-preview");
    assert_eq!(p.last_chat()["max_tokens"], Value::Null);
    let (s, _, v) = json_of(
        p.post(
            "/v1beta/models/claude-opus:generateContent",
            &json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(p.last_chat()["model"], "GigaChat-2-Max");
    assert_eq!(p.last_chat()["max_tokens"], 4096);
    let (s, _, v) = json_of(
        p.post(
            "/v1beta/models/text-embedding-3-small:embedContent",
            &json!({"content": {"parts": [{"text": "x"}]}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let sent = bodies(p.ctl(), "/embeddings");
    assert_eq!(sent.last().unwrap()["model"], "Embeddings-2");

    // The list: GigaChat's models, then the exact-name aliases with their limits.
    let (s, _, list) = json_of(p.get("/v1beta/models?pageSize=1000").await).await;
    assert_eq!(s, 200, "{list}");
    let models = list["models"].as_array().unwrap();
    let find = |name: &str| models.iter().find(|m| m["name"] == name).cloned();
    let mini = find("models/gpt-4o-mini").expect("the exact alias is listed");
    assert_eq!(
        mini["displayName"],
        "gpt-4o-mini (served by GigaChat-2-Max-preview)"
    );
    assert_eq!(mini["inputTokenLimit"], 128_000);
    let emb = find("models/text-embedding-3-small").unwrap();
    assert_eq!(
        emb["supportedGenerationMethods"],
        json!(["embedContent", "batchEmbedContents"])
    );
    assert!(
        find("models/claude-*").is_none(),
        "patterns are not model ids"
    );

    // One model: a name a pattern matches carries the alias's settings.
    let (s, _, m) = json_of(p.get("/v1beta/models/claude-opus").await).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["displayName"], "claude-opus (served by GigaChat-2-Max)");
    assert_eq!(m["outputTokenLimit"], 4096);
    assert_eq!(m["inputTokenLimit"], 128_000);
}
