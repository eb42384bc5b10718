//! Signature verification, the parts every sender shares: secrets that never print, the
//! constant-time match over every configured key, HMAC helpers, the timestamp window, and the
//! [`Verifier`] that holds each served sender's keys and dispatches to its scheme (the schemes
//! themselves live in [`crate::senders`]). Pure: no I/O, no AWS types, no copy of the body.
//!
//! Only [`Verifier::verify`] can construct a [`Verified`] value, so the rest of the pipeline
//! cannot be handed an unverified delivery by mistake (the typestate idea from svix's bridge).
//! Every comparison of a computed MAC against a presented one goes through
//! [`subtle::ConstantTimeEq`], and every configured key is tried even after one has matched,
//! so timing reveals neither the MAC nor which key matched.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

use crate::headers::Headers;
use crate::senders::{Provider, SenderSettings};

/// Default replay window of the timestamped schemes, in seconds.
pub const DEFAULT_TOLERANCE_S: u64 = 300;

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

/// The keys this deployment holds for each served sender, and the senders' scheme settings.
/// A sender without a key is not served.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    keys: BTreeMap<Provider, Keys>,
    settings: SenderSettings,
}

impl Verifier {
    /// A verifier with the given scheme settings and no keys yet.
    pub fn new(settings: SenderSettings) -> Self {
        Self {
            keys: BTreeMap::new(),
            settings,
        }
    }

    /// Serves `provider` with `secrets`, each valid for any event type (none: not served).
    pub fn with_keys(self, provider: Provider, secrets: Vec<Secret>) -> Self {
        self.with_scoped_keys(provider, secrets.into_iter().map(Key::any).collect())
    }

    /// Serves `provider` with `keys`, each limited to its event types (none: not served).
    pub fn with_scoped_keys(mut self, provider: Provider, keys: Vec<Key>) -> Self {
        if keys.is_empty() {
            self.keys.remove(&provider);
        } else {
            self.keys.insert(provider, Keys(keys));
        }
        self
    }

    /// The scheme settings in use.
    pub fn settings(&self) -> &SenderSettings {
        &self.settings
    }

    /// Whether any secret is configured for `provider` (a provider without one is not served).
    pub fn serves(&self, provider: Provider) -> bool {
        self.keys.contains_key(&provider)
    }

    /// The providers this verifier serves.
    pub fn served(&self) -> Vec<Provider> {
        self.keys.keys().copied().collect()
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
        let keys = self.keys.get(&provider).ok_or(SignatureError::NoSecret)?;
        self.settings.verify(provider, keys, body, headers, now_s)?;
        Ok(Verified {
            provider,
            body,
            headers,
        })
    }
}

/// One secret and the event types it may sign: `None` for any type. A sender whose event
/// type is not covered by the signature (Salesloft's `x-salesloft-event` header) gives each
/// subscription, so each event type, its own token; binding the token to its type stops a
/// captured body from being replayed under another type.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    secret: Secret,
    event_types: Option<BTreeSet<String>>,
}

impl Key {
    /// A key valid for any event type.
    pub fn any(secret: Secret) -> Self {
        Self {
            secret,
            event_types: None,
        }
    }

    /// A key valid only for `event_types`.
    pub fn bound(secret: Secret, event_types: impl IntoIterator<Item = String>) -> Self {
        Self {
            secret,
            event_types: Some(event_types.into_iter().collect()),
        }
    }

    /// The key bytes' wrapper.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The event types this key may sign (`None`: any).
    pub fn event_types(&self) -> Option<&BTreeSet<String>> {
        self.event_types.as_ref()
    }

    /// Whether this key may sign an event of `event_type` (unknown type: only an unbound key).
    pub fn allows(&self, event_type: Option<&str>) -> bool {
        match (&self.event_types, event_type) {
            (None, _) => true,
            (Some(types), Some(t)) => types.contains(t),
            (Some(_), None) => false,
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("secret", &self.secret)
            .field("event_types", &self.event_types)
            .finish()
    }
}

/// The keys of one sender. `Debug` shows how many, never what.
#[derive(Clone, Default)]
pub struct Keys(Vec<Key>);

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} secret(s)", self.0.len())
    }
}

