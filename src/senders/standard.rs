//! Standard Webhooks (the symmetric `v1` scheme, also what Svix-based senders use): `POST
//! /standard`, headers `webhook-id`, `webhook-timestamp` and `webhook-signature`. The
//! signature header holds space-separated `v1,<base64>` entries, any of which may match
//! HMAC-SHA256 of `"{id}.{timestamp}.{body}"`, keyed with the bytes of a `whsec_<base64>`
//! secret. The event id is `webhook-id`, the type the body's `type`, the resource `data.id`.
//! Senders built on Svix send the same scheme as `svix-id`, `svix-timestamp` and
//! `svix-signature`; those are accepted as aliases (the `webhook-*` name wins if both come).

use base64::Engine;

use super::Sender;
use crate::config::{ConfigError, Env};
use crate::event::{Delivery, Identity, ParseError};
use crate::headers::Headers;
use crate::signature::{
    check_timestamp, ct_any, hmac_sha256, Keys, Secret, SignatureError, DEFAULT_TOLERANCE_S,
};

/// The delivery id header (also the event id).
pub const WEBHOOK_ID: &str = "webhook-id";
/// The unix time of the delivery.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// The signature entries.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// The names Svix-based senders use for the same three headers (same scheme, same meaning).
pub const SVIX_ID: &str = "svix-id";
pub const SVIX_TIMESTAMP: &str = "svix-timestamp";
pub const SVIX_SIGNATURE: &str = "svix-signature";

/// The value of a `webhook-*` header, or of its `svix-*` alias when it is absent.
fn header<'a>(headers: &'a Headers, name: &str, svix_alias: &str) -> Option<&'a str> {
    headers.get(name).or_else(|| headers.get(svix_alias))
}

/// Most `v1,` entries read from one signature header; more is refused so a hostile header
/// cannot make us compute thousands of comparisons.
const MAX_SIGNATURE_ENTRIES: usize = 16;

/// The Standard Webhooks sender.
#[derive(Debug, Clone, Copy)]
pub struct StandardWebhooks;

/// The scheme's replay window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `STANDARD_WEBHOOKS_TOLERANCE_SECONDS`.
    pub tolerance_s: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tolerance_s: DEFAULT_TOLERANCE_S,
        }
    }
}

