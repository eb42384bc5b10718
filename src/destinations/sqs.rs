//! SQS destinations: the target (a queue URL; FIFO when it ends in `.fifo`), what SQS needs
//! beyond the envelope (the `provider`, `event_type` and `event_id` message attributes, and on
//! FIFO queues a message group id and a deduplication id), and, with the `aws` feature, the
//! [`SqsPublisher`] adapter: one `SendMessage` per destination.

use sha2::{Digest, Sha256};

use super::{Message, Unpublishable};

/// SQS's limit on a message, attributes included.
pub const SQS_MAX_MESSAGE_BYTES: usize = 1_048_576;

/// An SQS queue as a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsQueue {
    pub url: String,
    /// FIFO queues (`.fifo`) get a message group id and a deduplication id.
    pub fifo: bool,
}

impl SqsQueue {
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            fifo: url.ends_with(".fifo"),
            url,
        }
    }
}

/// Whether `url` can be an SQS queue URL: http(s), no whitespace or control characters.
pub fn is_queue_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && url.len() <= 1024
        && !url
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

/// SQS's limit on a FIFO message group id and deduplication id, in characters.
pub const MAX_FIFO_ID_LEN: usize = 128;

/// FIFO message group: one record's events stay in order (provider + resource id), else
/// per event type. A group id longer than SQS allows (an event type near its 128-character
/// limit) is replaced by the provider and the SHA-256 of the event type, so it always fits.
/// The resource id and event type are validated to characters SQS accepts in a group id.
pub fn group_id(message: &Message<'_>) -> String {
    let readable = match message.identity.resource_id.as_deref() {
        Some(id) => format!("{}:{}", message.provider, id),
        None => format!("{}:{}", message.provider, message.identity.event_type),
    };
    if readable.len() <= MAX_FIFO_ID_LEN {
        readable
    } else {
        let hashed = Sha256::digest(message.identity.event_type.as_bytes());
        format!("{}:{}", message.provider, hex::encode(hashed))
    }
}

/// FIFO deduplication id: hex SHA-256 of the dedup key, so SQS drops a resend of the same
/// event within its five-minute window.
pub fn deduplication_id(message: &Message<'_>) -> String {
    hex::encode(Sha256::digest(message.dedup_key.as_bytes()))
}

/// Whether SQS accepts `c` in a message body or attribute value: `#x9 | #xA | #xD |
/// #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF` (its documented character set).
pub fn is_allowed_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether `id` meets SQS's rules for a group or deduplication id: 1 to 128 characters of
/// ASCII letters, digits and punctuation.
fn is_valid_fifo_id(id: &str) -> bool {
    (1..=MAX_FIFO_ID_LEN).contains(&id.len()) && id.bytes().all(|b| (33..=126).contains(&b))
}

/// Checks `message` against SQS's documented limits for `queue`: the characters of the body
/// and the attribute values, the total size (body plus each attribute's name, type and value)
/// within [`SQS_MAX_MESSAGE_BYTES`], and on FIFO queues the group and deduplication ids.
pub fn check(queue: &SqsQueue, message: &Message<'_>) -> Result<(), Unpublishable> {
    if !message.body.chars().all(is_allowed_char) {
        return Err(Unpublishable::Characters {
            what: "message body",
        });
    }
    let mut size = message.body.len();
    for (name, value) in attributes(message) {
        if !value.chars().all(is_allowed_char) {
            return Err(Unpublishable::Characters {
                what: "message attribute",
            });
        }
        size += name.len() + "String".len() + value.len();
    }
    if size > SQS_MAX_MESSAGE_BYTES {
        return Err(Unpublishable::TooLarge {
            size,
            limit: SQS_MAX_MESSAGE_BYTES,
        });
    }
    if queue.fifo {
        if !is_valid_fifo_id(&group_id(message)) {
            return Err(Unpublishable::BadId {
                what: "message group id",
            });
        }
        if !is_valid_fifo_id(&deduplication_id(message)) {
            return Err(Unpublishable::BadId {
                what: "deduplication id",
            });
        }
    }
    Ok(())
}

/// The message attributes every SQS message carries (names from the wire crate).
pub fn attributes<'a>(message: &Message<'a>) -> [(&'static str, &'a str); 3] {
    use salesloft_webhooks_wire::attributes::{EVENT_ID, EVENT_TYPE, PROVIDER};
    [
        (PROVIDER, message.provider.as_str()),
        (EVENT_TYPE, message.identity.event_type.as_str()),
        (EVENT_ID, message.identity.event_id.as_str()),
    ]
}

#[cfg(feature = "aws")]
pub use adapter::SqsPublisher;

#[cfg(feature = "aws")]
mod adapter {
    use aws_sdk_sqs::error::DisplayErrorContext;
    use aws_sdk_sqs::types::MessageAttributeValue;
    use aws_sdk_sqs::Client;

