//! The per-model concurrency cap (`--proxy.max-concurrent-requests-per-model`, off by
//! default).
//!
//! GigaChat's personal accounts allow one request in flight; more answer 429. With the
//! cap set, the proxy keeps at most `max` GigaChat requests in flight per key (the
//! proxy uses (identity, GigaChat model), so pass-token callers never queue behind each
//! other). A request that finds every slot taken waits in a FIFO queue of at most
//! `queue` requests for up to `timeout`; a full queue or the timeout is a 429 with
//! `Retry-After` in the caller's dialect. A [`Slot`] is held until dropped — for a
//! stream, until the stream ends or the client goes away.
//!
//! Keys are created on demand and dropped once nothing holds or waits for them, so a
//! client naming endless models (with `--proxy.pass-model`) cannot grow the map.
//!
//! With `--proxy.state-url` the cap holds across every replica sharing the Redis
//! ([`Cap`] over a [`SharedSemaphore`]): a slot is a lease that its holder renews while
//! it holds it (a replica that dies loses its slots when the lease runs out), waiters
//! poll for a free slot, and the queue bound is shared too. While Redis is unreachable
//! the cap falls back to this replica's own [`Limiter`], so chat keeps working.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ProxyError;
use crate::state::redis::SharedSemaphore;

/// What a refused request is told to wait before retrying.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The map is swept of unused keys when it grows past this.
const SWEEP_AT: usize = 256;

struct Gate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// A concurrency slot; released on drop.
#[derive(Debug)]
pub struct Slot {
    _held: Held,
}

#[derive(Debug)]
enum Held {
    Local { _permit: OwnedSemaphorePermit },
    Shared { _slot: SharedSlot },
}

impl Slot {
    fn local(permit: OwnedSemaphorePermit) -> Self {
        Slot {
            _held: Held::Local { _permit: permit },
        }
    }
}

/// At most `max` holders per key, `queue` waiters per key, each waiting `timeout`.
pub(crate) struct Limiter<K> {
    max: usize,
    queue: usize,
    timeout: Duration,
    gates: Mutex<HashMap<K, Arc<Gate>>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(max: usize, queue: usize, timeout: Duration) -> Self {
        Self {
            max: max.max(1),
            queue,
            timeout,
            gates: Mutex::new(HashMap::new()),
        }
    }

    fn gate(&self, key: K) -> Arc<Gate> {
        // A poisoned lock only means a thread panicked while holding it; the map of
        // gates is still consistent (as in every other map of the proxy).
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        if gates.len() >= SWEEP_AT && !gates.contains_key(&key) {
            // A gate is in use while a request between `gate()` and its permit holds
            // it, while someone waits, or while a slot (a permit) is out.
            let max = self.max;
            gates.retain(|_, g| {
                Arc::strong_count(g) > 1
                    || g.waiting.load(Ordering::Acquire) > 0
                    || g.permits.available_permits() < max
            });
        }
        gates
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Gate {
                    permits: Arc::new(Semaphore::new(self.max)),
                    waiting: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// A slot for `key`; `label` names it in the error (the model).
    pub async fn acquire(&self, key: K, label: &str) -> Result<Slot, ProxyError> {
        let gate = self.gate(key);
        if let Ok(permit) = gate.permits.clone().try_acquire_owned() {
            return Ok(Slot::local(permit));
        }
        // Reserve a place in the queue, or refuse at once.
        let reserved = gate
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (w < self.queue).then_some(w + 1)
            })
            .is_ok();
        if !reserved {
            return Err(self.queue_full(label, ""));
        }
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _leave = Leave(&gate.waiting);
        match tokio::time::timeout(self.timeout, gate.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Slot::local(permit)),
            Ok(Err(_)) => Err(ProxyError::Internal("limiter closed".into())),
            Err(_) => Err(self.timed_out(label, "")),
        }
    }

    /// The 429 for a full queue (`scope`: where the slots are counted).
    fn queue_full(&self, label: &str, scope: &str) -> ProxyError {
        tracing::info!(
            model = label,
            max = self.max,
            queue = self.queue,
            "concurrency cap: queue full, refusing"
        );
        busy(format!(
            "too many concurrent requests for model {label}: {} in flight and {} waiting{scope} \
             (--proxy.max-concurrent-requests-per-model)",
            self.max, self.queue
        ))
    }

    /// The 429 for a request that waited its whole timeout.
    fn timed_out(&self, label: &str, scope: &str) -> ProxyError {
        tracing::info!(
            model = label,
            waited_secs = self.timeout.as_secs_f64(),
            "concurrency cap: gave up waiting"
        );
        busy(format!(
            "no free slot for model {label} within {}s{scope} \
             (--proxy.max-concurrent-requests-per-model, --proxy.concurrency-queue-timeout-secs)",
            self.timeout.as_secs_f64()
        ))
    }

    /// Keys currently tracked (for tests).
    #[cfg(test)]
    pub fn keys(&self) -> usize {
        self.gates.lock().map_or(0, |g| g.len())
    }
}

