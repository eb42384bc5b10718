//! Salesloft: `POST /salesloft` (or `/`), the signature in `x-salesloft-signature`, the event
//! type in `x-salesloft-event`.
//!
//! Salesloft signs the raw body with HMAC-SHA1, keyed with the subscription's
//! `callback_token`, and sends it as hex; there is no timestamp and no event id, so the id is
//! derived from the type and the body (identical retries share it). Each subscription has its
//! own token, so any configured token may match.
//!
//! The event type header is not covered by the signature. A token configured for one event
//! type (`{"person_updated": ["tok1"], "*": ["tok2"]}` in the secret) verifies deliveries of
//! that type only, so a captured body cannot be replayed under another type. A token that
//! serves every type (a plain list, or `"*"`) keeps that risk: a replayed body with another
//! type header gets another event id and is accepted once more.
//!
//! `SALESLOFT_THIRD_PARTY_TIMESTAMPED=true` switches to a timestamped HMAC-SHA256 variant (hex of
//! `"{timestamp}.{body}"`, the unix time in `x-salesloft-timestamp`). That variant is not
//! what Salesloft sends: it comes from a third-party integration guide, and is kept for
//! senders that follow it. Never turn it on for real Salesloft deliveries.

use sha2::{Digest, Sha256};

use super::Sender;
use crate::config::{ConfigError, Env};
use crate::event::{Delivery, Identity, ParseError};
use crate::headers::Headers;
use crate::signature::{
    check_timestamp, decode_hex, hmac_sha1, hmac_sha256, hmac_sha256_hex, Keys, Secret,
    SignatureError, DEFAULT_TOLERANCE_S,
};

/// Header carrying Salesloft's signature.
pub const SALESLOFT_SIGNATURE: &str = "x-salesloft-signature";
/// Header carrying Salesloft's event type.
pub const SALESLOFT_EVENT: &str = "x-salesloft-event";
/// Header carrying the unix time of a timestamped delivery (the third-party variant).
pub const SALESLOFT_TIMESTAMP: &str = "x-salesloft-timestamp";

/// The Salesloft sender.
#[derive(Debug, Clone, Copy)]
pub struct Salesloft;

/// Which Salesloft scheme this deployment verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The timestamped HMAC-SHA256 variant instead of Salesloft's HMAC-SHA1
    /// (`SALESLOFT_THIRD_PARTY_TIMESTAMPED`; not what Salesloft sends).
    pub timestamped: bool,
    /// Replay window of the timestamped variant (`SALESLOFT_TOLERANCE_SECONDS`).
    pub tolerance_s: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timestamped: false,
            tolerance_s: DEFAULT_TOLERANCE_S,
        }
    }
}

