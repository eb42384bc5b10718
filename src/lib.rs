//! salesloft-webhooks: verify Salesloft (and other CRM) webhook deliveries, record each once
//! in DynamoDB, and fan them out to SQS. `docs/ARCHITECTURE.md` explains the design; this is
//! the map of the crate.
//!
//! - [`senders`]: one module per sender (paths, headers, scheme, secrets, event identity).
//! - [`signature`]: the shared, pure verification machinery and the [`signature::Verifier`].
//! - [`event`]: the body checks and the event identity, after verification.
//! - [`service`]: verify → parse → claim → publish → complete, generic over the ports.
//! - Ports and their adapters: [`dedup`] (DynamoDB, memory), [`destinations`] (SQS, memory;
//!   also the route table), [`secrets`] (Secrets Manager, memory; the secret document),
//!   [`spool`] (S3, memory: deliveries that could not finish, and their redrive).
//! - [`http`]: the Function URL adapter and the one classification of outcomes.
//! - [`config`]: the environment, read once into a [`config::Config`].
//! - `main.rs`: bootstrap. The message format consumers read is the `salesloft-webhooks-wire`
//!   crate.

pub mod config;
pub mod dedup;
pub mod destinations;
pub mod event;
pub mod headers;
pub mod http;
#[cfg(feature = "aws")]
pub mod logging;
pub mod secrets;
pub mod senders;
pub mod service;
pub mod signature;
pub mod spool;
