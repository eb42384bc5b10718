//! Reading an SQS record (`aws_lambda_events::sqs::SqsMessage`, as Lambda hands it to a
//! function subscribed to the queue): the message attributes the webhook sets, and the body.

use aws_lambda_events::sqs::SqsMessage;

use salesloft_webhooks_wire::envelope::{Envelope, EnvelopeError};
use salesloft_webhooks_wire::SalesloftEvent;
use salesloft_webhooks_wire::{attributes, SALESLOFT_PROVIDER};

/// The string value of the message attribute `name`, if the record has one.
pub fn string_attribute<'a>(message: &'a SqsMessage, name: &str) -> Option<&'a str> {
    message
        .message_attributes
        .get(name)
        .and_then(|attribute| attribute.string_value.as_deref())
}

/// The `provider`, `event_type` and `event_id` message attributes of a record: what the event
/// is, without parsing the body (and even when the body is not an envelope).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordAttributes<'a> {
    pub provider: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub event_id: Option<&'a str>,
}

impl<'a> RecordAttributes<'a> {
    pub fn of(message: &'a SqsMessage) -> Self {
        Self {
            provider: string_attribute(message, attributes::PROVIDER),
            event_type: string_attribute(message, attributes::EVENT_TYPE),
            event_id: string_attribute(message, attributes::EVENT_ID),
        }
    }

    /// The Salesloft event type, when the record is a Salesloft event.
    pub fn salesloft_event(&self) -> Option<SalesloftEvent> {
        match (self.provider, self.event_type) {
            (Some(provider), Some(event_type)) if provider == SALESLOFT_PROVIDER => {
                Some(SalesloftEvent::parse(event_type))
            }
            _ => None,
        }
    }
}

/// Parses the record's body as an [`Envelope`] (payload kept byte for byte).
pub fn parse_envelope(message: &SqsMessage) -> Result<Envelope, EnvelopeError> {
    let body = message.body.as_deref().ok_or(EnvelopeError::MissingBody)?;
    Envelope::parse(body)
}
