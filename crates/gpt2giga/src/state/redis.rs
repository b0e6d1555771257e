//! Shared state in Redis (`--proxy.state-url redis://…`): stored Responses and the
//! per-model concurrency cap's slots, so several replicas behind a load balancer act
//! as one proxy.
//!
//! * Response `id` is a hash `gpt2giga:resp:{id}` with fields `owner`, `prev`,
//!   `response`, `items`, `reply`, expiring after the store's TTL; reading it (or a
//!   chain through it) refreshes the TTL. A chain is read by one Lua script walking the
//!   `prev` links server-side (one round trip, never a partial history).
//! * A concurrency key is a sorted set `gpt2giga:slots:{key}` of holders scored by the
//!   Redis-clock time their lease ends; holders renew their lease while they hold the
//!   slot, so the slots of a replica that died come back once its leases run out. The
//!   waiters of a key are a second sorted set (`…:queue`), bounded the same way.
//!
//! The connection is made lazily and re-made after failures (the `redis` crate's
//! connection manager, with short timeouts): while Redis is unreachable every call
//! fails within about two seconds with a 503, and the next call after it returns works.
//! Scripts touch keys they compute themselves, so a Redis Cluster is not supported;
//! a single Redis (or a Sentinel-managed primary) is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Chain, Link, MAX_CHAIN, StoredResponse};
use crate::error::ProxyError;

/// Every key this proxy writes starts with this.
const PREFIX: &str = "gpt2giga:";

/// No Redis call waits longer than this.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection to the shared Redis, cheap to clone.
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    /// The last call failed: the next [`Redis::check`] pings before saying yes.
    down: AtomicBool,
}

