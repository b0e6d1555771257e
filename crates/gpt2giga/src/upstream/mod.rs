//! The only door to GigaChat: `ir::ChatRequest` in, `ir::Event` stream out.
//!
//! * [`request`] builds the GigaChat v1 request, [`request_v2`] the v2 one (pure);
//!   `--proxy.gigachat-api-mode` (or the alias's `api_mode`) picks the contract;
//! * [`attachments`] uploads images and documents (SSRF-safe fetching, dedup cache);
//! * [`files`] is GigaChat's file store behind the Files APIs;
//! * [`response`] maps GigaChat v1 chunks to events, [`response_v2`] v2 answers and
//!   named stream events to the same events; [`stop`] enforces stop sequences;
//! * [`schema`] and [`names`] make tool definitions acceptable to GigaChat;
//! * `tool_media` carries images and files returned by tools (user messages after
//!   the function results), for both builders.
//!
//! A non-streaming call yields the very same events as a streaming one, so one dialect
//! encoder makes both answers from them (architecture invariant 1).

pub mod attachments;
pub(crate) mod catalog;
mod citations;
pub mod embeddings;
pub mod files;
mod json_object;
pub mod limiter;
pub mod names;
pub mod pool;
pub mod request;
pub mod request_v2;
pub mod response;
pub mod response_v2;
pub mod schema;
pub mod stop;
pub(crate) mod tokens;
mod tool_media;

pub use pool::Upstream;

use std::collections::VecDeque;

use futures::{Stream, StreamExt, stream};
use gigachat::RequestContext;

use crate::config::ApiMode;
use crate::error::ProxyError;
use crate::ir::{self, Event, EventStream};
use crate::telemetry::metrics;
use response::EventMapper;
use response_v2::EventMapperV2;
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
    let stops = StopFilter::new(&req.stop);
    let capture = metrics::capture();
    if let Some(c) = &capture {
        c.identity(&call.upstream.owner());
    }
    match api_mode(call.options, req) {
        ApiMode::V1 => {
            let (gc_request, plan) = request::build(req, &files, call.options)?;
            metrics::gigachat_request(&gc_request.model, &gc_request);
            tracing::debug!(
                model = %gc_request.model,
                messages = gc_request.messages.len(),
                functions = gc_request.functions.as_ref().map_or(0, Vec::len),
                stream = req.stream,
                "sending chat request to GigaChat (v1)"
            );
            let mut mapper = EventMapper::new(plan);
            if !req.stream {
                let response =
                    metrics::upstream("chat", client.chat(&gc_request, &call.ctx)).await?;
                drop(slot);
                if let Some(c) = &capture {
                    c.gigachat_response(&response);
                }
                let mut raw = Vec::new();
                mapper.response(response, &mut raw);
                return answer(req, stops, raw);
            }
            let chunks = client.chat_stream(&gc_request, &call.ctx);
            stream_answer("chat_stream", chunks, mapper, stops, slot, capture).await
        }
        ApiMode::V2 => {
            let (gc_request, plan) = request_v2::build(req, &files, call.options)?;
            let model = gc_request.model.as_deref().unwrap_or(&call.options.model);
            metrics::gigachat_request(model, &gc_request);
            tracing::debug!(
                model = ?gc_request.model,
                messages = gc_request.messages.len(),
                tools = gc_request.tools.as_ref().map_or(0, Vec::len),
                stream = req.stream,
                "sending chat request to GigaChat (v2)"
            );
            let builtins = plan.builtins.clone();
            let images = builtins
                .iter()
                .any(|b| b.kind == ir::Builtin::ImageGeneration)
                .then(|| (client.clone(), call.ctx.clone()));
            let mut mapper = EventMapperV2::new(plan);
            if !req.stream {
                let response = metrics::upstream("chat_v2", client.chat_v2(&gc_request, &call.ctx))
                    .await
                    .map_err(|e| unavailable_tool(ProxyError::from(e), &builtins))?;
                drop(slot);
                if let Some(c) = &capture {
                    c.gigachat_response(&response);
                }
                let mut raw = Vec::new();
                mapper.response(response, &mut raw);
                if let Some((client, ctx)) = &images {
                    for e in &mut raw {
                        download_images(e, client, ctx).await?;
                    }
                }
                return answer(req, stops, raw);
            }
            let chunks = client.chat_v2_stream(&gc_request, &call.ctx);
            let events = stream_answer("chat_v2_stream", chunks, mapper, stops, slot, capture)
                .await
                .map_err(|e| unavailable_tool(e, &builtins))?;
            Ok(match images {
                None => events,
                Some((client, ctx)) => Box::pin(events.then(move |e| {
                    let (client, ctx) = (client.clone(), ctx.clone());
                    async move {
                        let mut e = e?;
                        download_images(&mut e, &client, &ctx).await?;
                        Ok(e)
                    }
                })),
            })
        }
    }
}

