//! The webhook service: verify -> parse -> claim -> publish -> complete (`docs/ARCHITECTURE.md`,
//! "The pipeline"), generic over the two ports, so it never sees an AWS type and runs
//! unchanged on the in-memory adapters in unit tests.
//!
//! Ordering is what keeps the promises: nothing touches a store before the signature has
//! verified; a failed publish releases the claim (recording what did go out) and answers 503
//! so the sender retries; only a fully published event is completed.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use futures::future::join_all;
use salesloft_webhooks_wire::envelope::{self, EnvelopeFields};

use crate::dedup::{ClaimOutcome, ClaimRequest, DedupError, DedupStore};
use crate::destinations::{EventPublisher, Message, PublishError, RouteTable, Unpublishable};
use crate::event::{Event, Identity, ParseError};
use crate::headers::Headers;
use crate::secrets::Keyring;
use crate::senders::Provider;
use crate::signature::{SignatureError, Verifier};
use crate::spool::{self, SpoolStore, Spooled};

/// Time kept back from the invocation's deadline for each step after the one it bounds: the
/// claim and the publishes must end by `deadline - 2 x reserve`, the completion or release by
/// `deadline - reserve`, so a hung AWS call becomes a 503 (with the claim released) before
/// Lambda cuts the invocation off.
const DEADLINE_RESERVE: Duration = Duration::from_millis(400);
/// The least time the AWS calls get, even when the deadline looks closer (an emulator's
/// clock can lag the host's): without it every call would time out at once.
const MIN_BUDGET: Duration = Duration::from_millis(1_500);

/// Runs `call` until `at`; `None` when it did not finish in time (the call is dropped).
async fn until<T>(at: Instant, call: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(at, call).await.ok()
}

/// Per-invocation inputs that would otherwise be ambient, passed in so tests are
/// deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Current time, epoch milliseconds.
    pub now_ms: u64,
    /// The Lambda deadline, epoch milliseconds; the claim's lease ends here.
    pub deadline_ms: u64,
    /// Random token identifying this attempt's claim.
    pub claim_token: String,
}

/// What happened to a verified, parsed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// New: published to every matching destination.
    Accepted,
    /// Seen before and completed; nothing was published.
    Duplicate,
    /// Another invocation holds the claim; the sender should retry after this many seconds.
    InProgress { retry_after_s: u64 },
}

/// Why the service did not accept a delivery.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("signature rejected: {0}")]
    Signature(#[from] SignatureError),
    #[error("bad request: {0}")]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Dedup(#[from] DedupError),
    /// No sender secrets could be read yet (the secret store is unreachable).
    #[error("sender secrets unavailable")]
    SecretsUnavailable,
    /// The route table gave no destination (a sender added to the secret after start-up that
    /// no route covers): refused before the claim rather than completed, so nothing is lost.
    #[error("no destination for {0}")]
    NoDestination(String),
    /// A destination would never accept the message (too large, characters it refuses):
    /// refused before the claim with a 4xx, since no retry could deliver it.
    #[error("a destination would refuse the message: {0}")]
    Unpublishable(#[from] Unpublishable),
    #[error("{} of the destinations failed: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Publish(Vec<PublishError>),
}

/// The result of one delivery, with what is known of the event for the response and the log
/// line: its identity once parsed, and whether it was written to the spool.
#[derive(Debug)]
pub struct Report {
    pub identity: Option<Identity>,
    pub result: Result<Outcome, ServiceError>,
    /// The delivery could not finish and is in the spool for the redrive.
    pub spooled: bool,
}

/// How a verified delivery ended: the result, and (when it could not finish) what the spool
/// must keep for the redrive.
struct Finish {
    result: Result<Outcome, ServiceError>,
    /// `Some(delivered)`: the delivery did not finish; these destinations already have it.
    unfinished: Option<BTreeSet<String>>,
}

impl Finish {
    fn done(result: Result<Outcome, ServiceError>) -> Self {
        Self {
            result,
            unfinished: None,
        }
    }

    fn unfinished(result: Result<Outcome, ServiceError>, delivered: BTreeSet<String>) -> Self {
        Self {
            result,
            unfinished: Some(delivered),
        }
    }
}

/// The service, generic over its dedup store and publisher.
pub struct Service<D, P> {
    dedup: D,
    publisher: P,
    keys: Keyring,
    routes: RouteTable,
    dedup_ttl: Duration,
    spool: Option<Arc<dyn SpoolStore>>,
}

impl<D: std::fmt::Debug, P: std::fmt::Debug> std::fmt::Debug for Service<D, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("dedup", &self.dedup)
            .field("publisher", &self.publisher)
            .field("keys", &self.keys)
            .field("routes", &self.routes)
            .field("spool", &self.spool.is_some())
            .finish()
    }
}

