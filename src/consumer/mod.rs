//! The consumer side: what a service that subscribes to the events queue needs to read the
//! messages this function publishes (DESIGN.md section 5), and an example batch processor.
//!
//! - [`Envelope`]: the message body, with the sender's payload kept byte for byte
//!   ([`Envelope::parse`], [`Envelope::payload_as`]); unknown envelope versions are refused.
//! - [`SalesloftEvent`]: the 37 Salesloft event types, with [`SalesloftEvent::Other`] for types
//!   Salesloft adds later.
//! - [`IdempotencyStore`]: the tiny port a consumer uses to process each `event_id` once
//!   (SQS delivers at least once); [`MemoryIdempotencyStore`] and, with the `aws` feature,
//!   `DynamoDbIdempotencyStore`.
//! - [`RecordHandler`]: the business logic for one event; [`ExampleHandler`] shows one.
//! - With the `lambda-events` feature (on with `aws`): `RecordAttributes` reads the
//!   `provider`, `event_type` and `event_id` message attributes of an
//!   `aws_lambda_events::sqs::SqsMessage`, and `process_batch` turns an `SqsEvent` into an
//!   `SqsBatchResponse` that reports only the records that failed.
//!
//! Everything here but the SQS types and the DynamoDB adapter builds without the `aws`
//! feature, so a consumer can depend on the crate with `default-features = false`.

#[cfg(feature = "lambda-events")]
pub mod batch;
#[cfg(feature = "aws")]
pub mod dynamodb;
pub mod envelope;
pub mod event_type;
pub mod example;
pub mod handler;
pub mod idempotency;
#[cfg(feature = "lambda-events")]
pub mod sqs;

#[cfg(feature = "lambda-events")]
pub use batch::{process_batch, BatchContext, BatchReport, RecordOutcome, RecordReport};
#[cfg(feature = "aws")]
pub use dynamodb::DynamoDbIdempotencyStore;
pub use envelope::{Envelope, EnvelopeError, SUPPORTED_VERSION};
pub use event_type::SalesloftEvent;
pub use example::ExampleHandler;
pub use handler::{HandlerError, RecordHandler};
pub use idempotency::{
    idempotency_key, Claim, IdempotencyError, IdempotencyStore, MemoryIdempotencyStore, DEFAULT_TTL,
};
#[cfg(feature = "lambda-events")]
pub use sqs::RecordAttributes;

/// Name of the message attribute holding the provider (`salesloft`, `salesos`, `standard`).
pub const PROVIDER_ATTRIBUTE: &str = "provider";
/// Name of the message attribute holding the event type (e.g. `person_updated`).
pub const EVENT_TYPE_ATTRIBUTE: &str = "event_type";
/// Name of the message attribute holding the event id (the idempotency key).
pub const EVENT_ID_ATTRIBUTE: &str = "event_id";
