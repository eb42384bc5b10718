//! The spool: verified deliveries that could not finish (the claim, a publish or the
//! completion failed, or the deadline was too close), written to a bucket before the 503, so
//! an outage longer than the sender's retries loses nothing. The redrive
//! ([`redrive::redrive`], the `spool-redrive` function on a schedule) runs each one through
//! the same claim → publish → complete path later (`RELIABILITY.md`, "The spool").
//!
//! Objects live under `pending/` (moved to `failed/` after too many attempts or too long),
//! one per event, keyed by a hash of the idempotency key: a sender's retry of the same event
//! overwrites its object instead of adding one. The spool is written only after the
//! signature verified, so the redrive trusts it (the bucket is private to the stack).

pub mod memory;
pub mod redrive;
#[cfg(feature = "aws")]
pub mod s3;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use memory::MemorySpool;
#[cfg(feature = "aws")]
pub use s3::S3Spool;

/// Prefix of the objects waiting for the redrive.
pub const PENDING: &str = "pending/";
/// Prefix of the objects the redrive gave up on (an alarm watches it).
pub const FAILED: &str = "failed/";

/// A failure of the spool's store. Its text never contains a body or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spool unavailable: {0}")]
pub struct SpoolError(pub String);

/// The boxed future a [`SpoolStore`] returns (object-safe: the service holds a `dyn`).
pub type SpoolFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, SpoolError>> + Send + 'a>>;

/// Port: a flat object store (S3, or memory in unit tests).
pub trait SpoolStore: Send + Sync {
    /// Writes `bytes` under `key`, replacing any object there. `Ok` means it is durable.
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> SpoolFuture<'a, ()>;
    /// The keys under `prefix`, oldest first where the store can tell (any order otherwise).
    fn list<'a>(&'a self, prefix: &'a str) -> SpoolFuture<'a, Vec<String>>;
    /// The object under `key`, `None` when there is none.
    fn get<'a>(&'a self, key: &'a str) -> SpoolFuture<'a, Option<Vec<u8>>>;
    /// Removes `key` (no error when it is already gone).
    fn delete<'a>(&'a self, key: &'a str) -> SpoolFuture<'a, ()>;
}

/// One spooled delivery: what the claim → publish → complete path needs, and why it is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spooled {
    /// Format version of the object.
    pub version: u32,
    pub provider: String,
    pub event_type: String,
    pub event_id: String,
    #[serde(default)]
    pub resource_id: Option<String>,
    /// When the function received the delivery: the latest attempt that spooled it (a
    /// sender's retry overwrites the object). The envelope's `received_at`, and the start of
    /// the redrive's age limit.
    pub received_at_ms: u64,
    /// When it was written to the spool.
    pub spooled_at_ms: u64,
    /// Why it could not finish (an error's own text: no body, no secret).
    pub reason: String,
    /// Redrive attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Destinations known to have the event already (a failed completion); never sent again.
    #[serde(default)]
    pub delivered: BTreeSet<String>,
    /// The sender's JSON body (validated before it was spooled).
    pub body: String,
}

/// The current object format.
pub const VERSION: u32 = 1;

impl Spooled {
    /// The object's key under `prefix` ([`PENDING`] or [`FAILED`]): a hash of the idempotency
    /// key, so retries of one event share it and no event id needs escaping.
    pub fn key(&self, prefix: &str) -> String {
        key(prefix, &self.provider, &self.event_id)
    }
}

/// See [`Spooled::key`].
pub fn key(prefix: &str, provider: &str, event_id: &str) -> String {
    let hash = Sha256::digest(format!("{provider}#{event_id}").as_bytes());
    format!("{prefix}{provider}/{}.json", hex::encode(hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_of_one_event_share_a_key_and_other_events_do_not() {
        let a = key(PENDING, "salesloft", "e1");
        assert_eq!(a, key(PENDING, "salesloft", "e1"));
        assert_ne!(a, key(PENDING, "salesloft", "e2"));
        assert_ne!(a, key(PENDING, "salesos", "e1"));
        assert!(a.starts_with("pending/salesloft/") && a.ends_with(".json"));
        assert_eq!(
            key(FAILED, "salesloft", "e1").strip_prefix(FAILED),
            a.strip_prefix(PENDING)
        );
    }
}
