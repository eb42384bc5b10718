//! [`EventPublisher`] on SQS: one `SendMessage` per destination, with the `provider`,
//! `event_type` and `event_id` message attributes, and group and deduplication ids on FIFO
//! queues.

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;

use super::{EventPublisher, Message, PublishError};
use crate::routing::Destination;

/// The SQS adapter. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqsPublisher {
    client: Client,
}

impl SqsPublisher {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        // `build` only fails when data_type is missing, and it is set just above.
        .expect("data_type is set")
}

impl EventPublisher for SqsPublisher {
    async fn publish(
        &self,
        destination: &Destination,
        message: &Message,
    ) -> Result<(), PublishError> {
        let mut send = self
            .client
            .send_message()
            .queue_url(&destination.queue_url)
            .message_body(&message.body)
            .message_attributes("provider", string_attribute(&message.provider))
            .message_attributes("event_type", string_attribute(&message.event_type))
            .message_attributes("event_id", string_attribute(&message.event_id));
        if destination.fifo {
            send = send
                .message_group_id(&message.group_id)
                .message_deduplication_id(&message.deduplication_id);
        }
        send.send().await.map(|_| ()).map_err(|err| PublishError {
            destination: destination.name.clone(),
            reason: DisplayErrorContext(&err).to_string(),
        })
    }
}
