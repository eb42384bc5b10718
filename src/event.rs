//! From a verified delivery to an [`Event`]: checks that the body is a JSON object, reads and
//! validates the event type, and derives the event id (DESIGN.md section 4).
//!
//! Pure and synchronous. The event type and id become DynamoDB keys and SQS attributes, so
//! they are validated here, before anything is stored or sent.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::signature::{Provider, Verified, SALESLOFT_EVENT};

/// Longest accepted event type.
pub const MAX_EVENT_TYPE_LEN: usize = 128;
/// Longest accepted event id (a derived id is 64 hex characters).
pub const MAX_EVENT_ID_LEN: usize = 256;

/// Why a verified body was refused (answered with 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not a JSON object")]
    NotJsonObject,
    #[error("event type is missing")]
    MissingEventType,
    #[error("event type is not 1 to 128 characters of letters, digits, '_', '.', ':' or '-'")]
    InvalidEventType,
}

impl ParseError {
    /// The short machine-readable code put in the 400 response body.
    pub fn code(self) -> &'static str {
        match self {
            ParseError::NotJsonObject => "body_not_json_object",
            ParseError::MissingEventType => "missing_event_type",
            ParseError::InvalidEventType => "invalid_event_type",
        }
    }
}

/// A verified, parsed delivery: what the service claims and publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    provider: Provider,
    event_type: String,
    event_id: String,
    resource_id: Option<String>,
    payload: &'a [u8],
}

impl<'a> Event<'a> {
    /// Parses a verified delivery. Only a [`Verified`] value can be parsed, so every event
    /// that reaches the service has passed signature verification.
    pub fn parse(verified: Verified<'a>) -> Result<Self, ParseError> {
        let body = verified.body();
        let probe = probe_object(body)?;
        let event_type = match verified.provider() {
            Provider::Salesloft => verified
                .headers()
                .get(SALESLOFT_EVENT)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(ParseError::MissingEventType)?
                .to_owned(),
        };
        validate_event_type(&event_type)?;
        let event_id = derived_event_id(&event_type, body);
        Ok(Event {
            provider: verified.provider(),
            event_type,
            event_id,
            resource_id: probe.id.and_then(|raw| resource_id(raw.get())),
            payload: body,
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }
    pub fn event_type(&self) -> &str {
        &self.event_type
    }
    pub fn event_id(&self) -> &str {
        &self.event_id
    }
    /// The id of the resource the event is about (`id` in the payload), when it is a number
    /// or a short plain string; used to keep one record's events in order on FIFO queues.
    pub fn resource_id(&self) -> Option<&str> {
        self.resource_id.as_deref()
    }
    /// The sender's JSON body, byte for byte.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
    /// The idempotency key: `{provider}#{event_id}`.
    pub fn dedup_key(&self) -> String {
        format!("{}#{}", self.provider, self.event_id)
    }
}

/// The top-level fields the pipeline looks at; everything else is skipped unparsed.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(flatten)]
    _rest: IgnoredAny,
}

fn probe_object(body: &[u8]) -> Result<Probe<'_>, ParseError> {
    // serde would happily read a struct from a JSON array, so insist on an object first.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(ParseError::NotJsonObject);
    }
    // Full validation (UTF-8, syntax, trailing bytes, nesting limit) happens here: the body
    // is later embedded verbatim into the envelope and must be valid JSON.
    serde_json::from_slice::<Probe<'_>>(body).map_err(|_| ParseError::NotJsonObject)
}

/// Accepts event types like `person_updated`, `lead.created`, `invoice:paid`.
pub fn validate_event_type(event_type: &str) -> Result<(), ParseError> {
    let ok = !event_type.is_empty()
        && event_type.len() <= MAX_EVENT_TYPE_LEN
        && event_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ParseError::InvalidEventType)
    }
}

