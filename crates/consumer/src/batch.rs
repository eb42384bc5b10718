//! The batch processor of a Lambda function subscribed to the events queue with
//! `FunctionResponseTypes: [ReportBatchItemFailures]`: every record is processed on its own,
//! and only the records that failed are reported, so one poison message does not make SQS
//! redeliver the whole batch.
//!
//! Per record: parse the envelope (a body that is not one is poison) -> claim
//! `consumer#<consumer>#<provider>#<event_id>` in the [`IdempotencyStore`] (already processed: acknowledge) ->
//! run the [`RecordHandler`] -> complete the claim, or release it on failure. Records are
//! processed one after the other, in batch order; on a FIFO queue the records after a
//! failure are reported failed without being tried, so SQS keeps their order.
//!
//! One JSON log line per record, with the ids, the outcome and a reason: never the body.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

use crate::handler::RecordHandler;
use crate::idempotency::{idempotency_key, Claim, IdempotencyStore};
use crate::sqs::{parse_envelope, RecordAttributes};
use salesloft_webhooks_wire::envelope::Envelope;

/// Per-invocation inputs, passed in so tests are deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchContext {
    /// Current time, epoch milliseconds.
    pub now_ms: u64,
    /// The invocation's deadline, epoch milliseconds: claims are leased until then.
    pub deadline_ms: u64,
    /// Who is consuming, for the idempotency key: consumers sharing a table must differ. When
    /// `None`, each record's queue (its `eventSourceARN`) names the consumer, which is right
    /// for one function per queue.
    pub consumer: Option<String>,
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The handler processed it.
    Processed,
    /// Its `event_id` was processed before; acknowledged without processing.
    Duplicate,
    /// The body is not an envelope, or the handler cannot process the payload. Reported as a
    /// failure: after the queue's `maxReceiveCount` receives it moves to the dead-letter queue.
    Poison,
    /// The handler or the idempotency store failed in a way that may pass. Reported as a
    /// failure; SQS redelivers it after the visibility timeout.
    Failed,
    /// Another invocation is processing the same `event_id`. Reported as a failure, so the
    /// message comes back after the visibility timeout and is then acknowledged as a duplicate.
    InProgress,
    /// FIFO only: not tried because an earlier record of the batch failed.
    NotAttempted,
}

impl RecordOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordOutcome::Processed => "processed",
            RecordOutcome::Duplicate => "duplicate",
            RecordOutcome::Poison => "poison",
            RecordOutcome::Failed => "failed",
            RecordOutcome::InProgress => "in_progress",
            RecordOutcome::NotAttempted => "not_attempted",
        }
    }

    /// Whether the record is reported in `batchItemFailures`.
    pub fn is_failure(self) -> bool {
        !matches!(self, RecordOutcome::Processed | RecordOutcome::Duplicate)
    }
}

/// The result for one record, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReport {
    /// The SQS message id (the `itemIdentifier` of a failure).
    pub message_id: String,
    pub provider: Option<String>,
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub outcome: RecordOutcome,
    /// What the handler did (its label), for processed records.
    pub action: Option<&'static str>,
    /// Why the record failed; never contains payload contents.
    pub reason: Option<String>,
}

/// The results for a whole batch, in batch order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchReport {
    pub records: Vec<RecordReport>,
}

impl BatchReport {
    /// The records reported as failures.
    pub fn failures(&self) -> impl Iterator<Item = &RecordReport> {
        self.records.iter().filter(|r| r.outcome.is_failure())
    }

    /// The function's answer to Lambda. A failed record without a message id is reported
    /// with an empty identifier, which makes Lambda treat the whole batch as failed: the
    /// safe reading when a record cannot be named.
    pub fn response(&self) -> SqsBatchResponse {
        // The event types are non-exhaustive: built through their own helper.
        let mut response = SqsBatchResponse::default();
        for failure in self.failures() {
            response.add_failure(failure.message_id.clone());
        }
        response
    }
}

/// Processes every record of `event` (see the module documentation) and logs one line each.
pub async fn process_batch<S: IdempotencyStore, H: RecordHandler>(
    store: &S,
    handler: &H,
    event: &SqsEvent,
    ctx: &BatchContext,
) -> BatchReport {
    let mut report = BatchReport::default();
    let mut fifo_failed = false;
    for message in &event.records {
        let record = if fifo_failed {
            not_attempted(message)
        } else {
            process_record(store, handler, message, ctx).await
        };
        log_record(message, &record);
        if record.outcome.is_failure() && is_fifo(message) {
            fifo_failed = true;
        }
        report.records.push(record);
    }
    report
}

