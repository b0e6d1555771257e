//! Request recording: a bounded ring buffer of [`RecordedRequest`]s for assertions.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

/// One request as the emulator received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Sequence number (1-based, counts every non-control request, recorded or not).
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Status of the response head the emulator sent.
    pub status: u16,
    /// The `X-Request-Id` the emulator answered with.
    pub request_id: String,
}

impl RecordedRequest {
    /// First value of a header (name is case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// JSON view used by `GET /__mock/requests`: the body appears as `json` when it
    /// parses, else as `text` (lossy UTF-8, at most 64 KiB).
    pub(crate) fn to_view(&self) -> RecordedView<'_> {
        const MAX_TEXT: usize = 64 * 1024;
        let json = self.json();
        let text = if json.is_none() && !self.body.is_empty() {
            let end = self.body.len().min(MAX_TEXT);
            Some(String::from_utf8_lossy(&self.body[..end]).into_owned())
        } else {
            None
        };
        RecordedView {
            seq: self.seq,
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            status: self.status,
            request_id: &self.request_id,
            body_len: self.body.len(),
            json,
            text,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct RecordedView<'a> {
    seq: u64,
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: Vec<(&'a str, &'a str)>,
    status: u16,
    request_id: &'a str,
    body_len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    json: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// Bounded FIFO of recorded requests; the oldest entry is evicted when full.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    entries: Mutex<VecDeque<RecordedRequest>>,
}

impl Recorder {
    pub fn push(&self, capacity: usize, req: RecordedRequest) {
        if capacity == 0 {
            return;
        }
        if let Ok(mut q) = self.entries.lock() {
            while q.len() >= capacity {
                q.pop_front();
            }
            q.push_back(req);
        }
    }

    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.entries
            .lock()
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn last_matching(&self, path_suffix: &str) -> Option<RecordedRequest> {
        self.entries
            .lock()
            .ok()?
            .iter()
            .rev()
            .find(|r| r.path.ends_with(path_suffix))
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|q| q.len()).unwrap_or(0)
    }

    pub fn clear(&self) {
        if let Ok(mut q) = self.entries.lock() {
            q.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(seq: u64, path: &str) -> RecordedRequest {
        RecordedRequest {
            seq,
            method: "POST".into(),
            path: path.into(),
            query: None,
            headers: vec![("x-client-id".into(), "c1".into())],
            body: Bytes::from_static(b"{\"a\":1}"),
            status: 200,
            request_id: "r".into(),
        }
    }

    #[test]
    fn ring_buffer_evicts_oldest() {
        let r = Recorder::default();
        for i in 0..5 {
            r.push(3, req(i, &format!("/p{i}")));
        }
        let all = r.snapshot();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].seq, 2);
        assert_eq!(r.last_matching("/p3").unwrap().seq, 3);
        assert!(r.last_matching("/p0").is_none());
        r.push(0, req(9, "/x"));
        assert_eq!(r.snapshot().len(), 3);
    }

    #[test]
    fn view_parses_json() {
        let r = req(1, "/x");
        assert_eq!(r.header("X-Client-ID"), Some("c1"));
        let v = serde_json::to_value(r.to_view()).unwrap();
        assert_eq!(v["json"]["a"], 1);
        assert!(v.get("text").is_none());
    }
}
