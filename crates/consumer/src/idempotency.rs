//! The consumer's idempotency port: process each `event_id` once although SQS delivers at
//! least once (and the webhook, in rare failure cases, publishes an event twice).
//!
//! A key moves `(none) -> IN_PROGRESS -> COMPLETED`, or back to claimable (`RELEASED`) when
//! processing failed. A claim succeeds when there is no record, the record has expired, it
//! was released, or it is `IN_PROGRESS` with a lease that has passed (the invocation that held
//! it crashed or timed out), so a crash never makes an event be skipped for good.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// How long a processed `event_id` is remembered by default: 14 days, the longest any message
/// lives (the dead-letter queues' retention; the events queues keep 4 days), so no
/// redelivery, even one moved back from a dead-letter queue, can outlive the record.
pub const DEFAULT_TTL: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// Record status values, as stored.
pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const COMPLETED: &str = "COMPLETED";
pub const RELEASED: &str = "RELEASED";

/// The store key of an event for one consumer: `consumer#<consumer>#<provider>#<event_id>`.
/// The consumer part keeps consumers that share a table apart (fan-out puts one event id on
/// several queues, and each consumer must process it); ids are only unique per sender (a
/// SalesOS id and a Standard Webhooks id could coincide).
pub fn idempotency_key(consumer: &str, provider: &str, event_id: &str) -> String {
    format!("consumer#{consumer}#{provider}#{event_id}")
}

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This invocation holds the key until its lease ends: process the event.
    Claimed,
    /// The event was processed before: acknowledge it without processing.
    Processed,
    /// Another invocation holds an unexpired lease: leave the message for a later receive.
    InProgress,
}

/// The store could not be reached or answered with an error; the record is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("idempotency store unavailable: {0}")]
pub struct IdempotencyError(pub String);

/// Port: remembers which events were processed.
pub trait IdempotencyStore: Send + Sync {
    /// Atomically claims `key` until `lease_until_ms` (epoch ms). Exactly one of any number
    /// of concurrent callers gets [`Claim::Claimed`] for a claimable key; the others learn
    /// whether it was processed ([`Claim::Processed`]) or is being processed
    /// ([`Claim::InProgress`]).
    fn claim(
        &self,
        key: &str,
        now_ms: u64,
        lease_until_ms: u64,
    ) -> impl Future<Output = Result<Claim, IdempotencyError>> + Send;

