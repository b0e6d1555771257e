//! What the proxy remembers between requests: stored Responses (for
//! `previous_response_id`, retrieve, delete and input items), in this process's memory
//! or in Redis shared by several replicas (`--proxy.state-url`).
//!
//! A stored response keeps only its **own** turn — the input items of the request that
//! produced it and its reply — plus the id of its predecessor. The conversation behind a
//! `previous_response_id` is the chain of those links, read oldest first, so a chain of
//! N responses costs O(N) memory, not O(N²). A chain with a missing link (evicted,
//! expired or deleted) is reported as such, never read in part.
//!
//! The store is dialect-agnostic: the entries are bytes the Responses dialect encodes
//! and decodes. Reading an entry (or a chain through it) refreshes its time to live, so
//! a conversation in use is not expired under its user.

pub mod redis;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use moka::policy::EvictionPolicy;

use crate::error::ProxyError;

/// Chains longer than this are refused (a request would carry the whole chain to
/// GigaChat; no model context holds this many turns).
pub(crate) const MAX_CHAIN: usize = 10_000;

/// One stored response.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    /// The complete response object, as returned to the client.
    pub response: Bytes,
    /// The input items of the request that produced it (a JSON array).
    pub input_items: Bytes,
    /// The answer as the conversation remembers it (encoded by the dialect).
    pub reply: Bytes,
    /// The response it continues (`previous_response_id`), if any.
    pub previous: Option<String>,
    /// Whose GigaChat account produced it (`Owner::key`): a stored response is visible
    /// only to the same identity.
    pub owner: String,
}

impl StoredResponse {
    /// The bytes this entry costs (what the memory budget counts).
    pub(crate) fn weight(&self, id: &str) -> usize {
        const OVERHEAD: usize = 160;
        OVERHEAD
            + id.len()
            + self.response.len()
            + self.input_items.len()
            + self.reply.len()
            + self.previous.as_ref().map_or(0, String::len)
            + self.owner.len()
    }
}

/// One link of a conversation: a response's own turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub id: String,
    pub input_items: Bytes,
    pub reply: Bytes,
}

/// A conversation read back from its newest response.
#[derive(Debug, Clone, PartialEq)]
pub enum Chain {
    /// Every link, oldest first.
    Found(Vec<Link>),
    /// The first response (walking back from the newest) that is not there, or not the
    /// caller's.
    Missing(String),
    /// Longer than [`MAX_CHAIN`].
    TooLong,
}

/// Where stored Responses live.
pub enum Store {
    Memory(MemoryStore),
    Redis(redis::RedisStore),
}

impl Store {
    /// `id`, if it exists and belongs to `owner`.
    pub async fn get(
        &self,
        id: &str,
        owner: &str,
    ) -> Result<Option<Arc<StoredResponse>>, ProxyError> {
        match self {
            Store::Memory(m) => Ok(m.get(id, owner)),
            Store::Redis(r) => r.get(id, owner).await,
        }
    }

    pub async fn put(&self, id: String, response: StoredResponse) -> Result<(), ProxyError> {
        match self {
            Store::Memory(m) => {
                m.put(id, response);
                Ok(())
            }
            Store::Redis(r) => r.put(&id, &response).await,
        }
    }

    /// `true` if `owner`'s response `id` was deleted.
    pub async fn delete(&self, id: &str, owner: &str) -> Result<bool, ProxyError> {
        match self {
            Store::Memory(m) => Ok(m.delete(id, owner)),
            Store::Redis(r) => r.delete(id, owner).await,
        }
    }

    /// The conversation ending with `id`, oldest link first.
    pub async fn chain(&self, id: &str, owner: &str) -> Result<Chain, ProxyError> {
        match self {
            Store::Memory(m) => Ok(m.chain(id, owner)),
            Store::Redis(r) => r.chain(id, owner).await,
        }
    }

    /// Fails fast with 503 when the store cannot be used (Redis unreachable), so a
    /// request that will need it is refused before GigaChat is called.
    pub async fn check(&self) -> Result<(), ProxyError> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Redis(r) => r.check().await,
        }
    }

    /// `"memory"` or `"redis"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Memory(_) => "memory",
            Store::Redis(_) => "redis",
        }
    }
}

/// In-memory store bounded by bytes (`max_bytes`), entries (`capacity`) and idle time
/// (`ttl`); the least recently used go first. Both bounds share one budget: an entry
/// weighs its bytes but at least `max_bytes / capacity`.
pub struct MemoryStore {
    cache: moka::sync::Cache<String, Arc<StoredResponse>>,
    /// 0 = store nothing.
    capacity: usize,
}

impl MemoryStore {
    pub fn new(capacity: usize, ttl: Duration, max_bytes: u64) -> Self {
        // One budget enforces both bounds: an entry weighs its bytes, but at least
        // `max_bytes / capacity`, so the budget never admits more than `capacity`.
        let floor = u32::try_from(max_bytes / capacity.max(1) as u64).unwrap_or(u32::MAX);
        let cache = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(move |id: &String, r: &Arc<StoredResponse>| {
                u32::try_from(r.weight(id)).unwrap_or(u32::MAX).max(floor)
            })
            .time_to_idle(ttl)
            .eviction_policy(EvictionPolicy::lru())
            .build();
        Self { cache, capacity }
    }

