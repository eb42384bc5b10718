//! [`DedupStore`] on DynamoDB: one conditional `PutItem` to claim, conditional `UpdateItem`s
//! to complete or release (`docs/ARCHITECTURE.md`, "The idempotency record").
//!
//! The claim asks for `ALL_OLD` both on success (to inherit the `delivered` set of a released
//! attempt) and on condition failure (to tell a duplicate from an in-progress delivery in the
//! same round trip). A failed condition is recognised by the SDK's typed
//! `ConditionalCheckFailedException`, never by the text of an error.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;

use super::{
    ClaimOutcome, ClaimRequest, DedupError, DedupStore, RecordState, COMPLETED, IN_PROGRESS,
    RELEASED,
};

/// The claim condition (`docs/ARCHITECTURE.md`, "The idempotency record").
const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR expires_at < :now_s OR #status = :released OR (#status = :in_progress AND lease_until < :now_ms)";

/// The DynamoDB adapter. Cheap to clone (the SDK client is an `Arc` inside).
#[derive(Debug, Clone)]
pub struct DynamoDbDedupStore {
    client: Client,
    table: String,
}

impl DynamoDbDedupStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn finish(
        &self,
        key: &str,
        token: &str,
        status: &'static str,
        delivered: &BTreeSet<String>,
    ) -> Result<(), DedupError> {
        // A string set may not be empty, so an empty `delivered` is removed instead.
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_string()))
            .condition_expression("#claim = :token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#claim", "claim")
            .expression_attribute_values(":token", AttributeValue::S(token.to_string()))
            .expression_attribute_values(":status", AttributeValue::S(status.to_string()));
        update = if delivered.is_empty() {
            update.update_expression("SET #status = :status REMOVE delivered")
        } else {
            update
                .update_expression("SET #status = :status, delivered = :delivered")
                .expression_attribute_values(
                    ":delivered",
                    AttributeValue::Ss(delivered.iter().cloned().collect()),
                )
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(DedupError::ClaimLost)
                }
                _ => Err(DedupError::Unavailable(
                    DisplayErrorContext(&err).to_string(),
                )),
            },
        }
    }
}

impl DedupStore for DynamoDbDedupStore {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<ClaimOutcome, DedupError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(request.key.to_string()))
            .item("status", AttributeValue::S(IN_PROGRESS.into()))
            .item("claim", AttributeValue::S(request.token.to_string()))
            .item("lease_until", number(request.lease_until_ms))
            .item("expires_at", number(request.expires_at_s))
            .item(
                "event_type",
                AttributeValue::S(request.event_type.to_string()),
            )
            .item(
                "received_at",
                AttributeValue::S(request.received_at.to_string()),
            )
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now_s", number(request.now_ms / 1000))
            .expression_attribute_values(":now_ms", number(request.now_ms))
            .expression_attribute_values(":released", AttributeValue::S(RELEASED.into()))
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let delivered = output
                    .attributes()
                    .map(|old| record_state(old).inherited_delivered(request.now_ms))
                    .unwrap_or_default();
                Ok(ClaimOutcome::Claimed { delivered })
            }
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    // Without the old item (it vanished between the check and the read,
                    // say), the safe answer is "in progress": the sender retries.
                    Ok(failed
                        .item()
                        .map(|old| record_state(old).refusal())
                        .unwrap_or(ClaimOutcome::InProgress { lease_until_ms: 0 }))
                }
                _ => Err(DedupError::Unavailable(
                    DisplayErrorContext(&err).to_string(),
                )),
            },
        }
    }

    async fn complete(
        &self,
        key: &str,
        token: &str,
        delivered: &BTreeSet<String>,
    ) -> Result<(), DedupError> {
        self.finish(key, token, COMPLETED, delivered).await
    }

    async fn release(
        &self,
        key: &str,
        token: &str,
        delivered: &BTreeSet<String>,
    ) -> Result<(), DedupError> {
        self.finish(key, token, RELEASED, delivered).await
    }
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// Reads the fields the state machine needs; missing or odd fields read as empty/zero.
pub fn record_state(item: &HashMap<String, AttributeValue>) -> RecordState {
    let n = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    RecordState {
        status: item
            .get("status")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        lease_until_ms: n("lease_until"),
        expires_at_s: n("expires_at"),
        delivered: item
            .get("delivered")
            .and_then(|v| v.as_ss().ok())
            .map(|ss| ss.iter().cloned().collect())
            .unwrap_or_default(),
    }
}
