//! The fan-out port: hand one message to one destination (DESIGN.md section 5).

pub mod memory;
#[cfg(feature = "aws")]
pub mod sqs;

use std::future::Future;

pub use memory::MemoryPublisher;
#[cfg(feature = "aws")]
pub use sqs::SqsPublisher;

use crate::routing::Destination;

/// One message, ready to send: the envelope and the attributes consumers filter on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The JSON envelope (see [`crate::envelope`]).
    pub body: String,
    pub provider: String,
    pub event_type: String,
    pub event_id: String,
    /// FIFO only: keeps one record's events in order.
    pub group_id: String,
    /// FIFO only: derived from the dedup key, so SQS drops a resend within its window.
    pub deduplication_id: String,
}

/// A publish that did not succeed; the event is retried by the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("publishing to {destination} failed: {reason}")]
pub struct PublishError {
    pub destination: String,
    pub reason: String,
}

/// Port: a message queue.
pub trait EventPublisher: Send + Sync {
    /// Sends `message` to `destination`. `Ok` means the queue has durably accepted it;
    /// FIFO destinations (`destination.fifo`) must be given the group and deduplication ids.
    fn publish(
        &self,
        destination: &Destination,
        message: &Message,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}
