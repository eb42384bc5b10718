//! From a verified delivery to an [`Event`]: checks that the body is a JSON object a consumer
//! can parse, asks the sender's module for the event's identity (type, id, resource), and
//! validates it (`docs/ARCHITECTURE.md`, "Event identity").
//!
//! Pure and synchronous. The event type and id become DynamoDB keys and SQS attributes, so
//! they are validated here, before anything is stored or sent.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::headers::Headers;
use crate::senders::Provider;
use crate::signature::Verified;

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

/// What identifies an event, as a sender's rules derive it from a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The sender's event type, e.g. `person_updated`.
    pub event_type: String,
    /// Stable across the sender's retries of one delivery: the idempotency key.
    pub event_id: String,
    /// The record the event is about, when it is a number or a short plain string; used to
    /// keep one record's events in order on ordered destinations.
    pub resource_id: Option<String>,
}

/// A verified delivery as a sender's [`crate::senders::Sender::identify`] sees it: the body,
/// already checked to be a JSON object, its top-level fields, and the headers.
#[derive(Debug)]
pub struct Delivery<'a> {
    body: &'a [u8],
    probe: Probe<'a>,
    headers: &'a Headers,
}

impl<'a> Delivery<'a> {
    /// The raw body bytes.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
    /// The request headers.
    pub fn headers(&self) -> &'a Headers {
        self.headers
    }
    /// The body's top-level `type`, when it is a string.
    pub fn body_type(&self) -> Option<&str> {
        self.probe.event_type.as_deref()
    }
    /// The body's top-level `id`, when it is a string.
    pub fn body_id_string(&self) -> Option<String> {
        serde_json::from_str::<String>(self.probe.id?.get()).ok()
    }
    /// The body's top-level `id` as a resource id (a number or a short plain string).
    pub fn body_id_as_resource(&self) -> Option<String> {
        self.probe.id.and_then(|raw| resource_id(raw.get()))
    }
    /// `data.id` of a wrapped payload, as a resource id.
    pub fn data_id_as_resource(&self) -> Option<String> {
        self.probe.data.and_then(|raw| data_resource_id(raw.get()))
    }
}

/// A verified, parsed delivery: what the service claims and publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    provider: Provider,
    identity: Identity,
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
        let delivery = Delivery {
            body,
            probe,
            headers: verified.headers(),
        };
        let identity = provider.identify(&delivery)?;
        validate_event_type(&identity.event_type)?;
        validate_event_id(&identity.event_id)?;
        Ok(Event {
            provider,
            identity,
            payload: text,
        })
    }

    /// The event of a spooled delivery (written only after its signature verified and its
    /// body parsed): the redrive's way back into the pipeline, without a [`Verified`].
    pub(crate) fn from_spool(spooled: &'a crate::spool::Spooled) -> Result<Self, ParseError> {
        let provider = Provider::parse(&spooled.provider).ok_or(ParseError::MissingEventType)?;
        validate_event_type(&spooled.event_type)?;
        validate_event_id(&spooled.event_id)?;
        let (text, _) = probe_object(spooled.body.as_bytes())?;
        Ok(Event {
            provider,
            identity: Identity {
                event_type: spooled.event_type.clone(),
                event_id: spooled.event_id.clone(),
                resource_id: spooled.resource_id.clone(),
            },
            payload: text,
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
    /// The identity, owned (for the report once the event is handled).
    pub fn into_identity(self) -> Identity {
        self.identity
    }
    pub fn event_type(&self) -> &str {
        &self.identity.event_type
    }
    pub fn event_id(&self) -> &str {
        &self.identity.event_id
    }
    /// See [`Identity::resource_id`].
    pub fn resource_id(&self) -> Option<&str> {
        self.identity.resource_id.as_deref()
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
        format!("{}#{}", self.provider, self.identity.event_id)
    }
}

/// The top-level fields the pipeline looks at; everything else is skipped unparsed.
#[derive(Debug, Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(rename = "type", borrow, default, deserialize_with = "string_or_none")]
    event_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    // Other fields are skipped by serde without being buffered.
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

    /// The generic checks, run on Salesloft deliveries.
    fn parse_salesloft(
        event_type: Option<&str>,
        body: &[u8],
    ) -> Result<Event<'static>, ParseError> {
        crate::senders::salesloft::parse_signed(event_type, body)
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
