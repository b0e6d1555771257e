//! Content-hash → GigaChat file id, with a TTL, a capacity bound (least recently used
//! goes first) and single-flight uploads: concurrent requests for the same key wait
//! for the first upload instead of repeating it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub(super) type Key = [u8; 32];

struct Entry {
    id: String,
    expires: Instant,
    last_used: u64,
}

struct State {
    entries: HashMap<Key, Entry>,
    /// One async lock per key being uploaded right now.
    inflight: HashMap<Key, Arc<tokio::sync::Mutex<()>>>,
    tick: u64,
}

pub(super) struct UploadCache {
    ttl: Duration,
    capacity: usize,
    state: Mutex<State>,
}

impl UploadCache {
    pub(super) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            state: Mutex::new(State {
                entries: HashMap::new(),
                inflight: HashMap::new(),
                tick: 0,
            }),
        }
    }

    fn enabled(&self) -> bool {
        self.capacity > 0 && !self.ttl.is_zero()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update of a plain
        // map; the data is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn get(&self, key: &Key) -> Option<String> {
        let mut st = self.lock();
        let now = Instant::now();
        st.tick += 1;
        let tick = st.tick;
        match st.entries.get_mut(key) {
            Some(e) if e.expires > now => {
                e.last_used = tick;
                Some(e.id.clone())
            }
            Some(_) => {
                st.entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub(super) fn insert(&self, key: Key, id: String) {
        if !self.enabled() {
            return;
        }
        let mut st = self.lock();
        let now = Instant::now();
        if !st.entries.contains_key(&key) && st.entries.len() >= self.capacity {
            st.entries.retain(|_, e| e.expires > now);
            while st.entries.len() >= self.capacity {
                let Some(oldest) = st
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(k, _)| *k)
                else {
                    break;
                };
                st.entries.remove(&oldest);
            }
        }
        st.tick += 1;
        let last_used = st.tick;
        st.entries.insert(
            key,
            Entry {
                id,
                expires: now + self.ttl,
                last_used,
            },
        );
    }

    /// The cached id for `key`, or the result of `upload` (cached on success). Only
    /// one caller per key uploads at a time; the others wait and then reuse its id.
    /// No std lock is held across an await.
    pub(super) async fn get_or_upload<E, F, Fut>(
        &self,
        key: Key,
        upload: F,
    ) -> Result<(String, bool), E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>>,
    {
        if !self.enabled() {
            return upload().await.map(|id| (id, false));
        }
        if let Some(id) = self.get(&key) {
            return Ok((id, true));
        }
        let gate = {
            let mut st = self.lock();
            st.inflight
                .entry(key)
                .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
                .clone()
        };
        let _turn = gate.lock().await;
        // Forget the gate however this ends (success, error, cancellation); waiters
        // hold their own handle to it.
        let _cleanup = InflightCleanup { cache: self, key };
        if let Some(id) = self.get(&key) {
            return Ok((id, true));
        }
        let id = upload().await?;
        self.insert(key, id.clone());
        Ok((id, false))
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

struct InflightCleanup<'a> {
    cache: &'a UploadCache,
    key: Key,
}

impl Drop for InflightCleanup<'_> {
    fn drop(&mut self) {
        self.cache.lock().inflight.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn key(n: u8) -> Key {
        [n; 32]
    }

    #[test]
    fn ttl_expires_entries() {
        let c = UploadCache::new(Duration::from_millis(30), 10);
        c.insert(key(1), "a".into());
        assert_eq!(c.get(&key(1)).as_deref(), Some("a"));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get(&key(1)), None);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn capacity_evicts_least_recently_used() {
        let c = UploadCache::new(Duration::from_secs(60), 2);
        c.insert(key(1), "a".into());
        c.insert(key(2), "b".into());
        assert!(c.get(&key(1)).is_some()); // 2 is now the least recently used
        c.insert(key(3), "c".into());
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&key(2)), None);
        assert_eq!(c.get(&key(1)).as_deref(), Some("a"));
        assert_eq!(c.get(&key(3)).as_deref(), Some("c"));
    }

    #[test]
    fn zero_capacity_disables_caching() {
        let c = UploadCache::new(Duration::from_secs(60), 0);
        c.insert(key(1), "a".into());
        assert_eq!(c.get(&key(1)), None);
    }

    #[tokio::test]
    async fn single_flight() {
        let c = Arc::new(UploadCache::new(Duration::from_secs(60), 10));
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let c = c.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                c.get_or_upload::<(), _, _>(key(7), || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok("file-7".to_string())
                })
                .await
            }));
        }
        for t in tasks {
            let (id, _) = t.await.unwrap().unwrap();
            assert_eq!(id, "file-7");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(c.lock().inflight.is_empty());
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let c = UploadCache::new(Duration::from_secs(60), 10);
        let r = c
            .get_or_upload(key(1), || async { Err::<String, _>("boom") })
            .await;
        assert_eq!(r, Err("boom"));
        let r = c
            .get_or_upload::<&str, _, _>(key(1), || async { Ok("id".to_string()) })
            .await;
        assert_eq!(r, Ok(("id".to_string(), false)));
        let r = c
            .get_or_upload::<&str, _, _>(key(1), || async { Ok("other".to_string()) })
            .await;
        assert_eq!(r, Ok(("id".to_string(), true)));
    }
}
