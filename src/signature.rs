//! Signature verification: pure functions over the raw body bytes, the request headers and
//! the current time. No I/O, no AWS types, no allocation of the body.
//!
//! Only [`Verifier::verify`] can construct a [`Verified`] value, so the rest of the pipeline
//! cannot be handed an unverified delivery by mistake (the typestate idea from svix's bridge).
//! Every comparison of a computed MAC against a presented one goes through
//! [`subtle::ConstantTimeEq`], and every configured key is tried even after one has matched,
//! so timing reveals neither the MAC nor which key matched.

use std::fmt;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

use crate::headers::Headers;

/// Header carrying Salesloft's signature.
pub const SALESLOFT_SIGNATURE: &str = "x-salesloft-signature";
/// Header carrying Salesloft's event type.
pub const SALESLOFT_EVENT: &str = "x-salesloft-event";
/// Header carrying the unix time of a timestamped Salesloft delivery.
pub const SALESLOFT_TIMESTAMP: &str = "x-salesloft-timestamp";
/// Header carrying SalesOS's signature.
pub const SALESOS_SIGNATURE: &str = "x-webhook-signature";
/// Standard Webhooks headers.
pub const WEBHOOK_ID: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// Default replay window of the timestamped schemes, in seconds.
pub const DEFAULT_TOLERANCE_S: u64 = 300;
/// Most `v1,` entries read from one Standard Webhooks signature header; more is refused so
/// a hostile header cannot make us compute thousands of comparisons.
const MAX_SIGNATURE_ENTRIES: usize = 16;

/// A shared secret (a Salesloft callback token, say). Its bytes never appear in `Debug`,
/// `Display`, logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<[u8]>);

impl Secret {
    /// Wraps the given key bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into().into_boxed_slice())
    }

    /// The key bytes, for computing a MAC.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The sender a request claims to come from; chosen by the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Salesloft: HMAC-SHA1 of the raw body (or the opt-in timestamped HMAC-SHA256).
    Salesloft,
    /// SalesOS: HMAC-SHA256 of the raw body, hex, in `x-webhook-signature`.
    SalesOs,
    /// Standard Webhooks: `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`.
    StandardWebhooks,
}

impl Provider {
    /// The provider's name as it appears in keys, envelopes and message attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Salesloft => "salesloft",
            Provider::SalesOs => "salesos",
            Provider::StandardWebhooks => "standard",
        }
    }

    /// The provider named `name` (as in [`Provider::as_str`]), if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Every provider this build knows.
    pub const ALL: [Provider; 3] = [
        Provider::Salesloft,
        Provider::SalesOs,
        Provider::StandardWebhooks,
    ];
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a signature was refused. The HTTP layer answers every variant with the same 401 body,
/// so none of this detail reaches a would-be forger; it exists for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header missing")]
    Missing,
    #[error("signature header is not of the expected encoding or length")]
    Malformed,
    #[error("timestamp header missing or not a unix time")]
    BadTimestamp,
    #[error("timestamp outside the tolerance window")]
    Stale,
    #[error("webhook-id header missing")]
    MissingId,
    #[error("signature does not match any configured secret")]
    Mismatch,
    #[error("no secret is configured for this provider")]
    NoSecret,
}

/// A delivery whose signature has been checked. Only [`Verifier::verify`] builds one.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'a> {
    provider: Provider,
    body: &'a [u8],
    headers: &'a Headers,
}

impl<'a> Verified<'a> {
    /// The sender whose secret verified the delivery.
    pub fn provider(&self) -> Provider {
        self.provider
    }
    /// The raw body bytes the signature covers.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
    /// The request headers.
    pub fn headers(&self) -> &'a Headers {
        self.headers
    }
}

/// Salesloft's scheme: lowercase hex HMAC-SHA1 of the raw body, keyed with the subscription's
/// callback token. Each subscription has its own token, so any configured token may match.
#[derive(Debug, Clone)]
pub struct SalesloftSha1 {
    tokens: Keys,
}

impl SalesloftSha1 {
    /// A verifier accepting a signature made with any of `tokens`.
    pub fn new(tokens: Vec<Secret>) -> Self {
        Self {
            tokens: Keys(tokens),
        }
    }

