//! Server-sent-events framing, decoded at the byte level.
//!
//! GigaChat uses two framings: v1 sends `data: {json}\n\n` frames ending with
//! `data: [DONE]`; v2 sends named events (`event: response.message.delta\ndata: …\n\n`)
//! and no terminator. This decoder handles both: it splits on blank lines (LF or CRLF),
//! skips `:` comments, joins multiple `data:` lines with `\n`, and keeps the `event:`
//! name. Hand-written because it sits on the hot path: one buffer per stream, no copy
//! of a frame's data unless it spans several `data:` lines.

use bytes::{Buf, Bytes, BytesMut};

/// One dispatched SSE frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The `event:` name, if the frame had one.
    pub event: Option<String>,
    /// The `data:` payload (several `data:` lines joined by `\n`).
    pub data: Bytes,
}

/// Incremental SSE decoder: feed bytes with [`Decoder::push`], take frames with
/// [`Decoder::next_frame`].
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
    event: Option<String>,
    data: Option<BytesMut>,
    /// Upper bound on a single frame, to survive a hostile upstream.
    max_frame: usize,
}

/// Default cap on one frame (16 MiB): far above any real GigaChat chunk.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("stream frame exceeds {0} bytes")]
    FrameTooLarge(usize),
    #[error("stream ended inside a frame ({0} bytes unterminated)")]
    Truncated(usize),
}

impl Decoder {
    pub fn new() -> Self {
        Self {
            max_frame: DEFAULT_MAX_FRAME,
            ..Default::default()
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete frame, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        loop {
            let Some(nl) = memchr::memchr(b'\n', &self.buf) else {
                let pending = self.buf.len() + self.data.as_ref().map_or(0, BytesMut::len);
                if pending > self.max_frame {
                    return Err(DecodeError::FrameTooLarge(self.max_frame));
                }
                return Ok(None);
            };
            let mut line = self.buf.split_to(nl + 1);
            line.truncate(nl);
            if line.last() == Some(&b'\r') {
                line.truncate(nl - 1);
            }
            if line.is_empty() {
                if self.data.is_some() || self.event.is_some() {
                    let data = self.data.take().map(BytesMut::freeze).unwrap_or_default();
                    return Ok(Some(Frame {
                        event: self.event.take(),
                        data,
                    }));
                }
                continue;
            }
            if line.first() == Some(&b':') {
                continue;
            }
            let (field, value) = match memchr::memchr(b':', &line) {
                Some(colon) => {
                    let mut value = line.split_off(colon);
                    value.advance(1);
                    if value.first() == Some(&b' ') {
                        value.advance(1);
                    }
                    (line, value)
                }
                None => (line, BytesMut::new()),
            };
            match &field[..] {
                b"data" => match &mut self.data {
                    Some(existing) => {
                        existing.extend_from_slice(b"\n");
                        existing.extend_from_slice(&value);
                    }
                    None => self.data = Some(value),
                },
                b"event" => self.event = Some(String::from_utf8_lossy(&value).into_owned()),
                _ => {}
            }
        }
    }

    /// Call at end of input. Per the SSE rules an unterminated frame is never
    /// dispatched; here it is reported, since it means the stream was cut off.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        let pending = self.buf.len() + self.data.as_ref().map_or(0, BytesMut::len);
        if pending > 0 {
            return Err(DecodeError::Truncated(pending));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[&[u8]]) -> Vec<Frame> {
        let mut d = Decoder::new();
        let mut out = vec![];
        for chunk in input {
            d.push(chunk);
            while let Some(f) = d.next_frame().unwrap() {
                out.push(f);
            }
        }
        out
    }

    #[test]
    fn v1_framing_split_anywhere() {
        let raw = b"data: {\"a\":1}\n\ndata: [DONE]\n\n";
        for split in 0..raw.len() {
            let frames = all(&[&raw[..split], &raw[split..]]);
            assert_eq!(frames.len(), 2, "split at {split}");
            assert_eq!(&frames[0].data[..], b"{\"a\":1}");
            assert_eq!(&frames[1].data[..], b"[DONE]");
            assert_eq!(frames[0].event, None);
        }
    }

    #[test]
    fn v2_named_events_crlf_comments_and_multiline() {
        let frames = all(&[
            b": keep-alive\r\n\r\nevent: response.message.delta\r\ndata: {\"x\":\r\ndata: 1}\r\n\r\n",
        ]);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].event.as_deref(), Some("response.message.delta"));
        assert_eq!(&frames[0].data[..], b"{\"x\":\n1}");
    }

    #[test]
    fn truncated_final_frame_is_an_error() {
        let mut d = Decoder::new();
        d.push(b"data: {\"a\":");
        assert_eq!(d.next_frame().unwrap(), None);
        assert_eq!(d.finish(), Err(DecodeError::Truncated(11)));
        // A frame whose blank line never came is cut off too.
        let mut d = Decoder::new();
        d.push(b"data: [DONE]\n");
        assert_eq!(d.next_frame().unwrap(), None);
        assert!(d.finish().is_err());
        let mut empty = Decoder::new();
        assert_eq!(empty.finish(), Ok(()));
    }

    #[test]
    fn oversize_frame_is_refused() {
        let mut d = Decoder::new();
        d.max_frame = 8;
        d.push(b"data: 0123456789");
        assert!(matches!(d.next_frame(), Err(DecodeError::FrameTooLarge(8))));
    }
}