    use super::{attributes, check, deduplication_id, group_id};
    use crate::destinations::{Destination, EventPublisher, Message, PublishError, Target};

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
            message: &Message<'_>,
        ) -> Result<(), PublishError> {
            let Target::Sqs(queue) = &destination.target;
            // SQS would refuse it: say so without a round trip (the service checked already).
            check(queue, message).map_err(|err| PublishError {
                destination: destination.name.clone(),
                reason: err.to_string(),
            })?;
            let mut send = self
                .client
                .send_message()
                .queue_url(&queue.url)
                .message_body(message.body);
            for (name, value) in attributes(message) {
                send = send.message_attributes(name, string_attribute(value));
            }
            if queue.fifo {
                send = send
                    .message_group_id(group_id(message))
                    .message_deduplication_id(deduplication_id(message));
            }
            send.send().await.map(|_| ()).map_err(|err| PublishError {
                destination: destination.name.clone(),
                reason: DisplayErrorContext(&err).to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Identity;
    use crate::senders::Provider;

    fn identity(resource_id: Option<&str>) -> Identity {
        Identity {
            event_type: "bulk_job_completed".into(),
            event_id: "e1".into(),
            resource_id: resource_id.map(str::to_string),
        }
    }

    fn message<'a>(identity: &'a Identity) -> Message<'a> {
        Message {
            body: "{}",
            provider: Provider::Salesloft,
            identity,
            dedup_key: "salesloft#e1",
        }
    }

    #[test]
    fn fifo_queues_are_recognised_by_their_suffix() {
        assert!(SqsQueue::new("http://127.0.0.1:5000/123456789012/q.fifo").fifo);
        assert!(!SqsQueue::new("http://127.0.0.1:5000/123456789012/q").fifo);
    }

    #[test]
    fn the_group_id_keeps_one_record_in_order_and_falls_back_to_the_event_type() {
        let with_record = identity(Some("7"));
        assert_eq!(group_id(&message(&with_record)), "salesloft:7");
        let without = identity(None);
        assert_eq!(group_id(&message(&without)), "salesloft:bulk_job_completed");
    }

    #[test]
    fn the_deduplication_id_is_the_hex_sha256_of_the_dedup_key() {
        let id = identity(None);
        let dedup = deduplication_id(&message(&id));
        assert_eq!(dedup, hex::encode(Sha256::digest(b"salesloft#e1")));
        assert_eq!(dedup.len(), 64);
    }

    #[test]
    fn every_message_carries_the_three_wire_attributes() {
        let id = identity(None);
        let attrs = attributes(&message(&id));
        assert_eq!(
            attrs.map(|(name, _)| name),
            salesloft_webhooks_wire::attributes::ALL
        );
        assert_eq!(attrs[0].1, "salesloft");
        assert_eq!(attrs[2].1, "e1");
    }

    #[test]
    fn the_fallback_group_id_is_hashed_when_the_event_type_would_make_it_too_long() {
        let mut long = identity(None);
        long.event_type = "x".repeat(128);
        let group = group_id(&message(&long));
        assert!(group.len() <= MAX_FIFO_ID_LEN, "{}", group.len());
        assert_eq!(
            group,
            format!(
                "salesloft:{}",
                hex::encode(Sha256::digest(long.event_type.as_bytes()))
            )
        );
        let fifo = SqsQueue::new("http://127.0.0.1:1/123456789012/q.fifo");
        assert_eq!(check(&fifo, &message(&long)), Ok(()));
        // Just short enough stays readable.
        long.event_type = "x".repeat(128 - "salesloft:".len());
        assert_eq!(
            group_id(&message(&long)),
            format!("salesloft:{}", long.event_type)
        );
    }

    #[test]
    fn characters_outside_sqs_s_set_are_refused_and_the_rest_pass() {
        let id = identity(None);
        let queue = SqsQueue::new("http://127.0.0.1:1/123456789012/q");
        for bad in ["\u{FFFE}", "\u{FFFF}", "\u{0}", "\u{1F}", "\u{B}"] {
            let body = format!("{{\"a\":\"{bad}\"}}");
            let m = Message {
                body: &body,
                ..message(&id)
            };
            assert_eq!(
                check(&queue, &m),
                Err(Unpublishable::Characters {
                    what: "message body"
                }),
                "{bad:?}"
            );
        }
        let body = "{\"a\":\"\t\r\n caf\u{e9} \u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}\"}";
        assert_eq!(
            check(
                &queue,
                &Message {
                    body,
                    ..message(&id)
                }
            ),
            Ok(())
        );
    }

    #[test]
    fn the_size_limit_counts_the_attributes_too() {
        let id = identity(None);
        let queue = SqsQueue::new("http://127.0.0.1:1/123456789012/q");
        let attrs: usize = attributes(&message(&id))
            .iter()
            .map(|(n, v)| n.len() + "String".len() + v.len())
            .sum();
        let fits = "a".repeat(SQS_MAX_MESSAGE_BYTES - attrs);
        assert_eq!(
            check(
                &queue,
                &Message {
                    body: &fits,
                    ..message(&id)
                }
            ),
            Ok(())
        );
        let over = "a".repeat(SQS_MAX_MESSAGE_BYTES - attrs + 1);
        assert_eq!(
            check(
                &queue,
                &Message {
                    body: &over,
                    ..message(&id)
                }
            ),
            Err(Unpublishable::TooLarge {
                size: SQS_MAX_MESSAGE_BYTES + 1,
                limit: SQS_MAX_MESSAGE_BYTES
            })
        );
    }

    #[test]
    fn queue_urls_must_be_http_without_spaces() {
        assert!(is_queue_url(
            "https://sqs.us-east-1.amazonaws.com/123456789012/q"
        ));
        assert!(!is_queue_url("ftp://x"));
        assert!(!is_queue_url("https://a b"));
        assert!(!is_queue_url(&format!("https://{}", "a".repeat(1100))));
    }
}
