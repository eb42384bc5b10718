//! Example consumer, bootstrap only: JSON tracing, the idempotency store, and the Lambda
//! runtime loop over SQS batches. The processing is the `salesloft_webhooks_consumer` library.
//!
//! Environment:
//! - `CONSUMER_TABLE_NAME`: DynamoDB table (`pk` string key, TTL on `expires_at`) that records
//!   processed event ids across every execution environment. Unset or empty: an in-memory
//!   store per execution environment, which misses duplicates that reach another environment
//!   or arrive after a cold start (see docs/consumers.md).
//! - `CONSUMER_NAME`: this consumer's name in the idempotency keys. Unset: the queue ARN of each
//!   record. Two consumers sharing a table must have different names (or queues).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use salesloft_webhooks_consumer::{
    process_batch, BatchContext, DynamoDbIdempotencyStore, ExampleHandler, IdempotencyStore,
    MemoryIdempotencyStore,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_json_logs();

    match std::env::var("CONSUMER_TABLE_NAME") {
        Ok(table) if !table.trim().is_empty() => {
            let aws = aws_config::load_from_env().await;
            let client = aws_sdk_dynamodb::Client::new(&aws);
            tracing::info!(store = "dynamodb", table = %table, "idempotency store");
            run(DynamoDbIdempotencyStore::new(client, table)).await
        }
        _ => {
            tracing::info!(store = "memory", "idempotency store");
            run(MemoryIdempotencyStore::default()).await
        }
    }
}

async fn run<S: IdempotencyStore>(store: S) -> Result<(), Error> {
    let store = &store;
    // Consumers that share an idempotency table need distinct names; unset, each record's
    // queue ARN names the consumer.
    let consumer = std::env::var("CONSUMER_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty());
    let consumer = &consumer;
    let handler = &ExampleHandler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let ctx = BatchContext {
            now_ms: now_ms(),
            deadline_ms: event.context.deadline,
            consumer: consumer.clone(),
        };
        let report = process_batch(store, handler, &event.payload, &ctx).await;
        Ok::<SqsBatchResponse, Error>(report.response())
    }))
    .await
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One flat JSON object per line with an RFC 3339 `timestamp` and a `level` (Lambda's JSON
/// log controls read both); the level from `AWS_LAMBDA_LOG_LEVEL` (what `ApplicationLogLevel`
/// sets), else `RUST_LOG`, else INFO. Other crates never go below INFO: at DEBUG and TRACE
/// the runtime logs whole invocations, and an SQS batch carries the payloads.
fn init_json_logs() {
    use tracing_subscriber::filter::{filter_fn, EnvFilter, FilterExt, LevelFilter};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().and_then(|l| {
        match l.trim().to_ascii_uppercase().as_str() {
            "TRACE" => Some(LevelFilter::TRACE),
            "DEBUG" => Some(LevelFilter::DEBUG),
            "INFO" => Some(LevelFilter::INFO),
            "WARN" => Some(LevelFilter::WARN),
            "ERROR" | "FATAL" => Some(LevelFilter::ERROR),
            _ => None,
        }
    });
    let levels = match lambda_level {
        Some(level) => EnvFilter::default().add_directive(level.into()),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let own = filter_fn(|meta| {
        meta.target().starts_with("salesloft_webhooks")
            || meta.target().starts_with("consumer")
            || *meta.level() <= tracing::Level::INFO
    });
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_filter(levels.and(own));
    tracing_subscriber::registry().with(layer).init();
}
