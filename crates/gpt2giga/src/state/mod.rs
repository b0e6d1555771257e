//! What the proxy remembers between requests: stored Responses (for
//! `previous_response_id`, retrieve, delete and input items).
//!
//! [`ResponseStore`] is the interface; [`MemoryStore`] is the default backend — bounded
//! in entries and by age, least-recently-stored evicted first. A shared backend (e.g.
//! Redis, for several replicas) implements the same trait.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ir;

/// One stored response.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    /// The complete response object, as returned to the client.
    pub response: Bytes,
    /// The input items of the request that produced it, with their ids (JSON objects).
    pub input_items: Vec<serde_json::Value>,
    /// The whole conversation up to and including this response's output, for
    /// `previous_response_id`.
    pub history: Vec<ir::Message>,
    /// Whose GigaChat account produced it (`Owner::key`): a stored response is visible
    /// only to the same identity.
    pub owner: String,
}

/// Storage for Responses state.
pub trait ResponseStore: Send + Sync {
    fn get(&self, id: &str) -> Option<Arc<StoredResponse>>;
    fn put(&self, id: String, response: StoredResponse);
    /// `true` if something was deleted.
    fn delete(&self, id: &str) -> bool;
}

/// In-memory store bounded by `capacity` entries and `ttl` age.
pub struct MemoryStore {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, (Instant, Arc<StoredResponse>)>,
    order: VecDeque<String>,
}

impl MemoryStore {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity,
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way
        // that matters (worst case: a stale id in `order`), so recover from poisoning.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ResponseStore for MemoryStore {
    fn get(&self, id: &str) -> Option<Arc<StoredResponse>> {
        let mut inner = self.lock();
        match inner.map.get(id) {
            Some((at, r)) if at.elapsed() <= self.ttl => Some(r.clone()),
            Some(_) => {
                inner.map.remove(id);
                None
            }
            None => None,
        }
    }

    fn put(&self, id: String, response: StoredResponse) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        if inner
            .map
            .insert(id.clone(), (Instant::now(), Arc::new(response)))
            .is_none()
        {
            inner.order.push_back(id);
        }
        // Evict expired entries at the front, then the oldest beyond capacity.
        while let Some(front) = inner.order.front().cloned() {
            let expired = inner
                .map
                .get(&front)
                .is_none_or(|(at, _)| at.elapsed() > self.ttl);
            if expired || inner.map.len() > self.capacity {
                inner.order.pop_front();
                inner.map.remove(&front);
            } else {
                break;
            }
        }
    }

    fn delete(&self, id: &str) -> bool {
        let mut inner = self.lock();
        let removed = inner.map.remove(id).is_some();
        if removed {
            inner.order.retain(|x| x != id);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(n: u8) -> StoredResponse {
        StoredResponse {
            response: Bytes::from(vec![n]),
            input_items: vec![],
            history: vec![],
            owner: "server".into(),
        }
    }

    #[test]
    fn bounded_by_capacity() {
        let s = MemoryStore::new(2, Duration::from_secs(60));
        s.put("a".into(), stored(1));
        s.put("b".into(), stored(2));
        s.put("c".into(), stored(3));
        assert!(s.get("a").is_none());
        assert_eq!(s.get("c").unwrap().response[0], 3);
        assert!(s.delete("b"));
        assert!(!s.delete("b"));
        assert!(s.get("b").is_none());
    }

    #[test]
    fn bounded_by_age() {
        let s = MemoryStore::new(10, Duration::ZERO);
        s.put("a".into(), stored(1));
        std::thread::sleep(Duration::from_millis(2));
        assert!(s.get("a").is_none());
    }
}
