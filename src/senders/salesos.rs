//! SalesOS: `POST /salesos`, hex HMAC-SHA256 of the raw body in `x-webhook-signature`
//! (optionally prefixed `sha256=`). The event type and id are the body's `type` and `id`; the
//! resource is `data.id`.

use super::Sender;
use crate::config::{ConfigError, Env};
use crate::event::{Delivery, Identity, ParseError};
use crate::headers::Headers;
use crate::signature::{decode_hex, hmac_sha256, hmac_sha256_hex, Keys, Secret, SignatureError};

/// Header carrying SalesOS's signature.
pub const SALESOS_SIGNATURE: &str = "x-webhook-signature";

/// The SalesOS sender.
#[derive(Debug, Clone, Copy)]
pub struct SalesOs;

impl Sender for SalesOs {
    const NAME: &'static str = "salesos";
    const PATHS: &'static [&'static str] = &["/salesos"];
    const SECRETS_ENV: &'static str = "SALESOS_SECRETS";
    const DOCUMENT_KEYS: &'static [&'static str] = &["salesos"];

    /// The scheme has no settings.
    type Settings = ();

    fn settings(_env: &Env<'_>) -> Result<(), ConfigError> {
        Ok(())
    }

    fn verify(
        keys: &Keys,
        _settings: &(),
        body: &[u8],
        headers: &Headers,
        _now_s: i64,
    ) -> Result<(), SignatureError> {
        keys.require()?;
        let presented = headers
            .get(SALESOS_SIGNATURE)
            .ok_or(SignatureError::Missing)?;
        // Some senders prefix the digest with its algorithm; accept that form too.
        let hex_part = presented.trim();
        let hex_part = hex_part.strip_prefix("sha256=").unwrap_or(hex_part);
        let presented = decode_hex::<32>(hex_part).ok_or(SignatureError::Malformed)?;
        keys.any_matches(&presented, |key| hmac_sha256(key.expose(), &[body]))
    }

    fn identify(delivery: &Delivery<'_>) -> Result<Identity, ParseError> {
        Ok(Identity {
            event_type: delivery
                .body_type()
                .ok_or(ParseError::MissingEventType)?
                .to_owned(),
            event_id: delivery
                .body_id_string()
                .ok_or(ParseError::MissingEventId)?,
            resource_id: delivery.data_id_as_resource(),
        })
    }

    /// SalesOS puts the type and id in the body, so only the signature is a header.
    fn sign(
        key: &Secret,
        _settings: &(),
        body: &[u8],
        _event_type: &str,
        _delivery_id: &str,
        _now_s: i64,
    ) -> Vec<(&'static str, String)> {
        vec![(SALESOS_SIGNATURE, sign(key.expose(), body))]
    }
}

/// Signs `body` as SalesOS does: hex HMAC-SHA256 (for tests, tools and benchmarks).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    hmac_sha256_hex(secret, &[body])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::senders::Provider;
    use crate::signature::{test_headers as headers, Verifier};

    fn parse(body: &'static [u8]) -> Result<Event<'static>, ParseError> {
        let pairs = [(SALESOS_SIGNATURE.to_string(), sign(b"k", body))];
        let headers: &'static Headers = Box::leak(Box::new(Headers::from_pairs(pairs)));
        let verifier = Verifier::default().with_keys(Provider::SalesOs, vec![Secret::new("k")]);
        let verified = verifier
            .verify(Provider::SalesOs, body, headers, 100)
            .unwrap();
        Event::parse(verified)
    }

    fn salesos() -> Verifier {
        Verifier::default().with_keys(
            Provider::SalesOs,
            vec![Secret::new("old"), Secret::new("so_secret")],
        )
    }

    #[test]
    fn salesos_signature_over_the_raw_body_verifies_with_any_secret() {
        let body = br#"{"id":"evt_abc123","type":"lead.created","data":{"id":"lead_1"}}"#;
        for key in ["old", "so_secret"] {
            let sig = sign(key.as_bytes(), body);
            let h = headers(&[(SALESOS_SIGNATURE, &sig)]);
            assert!(salesos().verify(Provider::SalesOs, body, &h, 0).is_ok());
            let h = headers(&[(SALESOS_SIGNATURE, &format!("sha256={sig}"))]);
            assert!(salesos().verify(Provider::SalesOs, body, &h, 0).is_ok());
        }
    }

    #[test]
    fn salesos_rejects_wrong_key_truncated_and_wrongly_encoded_signatures() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign(b"so_secret", body);
        let b64 = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            hex::decode(&good).unwrap(),
        );
        let cases = [
            (sign(b"wrong", body), SignatureError::Mismatch),
            (good[..63].to_string(), SignatureError::Malformed),
            (good[..40].to_string(), SignatureError::Malformed),
            (b64, SignatureError::Malformed),
            (
                crate::senders::salesloft::sign(b"so_secret", body),
                SignatureError::Malformed,
            ),
        ];
        for (sig, expected) in cases {
            let h = headers(&[(SALESOS_SIGNATURE, &sig)]);
            assert_eq!(
                salesos()
                    .verify(Provider::SalesOs, body, &h, 0)
                    .unwrap_err(),
                expected,
                "{sig}"
            );
        }
        assert_eq!(
            salesos()
                .verify(Provider::SalesOs, body, &headers(&[]), 0)
                .unwrap_err(),
            SignatureError::Missing
        );
    }

    #[test]
    fn a_salesos_event_takes_its_type_and_id_from_the_body() {
        let e = parse(
            br#"{"id":"evt_abc123","type":"lead.created","timestamp":"2025-01-15T10:30:00Z","organizationId":"org_xyz789","data":{"id":"lead_def456"}}"#,
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
            parse(br#"{"id":"evt_1"}"#).unwrap_err(),
            ParseError::MissingEventType
        );
        assert_eq!(
            parse(br#"{"id":"evt_1","type":7}"#).unwrap_err(),
            ParseError::MissingEventType
        );
        assert_eq!(
            parse(br#"{"type":"lead.created"}"#).unwrap_err(),
            ParseError::MissingEventId
        );
        assert_eq!(
            parse(br#"{"id":12,"type":"lead.created"}"#,).unwrap_err(),
            ParseError::MissingEventId
        );
        assert_eq!(
            parse(br#"{"id":"has space","type":"lead.created"}"#,).unwrap_err(),
            ParseError::InvalidEventId
        );
    }
}