impl Sender for StandardWebhooks {
    const NAME: &'static str = "standard";
    const PATHS: &'static [&'static str] = &["/standard"];
    const SECRETS_ENV: &'static str = "STANDARD_WEBHOOKS_SECRETS";
    const DOCUMENT_KEYS: &'static [&'static str] = &["standard_webhooks", "standard"];

    type Settings = Settings;

    fn settings(env: &Env<'_>) -> Result<Settings, ConfigError> {
        Ok(Settings {
            tolerance_s: env.number_in(
                "STANDARD_WEBHOOKS_TOLERANCE_SECONDS",
                DEFAULT_TOLERANCE_S,
                1..=3600,
            )?,
        })
    }

    /// Decodes a `whsec_<base64>` secret (the prefix is optional, as in the reference
    /// libraries) into its key bytes.
    fn parse_secret(entry: &str) -> Result<Secret, String> {
        let text = entry.trim();
        let b64 = text.strip_prefix("whsec_").unwrap_or(text);
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(key) if !key.is_empty() => Ok(Secret::new(key)),
            _ => Err(
                "a Standard Webhooks secret must be \"whsec_\" followed by base64 (the key bytes)"
                    .into(),
            ),
        }
    }

    fn verify(
        keys: &Keys,
        settings: &Settings,
        body: &[u8],
        headers: &Headers,
        now_s: i64,
    ) -> Result<(), SignatureError> {
        keys.require()?;
        let id = header(headers, WEBHOOK_ID, SVIX_ID)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or(SignatureError::MissingId)?;
        let timestamp = header(headers, WEBHOOK_TIMESTAMP, SVIX_TIMESTAMP)
            .ok_or(SignatureError::BadTimestamp)?
            .trim();
        let entries =
            header(headers, WEBHOOK_SIGNATURE, SVIX_SIGNATURE).ok_or(SignatureError::Missing)?;
        let mut presented: Vec<[u8; 32]> = Vec::new();
        for entry in entries.split(' ').filter(|e| !e.is_empty()) {
            if presented.len() == MAX_SIGNATURE_ENTRIES {
                return Err(SignatureError::Malformed);
            }
            // Other versions (v1a asymmetric, future ones) are skipped, as the spec asks.
            let Some(b64) = entry.strip_prefix("v1,") else {
                continue;
            };
            // A garbled entry is skipped, as the reference libraries do: another entry (a
            // second key during rotation) may still match.
            let mut out = [0u8; 32];
            if let Ok(32) = base64::engine::general_purpose::STANDARD.decode_slice(b64, &mut out) {
                presented.push(out);
            }
        }
        if presented.is_empty() {
            return Err(SignatureError::Malformed);
        }
        check_timestamp(timestamp, now_s, settings.tolerance_s)?;
        let mut matched = subtle::Choice::from(0);
        for key in keys.iter() {
            let mac = hmac_sha256(
                key.expose(),
                &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
            );
            matched |= ct_any(&mac, &presented);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    fn identify(delivery: &Delivery<'_>) -> Result<Identity, ParseError> {
        Ok(Identity {
            event_type: delivery
                .body_type()
                .ok_or(ParseError::MissingEventType)?
                .to_owned(),
            event_id: header(delivery.headers(), WEBHOOK_ID, SVIX_ID)
                .map(|id| id.trim().to_owned())
                .ok_or(ParseError::MissingEventId)?,
            resource_id: delivery.data_id_as_resource(),
        })
    }

    /// The type is in the body; `delivery_id` becomes `webhook-id`.
    fn sign(
        key: &Secret,
        _settings: &Settings,
        body: &[u8],
        _event_type: &str,
        delivery_id: &str,
        now_s: i64,
    ) -> Vec<(&'static str, String)> {
        let ts = now_s.to_string();
        vec![
            (WEBHOOK_SIGNATURE, sign(key, delivery_id, &ts, body)),
            (WEBHOOK_ID, delivery_id.to_string()),
            (WEBHOOK_TIMESTAMP, ts),
        ]
    }
}

/// Signs a delivery as a Standard Webhooks sender does: `v1,` and the base64 HMAC-SHA256 of
/// `"{id}.{timestamp}.{body}"` keyed with the decoded secret (for tests, tools, benchmarks).
pub fn sign(key: &Secret, id: &str, timestamp: &str, body: &[u8]) -> String {
    let mac = hmac_sha256(
        key.expose(),
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::senders::{Provider, SenderSettings};
    use crate::signature::{test_headers as headers, Verifier};

    #[derive(serde::Deserialize)]
    struct Vectors {
        secret: String,
        secret_without_prefix: String,
        msg_id: String,
        timestamp: i64,
        payload: String,
        signature: String,
        invalid_signature: String,
        other_version_signature: String,
        tolerance_seconds: u64,
    }

    fn vectors() -> Vectors {
        serde_json::from_str(include_str!(
            "../../tests/data/standard_webhooks_vectors.json"
        ))
        .unwrap()
    }

    fn standard(v: &Vectors) -> Verifier {
        let settings = SenderSettings {
            standard: Settings {
                tolerance_s: v.tolerance_seconds,
            },
            ..SenderSettings::default()
        };
        Verifier::new(settings).with_keys(
            Provider::StandardWebhooks,
            vec![StandardWebhooks::parse_secret(&v.secret).unwrap()],
        )
    }

    fn standard_headers(v: &Vectors, signature: &str) -> Headers {
        let ts = v.timestamp.to_string();
        headers(&[
            (WEBHOOK_ID, &v.msg_id),
            (WEBHOOK_TIMESTAMP, &ts),
            (WEBHOOK_SIGNATURE, signature),
        ])
    }

    /// Whether the reference payload, id and timestamp verify with `signature_header`.
    fn verifies_reference_payload(v: &Vectors, signature_header: &str) -> bool {
        let h = standard_headers(v, signature_header);
        standard(v)
            .verify(
                Provider::StandardWebhooks,
                v.payload.as_bytes(),
                &h,
                v.timestamp,
            )
            .is_ok()
    }

    #[test]
    fn standard_webhooks_reference_vector_verifies() {
        let v = vectors();
        assert!(verifies_reference_payload(&v, &v.signature));
        // The secret without its prefix is the same key (TestWebhookPrefix).
        assert_eq!(
            StandardWebhooks::parse_secret(&v.secret_without_prefix).unwrap(),
            StandardWebhooks::parse_secret(&v.secret).unwrap()
        );
    }

    #[test]
    fn standard_webhooks_any_matching_entry_among_several_verifies() {
        let v = vectors();
        let multi = [
            v.invalid_signature.as_str(),
            v.other_version_signature.as_str(),
            v.signature.as_str(),
            v.invalid_signature.as_str(),
        ]
        .join(" ");
        assert!(verifies_reference_payload(&v, &multi));
    }

    #[test]
    fn standard_webhooks_rejections_follow_the_reference_tests() {
        let v = vectors();
        let body = v.payload.as_bytes();
        let ts = v.timestamp;
        let verify = |h: &Headers, now: i64| {
            standard(&v)
                .verify(Provider::StandardWebhooks, body, h, now)
                .unwrap_err()
        };
        assert_eq!(
            verify(&standard_headers(&v, &v.invalid_signature), ts),
            SignatureError::Mismatch
        );
        assert_eq!(
            verify(&standard_headers(&v, &v.other_version_signature), ts),
            SignatureError::Malformed
        );
        // Old and new timestamps (TestWebhook: "old timestamp fails", "new timestamp fails").
        assert_eq!(
            verify(&standard_headers(&v, &v.signature), ts + 301),
            SignatureError::Stale
        );
        assert_eq!(
            verify(&standard_headers(&v, &v.signature), ts - 301),
            SignatureError::Stale
        );
        // Missing id, timestamp, signature.
        let sig_only = headers(&[
            (WEBHOOK_SIGNATURE, &v.signature),
            (WEBHOOK_TIMESTAMP, "1614265330"),
        ]);
        assert_eq!(verify(&sig_only, ts), SignatureError::MissingId);
        let no_ts = headers(&[(WEBHOOK_SIGNATURE, &v.signature), (WEBHOOK_ID, &v.msg_id)]);
        assert_eq!(verify(&no_ts, ts), SignatureError::BadTimestamp);
        let no_sig = headers(&[(WEBHOOK_ID, &v.msg_id), (WEBHOOK_TIMESTAMP, "1614265330")]);
        assert_eq!(verify(&no_sig, ts), SignatureError::Missing);
        // Truncated, wrongly encoded, and an excessive number of entries.
        let truncated = &v.signature[..v.signature.len() - 4];
        assert_eq!(
            verify(&standard_headers(&v, truncated), ts),
            SignatureError::Malformed
        );
        let hex_sig = format!(
            "v1,{}",
            hex::encode(
                base64::engine::general_purpose::STANDARD
                    .decode(&v.signature[3..])
                    .unwrap()
            )
        );
        assert_eq!(
            verify(&standard_headers(&v, &hex_sig), ts),
            SignatureError::Malformed
        );
        let many = vec![v.invalid_signature.as_str(); 17].join(" ");
        assert_eq!(
            verify(&standard_headers(&v, &many), ts),
            SignatureError::Malformed
        );
        // A different id, or a tampered body, does not verify.
        let other_id = headers(&[
            (WEBHOOK_ID, "msg_other"),
            (WEBHOOK_TIMESTAMP, "1614265330"),
            (WEBHOOK_SIGNATURE, &v.signature),
        ]);
        assert_eq!(verify(&other_id, ts), SignatureError::Mismatch);
        assert_eq!(
            standard(&v)
                .verify(
                    Provider::StandardWebhooks,
                    b"{\"test\": 2432232315}",
                    &standard_headers(&v, &v.signature),
                    ts
                )
                .unwrap_err(),
            SignatureError::Mismatch
        );
    }

    #[test]
    fn svix_headers_are_accepted_as_aliases_of_the_webhook_headers() {
        // Senders built on Svix sign the same way but name the headers svix-*.
        let v = vectors();
        let ts = v.timestamp.to_string();
        let h = headers(&[
            ("svix-id", &v.msg_id),
            ("svix-timestamp", &ts),
            ("svix-signature", &v.signature),
        ]);
        let verified = standard(&v)
            .verify(
                Provider::StandardWebhooks,
                v.payload.as_bytes(),
                &h,
                v.timestamp,
            )
            .unwrap();
        // The event id comes from svix-id too.
        let body = br#"{"type":"invoice.paid","data":{"id":1}}"#;
        let key = Secret::new("k");
        let signed = sign(&key, "msg_svix", "100", body);
        let h = headers(&[
            ("svix-id", "msg_svix"),
            ("svix-timestamp", "100"),
            ("svix-signature", &signed),
        ]);
        let verifier = Verifier::default().with_keys(Provider::StandardWebhooks, vec![key]);
        let e = Event::parse(
            verifier
                .verify(Provider::StandardWebhooks, body, &h, 100)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(e.event_id(), "msg_svix");
        assert_eq!(verified.provider(), Provider::StandardWebhooks);
    }

    #[test]
    fn standard_webhooks_skips_a_garbled_entry_when_another_matches() {
        let v = vectors();
        let header = format!("v1,!!garbled!! v1,AAAA {}", v.signature);
        assert!(verifies_reference_payload(&v, &header));
    }

    #[test]
    fn standard_webhooks_secrets_must_be_base64() {
        assert!(StandardWebhooks::parse_secret("whsec_!!!").is_err());
        assert!(StandardWebhooks::parse_secret("whsec_").is_err());
        assert!(StandardWebhooks::parse_secret("whsec_c2VjcmV0").is_ok());
    }

    #[test]
    fn a_standard_webhooks_event_takes_its_id_from_the_webhook_id_header() {
        let body =
            br#"{"type":"invoice.paid","timestamp":"2026-11-23T14:00:00Z","data":{"id":42}}"#;
        let id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
        let key = Secret::new("k");
        let h = headers(&[
            (WEBHOOK_ID, id),
            (WEBHOOK_TIMESTAMP, "100"),
            (WEBHOOK_SIGNATURE, &sign(&key, id, "100", body)),
        ]);
        let verifier = Verifier::default().with_keys(Provider::StandardWebhooks, vec![key]);
        let e = Event::parse(
            verifier
                .verify(Provider::StandardWebhooks, body, &h, 100)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(e.event_type(), "invoice.paid");
        assert_eq!(e.event_id(), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
        assert_eq!(e.resource_id(), Some("42"));
    }
}
