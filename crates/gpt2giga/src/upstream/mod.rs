//! The only door to GigaChat: `ir::ChatRequest` in, `ir::Event` stream out.
//!
//! * [`request`] builds the GigaChat v1 request (pure);
//! * [`attachments`] uploads images and documents (SSRF-safe fetching, dedup cache);
//! * [`files`] is GigaChat's file store behind the Files APIs;
//! * [`response`] maps GigaChat chunks to events; [`stop`] enforces stop sequences;
//! * [`schema`] and [`names`] make tool definitions acceptable to GigaChat.
//!
//! A non-streaming call yields the very same events as a streaming one, so one dialect
//! encoder makes both answers from them (architecture invariant 1).

pub mod attachments;
pub(crate) mod catalog;
pub mod files;
mod json_object;
pub mod limiter;
pub mod names;
pub mod pool;
pub mod request;
pub mod response;
pub mod schema;
pub mod stop;

pub use pool::Upstream;

use std::collections::VecDeque;

use futures::{Stream, StreamExt, stream};
use gigachat::RequestContext;

use crate::error::ProxyError;
use crate::ir::{self, Event, EventStream};
use crate::telemetry::metrics;
use response::EventMapper;
use stop::StopFilter;

/// What a chat call needs besides the request itself.
pub struct ChatCall<'a> {
    /// The GigaChat identity of this request and the per-model concurrency cap.
    pub upstream: &'a Upstream,
    pub attachments: &'a attachments::Attachments,
    pub options: &'a request::Options,
    pub ctx: RequestContext,
}

/// Runs a chat request against GigaChat.
///
/// Errors that happen before GigaChat's first answer byte (validation, upload, HTTP
/// status from GigaChat, a stream that fails before its first chunk) are returned as
/// `Err`, so the caller can answer with a real HTTP status. Later failures arrive as
/// an `Err` item inside the stream.
///
/// With a concurrency cap configured, the call first takes a slot for its GigaChat
/// model (uploads included) and holds it until the returned stream ends or is dropped.
pub async fn chat(call: ChatCall<'_>, req: &ir::ChatRequest) -> Result<EventStream, ProxyError> {
    let upstream = call.upstream;
    run_chat(call, req).await.map_err(|e| upstream.error(e))
}

async fn run_chat(call: ChatCall<'_>, req: &ir::ChatRequest) -> Result<EventStream, ProxyError> {
    metrics::note_model(&req.model);
    let slot = metrics::queued(call.upstream.slot(&call.options.model)).await?;
    let client = call.upstream.client();
    let files = metrics::uploading(call.attachments.resolve(client, req, &call.ctx)).await?;
    let (gc_request, plan) = request::build(req, &files, call.options)?;
    metrics::gigachat_request(&gc_request.model, &gc_request);
    let capture = metrics::capture();
    if let Some(c) = &capture {
        c.identity(&call.upstream.owner());
    }
    tracing::debug!(
        model = %gc_request.model,
        messages = gc_request.messages.len(),
        functions = gc_request.functions.as_ref().map_or(0, Vec::len),
        stream = req.stream,
        "sending chat request to GigaChat"
    );
    let mut mapper = EventMapper::new(plan);
    let mut stops = StopFilter::new(&req.stop);

    if !req.stream {
        let response = metrics::upstream("chat", client.chat(&gc_request, &call.ctx)).await?;
        drop(slot);
        if let Some(c) = &capture {
            c.gigachat_response(&response);
        }
        let mut raw = Vec::new();
        mapper.response(response, &mut raw);
        let mut events = apply_stops(&mut stops, raw);
        if req.response_format == ir::ResponseFormat::JsonObject {
            json_object::check(&mut events)?;
        }
        return Ok(metrics::observe_events(
            Box::pin(stream::iter(events.into_iter().map(Ok))),
            false,
        ));
    }

    // Commit only once GigaChat has produced its first chunk: an error before that
    // is still a proper HTTP error for the client.
    let (chunks, first) = metrics::upstream("chat_stream", async {
        let mut chunks = client.chat_stream(&gc_request, &call.ctx).await?;
        match chunks.next().await {
            Some(Ok(chunk)) => Ok((chunks, chunk)),
            Some(Err(e)) => Err(ProxyError::from(e)),
            None => Err(ProxyError::Upstream(gigachat::Error::StreamInterrupted(
                "the stream ended before any data".into(),
            ))),
        }
    })
    .await?;
    let mut events = ChunkEvents {
        chunks,
        mapper,
        stops,
        pending: VecDeque::new(),
        mapped: Vec::new(),
        filtered: Vec::new(),
        slot,
        done: false,
        capture,
    };
    events.feed(first);
    Ok(metrics::observe_events(Box::pin(events), true))
}

/// The event stream of a streaming answer: each GigaChat chunk is mapped to events
/// (and through the stop filter) as it arrives, into buffers reused for the whole
/// stream. Holds the concurrency slot until the answer ends or the client goes away.
struct ChunkEvents {
    chunks: gigachat::ChatStream,
    mapper: EventMapper,
    stops: Option<StopFilter>,
    pending: VecDeque<Event>,
    mapped: Vec<Event>,
    filtered: Vec<Event>,
    slot: Option<limiter::Slot>,
    done: bool,
    /// The traffic log's capture of this request, when the log is on.
    capture: Option<std::sync::Arc<crate::telemetry::traffic::Capture>>,
}

impl ChunkEvents {
    fn feed(&mut self, chunk: gigachat::types::v1::ChatChunk) {
        if let Some(c) = &self.capture {
            c.gigachat_chunk(&chunk);
        }
        self.mapper.chunk(chunk, &mut self.mapped);
        match &mut self.stops {
            None => self.pending.extend(self.mapped.drain(..)),
            Some(f) => {
                for e in self.mapped.drain(..) {
                    f.push(e, &mut self.filtered);
                }
                self.pending.extend(self.filtered.drain(..));
            }
        }
    }
}

impl Stream for ChunkEvents {
    type Item = Result<Event, ProxyError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = self.get_mut();
        loop {
            if let Some(e) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(e)));
            }
            if this.done {
                // Released as soon as the answer is complete.
                drop(this.slot.take());
                return Poll::Ready(None);
            }
            match this.chunks.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.feed(chunk),
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(ProxyError::from(e))));
                }
                Poll::Ready(None) => this.done = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

fn apply_stops(stops: &mut Option<StopFilter>, raw: Vec<Event>) -> Vec<Event> {
    match stops {
        None => raw,
        Some(f) => {
            let mut out = Vec::with_capacity(raw.len());
            for e in raw {
                f.push(e, &mut out);
            }
            out
        }
    }
}