/// The cap as configured: this replica's own, or shared through Redis.
pub struct Cap<K> {
    local: Limiter<K>,
    shared: Option<Shared>,
}

struct Shared {
    sem: Arc<SharedSemaphore>,
    /// Names this replica's holders (`{replica}:{n}`).
    replica: String,
    /// Logged once per Redis outage.
    degraded: AtomicBool,
}

/// How often a waiter looks for a slot freed on another replica.
const POLL: Duration = Duration::from_millis(40);

impl<K: Hash + Eq + Clone> Cap<K> {
    /// This replica's cap only.
    pub fn local(max: usize, queue: usize, timeout: Duration) -> Self {
        Self {
            local: Limiter::new(max, queue, timeout),
            shared: None,
        }
    }

    /// Held across replicas through `sem` (falling back to this replica's own while
    /// Redis is unreachable).
    pub fn shared(max: usize, queue: usize, timeout: Duration, sem: SharedSemaphore) -> Self {
        Self {
            local: Limiter::new(max, queue, timeout),
            shared: Some(Shared {
                sem: Arc::new(sem),
                replica: uuid::Uuid::new_v4().simple().to_string(),
                degraded: AtomicBool::new(false),
            }),
        }
    }

    /// A slot for `key` (`shared_key` names it in Redis); `label` names it in errors.
    pub async fn acquire(&self, key: K, shared_key: &str, label: &str) -> Result<Slot, ProxyError> {
        let Some(shared) = &self.shared else {
            return self.local.acquire(key, label).await;
        };
        match self.acquire_shared(shared, shared_key, label).await {
            Ok(slot) => {
                if shared.degraded.swap(false, Ordering::AcqRel) {
                    tracing::info!("concurrency cap: shared across replicas again");
                }
                Ok(slot)
            }
            Err(ProxyError::Unavailable(why)) => {
                if !shared.degraded.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        reason = %why,
                        "concurrency cap: Redis unreachable, holding the cap per replica until it returns"
                    );
                }
                self.local.acquire(key, label).await
            }
            Err(e) => Err(e),
        }
    }

    async fn acquire_shared(
        &self,
        shared: &Shared,
        key: &str,
        label: &str,
    ) -> Result<Slot, ProxyError> {
        let l = &self.local;
        let holder = format!("{}:{}", shared.replica, uuid::Uuid::new_v4().simple());
        if shared.sem.try_acquire(key, &holder, l.max).await? {
            return Ok(SharedSlot::hold(shared.sem.clone(), key, holder));
        }
        let entered = l.queue > 0
            && shared
                .sem
                .enter_queue(key, &holder, l.queue, l.timeout + POLL * 5)
                .await?;
        if !entered {
            return Err(l.queue_full(label, " across replicas"));
        }
        // Leaves the queue however this ends (also when the caller goes away).
        let _place = QueuePlace {
            sem: shared.sem.clone(),
            key: key.to_string(),
            waiter: holder.clone(),
        };
        let deadline = tokio::time::Instant::now() + l.timeout;
        loop {
            let jitter = Duration::from_millis((uuid::Uuid::new_v4().as_u128() % 20) as u64);
            tokio::time::sleep(POLL + jitter).await;
            if shared.sem.try_acquire(key, &holder, l.max).await? {
                return Ok(SharedSlot::hold(shared.sem.clone(), key, holder));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(l.timed_out(label, " across replicas"));
            }
        }
    }
}

/// A place in a shared queue, given up on drop.
struct QueuePlace {
    sem: Arc<SharedSemaphore>,
    key: String,
    waiter: String,
}