impl<D: DedupStore, P: EventPublisher> Service<D, P> {
    pub fn new(
        dedup: D,
        publisher: P,
        verifier: Verifier,
        routes: RouteTable,
        dedup_ttl: Duration,
    ) -> Self {
        Self::with_keyring(
            dedup,
            publisher,
            Keyring::fixed(verifier),
            routes,
            dedup_ttl,
        )
    }

    /// A service whose secrets come from a [`Keyring`] (refreshed from a secret store).
    pub fn with_keyring(
        dedup: D,
        publisher: P,
        keys: Keyring,
        routes: RouteTable,
        dedup_ttl: Duration,
    ) -> Self {
        Self {
            dedup,
            publisher,
            keys,
            routes,
            dedup_ttl,
            spool: None,
        }
    }

    /// Writes the deliveries that verified but could not finish to `spool` (before the 503),
    /// for the redrive. Without a spool the sender's retries are the only second chance.
    pub fn with_spool(mut self, spool: Arc<dyn SpoolStore>) -> Self {
        self.spool = Some(spool);
        self
    }

    /// Whether this deployment serves `provider` (has a secret for it).
    pub fn serves(&self, provider: Provider) -> bool {
        self.keys.serves(provider)
    }

    pub fn dedup(&self) -> &D {
        &self.dedup
    }

    pub fn publisher(&self) -> &P {
        &self.publisher
    }

    /// Handles one delivery of `body` (raw, already base64-decoded) from `provider`.
    pub async fn handle(
        &self,
        provider: Provider,
        body: &[u8],
        headers: &Headers,
        inv: &Invocation,
    ) -> Report {
        // The deadline budget counts from here: a slow secret read is spent out of it.
        let started = Instant::now();
        let now_s = (inv.now_ms / 1000) as i64;
        let Some(verifier) = self.keys.current(inv.now_ms).await else {
            return Report {
                identity: None,
                result: Err(ServiceError::SecretsUnavailable),
                spooled: false,
            };
        };
        let verified = match verifier.verify(provider, body, headers, now_s) {
            Ok(v) => Ok(v),
            // The sender may sign with a token added since the keys were read: re-read them
            // once (rate-limited by the keyring) before refusing.
            Err(first) => match self.keys.refresh_after_failure(inv.now_ms).await {
                Some(fresh) => fresh.verify(provider, body, headers, now_s),
                None => Err(first),
            },
        };
        let event = match verified
            .map_err(ServiceError::from)
            .and_then(|verified| Event::parse(verified).map_err(ServiceError::from))
        {
            Ok(event) => event,
            Err(err) => {
                return Report {
                    identity: None,
                    result: Err(err),
                    spooled: false,
                }
            }
        };
        let finish = self
            .deliver(&event, inv, started, inv.now_ms, &BTreeSet::new())
            .await;
        let spooled = match (&finish.unfinished, &self.spool) {
            (Some(delivered), Some(spool)) => {
                self.write_spool(
                    spool.as_ref(),
                    &event,
                    &finish.result,
                    delivered,
                    inv,
                    started,
                )
                .await
            }
            _ => false,
        };
        Report {
            identity: Some(event.into_identity()),
            result: finish.result,
            spooled,
        }
    }

