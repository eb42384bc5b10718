//! In-memory [`EventPublisher`] for unit tests and fuzzing: records every message per
//! destination and can be told to fail for chosen destinations.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::{Destination, EventPublisher, Message, PublishError};
use crate::event::Identity;
use crate::senders::Provider;

/// A message as the in-memory publisher recorded it (owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub body: String,
    pub provider: Provider,
    pub identity: Identity,
    pub dedup_key: String,
}

impl SentMessage {
    /// The message as the adapters see it (e.g. to compute SQS's FIFO ids in a test).
    pub fn as_message(&self) -> Message<'_> {
        Message {
            body: &self.body,
            provider: self.provider,
            identity: &self.identity,
            dedup_key: &self.dedup_key,
        }
    }
}

#[derive(Debug, Default)]
pub struct MemoryPublisher {
    sent: Mutex<HashMap<String, Vec<SentMessage>>>,
    failing: Mutex<BTreeSet<String>>,
}

impl MemoryPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages sent to the destination named `name`, in order.
    pub fn sent_to(&self, name: &str) -> Vec<SentMessage> {
        lock(&self.sent).get(name).cloned().unwrap_or_default()
    }

    /// Total messages sent anywhere.
    pub fn total(&self) -> usize {
        lock(&self.sent).values().map(Vec::len).sum()
    }

    /// Makes publishes to `name` fail (`true`) or succeed again (`false`).
    pub fn set_failing(&self, name: &str, failing: bool) {
        let mut set = lock(&self.failing);
        if failing {
            set.insert(name.to_string());
        } else {
            set.remove(name);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl EventPublisher for MemoryPublisher {
    async fn publish(
        &self,
        destination: &Destination,
        message: &Message<'_>,
    ) -> Result<(), PublishError> {
        if lock(&self.failing).contains(&destination.name) {
            return Err(PublishError {
                destination: destination.name.clone(),
                reason: "injected failure".into(),
            });
        }
        lock(&self.sent)
            .entry(destination.name.clone())
            .or_default()
            .push(SentMessage {
                body: message.body.to_string(),
                provider: message.provider,
                identity: message.identity.clone(),
                dedup_key: message.dedup_key.to_string(),
            });
        Ok(())
    }
}
