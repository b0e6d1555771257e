//! The workloads: request bodies, paths, the mock settings each needs, and what a
//! correct answer looks like.
//!
//! Every chat answer is the same scripted reply (a mock rule, not a queue, so it never
//! runs out): [`REPLY_TOKENS`] numbered five-character tokens `<00> <01> … <49> `. With
//! the mock's `chunk_size` = 5 a stream carries exactly one token per content frame, so
//! the load generator can tell precisely which frames were lost, whatever the dialect.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, header};
use serde::Serialize;

/// Content tokens (= content frames of a stream) in the scripted reply.
pub const REPLY_TOKENS: u32 = 50;
/// Characters per token, and the mock's `chunk_size`.
pub const CHUNK_SIZE: usize = 5;
/// Inputs per embeddings request.
pub const EMBEDDING_INPUTS: usize = 16;

/// The scripted reply: `<00> <01> … <49> ` (250 characters).
pub fn reply_text() -> String {
    (0..REPLY_TOKENS).map(|i| format!("<{i:02}> ")).collect()
}

/// The mock rule answering every chat request with [`reply_text`].
pub fn reply_rule() -> serde_json::Value {
    serde_json::json!({
        "matcher": "always",
        "reply": {"type": "text", "text": reply_text()},
        "times": null
    })
}

/// Which API a workload speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    Chat,
    Embeddings,
    Messages,
}

/// One row group of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    /// Short id used in the table and JSON.
    pub id: &'static str,
    pub api: Api,
    pub stream: bool,
    /// Mock delay before every response head.
    pub latency_ms: u64,
    /// Mock delay between stream frames.
    pub chunk_delay_ms: u64,
}

impl Workload {
    /// The proxy path the client calls.
    pub fn path(&self) -> &'static str {
        match self.api {
            Api::Chat => "/v1/chat/completions",
            Api::Embeddings => "/v1/embeddings",
            Api::Messages => "/v1/messages",
        }
    }

    /// The request body. Every model name is one the mock serves, so the null
    /// pass-through can forward the body unchanged (gpt2giga replaces it anyway).
    pub fn body(&self) -> Bytes {
        let value = match self.api {
            Api::Chat => serde_json::json!({
                "model": "GigaChat",
                "messages": [{"role": "user", "content": "Count to fifty, please."}],
                "stream": self.stream,
            }),
            Api::Messages => serde_json::json!({
                "model": "GigaChat",
                "max_tokens": 1024,
                "messages": [{"role": "user", "content": "Count to fifty, please."}],
                "stream": self.stream,
            }),
            Api::Embeddings => {
                let input: Vec<String> = (0..EMBEDDING_INPUTS)
                    .map(|i| {
                        format!("Sentence number {i}: the quick brown fox jumps over the lazy dog.")
                    })
                    .collect();
                serde_json::json!({"model": "EmbeddingsGigaR", "input": input})
            }
        };
        Bytes::from(value.to_string())
    }

    /// Request headers (besides the ones hyper adds).
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut h = vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )];
        match self.api {
            Api::Messages => {
                h.push((
                    HeaderName::from_static("anthropic-version"),
                    HeaderValue::from_static("2023-06-01"),
                ));
                h.push((
                    HeaderName::from_static("x-api-key"),
                    HeaderValue::from_static("bench"),
                ));
            }
            Api::Chat | Api::Embeddings => h.push((
                header::AUTHORIZATION,
                HeaderValue::from_static("Bearer bench"),
            )),
        }
        if self.stream {
            h.push((
                header::ACCEPT,
                HeaderValue::from_static("text/event-stream"),
            ));
        }
        h
    }

    /// What a complete answer contains. `raw_upstream` is true for the null
    /// pass-through, whose answers are GigaChat's own (so an Anthropic stream ends with
    /// `data: [DONE]`, not `message_stop`).
    pub fn expectation(&self, raw_upstream: bool) -> Expect {
        let terminator = match (self.stream, self.api, raw_upstream) {
            (false, _, _) => None,
            (true, Api::Messages, false) => Some(&b"message_stop"[..]),
            (true, _, _) => Some(&b"data: [DONE]"[..]),
        };
        Expect {
            stream: self.stream,
            tokens: if self.api == Api::Embeddings {
                0
            } else {
                REPLY_TOKENS
            },
            terminator,
            min_embeddings: if self.api == Api::Embeddings {
                EMBEDDING_INPUTS
            } else {
                0
            },
        }
    }
}

/// The checks applied to every answer.
#[derive(Debug, Clone)]
pub struct Expect {
    pub stream: bool,
    /// The reply tokens `<00>`…`<NN>` that must all arrive (0: none expected).
    pub tokens: u32,
    /// A byte string the stream must contain (after the last token).
    pub terminator: Option<&'static [u8]>,
    /// Minimum occurrences of `"embedding"` in the body.
    pub min_embeddings: usize,
}

/// The non-soak matrix.
pub fn matrix() -> Vec<Workload> {
    let w = |id, api, stream, latency_ms| Workload {
        id,
        api,
        stream,
        latency_ms,
        chunk_delay_ms: 0,
    };
    vec![
        w("chat", Api::Chat, false, 0),
        w("chat-50ms", Api::Chat, false, 50),
        w("chat-stream", Api::Chat, true, 0),
        w("embeddings", Api::Embeddings, false, 0),
        w("messages", Api::Messages, false, 0),
        w("messages-stream", Api::Messages, true, 0),
    ]
}

/// The soak workload: streaming chat with slow upstream chunks.
pub fn soak(chunk_delay_ms: u64) -> Workload {
    Workload {
        id: "soak-stream",
        api: Api::Chat,
        stream: true,
        latency_ms: 0,
        chunk_delay_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_is_fifty_five_char_tokens() {
        let text = reply_text();
        assert_eq!(text.chars().count(), REPLY_TOKENS as usize * CHUNK_SIZE);
        assert!(text.starts_with("<00> <01> "));
        assert!(text.ends_with("<49> "));
    }

    #[test]
    fn bodies_are_json() {
        for w in matrix() {
            let v: serde_json::Value = serde_json::from_slice(&w.body()).unwrap();
            assert!(v.get("model").is_some());
        }
    }
}
