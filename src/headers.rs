//! Request headers as a Function URL delivers them: a map from name to one string value.
//! Names are compared case-insensitively (stored lowercase). A Function URL joins repeated
//! headers with commas, so a repeated signature header reaches the verifier as one malformed
//! value and is refused, never half-accepted.

use std::collections::BTreeMap;

/// Case-insensitive header map with one value per name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(BTreeMap<String, String>);

impl Headers {
    /// Builds the map; names are lowercased, and a name given twice keeps both values joined
    /// with `,` exactly as a Function URL would present them.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut map: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in pairs {
            map.entry(name.to_ascii_lowercase())
                .and_modify(|existing| {
                    existing.push(',');
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        Self(map)
    }

    /// The headers of an `http` request. Repeated names are joined with `,` as above; a value
    /// that is not UTF-8 is kept with its invalid bytes replaced (it can only be malformed).
    pub fn from_header_map(map: &lambda_http::http::HeaderMap) -> Self {
        Self::from_pairs(map.iter().map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        }))
    }

    /// The value of `name` (any case), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.0.get(&name.to_ascii_lowercase()).map(String::as_str)
        } else {
            self.0.get(name).map(String::as_str)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_matched_regardless_of_case() {
        let h = Headers::from_pairs([("X-Salesloft-Event".to_string(), "a".to_string())]);
        assert_eq!(h.get("x-salesloft-event"), Some("a"));
        assert_eq!(h.get("X-SALESLOFT-EVENT"), Some("a"));
    }

    #[test]
    fn a_repeated_header_is_joined_with_a_comma() {
        let h = Headers::from_pairs([
            ("a".to_string(), "1".to_string()),
            ("A".to_string(), "2".to_string()),
        ]);
        assert_eq!(h.get("a"), Some("1,2"));
    }
}
