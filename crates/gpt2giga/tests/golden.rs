//! Golden transcripts: a real recorded GigaChat v1 stream (cassette
//! `test_stream_simple.yaml`, body extracted verbatim to
//! `tests/fixtures/cassettes/test_stream_simple.sse`) is replayed byte for byte, one
//! frame per body chunk, by a tiny upstream; the proxy's OpenAI and Anthropic SSE output
//! is compared with checked-in transcripts (ids and timestamps normalised).
//!
//! Regenerate the transcripts with `UPDATE_GOLDEN=1 cargo test -p gpt2giga --test golden`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{
    Proxy, ReplayUpstream, anthropic_events, config_for, delta_text, http, openai_frames,
    sse_frames, text_of,
};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn cassette() -> Vec<u8> {
    std::fs::read(fixtures().join("cassettes/test_stream_simple.sse")).unwrap()
}

/// The prompt of the recorded interaction.
const PROMPT: &str = "Count from 1 to 3";

/// Replaces `<prefix><alphanumerics>` with `<prefix><placeholder>`.
fn replace_ids(text: &str, prefix: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at + prefix.len()]);
        out.push_str(placeholder);
        rest = &rest[at + prefix.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Replaces the digits after `"key":` with a placeholder.
fn replace_number(text: &str, key: &str, placeholder: &str) -> String {
    let needle = format!("\"{key}\":");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        out.push_str(&rest[..at + needle.len()]);
        rest = &rest[at + needle.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if end > 0 {
            out.push_str(placeholder);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn normalise(text: &str) -> String {
    let t = replace_ids(text, "chatcmpl-", "<ID>");
    let t = replace_ids(&t, "msg_", "<ID>");
    let t = replace_ids(&t, "toolu_", "<ID>");
    let t = replace_ids(&t, "call_", "<ID>");
    let t = replace_ids(&t, "resp_", "<ID>");
    let t = replace_ids(&t, "rs_", "<ID>");
    let t = replace_ids(&t, "fc_", "<ID>");
    let t = replace_number(&t, "created_at", "<CREATED>");
    replace_number(&t, "created", "<CREATED>")
}

/// Compares `actual` with the golden file `name` (or rewrites it with `UPDATE_GOLDEN=1`).
fn check_golden(name: &str, actual: &str) {
    let path = fixtures().join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0" && !v.is_empty()) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the golden transcript at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
             (set UPDATE_GOLDEN=1 to accept the new output)\n--- actual ---\n{actual}",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first),
        );
    }
}

async fn replay() -> (ReplayUpstream, Proxy) {
    let bytes = cassette();
    let frames = sse_frames(&bytes);
    assert_eq!(frames.len(), 6, "five chunks and [DONE]");
    assert_eq!(frames.concat(), bytes, "frames cover the cassette exactly");
    let up = ReplayUpstream::start(frames).await;
    let proxy = Proxy::start(config_for(&up.base_url(), &up.auth_url(), &[], &[])).await;
    (up, proxy)
}

/// The recorded answer text: the concatenated `delta.content` of the cassette.
fn recorded_text() -> String {
    let text = String::from_utf8(cassette()).unwrap();
    delta_text(&openai_frames(&text), "content")
}

#[tokio::test]
async fn openai_stream_golden() {
    let (up, proxy) = replay().await;
    let r = http()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .json(&json!({"model": "gpt-4o", "stream": true,
                      "stream_options": {"include_usage": true},
                      "messages": [{"role": "user", "content": PROMPT}]}))
        .send()
        .await
        .unwrap();
    let (status, _, text) = text_of(r).await;
    assert_eq!(status, 200, "{text}");

    // Semantics first, then the exact bytes.
    let frames = openai_frames(&text);
    assert_eq!(delta_text(&frames, "content"), recorded_text());
    let usage = &frames[frames.len() - 2]["usage"];
    assert_eq!(usage["prompt_tokens"], 17);
    assert_eq!(usage["completion_tokens"], 42);
    assert_eq!(usage["total_tokens"], 59);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 2);
    check_golden("stream_simple.openai.sse", &normalise(&text));

    let sent = up.chat_bodies();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["model"], "GigaChat");
    assert_eq!(sent[0]["stream"], true);
    assert_eq!(
        sent[0]["messages"],
        json!([{"role": "user", "content": PROMPT}])
    );
}

#[tokio::test]
async fn anthropic_stream_golden() {
    let (up, proxy) = replay().await;
    let r = http()
        .post(format!("{}/v1/messages", proxy.url))
        .json(
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": true,
                      "messages": [{"role": "user", "content": PROMPT}]}),
        )
        .send()
        .await
        .unwrap();
    let (status, _, text) = text_of(r).await;
    assert_eq!(status, 200, "{text}");

    let events = anthropic_events(&text);
    let got: String = events
        .iter()
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(got, recorded_text());
    let delta: &Value = &events[events.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["input_tokens"], 15);
    assert_eq!(delta["usage"]["cache_read_input_tokens"], 2);
    assert_eq!(delta["usage"]["output_tokens"], 42);
    check_golden("stream_simple.anthropic.sse", &normalise(&text));

    let sent = up.chat_bodies();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["model"], "GigaChat");
    assert_eq!(sent[0]["stream"], true);
    assert_eq!(sent[0]["max_tokens"], 1024);
    assert_eq!(
        sent[0]["messages"],
        json!([{"role": "user", "content": PROMPT}])
    );
}

#[tokio::test]
async fn responses_stream_golden() {
    let (up, proxy) = replay().await;
    let r = http()
        .post(format!("{}/v1/responses", proxy.url))
        .json(
            &json!({"model": "gpt-5", "stream": true, "instructions": "Be brief.",
                      "input": PROMPT}),
        )
        .send()
        .await
        .unwrap();
    let (status, _, text) = text_of(r).await;
    assert_eq!(status, 200, "{text}");

    let events = anthropic_events(&text);
    let got: String = events
        .iter()
        .filter(|(name, _)| name == "response.output_text.delta")
        .filter_map(|(_, v)| v["delta"].as_str())
        .collect();
    assert_eq!(got, recorded_text());
    for (i, (name, v)) in events.iter().enumerate() {
        assert_eq!(v["sequence_number"], i as u64, "{name}");
        assert_eq!(v["type"], name.as_str());
    }
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "response.completed");
    assert_eq!(done["response"]["status"], "completed");
    assert_eq!(done["response"]["usage"]["input_tokens"], 17);
    assert_eq!(done["response"]["usage"]["output_tokens"], 42);
    assert_eq!(
        done["response"]["usage"]["input_tokens_details"]["cached_tokens"],
        2
    );
    assert_eq!(
        done["response"]["output"][0]["content"][0]["text"],
        recorded_text()
    );
    check_golden("stream_simple.responses.sse", &normalise(&text));

    let sent = up.chat_bodies();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}])
    );
}

#[test]
fn normalisation_replaces_ids_and_timestamps() {
    let s = r#"{"id":"chatcmpl-abc123","created":1768996176,"x":"msg_9f"}"#;
    assert_eq!(
        normalise(s),
        r#"{"id":"chatcmpl-<ID>","created":<CREATED>,"x":"msg_<ID>"}"#
    );
}
