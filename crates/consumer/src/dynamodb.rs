//! [`IdempotencyStore`] on DynamoDB: a small table (`pk` string key, TTL on `expires_at`)
//! written with `PutItem` only, so the consumer needs no other DynamoDB permission.
//!
//! The claim is a conditional put that succeeds when there is no record, the record has
//! expired, it was released, or its lease has passed; on failure DynamoDB returns the old
//! item (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), which tells a processed event from one
//! in progress in the same round trip. Completing and releasing overwrite the record: only
//! the invocation holding the claim writes it before its lease (the invocation deadline)
//! passes.

use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;

use crate::idempotency::{
    Claim, IdempotencyError, IdempotencyStore, COMPLETED, DEFAULT_TTL, IN_PROGRESS, RELEASED,
};

const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR expires_at < :now_s OR #status = :released OR (#status = :in_progress AND lease_until < :now_ms)";

/// The DynamoDB adapter. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DynamoDbIdempotencyStore {
    client: Client,
    table: String,
    ttl: Duration,
}

impl DynamoDbIdempotencyStore {
    /// A store on `table`, remembering processed events for [`DEFAULT_TTL`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: DEFAULT_TTL,
        }
    }

    /// The same store with another time to live.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    fn expires_at_s(&self, now_ms: u64) -> u64 {
        now_ms / 1000 + self.ttl.as_secs()
    }

    async fn put(&self, key: &str, status: &str, now_ms: u64) -> Result<(), IdempotencyError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(key.to_string()))
            .item("status", AttributeValue::S(status.to_string()))
            .item("expires_at", number(self.expires_at_s(now_ms)))
            .send()
            .await
            .map(|_| ())
            .map_err(|err| IdempotencyError(DisplayErrorContext(&err).to_string()))
    }
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

impl IdempotencyStore for DynamoDbIdempotencyStore {
    async fn claim(
        &self,
        key: &str,
        now_ms: u64,
        lease_until_ms: u64,
    ) -> Result<Claim, IdempotencyError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(key.to_string()))
            .item("status", AttributeValue::S(IN_PROGRESS.into()))
            .item("lease_until", number(lease_until_ms))
            .item("expires_at", number(self.expires_at_s(now_ms)))
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now_s", number(now_ms / 1000))
            .expression_attribute_values(":now_ms", number(now_ms))
            .expression_attribute_values(":released", AttributeValue::S(RELEASED.into()))
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Claimed),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let status = failed
                        .item()
                        .and_then(|old| old.get("status"))
                        .and_then(|s| s.as_s().ok());
                    // Without the old item, "in progress" is the safe answer: the message
                    // comes back later.
                    Ok(if status.map(String::as_str) == Some(COMPLETED) {
                        Claim::Processed
                    } else {
                        Claim::InProgress
                    })
                }
                _ => Err(IdempotencyError(DisplayErrorContext(&err).to_string())),
            },
        }
    }

    async fn complete(&self, key: &str, now_ms: u64) -> Result<(), IdempotencyError> {
        self.put(key, COMPLETED, now_ms).await
    }

    async fn release(&self, key: &str, now_ms: u64) -> Result<(), IdempotencyError> {
        self.put(key, RELEASED, now_ms).await
    }
}