    /// Checks `headers[x-salesloft-signature]` against the body.
    pub fn verify(&self, body: &[u8], headers: &Headers) -> Result<(), SignatureError> {
        self.tokens.require()?;
        let presented = headers
            .get(SALESLOFT_SIGNATURE)
            .ok_or(SignatureError::Missing)?;
        let presented = decode_hex::<20>(presented.trim()).ok_or(SignatureError::Malformed)?;
        self.tokens
            .any_matches(&presented, |key| hmac_sha1(key.expose(), body))
    }
}

/// Salesloft's opt-in timestamped variant: hex HMAC-SHA256 of `"{timestamp}.{body}"` with
/// the unix time in `x-salesloft-timestamp`, refused outside `tolerance_s` either way.
#[derive(Debug, Clone)]
pub struct SalesloftTimestamped {
    tokens: Keys,
    tolerance_s: u64,
}

impl SalesloftTimestamped {
    pub fn new(tokens: Vec<Secret>, tolerance_s: u64) -> Self {
        Self {
            tokens: Keys(tokens),
            tolerance_s,
        }
    }

    pub fn verify(&self, body: &[u8], headers: &Headers, now_s: i64) -> Result<(), SignatureError> {
        self.tokens.require()?;
        let presented = headers
            .get(SALESLOFT_SIGNATURE)
            .ok_or(SignatureError::Missing)?;
        let presented = decode_hex::<32>(presented.trim()).ok_or(SignatureError::Malformed)?;
        let timestamp = headers
            .get(SALESLOFT_TIMESTAMP)
            .ok_or(SignatureError::BadTimestamp)?
            .trim();
        check_timestamp(timestamp, now_s, self.tolerance_s)?;
        self.tokens.any_matches(&presented, |key| {
            hmac_sha256(key.expose(), &[timestamp.as_bytes(), b".", body])
        })
    }
}

/// SalesOS: hex HMAC-SHA256 of the raw body in `x-webhook-signature`.
#[derive(Debug, Clone)]
pub struct SalesOsSha256 {
    secrets: Keys,
}

impl SalesOsSha256 {
    pub fn new(secrets: Vec<Secret>) -> Self {
        Self {
            secrets: Keys(secrets),
        }
    }

    pub fn verify(&self, body: &[u8], headers: &Headers) -> Result<(), SignatureError> {
        self.secrets.require()?;
        let presented = headers
            .get(SALESOS_SIGNATURE)
            .ok_or(SignatureError::Missing)?;
        // Some senders prefix the digest with its algorithm; accept that form too.
        let hex_part = presented.trim();
        let hex_part = hex_part.strip_prefix("sha256=").unwrap_or(hex_part);
        let presented = decode_hex::<32>(hex_part).ok_or(SignatureError::Malformed)?;
        self.secrets
            .any_matches(&presented, |key| hmac_sha256(key.expose(), &[body]))
    }
}

/// Standard Webhooks (symmetric `v1`): `webhook-signature` holds space-separated
/// `v1,<base64>` entries, any of which may match `HMAC-SHA256(key, "{id}.{ts}.{body}")`.
#[derive(Debug, Clone)]
pub struct StandardWebhooks {
    secrets: Keys,
    tolerance_s: u64,
}

/// A Standard Webhooks secret that is not `whsec_` followed by base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a Standard Webhooks secret must be \"whsec_\" followed by base64 (the key bytes)")]
pub struct BadStandardSecret;

impl StandardWebhooks {
    pub fn new(secrets: Vec<Secret>, tolerance_s: u64) -> Self {
        Self {
            secrets: Keys(secrets),
            tolerance_s,
        }
    }

