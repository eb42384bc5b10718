//! From a verified delivery to an [`Event`]: checks that the body is a JSON object, reads and
//! validates the event type, and derives the event id (DESIGN.md section 4).
//!
//! Pure and synchronous. The event type and id become DynamoDB keys and SQS attributes, so
//! they are validated here, before anything is stored or sent.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::signature::{Provider, Verified, SALESLOFT_EVENT, WEBHOOK_ID};

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
    #[error("event id is missing")]
    MissingEventId,
    #[error("event id is not 1 to 256 printable ASCII characters")]
    InvalidEventId,
}

impl ParseError {
    /// The short machine-readable code put in the 400 response body.
    pub fn code(self) -> &'static str {
        match self {
            ParseError::NotJsonObject => "body_not_json_object",
            ParseError::MissingEventType => "missing_event_type",
            ParseError::InvalidEventType => "invalid_event_type",
            ParseError::MissingEventId => "missing_event_id",
            ParseError::InvalidEventId => "invalid_event_id",
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
    /// Validated UTF-8 JSON, the sender's bytes unchanged.
    payload: &'a str,
}

impl<'a> Event<'a> {
    /// Parses a verified delivery. Only a [`Verified`] value can be parsed, so every event
    /// that reaches the service has passed signature verification.
    pub fn parse(verified: Verified<'a>) -> Result<Self, ParseError> {
        let body = verified.body();
        let (text, probe) = probe_object(body)?;
        let provider = verified.provider();
        let event_type = match provider {
            Provider::Salesloft => verified
                .headers()
                .get(SALESLOFT_EVENT)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(ParseError::MissingEventType)?
                .to_owned(),
            Provider::SalesOs | Provider::StandardWebhooks => probe
                .event_type
                .as_deref()
                .ok_or(ParseError::MissingEventType)?
                .to_owned(),
        };
        validate_event_type(&event_type)?;
        let event_id = match provider {
            // Salesloft sends no id: derive one that identical retries share.
            Provider::Salesloft => derived_event_id(&event_type, body),
            Provider::SalesOs => probe.id_string().ok_or(ParseError::MissingEventId)?,
            Provider::StandardWebhooks => verified
                .headers()
                .get(WEBHOOK_ID)
                .map(|id| id.trim().to_owned())
                .ok_or(ParseError::MissingEventId)?,
        };
        validate_event_id(&event_id)?;
        // The record the event is about: Salesloft's body *is* the resource; the others
        // wrap it in `data`.
        let resource_id = match provider {
            Provider::Salesloft => probe.id.and_then(|raw| resource_id(raw.get())),
            Provider::SalesOs | Provider::StandardWebhooks => {
                probe.data.and_then(|raw| data_resource_id(raw.get()))
            }
        };
        Ok(Event {
            provider,
            event_type,
            event_id,
            resource_id,
            payload: text,
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
        self.payload.as_bytes()
    }
    /// The same, as text (validated once, when parsed).
    pub fn payload_str(&self) -> &'a str {
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
    #[serde(rename = "type", borrow, default, deserialize_with = "string_or_none")]
    event_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    // Other fields are skipped by serde without being buffered.
}

impl Probe<'_> {
    /// The body's `id` when it is a string (SalesOS: `evt_abc123`).
    fn id_string(&self) -> Option<String> {
        let raw = self.id?;
        serde_json::from_str::<String>(raw.get()).ok()
    }
}

/// A `type` that is not a string reads as absent (answered as a missing event type) rather
/// than failing the whole body as "not JSON".
fn string_or_none<'de, D>(d: D) -> Result<Option<std::borrow::Cow<'de, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum MaybeString<'a> {
        Str(#[serde(borrow)] std::borrow::Cow<'a, str>),
        Other(IgnoredAny),
    }
    Ok(match MaybeString::deserialize(d)? {
        MaybeString::Str(s) => Some(s),
        MaybeString::Other(_) => None,
    })
}

fn probe_object(body: &[u8]) -> Result<(&str, Probe<'_>), ParseError> {
    // serde would happily read a struct from a JSON array, so insist on an object first.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(ParseError::NotJsonObject);
    }
    // The body is embedded verbatim into the envelope, so it must be valid JSON that a
    // consumer's parser accepts. serde checks the syntax (also of the fields it skips), but
    // skipped values are neither UTF-8-checked nor depth-limited, so do both here.
    let text = std::str::from_utf8(body).map_err(|_| ParseError::NotJsonObject)?;
    if nests_deeper_than(body, MAX_NESTING) {
        return Err(ParseError::NotJsonObject);
    }
    serde_json::from_str::<Probe<'_>>(text)
        .map(|probe| (text, probe))
        .map_err(|_| ParseError::NotJsonObject)
}

/// Deepest nesting accepted: well under serde_json's default recursion limit of 128, so a
/// consumer can parse the envelope (one level deeper) with default settings.
pub const MAX_NESTING: usize = 64;