    /// Writes `event` to the spool; false (logged) when the write fails: the answer is then
    /// the same 503 as without a spool.
    async fn write_spool(
        &self,
        spool: &dyn SpoolStore,
        event: &Event<'_>,
        result: &Result<Outcome, ServiceError>,
        delivered: &BTreeSet<String>,
        inv: &Invocation,
        started: Instant,
    ) -> bool {
        let spooled = Spooled {
            version: spool::VERSION,
            provider: event.provider().as_str().to_string(),
            event_type: event.event_type().to_string(),
            event_id: event.event_id().to_string(),
            resource_id: event.resource_id().map(str::to_string),
            received_at_ms: inv.now_ms,
            spooled_at_ms: inv.now_ms,
            reason: match result {
                Err(err) => err.to_string(),
                Ok(_) => "the record could not be completed".to_string(),
            },
            attempts: 0,
            delivered: delivered.clone(),
            body: event.payload_str().to_string(),
        };
        let bytes = match serde_json::to_vec(&spooled) {
            Ok(bytes) => bytes,
            Err(_) => return false,
        };
        // The write gets what is left of the invocation, up to half a reserve before its
        // deadline: the 503 must still go out in time.
        let budget =
            Duration::from_millis(inv.deadline_ms.saturating_sub(inv.now_ms)).max(MIN_BUDGET);
        let write_by = started + budget - DEADLINE_RESERVE / 2;
        let key = spooled.key(spool::PENDING);
        match until(write_by, spool.put(&key, bytes)).await {
            Some(Ok(())) => true,
            Some(Err(err)) => {
                tracing::error!(event_id = %event.event_id(), error = %err, "writing the delivery to the spool failed");
                false
            }
            None => {
                tracing::error!(event_id = %event.event_id(), "writing the delivery to the spool timed out");
                false
            }
        }
    }

    /// Runs a spooled delivery through claim → publish → complete again (the redrive). The
    /// spool holds only deliveries that verified, so no signature is checked here;
    /// `spooled.delivered` is never sent again. Not spooled again when it fails: the redrive
    /// keeps the object and counts the attempt.
    pub async fn redeliver(
        &self,
        spooled: &Spooled,
        inv: &Invocation,
    ) -> Result<Outcome, ServiceError> {
        let event = Event::from_spool(spooled).map_err(ServiceError::Parse)?;
        self.deliver(
            &event,
            inv,
            Instant::now(),
            spooled.received_at_ms,
            &spooled.delivered,
        )
        .await
        .result
    }

