//! Configuration, read once at cold start from the environment into a typed [`Config`].
//! A bad value stops the start with a message naming the variable; nothing is guessed.

use std::time::Duration;

use crate::routing::{RouteError, RouteSpec, RouteTable};
use crate::signature::{Provider, Secret, Verifier};

/// SQS's limit on a message, attributes included.
pub const SQS_MAX_MESSAGE_BYTES: usize = 1_048_576;
/// Room kept for the envelope around the payload and for the message attributes: the
/// envelope's fixed text, provider, event type (at most 128 bytes), event id (at most 256),
/// timestamp, and the three attributes with their names and types come to well under this.
pub const ENVELOPE_RESERVE_BYTES: usize = 4_096;
/// The largest body that still fits one SQS message once wrapped.
pub const DEFAULT_MAX_BODY_BYTES: usize = SQS_MAX_MESSAGE_BYTES - ENVELOPE_RESERVE_BYTES;
/// Seven days.
pub const DEFAULT_DEDUP_TTL_SECONDS: u64 = 604_800;

/// Everything the function needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub routes: RouteTable,
    pub verifier: Verifier,
    pub dedup_ttl: Duration,
    pub max_body_bytes: usize,
}

/// What is wrong with the environment; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("ROUTES is invalid: {0}")]
    Routes(#[from] RouteError),
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let table_name = get("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let table_ok = (3..=255).contains(&table_name.len())
            && table_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !table_ok {
            return Err(ConfigError::Invalid {
                name: "TABLE_NAME",
                reason: "must be 3 to 255 characters of letters, digits, '_', '-' or '.'".into(),
            });
        }

        let salesloft = get("SALESLOFT_SECRETS")
            .map(|v| parse_secret_list(&v))
            .unwrap_or_default();
        if salesloft.is_empty() {
            return Err(ConfigError::Missing("SALESLOFT_SECRETS"));
        }
        let verifier = Verifier::new(salesloft);
        let served: Vec<Provider> = Provider::ALL
            .into_iter()
            .filter(|p| verifier.serves(*p))
            .collect();

        let specs: Vec<RouteSpec> = match get("ROUTES") {
            None => Vec::new(),
            Some(json) => serde_json::from_str(&json).map_err(|e| ConfigError::Invalid {
                name: "ROUTES",
                reason: format!(
                    "expected a JSON list of {{\"name\",\"queue_url\",\"events\",\"providers\"}}: {e}"
                ),
            })?,
        };
        let routes = RouteTable::new(get("QUEUE_URL"), specs, &served)?;

        let dedup_ttl_s = parse_number("DEDUP_TTL_SECONDS", get("DEDUP_TTL_SECONDS"))?
            .unwrap_or(DEFAULT_DEDUP_TTL_SECONDS);
        if dedup_ttl_s < 60 {
            return Err(ConfigError::Invalid {
                name: "DEDUP_TTL_SECONDS",
                reason: "must be at least 60 seconds".into(),
            });
        }

        let max_body_bytes = parse_number("MAX_BODY_BYTES", get("MAX_BODY_BYTES"))?
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if !(1..=DEFAULT_MAX_BODY_BYTES).contains(&max_body_bytes) {
            return Err(ConfigError::Invalid {
                name: "MAX_BODY_BYTES",
                reason: format!(
                    "must be between 1 and {DEFAULT_MAX_BODY_BYTES} (an SQS message is at most {SQS_MAX_MESSAGE_BYTES} bytes with the envelope)"
                ),
            });
        }

        Ok(Config {
            table_name,
            routes,
            verifier,
            dedup_ttl: Duration::from_secs(dedup_ttl_s),
            max_body_bytes,
        })
    }
}

/// Splits a comma-separated token list, trimming spaces and dropping empty entries.
pub fn parse_secret_list(value: &str) -> Vec<Secret> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .collect()
}

fn parse_number(name: &'static str, value: Option<String>) -> Result<Option<u64>, ConfigError> {
    value
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("{v:?} is not a whole number"),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const Q: &str = "http://127.0.0.1:5000/123456789012/events";

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const MINIMAL: [(&str, &str); 3] = [
        ("TABLE_NAME", "webhook-dedup"),
        ("QUEUE_URL", Q),
        ("SALESLOFT_SECRETS", "tok1, tok2,,"),
    ];

    #[test]
    fn a_minimal_environment_gets_the_documented_defaults() {
        let c = config(&MINIMAL).unwrap();
        assert_eq!(c.table_name, "webhook-dedup");
        assert_eq!(c.dedup_ttl, Duration::from_secs(604_800));
        assert_eq!(c.max_body_bytes, 1_044_480);
        assert!(c.verifier.serves(Provider::Salesloft));
        assert_eq!(c.routes.all().count(), 1);
    }

    #[test]
    fn missing_required_variables_are_named() {
        assert_eq!(
            config(&[("QUEUE_URL", Q), ("SALESLOFT_SECRETS", "t")]).unwrap_err(),
            ConfigError::Missing("TABLE_NAME")
        );
        assert_eq!(
            config(&[
                ("TABLE_NAME", "tbl"),
                ("QUEUE_URL", Q),
                ("SALESLOFT_SECRETS", " , ")
            ])
            .unwrap_err(),
            ConfigError::Missing("SALESLOFT_SECRETS")
        );
        let err = config(&[("TABLE_NAME", "tbl"), ("SALESLOFT_SECRETS", "t")]).unwrap_err();
        assert!(err.to_string().contains("QUEUE_URL"), "{err}");
    }

    #[test]
    fn malformed_values_are_refused_with_a_clear_message() {
        let with = |k: &'static str, v: &'static str| {
            let mut pairs = MINIMAL.to_vec();
            pairs.push((k, v));
            config(&pairs).unwrap_err().to_string()
        };
        assert!(with("DEDUP_TTL_SECONDS", "seven days").contains("DEDUP_TTL_SECONDS"));
        assert!(with("DEDUP_TTL_SECONDS", "5").contains("at least 60"));
        assert!(with("MAX_BODY_BYTES", "0").contains("MAX_BODY_BYTES"));
        assert!(with("MAX_BODY_BYTES", "2000000").contains("1048576"));
        assert!(with("ROUTES", "{not json").contains("ROUTES"));
        assert!(
            with("ROUTES", r#"[{"name":"x","queue_url":"q","events":["*"]}]"#)
                .contains("queue_url")
        );
        assert!(with("TABLE_NAME", "a b").contains("TABLE_NAME"));
    }

    #[test]
    fn routes_are_read_from_json() {
        let mut pairs = MINIMAL.to_vec();
        let routes = format!(
            r#"[{{"name":"emails","queue_url":"{Q}-emails","events":["email_*"],"providers":["salesloft"]}}]"#
        );
        pairs.push(("ROUTES", &routes));
        let c = config(&pairs).unwrap();
        let d = c.routes.destinations(Provider::Salesloft, "email_updated");
        assert_eq!(d[0].name, "emails");
    }

    #[test]
    fn secrets_do_not_appear_in_the_debug_output_of_the_config() {
        let c = config(&MINIMAL).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("tok1") && !shown.contains("tok2"),
            "{shown}"
        );
    }
}