impl Redis {
    /// A lazy connection to `url` (nothing is sent until the first call).
    pub fn new(url: &str) -> Result<Self, String> {
        let client =
            redis::Client::open(url).map_err(|e| format!("invalid --proxy.state-url: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("cannot set up the Redis connection: {e}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn,
                down: AtomicBool::new(false),
            }),
        })
    }

    /// Runs one command or script call with the hard timeout, keeping the health flag.
    async fn call<T, F, Fut>(&self, what: &str, f: F) -> Result<T, ProxyError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let result = tokio::time::timeout(CALL_TIMEOUT, f(self.inner.conn.clone())).await;
        let err = match result {
            Ok(Ok(v)) => {
                if self.inner.down.swap(false, Ordering::AcqRel) {
                    tracing::info!("shared state: Redis is reachable again");
                }
                return Ok(v);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {}s", CALL_TIMEOUT.as_secs()),
        };
        if !self.inner.down.swap(true, Ordering::AcqRel) {
            tracing::error!(operation = what, error = %err, "shared state: Redis is unreachable");
        } else {
            tracing::debug!(operation = what, error = %err, "shared state: Redis still unreachable");
        }
        Err(unavailable(&err))
    }

    /// `PING`: is Redis answering?
    pub async fn ping(&self) -> Result<(), ProxyError> {
        self.call("ping", |mut c| async move {
            redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await
        .map(|_| ())
    }

    /// Fails fast while Redis is known to be down (one ping decides whether it is back).
    pub async fn check(&self) -> Result<(), ProxyError> {
        if self.inner.down.load(Ordering::Acquire) {
            self.ping().await
        } else {
            Ok(())
        }
    }
}

fn unavailable(detail: &str) -> ProxyError {
    ProxyError::Unavailable(format!(
        "the proxy's shared state store (Redis) is unavailable: {detail}"
    ))
}

// ---- stored Responses ----------------------------------------------------------------

/// Stored Responses in Redis.
pub struct RedisStore {
    redis: Redis,
    ttl: Duration,
}

/// Walks `prev` links from ARGV[2]; returns {"ok", {id, items, reply, …}} newest first,
/// {"missing", id} or {"too_long"}. Refreshes each visited entry's TTL.
const CHAIN_LUA: &str = r#"
local prefix, id, owner = ARGV[1], ARGV[2], ARGV[3]
local ttl, max = tonumber(ARGV[4]), tonumber(ARGV[5])
local out, n = {}, 0
while id and id ~= '' do
  if n >= max then return {'too_long'} end
  local key = prefix .. id
  local v = redis.call('HMGET', key, 'owner', 'prev', 'items', 'reply')
  if not v[1] or v[1] ~= owner then return {'missing', id} end
  redis.call('PEXPIRE', key, ttl)
  out[#out + 1] = id
  out[#out + 1] = v[3] or ''
  out[#out + 1] = v[4] or ''
  n = n + 1
  id = v[2]
end
return {'ok', out}
"#;

/// Deletes ARGV[1] if its owner is ARGV[2].
const DELETE_LUA: &str = r#"
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

static CHAIN: LazyLock<Script> = LazyLock::new(|| Script::new(CHAIN_LUA));
static DELETE: LazyLock<Script> = LazyLock::new(|| Script::new(DELETE_LUA));
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| Script::new(ACQUIRE_LUA));
static RENEW: LazyLock<Script> = LazyLock::new(|| Script::new(RENEW_LUA));

fn response_key(id: &str) -> String {
    format!("{PREFIX}resp:{id}")
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    pub fn new(redis: Redis, ttl: Duration) -> Self {
        Self { redis, ttl }
    }

    pub async fn check(&self) -> Result<(), ProxyError> {
        self.redis.check().await
    }

    pub async fn get(
        &self,
        id: &str,
        owner: &str,
    ) -> Result<Option<Arc<StoredResponse>>, ProxyError> {
        let key = response_key(id);
        let ttl = ms(self.ttl);
        type Fields = (
            Option<String>,
            Option<String>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
        );
        let (fields, _): (Fields, i64) = self
            .redis
            .call("get", |mut c| async move {
                redis::pipe()
                    .cmd("HMGET")
                    .arg(&key)
                    .arg(&["owner", "prev", "response", "items", "reply"])
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(ttl)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let (Some(o), prev, Some(response), Some(items), Some(reply)) = fields else {
            return Ok(None);
        };
        if o != owner {
            return Ok(None);
        }
        Ok(Some(Arc::new(StoredResponse {
            response: Bytes::from(response),
            input_items: Bytes::from(items),
            reply: Bytes::from(reply),
            previous: prev.filter(|p| !p.is_empty()),
            owner: o,
        })))
    }

    pub async fn put(&self, id: &str, r: &StoredResponse) -> Result<(), ProxyError> {
        let key = response_key(id);
        let ttl = ms(self.ttl);
        let prev = r.previous.clone().unwrap_or_default();
        self.redis
            .call("put", |mut c| async move {
                redis::pipe()
                    .atomic()
                    .cmd("HSET")
                    .arg(&key)
                    .arg("owner")
                    .arg(r.owner.as_str())
                    .arg("prev")
                    .arg(prev)
                    .arg("response")
                    .arg(r.response.as_ref())
                    .arg("items")
                    .arg(r.input_items.as_ref())
                    .arg("reply")
                    .arg(r.reply.as_ref())
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(ttl)
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
    }

    pub async fn delete(&self, id: &str, owner: &str) -> Result<bool, ProxyError> {
        let key = response_key(id);
        let n: i64 = self
            .redis
            .call("delete", |mut c| async move {
                DELETE.key(key).arg(owner).invoke_async(&mut c).await
            })
            .await?;
        Ok(n > 0)
    }

    pub async fn chain(&self, id: &str, owner: &str) -> Result<Chain, ProxyError> {
        let ttl = ms(self.ttl);
        let reply: redis::Value = self
            .redis
            .call("chain", |mut c| async move {
                CHAIN
                    .arg(format!("{PREFIX}resp:"))
                    .arg(id)
                    .arg(owner)
                    .arg(ttl)
                    .arg(MAX_CHAIN)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        parse_chain(reply).map_err(|e| unavailable(&format!("unexpected chain reply: {e}")))
    }
}

fn parse_chain(v: redis::Value) -> Result<Chain, String> {
    use redis::Value as V;
    let V::Array(mut parts) = v else {
        return Err("not an array".into());
    };
    let tag = match parts.first() {
        Some(V::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(V::SimpleString(s)) => s.clone(),
        _ => return Err("no status".into()),
    };
    match tag.as_str() {
        "too_long" => Ok(Chain::TooLong),
        "missing" => match parts.get(1) {
            Some(V::BulkString(b)) => Ok(Chain::Missing(String::from_utf8_lossy(b).into_owned())),
            _ => Err("missing id".into()),
        },
        "ok" => {
            let Some(V::Array(flat)) = parts.pop() else {
                return Ok(Chain::Found(Vec::new()));
            };
            let mut links = Vec::with_capacity(flat.len() / 3);
            let mut it = flat.into_iter();
            while let (Some(id), Some(items), Some(reply)) = (it.next(), it.next(), it.next()) {
                let bytes = |v: V| match v {
                    V::BulkString(b) => Ok(b),
                    other => Err(format!("unexpected {other:?}")),
                };
                links.push(Link {
                    id: String::from_utf8_lossy(&bytes(id)?).into_owned(),
                    input_items: Bytes::from(bytes(items)?),
                    reply: Bytes::from(bytes(reply)?),
                });
            }
            links.reverse();
            Ok(Chain::Found(links))
        }
        other => Err(format!("status {other:?}")),
    }
}

// ---- the distributed semaphore --------------------------------------------------------

/// Prunes expired holders of KEYS[1]; if fewer than ARGV[2] remain, adds holder ARGV[1]
/// with a lease of ARGV[3] ms (Redis clock) and returns 1, else 0.
const ACQUIRE_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], lease * 2)
  return 1
end
return 0
"#;

/// Extends holder ARGV[1]'s lease on KEYS[1] to ARGV[2] ms from now; 0 if it lost it.
const RENEW_LUA: &str = r#"
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease * 2)
return 1
"#;

/// Slots of one concurrency key, shared by every replica through Redis.
pub struct SharedSemaphore {
    redis: Redis,
    lease: Duration,
}

impl SharedSemaphore {
    pub fn new(redis: Redis, lease: Duration) -> Self {
        Self { redis, lease }
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    pub fn redis(&self) -> &Redis {
        &self.redis
    }

    fn slots_key(key: &str) -> String {
        format!("{PREFIX}slots:{key}")
    }

    fn queue_key(key: &str) -> String {
        format!("{PREFIX}slots:{key}:queue")
    }

    /// Takes one of `max` slots of `key` for `holder` if one is free.
    pub async fn try_acquire(
        &self,
        key: &str,
        holder: &str,
        max: usize,
    ) -> Result<bool, ProxyError> {
        self.lease_script(
            &ACQUIRE,
            Self::slots_key(key),
            holder,
            Some(max),
            self.lease,
        )
        .await
    }

    /// Extends `holder`'s lease; `false` if the slot was lost (its lease ran out).
    pub async fn renew(&self, key: &str, holder: &str) -> Result<bool, ProxyError> {
        self.lease_script(&RENEW, Self::slots_key(key), holder, None, self.lease)
            .await
    }

    /// Gives the slot back.
    pub async fn release(&self, key: &str, holder: &str) -> Result<(), ProxyError> {
        self.zrem(Self::slots_key(key), holder).await
    }

    /// Joins the queue of `key` (at most `queue` waiters; each place expires after
    /// `wait`, so a dead replica's waiters do not block the queue).
    pub(crate) async fn enter_queue(
        &self,
        key: &str,
        waiter: &str,
        queue: usize,
        wait: Duration,
    ) -> Result<bool, ProxyError> {
        self.lease_script(&ACQUIRE, Self::queue_key(key), waiter, Some(queue), wait)
            .await
    }

    pub(crate) async fn leave_queue(&self, key: &str, waiter: &str) -> Result<(), ProxyError> {
        self.zrem(Self::queue_key(key), waiter).await
    }

    async fn lease_script(
        &self,
        script: &'static Script,
        key: String,
        holder: &str,
        max: Option<usize>,
        lease: Duration,
    ) -> Result<bool, ProxyError> {
        let lease = ms(lease);
        let n: i64 = self
            .redis
            .call("slot", |mut c| async move {
                let mut inv = script.key(key);
                inv.arg(holder);
                if let Some(max) = max {
                    inv.arg(max);
                }
                inv.arg(lease);
                inv.invoke_async(&mut c).await
            })
            .await?;
        Ok(n == 1)
    }

    async fn zrem(&self, key: String, member: &str) -> Result<(), ProxyError> {
        self.redis
            .call("release", |mut c| async move {
                redis::cmd("ZREM")
                    .arg(key)
                    .arg(member)
                    .query_async::<i64>(&mut c)
                    .await
            })
            .await
            .map(|_| ())
    }
}