impl Keys {
    /// Every secret, to compute a MAC with each.
    pub fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.0.iter().map(|k| &k.secret)
    }

    /// Refuses to verify anything without a secret.
    pub fn require(&self) -> Result<(), SignatureError> {
        if self.0.is_empty() {
            Err(SignatureError::NoSecret)
        } else {
            Ok(())
        }
    }

    /// Tries every key (no early exit) and folds the results in constant time: `Ok` when
    /// the MAC of some key equals `presented`. Keys bound to event types count only for
    /// schemes that call [`Keys::any_matches_for`]; here every key counts.
    pub fn any_matches<const N: usize>(
        &self,
        presented: &[u8; N],
        mac: impl Fn(&Secret) -> [u8; N],
    ) -> Result<(), SignatureError> {
        self.fold(presented, mac, |_| true)
    }

    /// As [`Keys::any_matches`], but a key counts only if it may sign `event_type`. The
    /// scope check is on public data (the header), folded without early exit like the MACs.
    pub fn any_matches_for<const N: usize>(
        &self,
        event_type: Option<&str>,
        presented: &[u8; N],
        mac: impl Fn(&Secret) -> [u8; N],
    ) -> Result<(), SignatureError> {
        self.fold(presented, mac, |key| key.allows(event_type))
    }

    fn fold<const N: usize>(
        &self,
        presented: &[u8; N],
        mac: impl Fn(&Secret) -> [u8; N],
        allowed: impl Fn(&Key) -> bool,
    ) -> Result<(), SignatureError> {
        let mut matched = Choice::from(0);
        for key in &self.0 {
            matched |= mac(&key.secret).ct_eq(presented) & Choice::from(u8::from(allowed(key)));
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// Whether any of `candidates` equals `mac`, folded in constant time over all of them.
pub fn ct_any<const N: usize>(mac: &[u8; N], candidates: &[[u8; N]]) -> Choice {
    let mut matched = Choice::from(0);
    for candidate in candidates {
        matched |= mac.ct_eq(candidate);
    }
    matched
}

/// Parses a unix-seconds timestamp (digits only) and checks it is within `tolerance_s` of
/// `now_s`, in both directions (old replays and clocks far ahead are both refused).
pub(crate) fn check_timestamp(
    text: &str,
    now_s: i64,
    tolerance_s: u64,
) -> Result<(), SignatureError> {
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

pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

pub(crate) fn hmac_sha1(key: &[u8], body: &[u8]) -> [u8; 20] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Decodes exactly `N` bytes of hex (either case). Anything else is `None`.
pub(crate) fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return None;
    }
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
pub(crate) fn test_headers(pairs: &[(&str, &str)]) -> Headers {
    Headers::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_known_answer() {
        // RFC 4231 test case 2, given in two parts to check they are concatenated.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", &[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_provider_without_secrets_is_not_served() {
        let v = Verifier::default().with_keys(Provider::Salesloft, vec![]);
        assert!(!v.serves(Provider::Salesloft));
        let h = test_headers(&[("x-salesloft-signature", &"0".repeat(40))]);
        assert_eq!(
            v.verify(Provider::Salesloft, b"{}", &h, 0).unwrap_err(),
            SignatureError::NoSecret
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let v = Verifier::default()
            .with_keys(Provider::Salesloft, vec![Secret::new("super-secret-token")]);
        let shown = format!("{v:?} {:?}", Secret::new("super-secret-token"));
        assert!(!shown.contains("super-secret-token"), "{shown}");
    }

    #[test]
    fn a_provider_is_served_only_with_a_secret_and_others_are_refused() {
        let v = Verifier::default().with_keys(Provider::SalesOs, vec![Secret::new("s")]);
        assert_eq!(v.served(), vec![Provider::SalesOs]);
        assert_eq!(
            v.verify(Provider::StandardWebhooks, b"{}", &test_headers(&[]), 0)
                .unwrap_err(),
            SignatureError::NoSecret
        );
    }

    #[test]
    fn hex_decoding_takes_exactly_the_expected_length_in_either_case() {
        assert_eq!(decode_hex::<2>("abCD"), Some([0xab, 0xcd]));
        assert_eq!(decode_hex::<2>("abc"), None);
        assert_eq!(decode_hex::<2>("abcdef"), None);
        assert_eq!(decode_hex::<2>("zzzz"), None);
    }
}
