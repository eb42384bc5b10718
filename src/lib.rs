//! salesloft-webhooks: verify Salesloft (and other CRM) webhook deliveries, record each once
//! in DynamoDB, and fan them out to SQS. See DESIGN.md and README.md.
//!
//! Layers, inside out: [`signature`] (pure verification) and [`event`] (parsing, identity);
//! [`service`] (the pipeline over the [`dedup`] and [`publish`] ports); [`http`] (the Function
//! URL adapter and the status table); `main.rs` (bootstrap).

pub mod config;
pub mod consumer;
pub mod dedup;
pub mod envelope;
pub mod event;
pub mod headers;
pub mod http;
#[cfg(feature = "aws")]
pub mod logging;
pub mod publish;
pub mod routing;
pub mod secrets;
pub mod service;
pub mod signature;