    /// Decodes a `whsec_<base64>` secret (the prefix is optional, as in the reference
    /// libraries) into its key bytes.
    pub fn parse_secret(text: &str) -> Result<Secret, BadStandardSecret> {
        let text = text.trim();
        let b64 = text.strip_prefix("whsec_").unwrap_or(text);
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| BadStandardSecret)?;
        if key.is_empty() {
            return Err(BadStandardSecret);
        }
        Ok(Secret::new(key))
    }

    pub fn verify(&self, body: &[u8], headers: &Headers, now_s: i64) -> Result<(), SignatureError> {
        self.secrets.require()?;
        let id = headers
            .get(WEBHOOK_ID)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or(SignatureError::MissingId)?;
        let timestamp = headers
            .get(WEBHOOK_TIMESTAMP)
            .ok_or(SignatureError::BadTimestamp)?
            .trim();
        let header = headers
            .get(WEBHOOK_SIGNATURE)
            .ok_or(SignatureError::Missing)?;
        let mut presented: Vec<[u8; 32]> = Vec::new();
        for entry in header.split(' ').filter(|e| !e.is_empty()) {
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
        check_timestamp(timestamp, now_s, self.tolerance_s)?;
        let mut matched = Choice::from(0);
        for key in &self.secrets.0 {
            let mac = hmac_sha256(
                key.expose(),
                &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
            );
            for candidate in &presented {
                matched |= mac.ct_eq(candidate);
            }
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// Which scheme the Salesloft path uses in this deployment.
#[derive(Debug, Clone)]
pub enum SalesloftScheme {
    Sha1(SalesloftSha1),
    Timestamped(SalesloftTimestamped),
}

/// The verifiers this deployment serves, one per provider. A provider without a secret has
/// no verifier and is not served.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    salesloft: Option<SalesloftScheme>,
    salesos: Option<SalesOsSha256>,
    standard: Option<StandardWebhooks>,
}

impl Verifier {
    /// A verifier serving Salesloft's plain HMAC-SHA1 with the given callback tokens.
    pub fn new(salesloft_tokens: Vec<Secret>) -> Self {
        Self::default().with_salesloft(salesloft_tokens)
    }

    /// Serves Salesloft's plain HMAC-SHA1 scheme with `tokens` (none: not served).
    pub fn with_salesloft(mut self, tokens: Vec<Secret>) -> Self {
        self.salesloft =
            (!tokens.is_empty()).then(|| SalesloftScheme::Sha1(SalesloftSha1::new(tokens)));
        self
    }

    /// Serves Salesloft's timestamped HMAC-SHA256 variant instead of the plain scheme.
    pub fn with_salesloft_timestamped(mut self, tokens: Vec<Secret>, tolerance_s: u64) -> Self {
        self.salesloft = (!tokens.is_empty())
            .then(|| SalesloftScheme::Timestamped(SalesloftTimestamped::new(tokens, tolerance_s)));
        self
    }

    /// Serves SalesOS with `secrets` (none: not served).
    pub fn with_salesos(mut self, secrets: Vec<Secret>) -> Self {
        self.salesos = (!secrets.is_empty()).then(|| SalesOsSha256::new(secrets));
        self
    }

    /// Serves Standard Webhooks with decoded `secrets` (none: not served).
    pub fn with_standard_webhooks(mut self, secrets: Vec<Secret>, tolerance_s: u64) -> Self {
        self.standard = (!secrets.is_empty()).then(|| StandardWebhooks::new(secrets, tolerance_s));
        self
    }

    /// Whether any secret is configured for `provider` (a provider without one is not served).
    pub fn serves(&self, provider: Provider) -> bool {
        match provider {
            Provider::Salesloft => self.salesloft.is_some(),
            Provider::SalesOs => self.salesos.is_some(),
            Provider::StandardWebhooks => self.standard.is_some(),
        }
    }

    /// The providers this verifier serves.
    pub fn served(&self) -> Vec<Provider> {
        Provider::ALL
            .into_iter()
            .filter(|p| self.serves(*p))
            .collect()
    }

    /// Verifies a delivery claimed to come from `provider` at `now_s` (unix seconds, used
    /// by the timestamped schemes).
    pub fn verify<'a>(
        &self,
        provider: Provider,
        body: &'a [u8],
        headers: &'a Headers,
        now_s: i64,
    ) -> Result<Verified<'a>, SignatureError> {
        match provider {
            Provider::Salesloft => match self.salesloft.as_ref().ok_or(SignatureError::NoSecret)? {
                SalesloftScheme::Sha1(v) => v.verify(body, headers)?,
                SalesloftScheme::Timestamped(v) => v.verify(body, headers, now_s)?,
            },
            Provider::SalesOs => self
                .salesos
                .as_ref()
                .ok_or(SignatureError::NoSecret)?
                .verify(body, headers)?,
            Provider::StandardWebhooks => self
                .standard
                .as_ref()
                .ok_or(SignatureError::NoSecret)?
                .verify(body, headers, now_s)?,
        }
        Ok(Verified {
            provider,
            body,
            headers,
        })
    }
}

