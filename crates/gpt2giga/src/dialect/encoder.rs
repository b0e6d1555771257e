//! One encoder per dialect, two outputs.
//!
//! An [`Encoder`] is a small state machine over `ir::Event`s. It writes the dialect's
//! stream frames as events arrive *and* keeps the answer those frames add up to, so a
//! JSON answer is the very object a client would accumulate from the stream (what the
//! official SDKs do: Anthropic's `get_final_message()`, OpenAI's
//! `ChatCompletionStreamState`, Responses' `response.completed`). Stream and JSON cannot
//! disagree because there is no second builder: [`super::sse::response`] drives an
//! encoder with frame output on, [`answer`] drives the same encoder over the same events
//! with frame output off (`None`: no frame is even formatted) and serialises
//! [`Encoder::finish`].

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde::Serialize;

use crate::error::ProxyError;
use crate::ir::Event;
use crate::ir::EventStream;

/// A dialect's answer encoder. `out` is the stream body being written, or `None` for a
/// JSON answer: the state (and so [`Encoder::finish`]) is the same either way.
pub trait Encoder: Send + 'static {
    /// The final object of a JSON answer.
    type Object: Serialize;

    /// Before the first event (opening frames).
    fn start(&mut self, _out: Option<&mut BytesMut>) {}
    /// One event: add it to the answer and write its frames.
    fn event(&mut self, event: Event, out: Option<&mut BytesMut>);
    /// The events are over: complete the answer and write the closing frames.
    fn end(&mut self, out: Option<&mut BytesMut>);
    /// Work that must finish before the answer is delivered (storing the finished
    /// response, so a client that continues it at once finds it): a stream holds its
    /// closing frames back until it is done, a JSON answer its body. If it fails, the
    /// client gets the error instead.
    fn commit(&mut self) -> Option<Commit> {
        None
    }
    /// A failure after a stream started: the dialect's error frame(s).
    fn fail(&mut self, error: &ProxyError, out: &mut BytesMut);
    /// A keep-alive frame, for dialects that have one.
    fn keepalive(&self, _out: &mut BytesMut) -> bool {
        false
    }
    /// The whole answer, after [`Encoder::end`].
    fn finish(self) -> Self::Object;
}

/// See [`Encoder::commit`].
pub(crate) type Commit = std::pin::Pin<Box<dyn Future<Output = Result<(), ProxyError>> + Send>>;

/// A JSON answer: `encoder` fed every event without frame output, its commit awaited,
/// its final object as a `200 application/json` response. An error event fails the
/// whole request (nothing was sent yet, so it keeps its real status).
pub async fn answer<E: Encoder>(
    mut events: EventStream,
    mut encoder: E,
) -> Result<axum::response::Response, ProxyError> {
    encoder.start(None);
    while let Some(event) = events.next().await {
        encoder.event(event?, None);
    }
    encoder.end(None);
    if let Some(commit) = encoder.commit() {
        commit.await?;
    }
    let body = serde_json::to_vec(&encoder.finish())
        .map_err(|e| ProxyError::Internal(format!("cannot serialise the answer: {e}")))?;
    Ok(super::respond::json(Bytes::from(body)))
}

/// Delta texts that exercise JSON escaping (quotes, backslashes, control characters,
/// the JavaScript line separators, non-ASCII, emoji, empty): encoders that write a
/// frame from typed fields are checked against the `json!` value they replace.
#[cfg(test)]
pub(crate) const TRICKY_TEXTS: &[&str] = &[
    "",
    "plain",
    "quote \" backslash \\ slash /",
    "line\nbreak\ttab\r\u{0}\u{1f}\u{7f}",
    "кириллица и emoji 🚀 \u{2028}\u{2029}",
    "</script><!-- -->",
];