/// Whether `{`/`[` nesting outside strings goes deeper than `limit`: one linear pass, no
/// recursion, jumping through string contents with `memchr` (most of a body is strings),
/// and stopping as soon as the limit is passed.
fn nests_deeper_than(body: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                // Find the closing quote, stepping over escapes.
                i += 1;
                loop {
                    // An escape at the very end leaves `i` past the end: unterminated.
                    let Some(rest) = body.get(i..) else {
                        return false;
                    };
                    match memchr::memchr2(b'"', b'\\', rest) {
                        Some(off) if body[i + off] == b'\\' => i += off + 2,
                        Some(off) => {
                            i += off;
                            break;
                        }
                        None => return false, // unterminated: serde refuses it
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
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

/// Accepts ids of 1 to 256 printable ASCII characters without spaces (they become part of a
/// DynamoDB key and an SQS attribute).
pub fn validate_event_id(event_id: &str) -> Result<(), ParseError> {
    let ok = !event_id.is_empty()
        && event_id.len() <= MAX_EVENT_ID_LEN
        && event_id.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ParseError::InvalidEventId)
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

/// `data.id` of a wrapped payload.
fn data_resource_id(raw: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Data<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    let data: Data<'_> = serde_json::from_str(raw).ok()?;
    resource_id(data.id?.get())
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
    fn nesting_up_to_the_limit_is_accepted_and_brackets_in_strings_do_not_count() {
        let ok = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_NESTING - 1),
            "]".repeat(MAX_NESTING - 1)
        );
        assert!(parse_salesloft(Some("x"), ok.as_bytes()).is_ok());
        let too_deep = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        assert_eq!(
            parse_salesloft(Some("x"), too_deep.as_bytes()).unwrap_err(),
            ParseError::NotJsonObject
        );
        let in_string = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(500), "{".repeat(500));
        assert!(
            parse_salesloft(Some("x"), in_string.as_bytes()).is_ok(),
            "{in_string}"
        );
    }

    #[test]
    fn a_body_ending_in_an_escape_inside_a_string_is_refused_without_panicking() {
        // Found by the `verify` fuzz target: the escape skip ran past the end of the body.
        assert!(!nests_deeper_than(b"{\"a\":\"x\\", 64));
        assert!(!nests_deeper_than(b"\"\\", 64));
        assert_eq!(
            parse_salesloft(Some("x"), b"{\"a\":\"x\\").unwrap_err(),
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

    fn parse_other(
        provider: Provider,
        body: &'static [u8],
        extra: &[(&str, &str)],
    ) -> Result<Event<'static>, ParseError> {
        use crate::signature::{
            hmac_sha256_hex, SALESOS_SIGNATURE, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
        };
        let mut pairs: Vec<(String, String)> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let verifier = match provider {
            Provider::SalesOs => {
                pairs.push((SALESOS_SIGNATURE.into(), hmac_sha256_hex(b"k", &[body])));
                Verifier::default().with_salesos(vec![Secret::new("k")])
            }
            _ => {
                let id = extra
                    .iter()
                    .find(|(k, _)| *k == WEBHOOK_ID)
                    .map(|(_, v)| *v)
                    .unwrap_or("");
                let sig = base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    hex::decode(hmac_sha256_hex(b"k", &[id.as_bytes(), b".100.", body])).unwrap(),
                );
                pairs.push((WEBHOOK_SIGNATURE.into(), format!("v1,{sig}")));
                pairs.push((WEBHOOK_TIMESTAMP.into(), "100".into()));
                Verifier::default().with_standard_webhooks(vec![Secret::new("k")], 300)
            }
        };
        let headers: &'static Headers = Box::leak(Box::new(Headers::from_pairs(pairs)));
        let verified = verifier.verify(provider, body, headers, 100).unwrap();
        Event::parse(verified)
    }

    #[test]
    fn a_salesos_event_takes_its_type_and_id_from_the_body() {
        let e = parse_other(
            Provider::SalesOs,
            br#"{"id":"evt_abc123","type":"lead.created","timestamp":"2025-01-15T10:30:00Z","organizationId":"org_xyz789","data":{"id":"lead_def456"}}"#,
            &[],
        )
        .unwrap();
        assert_eq!(e.event_type(), "lead.created");
        assert_eq!(e.event_id(), "evt_abc123");
        assert_eq!(e.resource_id(), Some("lead_def456"));
        assert_eq!(e.dedup_key(), "salesos#evt_abc123");
    }

    #[test]
    fn a_salesos_event_without_type_or_string_id_is_refused() {
        assert_eq!(
            parse_other(Provider::SalesOs, br#"{"id":"evt_1"}"#, &[]).unwrap_err(),
            ParseError::MissingEventType
        );
        assert_eq!(
            parse_other(Provider::SalesOs, br#"{"id":"evt_1","type":7}"#, &[]).unwrap_err(),
            ParseError::MissingEventType
        );
        assert_eq!(
            parse_other(Provider::SalesOs, br#"{"type":"lead.created"}"#, &[]).unwrap_err(),
            ParseError::MissingEventId
        );
        assert_eq!(
            parse_other(
                Provider::SalesOs,
                br#"{"id":12,"type":"lead.created"}"#,
                &[]
            )
            .unwrap_err(),
            ParseError::MissingEventId
        );
        assert_eq!(
            parse_other(
                Provider::SalesOs,
                br#"{"id":"has space","type":"lead.created"}"#,
                &[]
            )
            .unwrap_err(),
            ParseError::InvalidEventId
        );
    }

    #[test]
    fn a_standard_webhooks_event_takes_its_id_from_the_webhook_id_header() {
        let e = parse_other(
            Provider::StandardWebhooks,
            br#"{"type":"invoice.paid","timestamp":"2026-11-23T14:00:00Z","data":{"id":42}}"#,
            &[(WEBHOOK_ID, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")],
        )
        .unwrap();
        assert_eq!(e.event_type(), "invoice.paid");
        assert_eq!(e.event_id(), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
        assert_eq!(e.resource_id(), Some("42"));
    }
}
