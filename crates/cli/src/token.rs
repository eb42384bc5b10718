//! Callback tokens: generated here, shown only by their first four characters.

use std::fmt;

use rand::RngCore;

/// Bytes of entropy in a generated token.
pub const TOKEN_BYTES: usize = 32;

/// How many leading characters of a token may be shown (to tell tokens apart).
pub const SHOWN_CHARS: usize = 4;

/// A callback token. `Debug` and `Display` show its first four characters only, so a token
/// cannot reach the output by accident; [`Token::expose`] is the one way to the whole value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(String);

impl Token {
    /// A new token: 32 random bytes from the operating system's generator (through rand's
    /// thread-local CSPRNG, seeded from it), hex encoded (64 characters, no comma, no space:
    /// safe in every form of the secret document).
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Token(hex::encode(bytes))
    }

    /// An existing token (from the secret or from Salesloft).
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// The whole token: only for the secret document and the API request that sets it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first four characters, followed by an ellipsis.
    pub fn prefix(&self) -> String {
        let shown: String = self.0.chars().take(SHOWN_CHARS).collect();
        format!("{shown}…")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", self.prefix())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix())
    }
}

/// `text` with every occurrence of each of `secrets` replaced by its first four characters
/// (for text that comes from elsewhere, e.g. an API error body, and may echo a request).
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() > SHOWN_CHARS) {
        out = out.replace(secret, &Token::new(*secret).prefix());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_tokens_are_64_hex_characters_and_distinct() {
        let tokens: HashSet<String> = (0..1000)
            .map(|_| Token::generate().expose().to_string())
            .collect();
        assert_eq!(tokens.len(), 1000);
        for t in &tokens {
            assert_eq!(t.len(), 2 * TOKEN_BYTES);
            assert!(t
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
    }

    #[test]
    fn a_token_shows_only_its_first_four_characters() {
        let t = Token::new("abcdefghijklmnop");
        assert_eq!(t.to_string(), "abcd…");
        assert_eq!(format!("{t:?}"), "Token(abcd…)");
        assert_eq!(t.expose(), "abcdefghijklmnop");
    }

    #[test]
    fn scrub_replaces_every_secret() {
        let text = "token abcdefgh rejected; key sk_live_123456 bad; abcdefgh again";
        assert_eq!(
            scrub(text, &["abcdefgh", "sk_live_123456"]),
            "token abcd… rejected; key sk_l… bad; abcd… again"
        );
    }
}
