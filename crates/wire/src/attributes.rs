//! SQS message attribute names. Every message carries all three as `String` attributes, so a
//! consumer (or an SQS/Lambda filter policy) can tell what an event is without parsing its body.

/// The sender: `salesloft`, `salesos` or `standard`.
pub const PROVIDER: &str = "provider";
/// The sender's event type, e.g. `person_updated` or `lead.created`.
pub const EVENT_TYPE: &str = "event_type";
/// The event id: identical retries of one delivery share it (the consumer's idempotency key).
pub const EVENT_ID: &str = "event_id";

/// The three names, in the order the webhook sets them.
pub const ALL: [&str; 3] = [PROVIDER, EVENT_TYPE, EVENT_ID];
