//! An example [`RecordHandler`]: decodes Salesloft person events into a typed struct and
//! acknowledges the rest. Replace it with your own logic; keep the shape: decode what you
//! need, treat a payload you cannot decode as poison, and report a downstream outage as
//! transient.

use serde::Deserialize;

use crate::handler::{HandlerError, RecordHandler};
use salesloft_webhooks_wire::envelope::Envelope;
use salesloft_webhooks_wire::SalesloftEvent;

/// The fields of a Salesloft person this example uses. Unknown fields are ignored, so
/// Salesloft can add fields without breaking the consumer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Person {
    pub id: u64,
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub do_not_contact: Option<bool>,
}

/// Any Salesloft resource: every Salesloft webhook payload carries the record's `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Resource {
    pub id: u64,
}

/// The example handler used by the `consumer` binary.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExampleHandler;

impl ExampleHandler {
    /// The decision, synchronous: what [`RecordHandler::handle`] does.
    pub fn process(&self, envelope: &Envelope) -> Result<&'static str, HandlerError> {
        let Some(event) = envelope.salesloft_event() else {
            // SalesOS and Standard Webhooks events: this example does not handle them.
            return Ok("ignored_provider");
        };
        match event {
            SalesloftEvent::PersonCreated | SalesloftEvent::PersonUpdated => {
                let person: Person = envelope.payload_as()?;
                // Here: upsert `person` into your system, keyed by `person.id`, skipping the
                // write when your copy's `updated_at` is newer (SQS does not keep order).
                let _ = person;
                Ok("person_upserted")
            }
            SalesloftEvent::PersonDeleted => {
                let person: Resource = envelope.payload_as()?;
                let _ = person.id;
                Ok("person_deleted")
            }
            SalesloftEvent::Other(_) => Ok("ignored_unknown_type"),
            _ => {
                let _: Resource = envelope.payload_as()?;
                Ok("acknowledged")
            }
        }
    }
}

impl RecordHandler for ExampleHandler {
    async fn handle(&self, envelope: &Envelope) -> Result<&'static str, HandlerError> {
        self.process(envelope)
    }
}