    pub fn get(&self, id: &str, owner: &str) -> Option<Arc<StoredResponse>> {
        self.cache.get(id).filter(|r| r.owner == owner)
    }

    pub fn put(&self, id: String, response: StoredResponse) {
        if self.capacity == 0 {
            return;
        }
        self.cache.insert(id, Arc::new(response));
        // Apply the bounds now rather than on some later write.
        self.cache.run_pending_tasks();
    }

    pub fn delete(&self, id: &str, owner: &str) -> bool {
        if self.get(id, owner).is_none() {
            return false;
        }
        self.cache.remove(id).is_some()
    }

    pub fn chain(&self, id: &str, owner: &str) -> Chain {
        let mut links = Vec::new();
        let mut next = Some(id.to_string());
        while let Some(id) = next {
            if links.len() == MAX_CHAIN {
                return Chain::TooLong;
            }
            let Some(r) = self.get(&id, owner) else {
                return Chain::Missing(id);
            };
            next = r.previous.clone();
            links.push(Link {
                id,
                input_items: r.input_items.clone(),
                reply: r.reply.clone(),
            });
        }
        links.reverse();
        // The walk touched the links newest first; touch them again oldest first, so
        // that under pressure a conversation loses its oldest link first.
        for l in &links {
            let _ = self.cache.get(&l.id);
        }
        Chain::Found(links)
    }

    /// The budget currently used (after pending evictions).
    #[cfg(test)]
    pub(crate) fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }

    /// Entries currently held.
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(n: u8, previous: Option<&str>, size: usize) -> StoredResponse {
        StoredResponse {
            response: Bytes::from(vec![n]),
            input_items: Bytes::from(vec![b'x'; size]),
            reply: Bytes::from(vec![n]),
            previous: previous.map(str::to_string),
            owner: "server".into(),
        }
    }

    #[test]
    fn bounded_by_capacity() {
        let s = MemoryStore::new(2, Duration::from_secs(60), 1 << 30);
        s.put("a".into(), stored(1, None, 1));
        s.put("b".into(), stored(2, None, 1));
        s.put("c".into(), stored(3, None, 1));
        assert!(s.get("a", "server").is_none());
        assert_eq!(s.get("c", "server").unwrap().response[0], 3);
        assert!(s.delete("b", "server"));
        assert!(!s.delete("b", "server"));
        assert!(s.get("b", "server").is_none());
    }

    #[test]
    fn bounded_by_bytes_oldest_first() {
        let s = MemoryStore::new(1000, Duration::from_secs(60), 10_000);
        for i in 0..10u8 {
            s.put(format!("r{i}"), stored(i, None, 2_000));
        }
        assert!(s.weighted_size() <= 10_000, "{}", s.weighted_size());
        assert!(s.get("r0", "server").is_none());
        assert!(s.get("r9", "server").is_some());
        // An entry larger than the whole budget is not kept.
        s.put("huge".into(), stored(1, None, 20_000));
        assert!(s.get("huge", "server").is_none());
    }

    #[test]
    fn bounded_by_idle_time() {
        let s = MemoryStore::new(10, Duration::from_millis(1), 1 << 20);
        s.put("a".into(), stored(1, None, 1));
        std::thread::sleep(Duration::from_millis(5));
        assert!(s.get("a", "server").is_none());
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let s = MemoryStore::new(0, Duration::from_secs(60), 1 << 20);
        s.put("a".into(), stored(1, None, 1));
        assert!(s.get("a", "server").is_none());
    }

    #[test]
    fn chains_read_oldest_first_and_report_the_missing_link() {
        let s = MemoryStore::new(100, Duration::from_secs(60), 1 << 20);
        s.put("a".into(), stored(1, None, 1));
        s.put("b".into(), stored(2, Some("a"), 1));
        s.put("c".into(), stored(3, Some("b"), 1));
        let Chain::Found(links) = s.chain("c", "server") else {
            panic!("chain")
        };
        let ids: Vec<&str> = links.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(links[1].reply[0], 2);
        // Someone else's chain does not exist for this caller.
        assert_eq!(s.chain("c", "other"), Chain::Missing("c".into()));
        assert!(s.delete("a", "server"));
        assert_eq!(s.chain("c", "server"), Chain::Missing("a".into()));
        assert_eq!(s.chain("zz", "server"), Chain::Missing("zz".into()));
    }

    #[test]
    fn others_cannot_read_or_delete() {
        let s = MemoryStore::new(10, Duration::from_secs(60), 1 << 20);
        s.put("a".into(), stored(1, None, 1));
        assert!(s.get("a", "someone").is_none());
        assert!(!s.delete("a", "someone"));
        assert!(s.get("a", "server").is_some());
    }

    #[test]
    fn a_long_chain_costs_linear_memory() {
        let s = MemoryStore::new(1_000_000, Duration::from_secs(60), 1 << 30);
        let mut prev: Option<String> = None;
        for i in 0..300u32 {
            let id = format!("r{i}");
            s.put(id.clone(), stored(1, prev.as_deref(), 1_000));
            prev = Some(id);
        }
        // 300 links of ~1 KB each: linear, not quadratic.
        assert!(s.weighted_size() < 300 * 1_300, "{}", s.weighted_size());
        let Chain::Found(links) = s.chain("r299", "server") else {
            panic!("chain")
        };
        assert_eq!(links.len(), 300);
    }
}