fn is_fifo(message: &SqsMessage) -> bool {
    message
        .event_source_arn
        .as_deref()
        .is_some_and(|arn| arn.ends_with(".fifo"))
}

fn base_report(message: &SqsMessage, outcome: RecordOutcome) -> RecordReport {
    let attributes = RecordAttributes::of(message);
    RecordReport {
        message_id: message.message_id.clone().unwrap_or_default(),
        provider: attributes.provider.map(str::to_string),
        event_type: attributes.event_type.map(str::to_string),
        event_id: attributes.event_id.map(str::to_string),
        outcome,
        action: None,
        reason: None,
    }
}

fn not_attempted(message: &SqsMessage) -> RecordReport {
    RecordReport {
        reason: Some("an earlier record of this FIFO batch failed".to_string()),
        ..base_report(message, RecordOutcome::NotAttempted)
    }
}

async fn process_record<S: IdempotencyStore, H: RecordHandler>(
    store: &S,
    handler: &H,
    message: &SqsMessage,
    ctx: &BatchContext,
) -> RecordReport {
    let mut report = base_report(message, RecordOutcome::Poison);
    let envelope: Envelope = match parse_envelope(message) {
        Ok(envelope) => envelope,
        Err(err) => {
            report.reason = Some(format!("{}: {err}", err.code()));
            return report;
        }
    };
    // The body is authoritative: the attributes only help filtering.
    report.provider = Some(envelope.provider.clone());
    report.event_type = Some(envelope.event_type.clone());
    report.event_id = Some(envelope.event_id.clone());

    let consumer = ctx
        .consumer
        .as_deref()
        .or(message.event_source_arn.as_deref())
        .unwrap_or("unnamed");
    let key = idempotency_key(consumer, &envelope.provider, &envelope.event_id);
    // A deadline already in the past (an emulator's clock) still gets a short lease.
    let lease_until_ms = ctx.deadline_ms.max(ctx.now_ms + 1_000);
    match store.claim(&key, ctx.now_ms, lease_until_ms).await {
        Ok(Claim::Claimed) => {}
        Ok(Claim::Processed) => {
            report.outcome = RecordOutcome::Duplicate;
            return report;
        }
        Ok(Claim::InProgress) => {
            report.outcome = RecordOutcome::InProgress;
            report.reason = Some("another invocation holds the event".to_string());
            return report;
        }
        Err(err) => {
            report.outcome = RecordOutcome::Failed;
            report.reason = Some(err.to_string());
            return report;
        }
    }

    match handler.handle(&envelope).await {
        Ok(action) => {
            report.outcome = RecordOutcome::Processed;
            report.action = Some(action);
            if let Err(err) = store.complete(&key, ctx.now_ms).await {
                // The work is done, so the record is not failed; the claim stays IN_PROGRESS
                // until its lease passes, and a redelivery after that processes it again
                // (at least once, never lost).
                tracing::warn!(event_id = %envelope.event_id, error = %err, "recording the event as processed failed");
            }
        }
        Err(err) => {
            report.outcome = if err.is_poison() {
                RecordOutcome::Poison
            } else {
                RecordOutcome::Failed
            };
            report.reason = Some(err.to_string());
            if let Err(err) = store.release(&key, ctx.now_ms).await {
                // The redelivery waits for the lease to pass instead; nothing is lost.
                tracing::warn!(event_id = %envelope.event_id, error = %err, "releasing the claim failed");
            }
        }
    }
    report
}

fn log_record(message: &SqsMessage, record: &RecordReport) {
    let receive_count = message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse::<u64>().ok());
    let message_id = record.message_id.as_str();
    let provider = record.provider.as_deref();
    let event_type = record.event_type.as_deref();
    let event_id = record.event_id.as_deref();
    let outcome = record.outcome.as_str();
    let action = record.action;
    let reason = record.reason.as_deref();
    if record.outcome.is_failure() {
        tracing::warn!(
            message_id,
            provider,
            event_type,
            event_id,
            outcome,
            reason,
            receive_count,
            "record"
        );
    } else {
        tracing::info!(
            message_id,
            provider,
            event_type,
            event_id,
            outcome,
            action,
            receive_count,
            "record"
        );
    }
}
