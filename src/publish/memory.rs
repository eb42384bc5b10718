//! In-memory [`EventPublisher`] for unit tests and fuzzing: records every message per
//! destination and can be told to fail for chosen destinations.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::{EventPublisher, Message, PublishError};
use crate::routing::Destination;

#[derive(Debug, Default)]
pub struct MemoryPublisher {
    sent: Mutex<HashMap<String, Vec<Message>>>,
    failing: Mutex<BTreeSet<String>>,
}

impl MemoryPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages sent to the destination named `name`, in order.
    pub fn sent_to(&self, name: &str) -> Vec<Message> {
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
        message: &Message,
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
            .push(message.clone());
        Ok(())
    }
}
