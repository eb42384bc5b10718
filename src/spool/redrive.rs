//! The redrive: one pass over the spool's `pending/` objects, each run through the service's
//! claim → publish → complete path again ([`crate::service::Service::redeliver`]).
//!
//! - delivered: the object is removed;
//! - a duplicate (the sender's retry got through meanwhile): removed;
//! - in progress (an attempt holds the claim right now): left for the next pass, no attempt
//!   counted;
//! - still failing: left with its attempt count raised, until it has had `max_attempts` or is
//!   older than `max_age`; then it moves to `failed/` (an alarm watches that prefix's metric)
//!   and an operator decides.

use std::time::Duration;

use serde::Serialize;

use super::{SpoolStore, Spooled, FAILED, PENDING};
use crate::dedup::DedupStore;
use crate::destinations::EventPublisher;
use crate::service::{Invocation, Outcome, Service};

/// When the redrive gives up on a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedrivePolicy {
    /// Failed redrive attempts before a delivery moves to `failed/`.
    pub max_attempts: u32,
    /// Age (since it was received) after which a delivery that still fails moves to `failed/`.
    pub max_age: Duration,
    /// The deadline each attempt gets, as the webhook's invocations do.
    pub attempt_budget: Duration,
}

impl Default for RedrivePolicy {
    fn default() -> Self {
        Self {
            // A pass a minute: a day of attempts, as long as the default age.
            max_attempts: 1440,
            max_age: Duration::from_secs(24 * 3600),
            attempt_budget: Duration::from_secs(6),
        }
    }
}

/// What one pass did; the function's answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub delivered: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub remaining: u64,
    /// Age of the oldest delivery left in `pending/`, seconds (0 when none).
    pub oldest_age_s: u64,
}

/// One pass over the spool, stopping when `stop` says so (the invocation's own deadline is
/// near): what is not reached stays for the next pass. `now_ms` reads the clock (each
/// delivery gets a fresh invocation time and lease); `claim_token` makes a fresh token per
/// attempt. Only listing the spool can fail the pass; a failure on one object is logged and
/// the object stays for the next pass.
pub async fn redrive<D: DedupStore, P: EventPublisher>(
    service: &Service<D, P>,
    spool: &dyn SpoolStore,
    policy: RedrivePolicy,
    now_ms: impl Fn() -> u64,
    stop: impl Fn() -> bool,
    claim_token: impl Fn() -> String,
) -> Result<Summary, super::SpoolError> {
    let mut summary = Summary::default();
    let keys = spool.list(PENDING).await?;
    for key in keys {
        if stop() {
            summary.remaining += 1;
            continue;
        }
        let now = now_ms();
        let inv = Invocation {
            now_ms: now,
            deadline_ms: now + policy.attempt_budget.as_millis() as u64,
            claim_token: claim_token(),
        };
        if let Err(err) = redrive_one(service, spool, policy, &key, &inv, &mut summary).await {
            tracing::error!(key = %key, error = %err, "the spool failed on this delivery; it stays for the next pass");
            summary.remaining += 1;
        }
    }
    Ok(summary)
}

/// One object of the pass; see [`redrive`].
async fn redrive_one<D: DedupStore, P: EventPublisher>(
    service: &Service<D, P>,
    spool: &dyn SpoolStore,
    policy: RedrivePolicy,
    key: &str,
    inv: &Invocation,
    summary: &mut Summary,
) -> Result<(), super::SpoolError> {
    let Some(bytes) = spool.get(key).await? else {
        return Ok(()); // removed meanwhile (another pass)
    };
    let mut spooled: Spooled = match serde_json::from_slice(&bytes) {
        Ok(s) => s,
        Err(err) => {
            // Never written by this code: keep it aside for a human, out of the loop.
            tracing::error!(key = %key, error = %err, "a spool object is not a spooled delivery");
            let failed_key = format!("{FAILED}{}", key.strip_prefix(PENDING).unwrap_or(key));
            spool.put(&failed_key, bytes).await?;
            spool.delete(key).await?;
            summary.failed += 1;
            return Ok(());
        }
    };
    let age = Duration::from_millis(inv.now_ms.saturating_sub(spooled.received_at_ms));
    match service.redeliver(&spooled, inv).await {
        Ok(Outcome::Accepted) => {
            spool.delete(key).await?;
            summary.delivered += 1;
            tracing::info!(target: "spool", event_id = %spooled.event_id, outcome = "delivered", "redrive");
        }
        Ok(Outcome::Duplicate) => {
            spool.delete(key).await?;
            summary.duplicates += 1;
            tracing::info!(target: "spool", event_id = %spooled.event_id, outcome = "duplicate", "redrive");
        }
        Ok(Outcome::InProgress { .. }) => {
            summary.remaining += 1;
            summary.oldest_age_s = summary.oldest_age_s.max(age.as_secs());
        }
        Err(err) => {
            spooled.attempts += 1;
            spooled.reason = err.to_string();
            let give_up = spooled.attempts >= policy.max_attempts || age >= policy.max_age;
            let bytes =
                serde_json::to_vec(&spooled).map_err(|e| super::SpoolError(e.to_string()))?;
            if give_up {
                spool.put(&spooled.key(FAILED), bytes).await?;
                spool.delete(key).await?;
                summary.failed += 1;
                tracing::error!(target: "spool", event_id = %spooled.event_id, attempts = spooled.attempts, reason = %spooled.reason, outcome = "failed", "redrive gave up; the delivery is under failed/");
            } else {
                spool.put(key, bytes).await?;
                summary.remaining += 1;
                summary.oldest_age_s = summary.oldest_age_s.max(age.as_secs());
                tracing::warn!(target: "spool", event_id = %spooled.event_id, attempts = spooled.attempts, reason = %spooled.reason, outcome = "retry", "redrive failed; kept for the next pass");
            }
        }
    }
    Ok(())
}