/// Parses a unix-seconds timestamp (digits only) and checks it is within `tolerance_s` of
/// `now_s`, in both directions (old replays and clocks far ahead are both refused).
fn check_timestamp(text: &str, now_s: i64, tolerance_s: u64) -> Result<(), SignatureError> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::BadTimestamp);
    }
    let ts: i64 = text.parse().map_err(|_| SignatureError::BadTimestamp)?;
    if now_s.abs_diff(ts) > tolerance_s {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Hex HMAC-SHA256 of the concatenated parts; public so tools and tests sign like senders.
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(key, parts))
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Lowercase hex HMAC-SHA1; public so tools and tests sign exactly as Salesloft does.
pub fn salesloft_signature(token: &[u8], body: &[u8]) -> String {
    hex::encode(hmac_sha1(token, body))
}

fn hmac_sha1(key: &[u8], body: &[u8]) -> [u8; 20] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The secrets of one scheme. `Debug` shows how many, never what.
#[derive(Clone)]
struct Keys(Vec<Secret>);

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} secret(s)", self.0.len())
    }
}

impl Keys {
    /// Refuses to verify anything without a secret.
    fn require(&self) -> Result<(), SignatureError> {
        if self.0.is_empty() {
            Err(SignatureError::NoSecret)
        } else {
            Ok(())
        }
    }

