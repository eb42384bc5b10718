//! The message body: `{"version":1,"provider":…,"event_type":…,"event_id":…,"received_at":…,
//! "payload":{…}}`. The webhook writes it with [`write`]; consumers read it with [`Envelope`].
//!
//! [`write`] splices the sender's JSON in verbatim, never re-serialised, so a consumer can
//! re-check a signature over it or read numbers without precision loss.
//!
//! [`Envelope`] (payload type `Box<RawValue>`, the default) keeps the sender's JSON exactly as
//! it was signed: no number is rounded, no key reordered, no escape rewritten. Decode it into
//! a typed struct with [`Envelope::payload_as`] when needed, or parse the whole body typed at
//! once with [`Envelope::parse_typed`].
//!
//! The error messages never quote the message: they name what was wrong and where (line and
//! column), so they are safe to log without leaking payload contents.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::event_type::SalesloftEvent;
use crate::SALESLOFT_PROVIDER;

/// The envelope format version: the webhook writes it, and a reader accepts only it.
pub const VERSION: u64 = 1;

/// The fields of an envelope other than the payload, as the webhook writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeFields<'a> {
    pub provider: &'a str,
    pub event_type: &'a str,
    pub event_id: &'a str,
    /// RFC 3339 UTC, e.g. `2026-11-23T14:00:00.000Z`.
    pub received_at: &'a str,
}

/// Writes the envelope of `fields` around `payload`, which is spliced in byte for byte.
///
/// Contract: `payload` must be one complete JSON value (the webhook has validated it as a
/// JSON object before calling this); otherwise the result is not JSON.
pub fn write(fields: &EnvelopeFields<'_>, payload: &str) -> String {
    let mut out = String::with_capacity(payload.len() + 256);
    out.push_str("{\"version\":");
    out.push_str(&VERSION.to_string());
    for (name, value) in [
        ("provider", fields.provider),
        ("event_type", fields.event_type),
        ("event_id", fields.event_id),
        ("received_at", fields.received_at),
    ] {
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":");
        // Serialising a &str into JSON cannot fail.
        out.push_str(&serde_json::to_string(value).unwrap_or_default());
    }
    out.push_str(",\"payload\":");
    out.push_str(payload);
    out.push('}');
    out
}

/// One event as published to the queue. `P` is the payload: by default the raw JSON,
/// byte for byte; any `Deserialize` type for a typed view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<P = Box<RawValue>> {
    /// Envelope format version; only [`VERSION`] is accepted.
    pub version: u64,
    /// `salesloft`, `salesos` or `standard`.
    pub provider: String,
    /// The sender's event type, e.g. `person_updated` (Salesloft) or `lead.created` (SalesOS).
    pub event_type: String,
    /// Stable id of the delivery: identical retries of one delivery share it. The key to
    /// process an event once.
    pub event_id: String,
    /// When the webhook received the delivery, RFC 3339 UTC (e.g. `2026-11-23T14:00:00.000Z`).
    pub received_at: String,
    /// The sender's JSON document.
    pub payload: P,
}

/// Why a message body could not be read as an envelope, or its payload as the type asked for.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The SQS record had no body.
    #[error("the record has no body")]
    MissingBody,
    /// Not JSON, or a JSON document without the envelope's fields.
    #[error("the body is not an envelope: {}", describe(.0))]
    Malformed(#[source] serde_json::Error),
    /// A version this consumer does not know: it was written by a newer webhook.
    #[error("unsupported envelope version {found}: this consumer reads version {VERSION} only")]
    UnsupportedVersion { found: u64 },
    /// The payload is JSON but not of the shape the consumer asked for.
    #[error("the payload does not have the expected shape: {}", describe(.0))]
    Payload(#[source] serde_json::Error),
}

impl EnvelopeError {
    /// A short, stable name for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::MissingBody => "missing_body",
            EnvelopeError::Malformed(_) => "malformed_envelope",
            EnvelopeError::UnsupportedVersion { .. } => "unsupported_version",
            EnvelopeError::Payload(_) => "unexpected_payload",
        }
    }
}

/// Describes a serde_json error without quoting the input: serde_json's own messages can
/// contain values from the document (`invalid type: string "…"`), which must not reach logs.
fn describe(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Io => "read error".to_string(),
        Category::Syntax => "invalid JSON".to_string(),
        Category::Eof => "truncated JSON".to_string(),
        Category::Data => {
            // "missing field `id`" names a field of the schema, not a value: keep it.
            let text = err.to_string();
            match text.strip_prefix("missing field `") {
                Some(rest) => match rest.split_once('`') {
                    Some((field, _)) => format!("missing field `{field}`"),
                    None => "a field is missing".to_string(),
                },
                None => "a value has the wrong type".to_string(),
            }
        }
    };
    if err.line() == 0 {
        what
    } else {
        format!("{what} at line {} column {}", err.line(), err.column())
    }
}