    /// Claim → publish → complete for a verified, parsed event received at `received_ms`,
    /// skipping the destinations in `known_delivered`.
    async fn deliver(
        &self,
        event: &Event<'_>,
        inv: &Invocation,
        started: Instant,
        received_ms: u64,
        known_delivered: &BTreeSet<String>,
    ) -> Finish {
        let key = event.dedup_key();
        let received_at = rfc3339(received_ms);
        let fields = EnvelopeFields {
            provider: event.provider().as_str(),
            event_type: event.event_type(),
            event_id: event.event_id(),
            received_at: &received_at,
        };
        // The payload was validated as a JSON object by `Event::parse`, as `write` requires.
        let body = envelope::write(&fields, event.payload_str());
        let message = Message {
            body: &body,
            provider: event.provider(),
            identity: event.identity(),
            dedup_key: &key,
        };
        // Before the claim (no AWS call yet): an event that has nowhere to go, or that a
        // destination would never accept, must not be recorded as delivered nor loop in 503s.
        let destinations = self
            .routes
            .destinations(event.provider(), event.event_type());
        if destinations.is_empty() {
            // A route may be added later: spooled, the redrive delivers it once one exists.
            let err =
                ServiceError::NoDestination(format!("{}:{}", event.provider(), event.event_type()));
            return Finish::unfinished(Err(err), known_delivered.clone());
        }
        for destination in &destinations {
            if let Err(err) = destination.target.check(&message) {
                return Finish::done(Err(err.into()));
            }
        }

        // Real-time bounds for the AWS calls, from the invocation's deadline.
        let budget =
            Duration::from_millis(inv.deadline_ms.saturating_sub(inv.now_ms)).max(MIN_BUDGET);
        let finish_by = started + budget - DEADLINE_RESERVE;
        let work_by = finish_by - DEADLINE_RESERVE;
        // The lease must outlive the publish; a deadline already in the past (clock skew in
        // an emulator) still gets a short lease rather than none.
        let lease_until_ms = inv.deadline_ms.max(inv.now_ms + 1_000);
        let claim = ClaimRequest {
            key: &key,
            token: &inv.claim_token,
            event_type: event.event_type(),
            received_at: &received_at,
            now_ms: inv.now_ms,
            lease_until_ms,
            expires_at_s: inv.now_ms / 1000 + self.dedup_ttl.as_secs(),
        };
        if Instant::now() + Duration::from_millis(100) >= work_by {
            // Too close to the deadline to claim and publish: spool it rather than start.
            let err = DedupError::Unavailable("too close to the invocation's deadline".into());
            return Finish::unfinished(Err(err.into()), known_delivered.clone());
        }
        let claimed = until(work_by, self.dedup.claim(&claim))
            .await
            .unwrap_or_else(|| Err(DedupError::Unavailable("the claim timed out".into())));
        let mut already = match claimed {
            Ok(ClaimOutcome::Claimed { delivered }) => delivered,
            Ok(ClaimOutcome::Duplicate) => return Finish::done(Ok(Outcome::Duplicate)),
            Ok(ClaimOutcome::InProgress { lease_until_ms }) => {
                let wait_ms = lease_until_ms.saturating_sub(inv.now_ms);
                return Finish::done(Ok(Outcome::InProgress {
                    retry_after_s: wait_ms.div_ceil(1000).clamp(1, 900),
                }));
            }
            Err(err) => return Finish::unfinished(Err(err.into()), known_delivered.clone()),
        };
        already.extend(known_delivered.iter().cloned());
        let pending: Vec<_> = destinations
            .into_iter()
            .filter(|d| !already.contains(&d.name))
            .collect();
        let results = join_all(pending.iter().map(|d| async {
            until(work_by, self.publisher.publish(d, &message))
                .await
                .unwrap_or_else(|| {
                    Err(PublishError {
                        destination: d.name.clone(),
                        reason: "timed out before the invocation's deadline".into(),
                    })
                })
        }))
        .await;

        let mut delivered = already;
        let mut failures = Vec::new();
        for (destination, result) in pending.iter().zip(results) {
            match result {
                Ok(()) => {
                    delivered.insert(destination.name.clone());
                }
                Err(err) => failures.push(err),
            }
        }

        if failures.is_empty() {
            let completed = until(
                finish_by,
                self.dedup.complete(&key, &inv.claim_token, &delivered),
            )
            .await
            .unwrap_or_else(|| Err(DedupError::Unavailable("completing timed out".into())));
            if let Err(err) = completed {
                // Every destination has the event, so the sender must not be told to retry.
                // The record stays IN_PROGRESS until its lease ends; the spool (when there is
                // one) lets the redrive complete it without publishing again. Without one, a
                // retry after the lease republishes (at-least-once). See RELIABILITY.md.
                tracing::warn!(event_id = %event.event_id(), error = %err, "completing the dedup record failed after a successful publish");
                return Finish::unfinished(Ok(Outcome::Accepted), delivered);
            }
            Finish::done(Ok(Outcome::Accepted))
        } else {
            let released = until(
                finish_by,
                self.dedup.release(&key, &inv.claim_token, &delivered),
            )
            .await
            .unwrap_or_else(|| Err(DedupError::Unavailable("releasing timed out".into())));
            if let Err(err) = released {
                // The claim stays IN_PROGRESS until its lease passes; the sender's next retry
                // after that claims it again.
                tracing::warn!(event_id = %event.event_id(), error = %err, "releasing the dedup record failed");
            }
            Finish::unfinished(Err(ServiceError::Publish(failures)), delivered)
        }
    }
}

/// `received_at` in RFC 3339 (UTC, millisecond precision).
pub fn rfc3339(now_ms: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(now_ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests;