/// Lowercase hex SHA-256 of `event_type`, a newline and the raw body: identical retries share
/// an id, two different updates of the same record do not.
pub fn derived_event_id(event_type: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(event_type.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hex::encode(hash.finalize())
}

fn resource_id(raw: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    let text = match value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s,
        _ => return None,
    };
    let plain = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    plain.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::Headers;
    use crate::signature::{salesloft_signature, Secret, Verifier, SALESLOFT_SIGNATURE};

    fn parse_salesloft(
        event_type: Option<&str>,
        body: &[u8],
    ) -> Result<Event<'static>, ParseError> {
        let mut pairs = vec![(
            SALESLOFT_SIGNATURE.to_string(),
            salesloft_signature(b"k", body),
        )];
        if let Some(t) = event_type {
            pairs.push((SALESLOFT_EVENT.to_string(), t.to_string()));
        }
        let headers: &'static Headers = Box::leak(Box::new(Headers::from_pairs(pairs)));
        let body: &'static [u8] = Box::leak(body.to_vec().into_boxed_slice());
        let verifier = Verifier::new(vec![Secret::new("k")]);
        let verified = verifier
            .verify(Provider::Salesloft, body, headers, 0)
            .unwrap();
        Event::parse(verified)
    }

    #[test]
    fn event_id_is_sha256_of_type_newline_body() {
        // printf 'person_updated\n{"id":1}' | sha256sum
        assert_eq!(
            derived_event_id("person_updated", br#"{"id":1}"#),
            "63aca83c2415b3baac57903bfd32f95d0e8e5880f37f836b6a50a71c417b873f"
        );
    }

    #[test]
    fn identical_retries_share_an_event_id_and_different_updates_do_not() {
        let a = parse_salesloft(Some("person_updated"), br#"{"id":1,"title":"CEO"}"#).unwrap();
        let b = parse_salesloft(Some("person_updated"), br#"{"id":1,"title":"CEO"}"#).unwrap();
        let c = parse_salesloft(Some("person_updated"), br#"{"id":1,"title":"CTO"}"#).unwrap();
        let d = parse_salesloft(Some("person_created"), br#"{"id":1,"title":"CEO"}"#).unwrap();
        assert_eq!(a.event_id(), b.event_id());
        assert_ne!(a.event_id(), c.event_id());
        assert_ne!(a.event_id(), d.event_id());
        assert_eq!(a.dedup_key(), format!("salesloft#{}", a.event_id()));
    }

    #[test]
    fn the_payload_is_kept_byte_for_byte_and_the_resource_id_is_read() {
        let body = b" {\"id\": 42 , \"name\":\"caf\xc3\xa9\"}\n";
        let e = parse_salesloft(Some("account_updated"), body).unwrap();
        assert_eq!(e.payload(), body);
        assert_eq!(e.resource_id(), Some("42"));
        assert_eq!(e.event_type(), "account_updated");
    }

    #[test]
    fn a_resource_id_that_is_not_plain_is_ignored() {
        let e = parse_salesloft(Some("x"), br#"{"id":{"nested":1}}"#).unwrap();
        assert_eq!(e.resource_id(), None);
        let e = parse_salesloft(Some("x"), br#"{"id":"has space"}"#).unwrap();
        assert_eq!(e.resource_id(), None);
        let e = parse_salesloft(Some("x"), br#"{"id":"abc-123"}"#).unwrap();
        assert_eq!(e.resource_id(), Some("abc-123"));
    }

    #[test]
    fn bodies_that_are_not_json_objects_are_refused() {
        for body in [
            &b""[..],
            b"   ",
            b"[]",
            b"[{\"id\":1}]",
            b"\"text\"",
            b"42",
            b"null",
            b"{",
            b"{\"a\":1} trailing",
            b"{\"a\":\"\xff\"}",
            b"not json",
        ] {
            assert_eq!(
                parse_salesloft(Some("person_updated"), body).unwrap_err(),
                ParseError::NotJsonObject,
                "{body:?}"
            );
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
        let mut body = b"{\"a\":".to_vec();
        body.extend(std::iter::repeat_n(b'[', 100_000));
        body.extend(std::iter::repeat_n(b']', 100_000));
        body.push(b'}');
        assert_eq!(
            parse_salesloft(Some("x"), &body).unwrap_err(),
            ParseError::NotJsonObject
        );
    }

    #[test]
    fn a_missing_or_blank_event_type_is_refused() {
        assert_eq!(
            parse_salesloft(None, b"{}").unwrap_err(),
            ParseError::MissingEventType
        );
        assert_eq!(
            parse_salesloft(Some("  "), b"{}").unwrap_err(),
            ParseError::MissingEventType
        );
    }

    #[test]
    fn event_types_with_unsafe_characters_are_refused() {
        for t in [
            "person updated",
            "person_updated\r\nx: y",
            "caf\u{e9}",
            "a/b",
            "a#b",
            "a\u{0}",
            &"x".repeat(129),
        ] {
            assert_eq!(
                parse_salesloft(Some(t), b"{}").unwrap_err(),
                ParseError::InvalidEventType,
                "{t:?}"
            );
        }
        assert!(parse_salesloft(Some(&"x".repeat(128)), b"{}").is_ok());
        assert!(parse_salesloft(Some("lead.created"), b"{}").is_ok());
    }
}