#[derive(Debug, Deserialize)]
struct VersionProbe {
    version: u64,
}

impl Envelope {
    /// Parses a message body, keeping the payload byte for byte.
    ///
    /// Fails with [`EnvelopeError::UnsupportedVersion`] for a version other than
    /// [`VERSION`] (before looking at the other fields, whose shape a later
    /// version may change), and with [`EnvelopeError::Malformed`] for anything that is not
    /// an envelope. Fields added to version 1 later are ignored.
    pub fn parse(body: &str) -> Result<Self, EnvelopeError> {
        Self::parse_typed(body)
    }

    /// The payload exactly as the sender sent it (and signed it).
    pub fn raw_payload(&self) -> &str {
        self.payload.get()
    }

    /// Decodes the payload into `T`, e.g. a struct with the fields the consumer needs.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        serde_json::from_str(self.payload.get()).map_err(EnvelopeError::Payload)
    }

    /// The same envelope with its payload decoded into `T`.
    pub fn into_typed<T: DeserializeOwned>(self) -> Result<Envelope<T>, EnvelopeError> {
        let payload = self.payload_as()?;
        Ok(Envelope {
            version: self.version,
            provider: self.provider,
            event_type: self.event_type,
            event_id: self.event_id,
            received_at: self.received_at,
            payload,
        })
    }
}

impl<P: DeserializeOwned> Envelope<P> {
    /// Parses a message body with the payload decoded into `P` in the same pass.
    /// A payload that does not fit `P` is reported as [`EnvelopeError::Malformed`]; parse
    /// with [`Envelope::parse`] and then [`Envelope::payload_as`] to tell the two apart.
    pub fn parse_typed(body: &str) -> Result<Self, EnvelopeError> {
        let probe: VersionProbe = serde_json::from_str(body).map_err(EnvelopeError::Malformed)?;
        if probe.version != VERSION {
            return Err(EnvelopeError::UnsupportedVersion {
                found: probe.version,
            });
        }
        serde_json::from_str(body).map_err(EnvelopeError::Malformed)
    }
}

impl<P> Envelope<P> {
    /// The Salesloft event type, when the event comes from Salesloft.
    pub fn salesloft_event(&self) -> Option<SalesloftEvent> {
        (self.provider == SALESLOFT_PROVIDER)
            .then(|| SalesloftEvent::from(self.event_type.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_problem_and_its_place_without_quoting_values() {
        let err = serde_json::from_str::<u64>("\"private\"").unwrap_err();
        assert_eq!(
            describe(&err),
            "a value has the wrong type at line 1 column 9"
        );
        let err = serde_json::from_str::<VersionProbe>("{}").unwrap_err();
        assert_eq!(describe(&err), "missing field `version` at line 1 column 2");
        let err = serde_json::from_str::<Vec<u64>>("[1,").unwrap_err();
        assert!(describe(&err).starts_with("truncated JSON"));
        let err = serde_json::from_str::<u64>("private").unwrap_err();
        assert!(describe(&err).starts_with("invalid JSON"));
    }

    #[test]
    fn the_writer_embeds_the_payload_byte_for_byte_and_the_reader_reads_it_back() {
        let payload = "{ \"id\" : 1.50, \"big\": 12345678901234567890, \"s\":\"\\u00e9\" }";
        let fields = EnvelopeFields {
            provider: "salesloft",
            event_type: "person_updated",
            event_id: "e\"1",
            received_at: "2026-11-23T14:00:00.000Z",
        };
        let body = write(&fields, payload);
        assert_eq!(
            body,
            format!("{{\"version\":1,\"provider\":\"salesloft\",\"event_type\":\"person_updated\",\"event_id\":\"e\\\"1\",\"received_at\":\"2026-11-23T14:00:00.000Z\",\"payload\":{payload}}}")
        );
        let read = Envelope::parse(&body).unwrap();
        assert_eq!(read.version, VERSION);
        assert_eq!(read.event_id, "e\"1");
        assert_eq!(read.raw_payload(), payload);
        assert_eq!(read.salesloft_event(), Some(SalesloftEvent::PersonUpdated));
    }

    #[test]
    fn a_version_the_writer_does_not_write_is_refused_before_the_other_fields() {
        let err = Envelope::parse(r#"{"version":2,"payload":[]}"#).unwrap_err();
        assert!(matches!(
            err,
            EnvelopeError::UnsupportedVersion { found: 2 }
        ));
    }
}