    /// Tries every key (no early exit) and folds the results in constant time.
    fn any_matches<const N: usize>(
        &self,
        presented: &[u8; N],
        mac: impl Fn(&Secret) -> [u8; N],
    ) -> Result<(), SignatureError> {
        let mut matched = Choice::from(0);
        for key in &self.0 {
            matched |= mac(key).ct_eq(presented);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// Decodes exactly `N` bytes of hex (either case). Anything else is `None`.
fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return None;
    }
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        Headers::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn hmac_sha1_matches_rfc_2202_known_answers() {
        // RFC 2202 test cases 1 and 2.
        assert_eq!(
            salesloft_signature(&[0x0b; 20], b"Hi There"),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            salesloft_signature(b"Jefe", b"what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        // RFC 2202 test case 6: a key longer than the block size is hashed first.
        assert_eq!(
            salesloft_signature(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn salesloft_signature_over_the_raw_body_verifies() {
        let body = br#"{"id":1,"first_name":"Ada"}"#;
        let sig = salesloft_signature(b"tok", body);
        let h = headers(&[(SALESLOFT_SIGNATURE, &sig)]);
        let v = Verifier::new(vec![Secret::new("tok")]);
        let verified = v.verify(Provider::Salesloft, body, &h, 0).unwrap();
        assert_eq!(verified.provider(), Provider::Salesloft);
        assert_eq!(verified.body(), body);
    }

    #[test]
    fn uppercase_hex_and_surrounding_spaces_are_accepted() {
        let body = b"{}";
        let sig = salesloft_signature(b"tok", body).to_uppercase();
        let h = headers(&[(SALESLOFT_SIGNATURE, &format!(" {sig} "))]);
        let v = Verifier::new(vec![Secret::new("tok")]);
        assert!(v.verify(Provider::Salesloft, body, &h, 0).is_ok());
    }

    #[test]
    fn any_of_several_configured_tokens_verifies() {
        let body = b"{\"id\":2}";
        let v = Verifier::new(vec![
            Secret::new("first"),
            Secret::new("second"),
            Secret::new("third"),
        ]);
        for tok in ["first", "second", "third"] {
            let h = headers(&[(
                SALESLOFT_SIGNATURE,
                &salesloft_signature(tok.as_bytes(), body),
            )]);
            assert!(v.verify(Provider::Salesloft, body, &h, 0).is_ok(), "{tok}");
        }
    }

    #[test]
    fn every_rejection_case_is_named() {
        let body = b"{\"id\":3}";
        let v = Verifier::new(vec![Secret::new("tok")]);
        let good = salesloft_signature(b"tok", body);
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
                headers(&[(SALESLOFT_SIGNATURE, &salesloft_signature(b"other", body))]),
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
        let v = Verifier::new(vec![Secret::new("tok")]);
        let sig = salesloft_signature(b"tok", b"{\"id\":1}");
        let h = headers(&[(SALESLOFT_SIGNATURE, &sig)]);
        assert_eq!(
            v.verify(Provider::Salesloft, b"{\"id\":2}", &h, 0)
                .unwrap_err(),
            SignatureError::Mismatch
        );
    }

    #[test]
    fn a_provider_without_secrets_is_not_served() {
        let v = Verifier::new(vec![]);
        assert!(!v.serves(Provider::Salesloft));
        let h = headers(&[(SALESLOFT_SIGNATURE, &"0".repeat(40))]);
        assert_eq!(
            v.verify(Provider::Salesloft, b"{}", &h, 0).unwrap_err(),
            SignatureError::NoSecret
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let v = Verifier::new(vec![Secret::new("super-secret-token")]);
        let shown = format!("{v:?} {:?}", Secret::new("super-secret-token"));
        assert!(!shown.contains("super-secret-token"), "{shown}");
    }

    // ---- SalesOS ----

    fn salesos() -> Verifier {
        Verifier::default().with_salesos(vec![Secret::new("old"), Secret::new("so_secret")])
    }

    #[test]
    fn salesos_hmac_sha256_matches_rfc_4231_known_answer() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", &[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn salesos_signature_over_the_raw_body_verifies_with_any_secret() {
        let body = br#"{"id":"evt_abc123","type":"lead.created","data":{"id":"lead_1"}}"#;
        for key in ["old", "so_secret"] {
            let sig = hmac_sha256_hex(key.as_bytes(), &[body]);
            let h = headers(&[(SALESOS_SIGNATURE, &sig)]);
            assert!(salesos().verify(Provider::SalesOs, body, &h, 0).is_ok());
            let h = headers(&[(SALESOS_SIGNATURE, &format!("sha256={sig}"))]);
            assert!(salesos().verify(Provider::SalesOs, body, &h, 0).is_ok());
        }
    }

    #[test]
    fn salesos_rejects_wrong_key_truncated_and_wrongly_encoded_signatures() {
        let body = br#"{"id":"evt_1"}"#;
        let good = hmac_sha256_hex(b"so_secret", &[body]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&good).unwrap());
        let cases = [
            (hmac_sha256_hex(b"wrong", &[body]), SignatureError::Mismatch),
            (good[..63].to_string(), SignatureError::Malformed),
            (good[..40].to_string(), SignatureError::Malformed),
            (b64, SignatureError::Malformed),
            (
                salesloft_signature(b"so_secret", body),
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

    // ---- Salesloft, timestamped ----

    const NOW_S: i64 = 1_795_442_400;

    fn timestamped() -> Verifier {
        Verifier::default().with_salesloft_timestamped(vec![Secret::new("tok")], 300)
    }

    fn timestamped_headers(key: &[u8], ts: &str, body: &[u8]) -> Headers {
        let sig = hmac_sha256_hex(key, &[ts.as_bytes(), b".", body]);
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
                (SALESLOFT_SIGNATURE, &salesloft_signature(b"tok", body)),
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

    // ---- Standard Webhooks ----

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
        serde_json::from_str(include_str!("../tests/data/standard_webhooks_vectors.json")).unwrap()
    }

    fn standard(v: &Vectors) -> Verifier {
        Verifier::default().with_standard_webhooks(
            vec![StandardWebhooks::parse_secret(&v.secret).unwrap()],
            v.tolerance_seconds,
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
    fn a_provider_is_served_only_with_a_secret_and_others_are_refused() {
        let v = Verifier::default().with_salesos(vec![Secret::new("s")]);
        assert_eq!(v.served(), vec![Provider::SalesOs]);
        assert_eq!(
            v.verify(Provider::StandardWebhooks, b"{}", &headers(&[]), 0)
                .unwrap_err(),
            SignatureError::NoSecret
        );
    }
}