    /// Records that `key` was processed; claims answer [`Claim::Processed`] until the store's
    /// time to live has passed.
    fn complete(
        &self,
        key: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<(), IdempotencyError>> + Send;

    /// Gives up the claim on `key` after processing failed, so the redelivered message can
    /// claim it at once instead of waiting for the lease to pass.
    fn release(
        &self,
        key: &str,
        now_ms: u64,
    ) -> impl Future<Output = Result<(), IdempotencyError>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InProgress { lease_until_ms: u64 },
    Completed { expires_at_ms: u64 },
}

#[derive(Debug, Default)]
struct Inner {
    states: HashMap<String, State>,
    /// Keys in the order they were first claimed, to forget the oldest at capacity.
    order: VecDeque<String>,
}

/// A store in the memory of one execution environment.
///
/// It catches the duplicates that reach the same environment while it lives (a record
/// retried in a later batch, the same event twice in one batch), but not those that reach
/// another concurrent environment or arrive after a cold start. Use it only where processing
/// an event twice is harmless; use `DynamoDbIdempotencyStore` (feature `aws`) otherwise.
/// It remembers at most `capacity` keys (the oldest are forgotten first).
#[derive(Debug)]
pub struct MemoryIdempotencyStore {
    inner: Mutex<Inner>,
    ttl_ms: u64,
    capacity: usize,
}

impl Default for MemoryIdempotencyStore {
    fn default() -> Self {
        Self::new(DEFAULT_TTL, 50_000)
    }
}

impl MemoryIdempotencyStore {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            ttl_ms: ttl.as_millis() as u64,
            capacity: capacity.max(1),
        }
    }

    /// Number of keys remembered.
    pub fn len(&self) -> usize {
        self.lock().states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` is recorded as processed (for assertions).
    pub fn is_completed(&self, key: &str, now_ms: u64) -> bool {
        matches!(
            self.lock().states.get(key),
            Some(State::Completed { expires_at_ms }) if *expires_at_ms >= now_ms
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update is a single insert or remove, so a poisoned lock holds no half-written
        // state and is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, inner: &mut Inner, key: &str, state: State) {
        if inner.states.insert(key.to_string(), state).is_none() {
            inner.order.push_back(key.to_string());
            while inner.order.len() > self.capacity {
                if let Some(oldest) = inner.order.pop_front() {
                    inner.states.remove(&oldest);
                }
            }
        }
    }
}

impl IdempotencyStore for MemoryIdempotencyStore {
    async fn claim(
        &self,
        key: &str,
        now_ms: u64,
        lease_until_ms: u64,
    ) -> Result<Claim, IdempotencyError> {
        let mut inner = self.lock();
        match inner.states.get(key) {
            Some(State::Completed { expires_at_ms }) if *expires_at_ms >= now_ms => {
                Ok(Claim::Processed)
            }
            Some(State::InProgress { lease_until_ms }) if *lease_until_ms >= now_ms => {
                Ok(Claim::InProgress)
            }
            _ => {
                self.set(&mut inner, key, State::InProgress { lease_until_ms });
                Ok(Claim::Claimed)
            }
        }
    }

    async fn complete(&self, key: &str, now_ms: u64) -> Result<(), IdempotencyError> {
        let mut inner = self.lock();
        self.set(
            &mut inner,
            key,
            State::Completed {
                expires_at_ms: now_ms.saturating_add(self.ttl_ms),
            },
        );
        Ok(())
    }

    async fn release(&self, key: &str, _now_ms: u64) -> Result<(), IdempotencyError> {
        let mut inner = self.lock();
        if matches!(inner.states.get(key), Some(State::InProgress { .. })) {
            inner.states.remove(key);
            inner.order.retain(|k| k != key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_forgets_the_oldest_keys_beyond_its_capacity() {
        let store = MemoryIdempotencyStore::new(DEFAULT_TTL, 2);
        for key in ["a", "b", "c"] {
            assert_eq!(store.claim(key, 0, 10).await.unwrap(), Claim::Claimed);
            store.complete(key, 0).await.unwrap();
        }
        assert_eq!(store.len(), 2);
        assert_eq!(store.claim("a", 1, 10).await.unwrap(), Claim::Claimed);
        assert_eq!(store.claim("c", 1, 10).await.unwrap(), Claim::Processed);
    }

    #[tokio::test]
    async fn the_memory_store_forgets_a_processed_key_after_its_time_to_live() {
        let store = MemoryIdempotencyStore::new(Duration::from_secs(60), 10);
        store.claim("a", 0, 10).await.unwrap();
        store.complete("a", 0).await.unwrap();
        assert_eq!(
            store.claim("a", 60_000, 60_010).await.unwrap(),
            Claim::Processed
        );
        assert_eq!(
            store.claim("a", 60_001, 60_010).await.unwrap(),
            Claim::Claimed
        );
    }

    #[tokio::test]
    async fn a_released_key_can_be_claimed_at_once_and_a_completed_one_is_not_released() {
        let store = MemoryIdempotencyStore::default();
        store.claim("a", 0, 1_000).await.unwrap();
        store.release("a", 1).await.unwrap();
        assert_eq!(store.claim("a", 2, 1_000).await.unwrap(), Claim::Claimed);
        store.complete("a", 3).await.unwrap();
        store.release("a", 4).await.unwrap();
        assert_eq!(store.claim("a", 5, 1_000).await.unwrap(), Claim::Processed);
    }

    #[test]
    fn the_key_is_prefixed_with_consumer() {
        assert_eq!(
            idempotency_key("crm", "salesos", "evt_1"),
            "consumer#crm#salesos#evt_1"
        );
    }
}
