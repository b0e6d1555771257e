//! Content-hash → GigaChat file id, with a TTL, a capacity bound (least recently used
//! goes first) and single-flight uploads: concurrent requests for the same key wait
//! for the first upload instead of repeating it (and share its failure).

use std::future::Future;
use std::time::Duration;

use moka::future::Cache;
use moka::policy::EvictionPolicy;

pub(super) type Key = [u8; 32];

/// Uploaded files by content key; `None` when caching is off (zero capacity or TTL).
pub(super) struct UploadCache(Option<Cache<Key, String>>);

impl UploadCache {
    pub(super) fn new(ttl: Duration, capacity: usize) -> Self {
        if capacity == 0 || ttl.is_zero() {
            return Self(None);
        }
        let cache = Cache::builder()
            .max_capacity(u64::try_from(capacity).unwrap_or(u64::MAX))
            .eviction_policy(EvictionPolicy::lru())
            .time_to_live(ttl)
            .build();
        Self(Some(cache))
    }

    /// The cached id for `key`, or the result of `upload` (cached on success), and
    /// whether it came from the cache. Only one caller per key uploads at a time; the
    /// others wait and then reuse its id, or get its error.
    pub(super) async fn get_or_upload<E, F, Fut>(
        &self,
        key: Key,
        upload: F,
    ) -> Result<(String, bool), E>
    where
        E: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>>,
    {
        let Some(cache) = &self.0 else {
            return upload().await.map(|id| (id, false));
        };
        let entry = cache
            .entry(key)
            .or_try_insert_with(upload())
            .await
            .map_err(|e| E::clone(&e))?;
        if entry.is_fresh() {
            // Evict now (uploads are rare next to lookups), so the bound holds promptly.
            cache.run_pending_tasks().await;
        }
        let cached = !entry.is_fresh();
        Ok((entry.into_value(), cached))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn key(n: u8) -> Key {
        [n; 32]
    }

    async fn put(c: &UploadCache, k: Key, id: &str) -> (String, bool) {
        let id = id.to_string();
        c.get_or_upload::<(), _, _>(k, || async { Ok(id) })
            .await
            .unwrap()
    }

    /// The cached id, without uploading.
    async fn get(c: &UploadCache, k: Key) -> Option<String> {
        let (id, cached) = c
            .get_or_upload::<(), _, _>(k, || async { Err(()) })
            .await
            .ok()?;
        assert!(cached);
        Some(id)
    }

    fn len(c: &UploadCache) -> u64 {
        c.0.as_ref().map_or(0, Cache::entry_count)
    }

    #[tokio::test]
    async fn ttl_expires_entries() {
        let c = UploadCache::new(Duration::from_millis(30), 10);
        assert_eq!(put(&c, key(1), "a").await, ("a".to_string(), false));
        assert_eq!(get(&c, key(1)).await.as_deref(), Some("a"));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(get(&c, key(1)).await, None);
        if let Some(cache) = &c.0 {
            cache.run_pending_tasks().await;
        }
        assert_eq!(len(&c), 0);
    }

    #[tokio::test]
    async fn capacity_evicts_least_recently_used() {
        let c = UploadCache::new(Duration::from_secs(60), 2);
        put(&c, key(1), "a").await;
        put(&c, key(2), "b").await;
        assert!(get(&c, key(1)).await.is_some()); // 2 is now the least recently used
        put(&c, key(3), "c").await;
        assert_eq!(len(&c), 2);
        assert_eq!(get(&c, key(2)).await, None);
        assert_eq!(get(&c, key(1)).await.as_deref(), Some("a"));
        assert_eq!(get(&c, key(3)).await.as_deref(), Some("c"));
    }

    #[tokio::test]
    async fn zero_capacity_disables_caching() {
        let c = UploadCache::new(Duration::from_secs(60), 0);
        put(&c, key(1), "a").await;
        assert_eq!(get(&c, key(1)).await, None);
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
        let mut fresh = 0;
        for t in tasks {
            let (id, cached) = t.await.unwrap().unwrap();
            assert_eq!(id, "file-7");
            fresh += usize::from(!cached);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(fresh, 1);
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
