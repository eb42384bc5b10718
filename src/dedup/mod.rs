//! The idempotency port (`docs/ARCHITECTURE.md`, "The idempotency record"): claim a delivery,
//! then complete or release it.
//!
//! A record moves `(none) -> IN_PROGRESS -> COMPLETED`, or `IN_PROGRESS -> RELEASED` when a
//! publish failed. A claim succeeds when there is no record, the record has expired, it was
//! released, or it is `IN_PROGRESS` with a lease that has passed (a crashed or timed-out
//! attempt). Every write after the claim is conditional on the claim token, so an attempt
//! that lost its lease cannot overwrite the attempt that took over.

#[cfg(feature = "aws")]
pub mod dynamodb;
pub mod memory;

use std::collections::BTreeSet;
use std::future::Future;

#[cfg(feature = "aws")]
pub use dynamodb::DynamoDbDedupStore;
pub use memory::MemoryDedupStore;

/// Record status values, as stored.
pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const COMPLETED: &str = "COMPLETED";
pub const RELEASED: &str = "RELEASED";

/// What a claim asks for (borrowed from the event and the invocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimRequest<'a> {
    /// `{provider}#{event_id}`.
    pub key: &'a str,
    /// Random token identifying this attempt.
    pub token: &'a str,
    pub event_type: &'a str,
    /// RFC 3339 time the delivery was received (for operators).
    pub received_at: &'a str,
    pub now_ms: u64,
    /// Until when the claim is held (the invocation deadline).
    pub lease_until_ms: u64,
    /// When the record may be forgotten (now + dedup TTL), epoch seconds.
    pub expires_at_s: u64,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This attempt holds the record. `delivered` lists the destinations an earlier,
    /// released (or timed-out) attempt already published to; they must not be sent again.
    Claimed { delivered: BTreeSet<String> },
    /// The event was delivered before and the record has not expired.
    Duplicate,
    /// Another attempt holds an unexpired lease.
    InProgress { lease_until_ms: u64 },
}

/// A failure of the store itself. The service answers it with 503 so the sender retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DedupError {
    #[error("dedup store unavailable: {0}")]
    Unavailable(String),
    /// The record is no longer held by this attempt's token (its lease passed and another
    /// attempt claimed it).
    #[error("the claim is no longer held by this attempt")]
    ClaimLost,
}

/// Port: the store that records each delivery once.
pub trait DedupStore: Send + Sync {
    /// Atomically claims `request.key`. Must succeed for exactly one of any number of
    /// concurrent callers when the record is claimable, and tell the others apart as
    /// duplicate (completed, unexpired) or in progress (leased, unexpired).
    fn claim(
        &self,
        request: &ClaimRequest<'_>,
    ) -> impl Future<Output = Result<ClaimOutcome, DedupError>> + Send;

    /// Marks the record `COMPLETED` with the full `delivered` set, only if it is still held
    /// by `token`; otherwise [`DedupError::ClaimLost`].
    fn complete(
        &self,
        key: &str,
        token: &str,
        delivered: &BTreeSet<String>,
    ) -> impl Future<Output = Result<(), DedupError>> + Send;

    /// Marks the record `RELEASED` with the destinations that did receive the event, only if
    /// it is still held by `token`, so that the sender's retry can claim it at once and
    /// publish to the rest.
    fn release(
        &self,
        key: &str,
        token: &str,
        delivered: &BTreeSet<String>,
    ) -> impl Future<Output = Result<(), DedupError>> + Send;
}

/// The stored state of a record, as both adapters read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordState {
    pub status: String,
    pub lease_until_ms: u64,
    pub expires_at_s: u64,
    pub delivered: BTreeSet<String>,
}

impl RecordState {
    /// Whether a new claim may take this record at `now_ms` (the claim condition).
    pub fn claimable(&self, now_ms: u64) -> bool {
        self.expires_at_s < now_ms / 1000
            || self.status == RELEASED
            || (self.status == IN_PROGRESS && self.lease_until_ms < now_ms)
    }

    /// What a claim that found this record claimable inherits: the delivered set of a
    /// released or abandoned attempt, but nothing from an expired record (after the TTL the
    /// event counts as new).
    pub fn inherited_delivered(&self, now_ms: u64) -> BTreeSet<String> {
        if self.expires_at_s < now_ms / 1000 {
            BTreeSet::new()
        } else {
            self.delivered.clone()
        }
    }

    /// How a claim that found this record not claimable is answered.
    pub fn refusal(&self) -> ClaimOutcome {
        if self.status == COMPLETED {
            ClaimOutcome::Duplicate
        } else {
            ClaimOutcome::InProgress {
                lease_until_ms: self.lease_until_ms,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(status: &str, lease: u64, expires_s: u64) -> RecordState {
        RecordState {
            status: status.into(),
            lease_until_ms: lease,
            expires_at_s: expires_s,
            delivered: BTreeSet::from(["a".to_string()]),
        }
    }

    #[test]
    fn the_claim_condition_follows_the_state_machine() {
        let now = 1_000_000_000;
        assert!(!rec(COMPLETED, 0, 2_000_000).claimable(now));
        assert!(rec(COMPLETED, 0, 999_999).claimable(now), "expired");
        assert!(rec(RELEASED, 0, 2_000_000).claimable(now));
        assert!(!rec(IN_PROGRESS, now + 1, 2_000_000).claimable(now));
        assert!(!rec(IN_PROGRESS, now, 2_000_000).claimable(now));
        assert!(rec(IN_PROGRESS, now - 1, 2_000_000).claimable(now));
    }

    #[test]
    fn an_expired_record_passes_on_no_delivered_destinations() {
        let now = 1_000_000_000;
        assert!(rec(RELEASED, 0, 999_999)
            .inherited_delivered(now)
            .is_empty());
        assert_eq!(
            rec(RELEASED, 0, 1_000_000).inherited_delivered(now).len(),
            1
        );
    }

    #[test]
    fn a_refused_claim_is_a_duplicate_only_when_completed() {
        assert_eq!(rec(COMPLETED, 5, 9).refusal(), ClaimOutcome::Duplicate);
        assert_eq!(
            rec(IN_PROGRESS, 5, 9).refusal(),
            ClaimOutcome::InProgress { lease_until_ms: 5 }
        );
    }
}
