//! SSE response bodies: pre-rendered frames sent with the configured inter-frame delay,
//! and the stream faults (disconnect, truncated final frame, wrong content type, stall).
//!
//! Frames are rendered up front (they are tiny) so the body stream is a plain queue;
//! a broken connection is produced by yielding an I/O error, which makes hyper abort the
//! connection without the terminating chunk — the client sees a body error, not an EOF.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use tokio::sync::watch;

use crate::faults::StreamFaultKind;
use crate::http::{CONTENT_TYPE_JSON, CONTENT_TYPE_SSE};
use crate::state::Shared;

/// `data: <json>\n\n` (v1 framing).
pub(crate) fn data_frame<T: Serialize>(payload: &T) -> Bytes {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_slice(b"data: ");
    let mut writer = buf.writer();
    // Serialising our own wire types cannot fail.
    let _ = serde_json::to_writer(&mut writer, payload);
    let mut buf = writer.into_inner();
    buf.put_slice(b"\n\n");
    buf.freeze()
}

/// `data: [DONE]\n\n`.
pub(crate) const DONE_FRAME: &[u8] = b"data: [DONE]\n\n";

/// `event: <name>\ndata: <json>\n\n` (v2 framing).
pub(crate) fn event_frame<T: Serialize>(event: &str, payload: &T) -> Bytes {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_slice(b"event: ");
    buf.put_slice(event.as_bytes());
    buf.put_slice(b"\ndata: ");
    let mut writer = buf.writer();
    let _ = serde_json::to_writer(&mut writer, payload);
    let mut buf = writer.into_inner();
    buf.put_slice(b"\n\n");
    buf.freeze()
}

/// Where a stream stops early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    Abort,
    Stall,
}

struct Pump {
    frames: VecDeque<Bytes>,
    sent: usize,
    delay: Duration,
    brk: Option<(usize, Break)>,
    shutdown: watch::Receiver<bool>,
    finished: bool,
}

/// Pause before an injected disconnect.
const FLUSH_PAUSE: Duration = Duration::from_millis(10);

fn injected() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "gigachat-mock: injected stream fault",
    )
}

/// Builds the streaming response. `ends_with_done` marks v1's `[DONE]` terminator (dropped
/// by the truncation fault). `delay` separates frames.
pub(crate) fn sse_response(
    shared: &Shared,
    mut frames: Vec<Bytes>,
    ends_with_done: bool,
    delay: Duration,
) -> Response {
    let fault = shared.take_stream_fault().map(|f| f.kind);
    // A break point never lies past the last frame, so the client always misses the end.
    let last = frames.len().saturating_sub(1);
    let brk = match fault {
        Some(StreamFaultKind::Disconnect { after_chunks }) => {
            Some((after_chunks.min(last), Break::Abort))
        }
        Some(StreamFaultKind::Stall { after_chunks }) => {
            Some((after_chunks.min(last), Break::Stall))
        }
        Some(StreamFaultKind::TruncateFinal) => {
            if ends_with_done && frames.len() > 1 {
                frames.pop();
            }
            if let Some(final_frame) = frames.last_mut() {
                *final_frame = final_frame.slice(..final_frame.len() / 2);
            }
            None
        }
        Some(StreamFaultKind::WrongContentType) | None => None,
    };
    let content_type = if fault == Some(StreamFaultKind::WrongContentType) {
        CONTENT_TYPE_JSON
    } else {
        CONTENT_TYPE_SSE
    };
    let pump = Pump {
        frames: frames.into(),
        sent: 0,
        delay,
        brk,
        shutdown: shared.shutdown.subscribe(),
        finished: false,
    };
    let stream = futures::stream::unfold(pump, |mut p| async move {
        if p.finished {
            return None;
        }
        if let Some((at, kind)) = p.brk
            && p.sent == at
        {
            p.finished = true;
            if kind == Break::Stall {
                // Hold the connection open until the server shuts down.
                let _ = p.shutdown.wait_for(|stop| *stop).await;
            } else {
                // Let hyper flush the frames already produced (it writes buffered data
                // when the body is pending) so the client sees them before the abort.
                tokio::time::sleep(FLUSH_PAUSE).await;
            }
            return Some((Err(injected()), p));
        }
        let frame = p.frames.pop_front()?;
        if p.sent > 0 && !p.delay.is_zero() {
            tokio::time::sleep(p.delay).await;
        }
        p.sent += 1;
        Some((Ok::<Bytes, io::Error>(frame), p))
    });
    // No `Cache-Control`: GigaChat sends none on streams (recorded).
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The inter-frame delay: the configured chunk delay, or the request's `update_interval`
/// (seconds) when larger and honoured.
pub(crate) fn frame_delay(
    chunk_delay: Duration,
    update_interval: Option<f64>,
    honour: bool,
) -> Duration {
    let requested = update_interval
        .filter(|s| honour && s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(60.0)))
        .unwrap_or(Duration::ZERO);
    chunk_delay.max(requested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_are_exact() {
        assert_eq!(
            &data_frame(&json!({"a":"б"}))[..],
            "data: {\"a\":\"б\"}\n\n".as_bytes()
        );
        assert_eq!(
            &event_frame("response.message.done", &json!({"x":1}))[..],
            b"event: response.message.done\ndata: {\"x\":1}\n\n"
        );
    }

    #[test]
    fn update_interval_raises_delay() {
        assert_eq!(
            frame_delay(Duration::from_millis(5), Some(0.1), true),
            Duration::from_millis(100)
        );
        assert_eq!(
            frame_delay(Duration::from_millis(5), Some(0.1), false),
            Duration::from_millis(5)
        );
        assert_eq!(frame_delay(Duration::ZERO, None, true), Duration::ZERO);
    }
}