/// Fills in the generated images of a finished image generation: GigaChat keeps them in
/// its file store (§4.6, §7.2); clients get them inline, base64.
async fn download_images(
    event: &mut Event,
    client: &gigachat::Client,
    ctx: &gigachat::RequestContext,
) -> Result<(), ProxyError> {
    use base64::Engine as _;
    let Event::BuiltinDone(outcome) = event else {
        return Ok(());
    };
    for image in outcome.images.iter_mut().filter(|i| i.data.is_empty()) {
        let id = ir::file_id(&image.file_id, "image")?;
        let bytes = metrics::upstream("file_content", client.file_content(&id, ctx)).await?;
        if let Some(kind) = infer::get(&bytes).filter(|k| k.mime_type().starts_with("image/")) {
            image.mime = kind.mime_type().to_string();
        }
        image.data = base64::engine::general_purpose::STANDARD.encode(&bytes);
    }
    Ok(())
}

/// The contract for this request: v2 when it asks for a built-in tool (only v2 has
/// them), else the configured one (`--proxy.gigachat-api-mode`, the alias's `api_mode`).
fn api_mode(options: &request::Options, req: &ir::ChatRequest) -> ApiMode {
    if !req.builtins.is_empty() || matches!(req.tool_choice, ir::ToolChoice::Builtin(_)) {
        ApiMode::V2
    } else {
        options.api_mode
    }
}

/// GigaChat's 422 `Tool <name> is unavailable` (a built-in the account or model cannot
/// use, §4.3) as the client's mistake: a 400 naming the tool as the client called it.
fn unavailable_tool(e: ProxyError, builtins: &[ir::BuiltinTool]) -> ProxyError {
    let ProxyError::Upstream(gigachat::Error::Api {
        status: 422,
        message,
        ..
    }) = &e
    else {
        return e;
    };
    let Some(key) = message
        .strip_prefix("Tool ")
        .and_then(|m| m.strip_suffix(" is unavailable"))
    else {
        return e;
    };
    let client_name = request::builtin_of_key(key)
        .and_then(|kind| builtins.iter().find(|b| b.kind == kind))
        .map_or(key, |b| b.client_name.as_str());
    ProxyError::invalid_param(
        format!(
            "the built-in tool {client_name:?} is unavailable: GigaChat cannot run {key} for this account or model ({message})"
        ),
        "tools",
    )
}

/// A non-streaming answer: the mapped events through the stop filter (and the
/// `json_object` check), as a stream.
fn answer(
    req: &ir::ChatRequest,
    mut stops: Option<StopFilter>,
    raw: Vec<Event>,
) -> Result<EventStream, ProxyError> {
    let mut events = apply_stops(&mut stops, raw);
    if req.response_format == ir::ResponseFormat::JsonObject {
        json_object::check(&mut events)?;
    }
    Ok(metrics::observe_events(
        Box::pin(stream::iter(events.into_iter().map(Ok))),
        false,
    ))
}

/// What turns one piece of a GigaChat stream (a v1 chunk, a v2 event) into events.
trait ChunkMapper: Send + Unpin + 'static {
    type Chunk: serde::Serialize;
    fn map(&mut self, chunk: Self::Chunk, out: &mut Vec<Event>);
}

impl ChunkMapper for EventMapper {
    type Chunk = gigachat::types::v1::ChatChunk;
    fn map(&mut self, chunk: Self::Chunk, out: &mut Vec<Event>) {
        self.chunk(chunk, out);
    }
}

impl ChunkMapper for EventMapperV2 {
    type Chunk = gigachat::types::v2::StreamEvent;
    fn map(&mut self, chunk: Self::Chunk, out: &mut Vec<Event>) {
        self.event(chunk, out);
    }
}

type Chunks<C> = std::pin::Pin<Box<dyn Stream<Item = Result<C, gigachat::Error>> + Send>>;

/// A streaming answer. Commits only once GigaChat has produced its first chunk: an
/// error before that is still a proper HTTP error for the client.
async fn stream_answer<M: ChunkMapper>(
    label: &'static str,
    open: impl std::future::Future<Output = Result<Chunks<M::Chunk>, gigachat::Error>>,
    mapper: M,
    stops: Option<StopFilter>,
    slot: Option<limiter::Slot>,
    capture: Option<std::sync::Arc<crate::telemetry::traffic::Capture>>,
) -> Result<EventStream, ProxyError>
where
    M::Chunk: Send + 'static,
{
    let (chunks, first) = metrics::upstream(label, async {
        let mut chunks = open.await?;
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
struct ChunkEvents<M: ChunkMapper> {
    chunks: Chunks<M::Chunk>,
    mapper: M,
    stops: Option<StopFilter>,
    pending: VecDeque<Event>,
    mapped: Vec<Event>,
    filtered: Vec<Event>,
    slot: Option<limiter::Slot>,
    done: bool,
    /// The traffic log's capture of this request, when the log is on.
    capture: Option<std::sync::Arc<crate::telemetry::traffic::Capture>>,
}

impl<M: ChunkMapper> ChunkEvents<M> {
    fn feed(&mut self, chunk: M::Chunk) {
        if let Some(c) = &self.capture {
            c.gigachat_chunk(&chunk);
        }
        self.mapper.map(chunk, &mut self.mapped);
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

impl<M: ChunkMapper> Stream for ChunkEvents<M> {
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