impl Sender for Salesloft {
    const NAME: &'static str = salesloft_webhooks_wire::SALESLOFT_PROVIDER;
    const PATHS: &'static [&'static str] = &["/", "", "/salesloft"];
    const SECRETS_ENV: &'static str = "SALESLOFT_SECRETS";
    const DOCUMENT_KEYS: &'static [&'static str] = &["salesloft"];
    /// Each subscription (one event type) has its own token, and the type header is not
    /// signed: tokens may be bound to their types.
    const BINDS_EVENT_TYPES: bool = true;

    type Settings = Settings;

    fn settings(env: &Env<'_>) -> Result<Settings, ConfigError> {
        Ok(Settings {
            // Named so that nobody takes it for Salesloft's own scheme.
            timestamped: env
                .bool("SALESLOFT_THIRD_PARTY_TIMESTAMPED")?
                .unwrap_or(false),
            tolerance_s: env.number_in(
                "SALESLOFT_TOLERANCE_SECONDS",
                DEFAULT_TOLERANCE_S,
                1..=3600,
            )?,
        })
    }

    fn verify(
        keys: &Keys,
        settings: &Settings,
        body: &[u8],
        headers: &Headers,
        now_s: i64,
    ) -> Result<(), SignatureError> {
        keys.require()?;
        let presented = headers
            .get(SALESLOFT_SIGNATURE)
            .ok_or(SignatureError::Missing)?
            .trim();
        // The event type is not signed: a token bound to types verifies only those.
        let event_type = headers.get(SALESLOFT_EVENT).map(str::trim);
        if !settings.timestamped {
            let presented = decode_hex::<20>(presented).ok_or(SignatureError::Malformed)?;
            return keys
                .any_matches_for(event_type, &presented, |key| hmac_sha1(key.expose(), body));
        }
        let presented = decode_hex::<32>(presented).ok_or(SignatureError::Malformed)?;
        let timestamp = headers
            .get(SALESLOFT_TIMESTAMP)
            .ok_or(SignatureError::BadTimestamp)?
            .trim();
        check_timestamp(timestamp, now_s, settings.tolerance_s)?;
        keys.any_matches_for(event_type, &presented, |key| {
            hmac_sha256(key.expose(), &[timestamp.as_bytes(), b".", body])
        })
    }

    fn identify(delivery: &Delivery<'_>) -> Result<Identity, ParseError> {
        let event_type = delivery
            .headers()
            .get(SALESLOFT_EVENT)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ParseError::MissingEventType)?
            .to_owned();
        Ok(Identity {
            // Salesloft sends no id: derive one that identical retries share.
            event_id: derived_event_id(&event_type, delivery.body()),
            // Salesloft's body *is* the resource.
            resource_id: delivery.body_id_as_resource(),
            event_type,
        })
    }

    fn sign(
        key: &Secret,
        settings: &Settings,
        body: &[u8],
        event_type: &str,
        _delivery_id: &str,
        now_s: i64,
    ) -> Vec<(&'static str, String)> {
        let mut headers = vec![(SALESLOFT_EVENT, event_type.to_string())];
        if settings.timestamped {
            let ts = now_s.to_string();
            headers.push((
                SALESLOFT_SIGNATURE,
                sign_timestamped(key.expose(), &ts, body),
            ));
            headers.push((SALESLOFT_TIMESTAMP, ts));
        } else {
            headers.push((SALESLOFT_SIGNATURE, sign(key.expose(), body)));
        }
        headers
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

/// Signs `body` as Salesloft does: lowercase hex HMAC-SHA1 keyed with `token` (for tests,
/// tools and benchmarks).
pub fn sign(token: &[u8], body: &[u8]) -> String {
    hex::encode(hmac_sha1(token, body))
}

/// Signs `body` with the timestamped variant: hex HMAC-SHA256 of `"{timestamp}.{body}"`.
pub fn sign_timestamped(token: &[u8], timestamp: &str, body: &[u8]) -> String {
    hmac_sha256_hex(token, &[timestamp.as_bytes(), b".", body])
}

/// Parses `body` as a Salesloft delivery signed with the key `k` (for the tests of this
/// module and of `crate::event`, whose generic checks run on Salesloft deliveries: the type
/// comes from a header, so any body can be tried).
#[cfg(test)]
pub(crate) fn parse_signed(
    event_type: Option<&str>,
    body: &[u8],
) -> Result<crate::event::Event<'static>, ParseError> {
    use crate::senders::Provider;
    use crate::signature::Verifier;
    let mut pairs = vec![(SALESLOFT_SIGNATURE.to_string(), sign(b"k", body))];
    if let Some(t) = event_type {
        pairs.push((SALESLOFT_EVENT.to_string(), t.to_string()));
    }
    // Leaked so the event can borrow them for 'static in a test.
    let headers: &'static Headers = Box::leak(Box::new(Headers::from_pairs(pairs)));
    let body: &'static [u8] = Box::leak(body.to_vec().into_boxed_slice());
    let verifier = Verifier::default().with_keys(Provider::Salesloft, vec![Secret::new("k")]);
    let verified = verifier
        .verify(Provider::Salesloft, body, headers, 0)
        .unwrap();
    crate::event::Event::parse(verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::senders::{Provider, SenderSettings};
    use crate::signature::{test_headers as headers, Key, Verifier};

    fn verifier(tokens: Vec<Secret>) -> Verifier {
        Verifier::default().with_keys(Provider::Salesloft, tokens)
    }

    fn parse_salesloft(
        event_type: Option<&str>,
        body: &[u8],
    ) -> Result<Event<'static>, ParseError> {
        parse_signed(event_type, body)
    }

    #[test]
    fn hmac_sha1_matches_rfc_2202_known_answers() {
        // RFC 2202 test cases 1 and 2.
        assert_eq!(
            sign(&[0x0b; 20], b"Hi There"),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        // RFC 2202 test case 6: a key longer than the block size is hashed first.
        assert_eq!(
            sign(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn salesloft_signature_over_the_raw_body_verifies() {
        let body = br#"{"id":1,"first_name":"Ada"}"#;
        let sig = sign(b"tok", body);
        let h = headers(&[(SALESLOFT_SIGNATURE, &sig)]);
        let v = verifier(vec![Secret::new("tok")]);
        let verified = v.verify(Provider::Salesloft, body, &h, 0).unwrap();
        assert_eq!(verified.provider(), Provider::Salesloft);
        assert_eq!(verified.body(), body);
    }

    #[test]
    fn uppercase_hex_and_surrounding_spaces_are_accepted() {
        let body = b"{}";
        let sig = sign(b"tok", body).to_uppercase();
        let h = headers(&[(SALESLOFT_SIGNATURE, &format!(" {sig} "))]);
        let v = verifier(vec![Secret::new("tok")]);
        assert!(v.verify(Provider::Salesloft, body, &h, 0).is_ok());
    }

    #[test]
    fn any_of_several_configured_tokens_verifies() {
        let body = b"{\"id\":2}";
        let v = verifier(vec![
            Secret::new("first"),
            Secret::new("second"),
            Secret::new("third"),
        ]);
        for tok in ["first", "second", "third"] {
            let h = headers(&[(SALESLOFT_SIGNATURE, &sign(tok.as_bytes(), body))]);
            assert!(v.verify(Provider::Salesloft, body, &h, 0).is_ok(), "{tok}");
        }
    }

    #[test]
    fn every_rejection_case_is_named() {
        let body = b"{\"id\":3}";
        let v = verifier(vec![Secret::new("tok")]);
        let good = sign(b"tok", body);
        let cases: Vec<(Headers, SignatureError)> = vec![
            (headers(&[]), SignatureError::Missing),
            (
                headers(&[(SALESLOFT_SIGNATURE, "")]),
                SignatureError::Malformed,
            ),
            (
                headers(&[(SALESLOFT_SIGNATURE, &good[..38])]),
                SignatureError::Malformed,
            ),
            (
                headers(&[(SALESLOFT_SIGNATURE, &format!("{good}00"))]),
                SignatureError::Malformed,
            ),
            (
                headers(&[(SALESLOFT_SIGNATURE, &"zz".repeat(20))]),
                SignatureError::Malformed,
            ),
            (
                headers(&[(SALESLOFT_SIGNATURE, &format!("sha1={}", &good[..35]))]),
                SignatureError::Malformed,
            ),
            (
                headers(&[(SALESLOFT_SIGNATURE, &sign(b"other", body))]),
                SignatureError::Mismatch,
            ),
            (
                headers(&[(SALESLOFT_SIGNATURE, &"0".repeat(40))]),
                SignatureError::Mismatch,
            ),
        ];
        for (h, expected) in cases {
            assert_eq!(
                v.verify(Provider::Salesloft, body, &h, 0).unwrap_err(),
                expected,
                "{h:?}"
            );
        }
    }

    #[test]
    fn a_signature_of_a_different_body_is_a_mismatch() {
        let v = verifier(vec![Secret::new("tok")]);
        let sig = sign(b"tok", b"{\"id\":1}");
        let h = headers(&[(SALESLOFT_SIGNATURE, &sig)]);
        assert_eq!(
            v.verify(Provider::Salesloft, b"{\"id\":2}", &h, 0)
                .unwrap_err(),
            SignatureError::Mismatch
        );
    }

    // ---- Salesloft, timestamped ----

    const NOW_S: i64 = 1_795_442_400;

    fn timestamped() -> Verifier {
        let settings = SenderSettings {
            salesloft: Settings {
                timestamped: true,
                tolerance_s: 300,
            },
            ..SenderSettings::default()
        };
        Verifier::new(settings).with_keys(Provider::Salesloft, vec![Secret::new("tok")])
    }

    fn timestamped_headers(key: &[u8], ts: &str, body: &[u8]) -> Headers {
        let sig = sign_timestamped(key, ts, body);
        headers(&[(SALESLOFT_SIGNATURE, &sig), (SALESLOFT_TIMESTAMP, ts)])
    }

    #[test]
    fn timestamped_salesloft_signature_within_the_window_verifies() {
        let body = br#"{"id":1}"#;
        for offset in [-300, -1, 0, 1, 300] {
            let ts = (NOW_S + offset).to_string();
            let h = timestamped_headers(b"tok", &ts, body);
            assert!(
                timestamped()
                    .verify(Provider::Salesloft, body, &h, NOW_S)
                    .is_ok(),
                "{offset}"
            );
        }
    }

    #[test]
    fn timestamped_salesloft_replays_outside_the_window_are_refused_both_ways() {
        let body = br#"{"id":1}"#;
        for offset in [-301, 301, -86_400, 86_400] {
            let ts = (NOW_S + offset).to_string();
            let h = timestamped_headers(b"tok", &ts, body);
            assert_eq!(
                timestamped()
                    .verify(Provider::Salesloft, body, &h, NOW_S)
                    .unwrap_err(),
                SignatureError::Stale,
                "{offset}"
            );
        }
    }

    #[test]
    fn timestamped_salesloft_rejects_bad_timestamps_and_tampering() {
        let body = br#"{"id":1}"#;
        let ts = NOW_S.to_string();
        let mut cases = Vec::new();
        for bad_ts in ["", "abc", "-1", "1.5", "1795442400000000", " "] {
            cases.push((
                timestamped_headers(b"tok", bad_ts, body),
                SignatureError::BadTimestamp,
            ));
        }
        // The signature of another timestamp does not carry over.
        let mut moved = timestamped_headers(b"tok", &ts, body);
        moved = Headers::from_pairs([
            (
                SALESLOFT_SIGNATURE.to_string(),
                moved.get(SALESLOFT_SIGNATURE).unwrap().to_string(),
            ),
            (SALESLOFT_TIMESTAMP.to_string(), (NOW_S + 1).to_string()),
        ]);
        cases.push((moved, SignatureError::Mismatch));
        cases.push((
            timestamped_headers(b"other", &ts, body),
            SignatureError::Mismatch,
        ));
        // The plain SHA-1 signature is not accepted once the timestamped scheme is on.
        cases.push((
            headers(&[
                (SALESLOFT_SIGNATURE, &sign(b"tok", body)),
                (SALESLOFT_TIMESTAMP, &ts),
            ]),
            SignatureError::Malformed,
        ));
        cases.push((
            headers(&[(SALESLOFT_SIGNATURE, &"a".repeat(64))]),
            SignatureError::BadTimestamp,
        ));
        for (h, expected) in cases {
            assert_eq!(
                timestamped()
                    .verify(Provider::Salesloft, body, &h, NOW_S)
                    .unwrap_err(),
                expected,
                "{h:?}"
            );
        }
    }

    #[test]
    fn a_token_bound_to_an_event_type_verifies_only_deliveries_of_that_type() {
        // Review defect 2: the type header is unsigned, so a captured body replayed with
        // another type header was a new event.
        let body = br#"{"id":1}"#;
        let v = Verifier::default().with_scoped_keys(
            Provider::Salesloft,
            vec![
                Key::bound(Secret::new("tok1"), ["person_updated".to_string()]),
                Key::any(Secret::new("tok2")),
            ],
        );
        let with = |token: &str, event_type: &str| {
            headers(&[
                (SALESLOFT_SIGNATURE, &sign(token.as_bytes(), body)),
                (SALESLOFT_EVENT, event_type),
            ])
        };
        let check = |h: &Headers| v.verify(Provider::Salesloft, body, h, 0).map(|_| ());
        assert_eq!(check(&with("tok1", "person_updated")), Ok(()));
        assert_eq!(
            check(&with("tok1", "person_deleted")),
            Err(SignatureError::Mismatch)
        );
        let no_type = headers(&[(SALESLOFT_SIGNATURE, &sign(b"tok1", body))]);
        assert_eq!(check(&no_type), Err(SignatureError::Mismatch));
        // The unbound token keeps serving every type.
        assert_eq!(check(&with("tok2", "person_deleted")), Ok(()));
    }

    #[test]
    fn the_timestamped_variant_binds_tokens_to_types_too() {
        let settings = SenderSettings {
            salesloft: Settings {
                timestamped: true,
                tolerance_s: 300,
            },
            ..SenderSettings::default()
        };
        let v = Verifier::new(settings).with_scoped_keys(
            Provider::Salesloft,
            vec![Key::bound(
                Secret::new("tok"),
                ["person_updated".to_string()],
            )],
        );
        let body = b"{}";
        let sig = sign_timestamped(b"tok", "100", body);
        let h = |t: &str| {
            headers(&[
                (SALESLOFT_SIGNATURE, &sig),
                (SALESLOFT_TIMESTAMP, "100"),
                (SALESLOFT_EVENT, t),
            ])
        };
        assert!(v
            .verify(Provider::Salesloft, body, &h("person_updated"), 100)
            .is_ok());
        assert_eq!(
            v.verify(Provider::Salesloft, body, &h("person_created"), 100)
                .unwrap_err(),
            SignatureError::Mismatch
        );
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
}