impl Drop for QueuePlace {
    fn drop(&mut self) {
        let (sem, key, waiter) = (
            self.sem.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.waiter),
        );
        spawn_detached(async move {
            let _ = sem.leave_queue(&key, &waiter).await;
        });
    }
}

/// A slot held in Redis: its lease is renewed until the slot is dropped, then given back.
pub(crate) struct SharedSlot {
    sem: Arc<SharedSemaphore>,
    key: String,
    holder: String,
    renew: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SharedSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSlot")
            .field("key", &self.key)
            .finish()
    }
}

impl SharedSlot {
    fn hold(sem: Arc<SharedSemaphore>, key: &str, holder: String) -> Slot {
        let renew = {
            let (sem, key, holder) = (sem.clone(), key.to_string(), holder.clone());
            tokio::spawn(async move {
                let every = (sem.lease() / 3).max(Duration::from_millis(50));
                loop {
                    tokio::time::sleep(every).await;
                    match sem.renew(&key, &holder).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(key = %key, "concurrency cap: a held slot's lease ran out (Redis or this replica stalled)");
                            return;
                        }
                        Err(_) => {} // logged by the connection; the lease may still be renewed
                    }
                }
            })
        };
        Slot {
            _held: Held::Shared {
                _slot: SharedSlot {
                    sem,
                    key: key.to_string(),
                    holder,
                    renew: Some(renew),
                },
            },
        }
    }
}

impl Drop for SharedSlot {
    fn drop(&mut self) {
        if let Some(r) = self.renew.take() {
            r.abort();
        }
        let (sem, key, holder) = (
            self.sem.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.holder),
        );
        spawn_detached(async move {
            // If this fails, the lease runs out by itself.
            let _ = sem.release(&key, &holder).await;
        });
    }
}

/// Runs `f` on the current runtime, if there is one (drops can happen anywhere).
fn spawn_detached(f: impl Future<Output = ()> + Send + 'static) {
    if let Ok(h) = tokio::runtime::Handle::try_current() {
        h.spawn(f);
    }
}

fn busy(message: String) -> ProxyError {
    ProxyError::Busy {
        message,
        retry_after: RETRY_AFTER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn caps_queues_and_refuses() {
        let l = Limiter::new(1, 1, Duration::from_millis(200));
        let a = l.acquire("m", "m").await.unwrap();
        // Another key is independent.
        let _other = l.acquire("n", "n").await.unwrap();
        // One may wait; it gets the slot once `a` is released.
        let waiter = {
            let l = &l;
            async move { l.acquire("m", "m").await }
        };
        let release = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            // The queue (1) is full now: a third is refused at once.
            let e = l.acquire("m", "m").await.unwrap_err();
            assert_eq!(e.status(), 429);
            assert_eq!(e.retry_after(), Some(RETRY_AFTER));
            assert!(e.to_string().contains("1 in flight and 1 waiting"), "{e}");
            drop(a);
        };
        let (got, ()) = tokio::join!(waiter, release);
        let b = got.unwrap();
        // Held: the next one times out.
        let started = std::time::Instant::now();
        let e = l.acquire("m", "m").await.unwrap_err();
        assert_eq!(e.status(), 429);
        assert!(started.elapsed() >= Duration::from_millis(190));
        assert!(e.to_string().contains("within 0.2s"), "{e}");
        drop(b);
        l.acquire("m", "m").await.unwrap();
    }

    #[tokio::test]
    async fn zero_queue_refuses_at_once() {
        let l = Limiter::new(2, 0, Duration::from_secs(5));
        let _a = l.acquire(1, "m").await.unwrap();
        let _b = l.acquire(1, "m").await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(l.acquire(1, "m").await.unwrap_err().status(), 429);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn idle_keys_are_swept() {
        let l = Limiter::new(1, 0, Duration::from_secs(1));
        let held = l.acquire(0usize, "m").await.unwrap();
        for k in 1..=SWEEP_AT * 2 {
            drop(l.acquire(k, "m").await.unwrap());
        }
        assert!(l.keys() <= SWEEP_AT + 1, "{}", l.keys());
        // The held key survived the sweeps.
        assert_eq!(l.acquire(0usize, "m").await.unwrap_err().status(), 429);
        drop(held);
    }
}
