//! The one streaming loop for every dialect: pull `ir::Event`s, let the dialect's
//! [`Encoder`] turn them into SSE bytes, flush whatever is ready as one chunk, and send
//! the dialect's keep-alive frame during long silences. Dropping the body (the client
//! went away) drops the event stream, which cancels the upstream request. Also the
//! shared JSON and error response helpers.

use std::task::Poll;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::encoder::{Commit, Encoder};
use crate::ir::EventStream;

/// Encoded frames above this size are sent without waiting for more.
const FLUSH_AT: usize = 32 * 1024;
/// Scheduler turns without a new frame before encoded frames are written. The upstream
/// connection task needs two to hand over a frame it has already read (measured: with
/// one, every delta still left in its own write).
const IDLE_TURNS: u32 = 2;

/// The streaming HTTP response for `events` encoded by `encoder`.
///
/// Frames that arrive together leave together: GigaChat's frames come one per HTTP
/// chunk, and the upstream connection task hands them over one at a time, so after the
/// events run dry the loop yields to the scheduler ([`IDLE_TURNS`] times at most, letting
/// that task deliver what it has already read) before it writes. A burst of frames
/// becomes one write to the client instead of one per delta; a lone frame waits two
/// scheduler turns (microseconds).
pub fn response<E: Encoder>(
    mut events: EventStream,
    mut encoder: E,
    keepalive_after: Option<Duration>,
) -> Response {
    let mut started = false;
    let mut done = false;
    // Frames encoded but not sent yet, whether any was added since the last yield, and
    // the turns yielded since one was.
    let mut out = BytesMut::new();
    let mut fresh = false;
    let mut idle = 0u32;
    // Closing frames held back until the encoder's commit finishes: (commit, frames,
    // where the closing frames start).
    let mut committing: Option<(Commit, BytesMut, usize)> = None;
    let mut ping =
        keepalive_after.map(|d| tokio::time::interval_at(tokio::time::Instant::now() + d, d));
    let body = futures::stream::poll_fn(move |cx| {
        if let Some((commit, _, _)) = committing.as_mut() {
            let Poll::Ready(result) = commit.as_mut().poll(cx) else {
                return Poll::Pending;
            };
            let Some((_, mut out, closing)) = committing.take() else {
                return Poll::Ready(None);
            };
            if let Err(e) = result {
                out.truncate(closing);
                encoder.fail(&e, &mut out);
            }
            return Poll::Ready(Some(Ok(out.freeze())));
        }
        if done {
            return Poll::Ready(None);
        }
        if !started {
            started = true;
            encoder.start(Some(&mut out));
        }
        loop {
            match events.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(e))) => {
                    encoder.event(e, Some(&mut out));
                    fresh = true;
                    if out.len() >= FLUSH_AT {
                        break;
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    encoder.fail(&e, &mut out);
                    done = true;
                    break;
                }
                Poll::Ready(None) => {
                    let closing = out.len();
                    encoder.end(Some(&mut out));
                    done = true;
                    if let Some(mut commit) = encoder.commit() {
                        match commit.as_mut().poll(cx) {
                            Poll::Ready(Ok(())) => {}
                            Poll::Ready(Err(e)) => {
                                out.truncate(closing);
                                encoder.fail(&e, &mut out);
                            }
                            Poll::Pending => {
                                committing = Some((commit, out.split(), closing));
                                return Poll::Pending;
                            }
                        }
                    }
                    break;
                }
                Poll::Pending => {
                    if !out.is_empty() {
                        if std::mem::take(&mut fresh) {
                            idle = 0;
                        }
                        if idle < IDLE_TURNS {
                            // More frames may be read already: a scheduler turn for the
                            // upstream connection to hand them over (we are woken by
                            // either that or the end of the turn).
                            idle += 1;
                            let turn = std::pin::pin!(tokio::task::yield_now());
                            if turn.poll(cx).is_pending() {
                                return Poll::Pending;
                            }
                            continue;
                        }
                        if let Some(p) = ping.as_mut() {
                            p.reset();
                        }
                        break;
                    }
                    if let Some(p) = ping.as_mut()
                        && p.poll_tick(cx).is_ready()
                        && encoder.keepalive(&mut out)
                    {
                        break;
                    }
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(Some(Ok::<Bytes, std::convert::Infallible>(
            out.split().freeze(),
        )))
    });
    let mut r = (StatusCode::OK, Body::from_stream(body)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProxyError;
    use crate::ir::Event;
    use http_body_util::BodyExt;

    /// Writes `text:` frames, `end` at the close, `fail` on errors; its commit waits a
    /// little and then succeeds or fails as told.
    struct Probe {
        commit_fails: bool,
    }

    impl Encoder for Probe {
        type Object = ();
        fn event(&mut self, event: Event, out: Option<&mut BytesMut>) {
            if let (Event::Text(t), Some(out)) = (event, out) {
                out.extend_from_slice(format!("text:{t}\n").as_bytes());
            }
        }
        fn end(&mut self, out: Option<&mut BytesMut>) {
            if let Some(out) = out {
                out.extend_from_slice(b"end\n");
            }
        }
        fn finish(self) {}
        fn commit(&mut self) -> Option<Commit> {
            let fails = self.commit_fails;
            Some(Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if fails {
                    Err(ProxyError::Unavailable("store down".into()))
                } else {
                    Ok(())
                }
            }))
        }
        fn fail(&mut self, error: &ProxyError, out: &mut BytesMut) {
            out.extend_from_slice(format!("fail:{error}\n").as_bytes());
        }
    }

    async fn body_of(commit_fails: bool) -> String {
        let events: EventStream = Box::pin(futures::stream::iter(vec![
            Ok(Event::Text("a".into())),
            Ok(Event::Text("b".into())),
        ]));
        let resp = response(events, Probe { commit_fails }, None);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// Events that are each Pending once (waking at once) before they are ready: what the
    /// upstream connection's hand-over looks like.
    fn trickling(texts: &[&str]) -> EventStream {
        let mut items: std::collections::VecDeque<Event> =
            texts.iter().map(|t| Event::Text((*t).into())).collect();
        let mut ready = false;
        Box::pin(futures::stream::poll_fn(move |cx| {
            if items.is_empty() {
                return Poll::Ready(None);
            }
            ready = !ready;
            if ready {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(items.pop_front().map(Ok))
        }))
    }

    #[tokio::test]
    async fn frames_that_arrive_together_leave_together() {
        let resp = response(
            trickling(&["a", "b", "c", "d"]),
            Probe {
                commit_fails: false,
            },
            None,
        );
        let mut body = resp.into_body();
        let mut chunks = Vec::new();
        while let Some(frame) = body.frame().await {
            chunks.push(frame.unwrap().into_data().unwrap());
        }
        let all: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
        assert_eq!(
            String::from_utf8(all).unwrap(),
            "text:a\ntext:b\ntext:c\ntext:d\nend\n"
        );
        assert_eq!(chunks.len(), 1, "{chunks:?}");
    }

    #[tokio::test]
    async fn a_lone_frame_is_not_held_back() {
        // One event, then silence (Pending, never woken): the frame must still go out.
        let mut first = Some(Event::Text("a".into()));
        let events: EventStream = Box::pin(futures::stream::poll_fn(move |_| match first.take() {
            Some(e) => Poll::Ready(Some(Ok(e))),
            None => Poll::Pending,
        }));
        let resp = response(
            events,
            Probe {
                commit_fails: false,
            },
            None,
        );
        let mut body = resp.into_body();
        let frame = tokio::time::timeout(Duration::from_secs(2), body.frame())
            .await
            .expect("the frame was held back")
            .unwrap()
            .unwrap();
        assert_eq!(&frame.into_data().unwrap()[..], b"text:a\n");
    }

    #[tokio::test]
    async fn closing_frames_wait_for_the_commit() {
        assert_eq!(body_of(false).await, "text:a\ntext:b\nend\n");
        // A failed commit replaces the closing frames with the error frames.
        assert_eq!(body_of(true).await, "text:a\ntext:b\nfail:store down\n");
    }
}
