//! The only door to GigaChat: `ir::ChatRequest` in, `ir::Event` stream out.
//!
//! * [`request`] builds the GigaChat v1 request (pure);
//! * [`attachments`] uploads images and documents (SSRF-safe fetching, dedup cache);
//! * [`response`] maps GigaChat chunks to events; [`stop`] enforces stop sequences;
//! * [`schema`] and [`names`] make tool definitions acceptable to GigaChat.
//!
//! A non-streaming call yields the very same events as a streaming one, so the dialect
//! encoders can fold them (architecture invariant 1).

pub mod attachments;
pub mod names;
pub mod request;
pub mod response;
pub mod schema;
pub mod stop;

use std::pin::Pin;

use futures::{Stream, StreamExt, stream};
use gigachat::RequestContext;

use crate::error::ProxyError;
use crate::ir::{self, Event};
use response::EventMapper;
use stop::StopFilter;

/// Events of one answer, ending after `Finish` (and `Usage`).
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event, ProxyError>> + Send>>;

/// What a chat call needs besides the request itself.
pub struct ChatCall<'a> {
    pub client: &'a gigachat::Client,
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
pub async fn chat(call: ChatCall<'_>, req: &ir::ChatRequest) -> Result<EventStream, ProxyError> {
    let files = call
        .attachments
        .resolve(call.client, req, &call.ctx)
        .await?;
    let (gc_request, plan) = request::build(req, &files, call.options)?;
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
        let response = call.client.chat(&gc_request, &call.ctx).await?;
        let mut raw = Vec::new();
        mapper.response(response, &mut raw);
        let events = apply_stops(&mut stops, raw);
        return Ok(Box::pin(stream::iter(events.into_iter().map(Ok))));
    }

    let mut chunks = call.client.chat_stream(&gc_request, &call.ctx).await?;
    // Commit only once GigaChat has produced its first chunk: an error before that
    // is still a proper HTTP error for the client.
    let first = match chunks.next().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(e)) => return Err(e.into()),
        None => {
            return Err(ProxyError::Upstream(gigachat::Error::StreamInterrupted(
                "the stream ended before any data".into(),
            )));
        }
    };
    let mut raw = Vec::new();
    mapper.chunk(first, &mut raw);
    let head = apply_stops(&mut stops, raw);
    let rest = chunks.map(move |item| match item {
        Ok(chunk) => {
            let mut raw = Vec::new();
            mapper.chunk(chunk, &mut raw);
            apply_stops(&mut stops, raw)
                .into_iter()
                .map(Ok)
                .collect::<Vec<_>>()
        }
        Err(e) => vec![Err(ProxyError::from(e))],
    });
    Ok(Box::pin(
        stream::iter(head.into_iter().map(Ok)).chain(rest.flat_map(stream::iter)),
    ))
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
