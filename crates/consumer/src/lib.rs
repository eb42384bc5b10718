//! The consumer side of salesloft-webhooks: what a service subscribed to an events queue needs
//! to process each event once. It depends on the wire crate and nothing of the webhook.
//!
//! - [`Envelope`]: the message body (re-exported from `salesloft-webhooks-wire`), with the
//!   sender's payload kept byte for byte; unknown envelope versions are refused.
//! - [`SalesloftEvent`]: the 37 Salesloft event types, with `Other` for types added later.
//! - [`IdempotencyStore`]: the port a consumer uses to process each `event_id` once (SQS
//!   delivers at least once); [`MemoryIdempotencyStore`] and, with the `aws` feature,
//!   `DynamoDbIdempotencyStore`.
//! - [`RecordHandler`]: the business logic for one event; [`ExampleHandler`] shows one.
//! - With the `lambda-events` feature (on with `aws`): `RecordAttributes` reads the message
//!   attributes of an `aws_lambda_events::sqs::SqsMessage`, and `process_batch` turns an
//!   `SqsEvent` into an `SqsBatchResponse` that reports only the records that failed.
//!
//! The message format and the consumer guide: `docs/consumers.md` and `docs/ARCHITECTURE.md`.

#[cfg(feature = "lambda-events")]
pub mod batch;
#[cfg(feature = "aws")]
pub mod dynamodb;
pub mod example;
pub mod handler;
pub mod idempotency;
#[cfg(feature = "lambda-events")]
pub mod sqs;

#[cfg(feature = "lambda-events")]
pub use batch::{process_batch, BatchContext, BatchReport, RecordOutcome, RecordReport};
#[cfg(feature = "aws")]
pub use dynamodb::DynamoDbIdempotencyStore;
pub use example::ExampleHandler;
pub use handler::{HandlerError, RecordHandler};
pub use idempotency::{
    idempotency_key, Claim, IdempotencyError, IdempotencyStore, MemoryIdempotencyStore, DEFAULT_TTL,
};
pub use salesloft_webhooks_wire::{attributes, Envelope, EnvelopeError, SalesloftEvent, VERSION};
#[cfg(feature = "lambda-events")]
pub use sqs::RecordAttributes;
