//! The consumer's business-logic port: what to do with one event.

use std::future::Future;

use salesloft_webhooks_wire::envelope::{Envelope, EnvelopeError};

/// Why a handler did not process an event. The record is reported as a batch item failure
/// either way, so SQS redelivers it after the visibility timeout and, after the queue's
/// `maxReceiveCount` receives, moves it to the dead-letter queue. The message is logged: it
/// must not contain payload contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// The event can never be processed (its payload lacks what the handler needs):
    /// retrying does not help, it is bound for the dead-letter queue.
    #[error("{0}")]
    Poison(String),
    /// A failure that may pass (a downstream service is unavailable): a redelivery may
    /// succeed.
    #[error("{0}")]
    Transient(String),
}

impl HandlerError {
    /// Whether retrying cannot help.
    pub fn is_poison(&self) -> bool {
        matches!(self, HandlerError::Poison(_))
    }
}

impl From<EnvelopeError> for HandlerError {
    /// A payload that does not decode is poison. [`EnvelopeError`]'s messages quote no
    /// input, so they are safe to log.
    fn from(err: EnvelopeError) -> Self {
        HandlerError::Poison(err.to_string())
    }
}

/// Port: processes one event.
pub trait RecordHandler: Send + Sync {
    /// Processes `envelope`. `Ok` carries a short, static label of what was done, for the log
    /// line (e.g. `person_upserted`, `ignored`). Called at most once per `event_id` at a time
    /// and, once it returned `Ok`, not again for that `event_id` (as far as the idempotency
    /// store remembers); after an `Err` it is called again on the redelivery.
    fn handle(
        &self,
        envelope: &Envelope,
    ) -> impl Future<Output = Result<&'static str, HandlerError>> + Send;
}
