//! Signature verification: pure functions over the raw body bytes, the request headers and
//! the current time. No I/O, no AWS types, no allocation of the body.
//!
//! Only [`Verifier::verify`] can construct a [`Verified`] value, so the rest of the pipeline
//! cannot be handed an unverified delivery by mistake (the typestate idea from svix's bridge).
//! Every comparison of a computed MAC against a presented one goes through
//! [`subtle::ConstantTimeEq`], and every configured key is tried even after one has matched,
//! so timing reveals neither the MAC nor which key matched.

use std::fmt;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::{Choice, ConstantTimeEq};

use crate::headers::Headers;

/// Header carrying Salesloft's signature.
pub const SALESLOFT_SIGNATURE: &str = "x-salesloft-signature";
/// Header carrying Salesloft's event type.
pub const SALESLOFT_EVENT: &str = "x-salesloft-event";

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
    /// Salesloft: HMAC-SHA1 of the raw body, hex, in `x-salesloft-signature`.
    Salesloft,
}

impl Provider {
    /// The provider's name as it appears in keys, envelopes and message attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Salesloft => "salesloft",
        }
    }

    /// The provider named `name` (as in [`Provider::as_str`]), if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Every provider this build knows.
    pub const ALL: [Provider; 1] = [Provider::Salesloft];
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
#[derive(Clone)]
pub struct SalesloftSha1 {
    tokens: Vec<Secret>,
}

impl fmt::Debug for SalesloftSha1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesloftSha1")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl SalesloftSha1 {
    /// A verifier accepting a signature made with any of `tokens`.
    pub fn new(tokens: Vec<Secret>) -> Self {
        Self { tokens }
    }

    /// Checks `headers[x-salesloft-signature]` against the body.
    pub fn verify(&self, body: &[u8], headers: &Headers) -> Result<(), SignatureError> {
        if self.tokens.is_empty() {
            return Err(SignatureError::NoSecret);
        }
        let presented = headers
            .get(SALESLOFT_SIGNATURE)
            .ok_or(SignatureError::Missing)?;
        let presented = decode_hex::<20>(presented.trim()).ok_or(SignatureError::Malformed)?;
        let matched = any_key_matches(&self.tokens, &presented, |key| {
            hmac_sha1(key.expose(), body)
        });
        if matched {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// The verifiers this deployment serves, one per provider.
#[derive(Debug, Clone)]
pub struct Verifier {
    salesloft: Option<SalesloftSha1>,
}

impl Verifier {
    /// A verifier serving Salesloft with the given callback tokens.
    pub fn new(salesloft_tokens: Vec<Secret>) -> Self {
        Self {
            salesloft: (!salesloft_tokens.is_empty()).then(|| SalesloftSha1::new(salesloft_tokens)),
        }
    }

    /// Whether any secret is configured for `provider` (a provider without one is not served).
    pub fn serves(&self, provider: Provider) -> bool {
        match provider {
            Provider::Salesloft => self.salesloft.is_some(),
        }
    }

    /// Verifies a delivery claimed to come from `provider`. `now_s` (unix seconds) is used by
    /// timestamped schemes; Salesloft's plain scheme has no timestamp to check.
    pub fn verify<'a>(
        &self,
        provider: Provider,
        body: &'a [u8],
        headers: &'a Headers,
        _now_s: i64,
    ) -> Result<Verified<'a>, SignatureError> {
        match provider {
            Provider::Salesloft => self
                .salesloft
                .as_ref()
                .ok_or(SignatureError::NoSecret)?
                .verify(body, headers)?,
        }
        Ok(Verified {
            provider,
            body,
            headers,
        })
    }
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

/// Tries every key (no early exit) and folds the results in constant time.
fn any_key_matches<const N: usize>(
    keys: &[Secret],
    presented: &[u8; N],
    mac: impl Fn(&Secret) -> [u8; N],
) -> bool {
    let mut matched = Choice::from(0);
    for key in keys {
        matched |= mac(key).ct_eq(presented);
    }
    matched.into()
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
}
