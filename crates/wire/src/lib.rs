//! The wire contract between the webhook function and every consumer of its queues: what a
//! message on a queue looks like. Both sides use these names; none is written twice.
//!
//! - [`envelope`]: the message body, `{"version":1,"provider":…,"event_type":…,"event_id":…,
//!   "received_at":…,"payload":{…}}`, with its writer ([`envelope::write`], used by the
//!   webhook) and its reader ([`Envelope`], used by consumers). The sender's JSON is embedded
//!   byte for byte.
//! - [`attributes`]: the SQS message attribute names a consumer can filter on.
//! - [`SalesloftEvent`]: Salesloft's 37 event types, with `Other` for types added later.
//!
//! The format is described for humans in `docs/ARCHITECTURE.md` ("The message").

pub mod attributes;
pub mod envelope;
pub mod event_type;

pub use envelope::{Envelope, EnvelopeError, EnvelopeFields, VERSION};
pub use event_type::SalesloftEvent;

/// The `provider` value of events from Salesloft (envelope field and message attribute).
pub const SALESLOFT_PROVIDER: &str = "salesloft";
