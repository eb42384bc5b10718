//! Configuration, read once at cold start from the environment into a typed [`Config`].
//! A bad value stops the start with a message naming the variable; nothing is guessed.
//! Each sender's own variables are read by its module (`Sender::settings`), and secrets given
//! in the environment are parsed by [`crate::secrets`]; this module only assembles them.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::destinations::{RouteError, RouteSpec, RouteTable, SQS_MAX_MESSAGE_BYTES};
use crate::secrets::SenderKeys;
use crate::senders::{Provider, SenderSettings};
use crate::signature::Verifier;
use crate::spool::redrive::RedrivePolicy;

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
    pub secrets: SecretSource,
    /// The senders' scheme settings (kept to rebuild the verifier when secrets rotate).
    pub settings: SenderSettings,
    pub dedup_ttl: Duration,
    pub max_body_bytes: usize,
    /// The spool's bucket (`SPOOL_BUCKET`); unset: no spool.
    pub spool_bucket: Option<String>,
    /// When the redrive gives up on a spooled delivery.
    pub redrive: RedrivePolicy,
}

/// What is wrong with the environment; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{0} must be set")]
    MissingOneOf(String),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("ROUTES is invalid: {0}")]
    Routes(#[from] RouteError),
}

/// Where the senders' secrets come from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// Each sender's `*_SECRETS` variable (local runs).
    Environment(SenderKeys),
    /// A Secrets Manager secret (`SECRET_ARN`), re-read every `refresh`.
    SecretsManager {
        secret_id: String,
        refresh: Duration,
    },
}

/// The environment as configuration reads it: a lookup where empty values count as unset.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The value of `name`, unless unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`), if set.
    pub fn bool(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        self.get(name)
            .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ConfigError::Invalid {
                    name,
                    reason: format!("{v:?} is not true or false"),
                }),
            })
            .transpose()
    }

    /// A whole number, if set.
    pub fn number(&self, name: &'static str) -> Result<Option<u64>, ConfigError> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
                    name,
                    reason: format!("{v:?} is not a whole number"),
                })
            })
            .transpose()
    }

    /// A whole number of seconds within `range`, or `default` when unset.
    pub fn number_in(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let value = self.number(name)?.unwrap_or(default);
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::Invalid {
                name,
                reason: format!(
                    "must be between {} and {} seconds",
                    range.start(),
                    range.end()
                ),
            })
        }
    }
}

/// The route list in the variable `name` (unset: none).
fn route_specs(env: &Env<'_>, name: &'static str) -> Result<Vec<RouteSpec>, ConfigError> {
    match env.get(name) {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(&json).map_err(|e| ConfigError::Invalid {
            name,
            reason: format!(
                "expected a JSON list of {{\"name\",\"queue_url\",\"events\",\"providers\",\"copy\"}}: {e}"
            ),
        }),
    }
}

impl Config {
    /// The verifier for secrets given in the environment (`None` with `SECRET_ARN`).
    pub fn env_verifier(&self) -> Option<Verifier> {
        match &self.secrets {
            SecretSource::Environment(keys) => Some(keys.verifier(&self.settings)),
            SecretSource::SecretsManager { .. } => None,
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The redrive's configuration from the process environment: as the webhook's, but no
    /// sender secret is needed (it re-verifies nothing) and `SPOOL_BUCKET` is required.
    pub fn for_redrive_from_env() -> Result<Self, ConfigError> {
        Self::for_redrive(|name| std::env::var(name).ok())
    }

    /// See [`Config::for_redrive_from_env`].
    pub fn for_redrive(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let config = Self::read(&lookup, false)?;
        if config.spool_bucket.is_none() {
            return Err(ConfigError::Missing("SPOOL_BUCKET"));
        }
        Ok(config)
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&lookup, true)
    }

    fn read(
        lookup: &dyn Fn(&str) -> Option<String>,
        needs_secrets: bool,
    ) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);

        let table_name = env
            .get("TABLE_NAME")
            .ok_or(ConfigError::Missing("TABLE_NAME"))?;
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

        let settings = SenderSettings::from_env(&env)?;
        let env_keys = SenderKeys::from_env(&env)?;
        let (secrets, served) = match env.get("SECRET_ARN") {
            Some(secret_id) => {
                let refresh_s = env.number_in("SECRET_REFRESH_SECONDS", 300, 10..=3600)?;
                // Any sender may appear in the secret later, so routes must cover them all.
                (
                    SecretSource::SecretsManager {
                        secret_id,
                        refresh: Duration::from_secs(refresh_s),
                    },
                    Provider::ALL.to_vec(),
                )
            }
            None if !needs_secrets => (SecretSource::Environment(env_keys), Provider::ALL.to_vec()),
            None => {
                let served = env_keys.verifier(&settings).served();
                if served.is_empty() {
                    let names: Vec<&str> = Provider::ALL.iter().map(|p| p.secrets_env()).collect();
                    return Err(ConfigError::MissingOneOf(format!(
                        "{} (or {}, or SECRET_ARN)",
                        names[0],
                        names[1..].join(", ")
                    )));
                }
                (SecretSource::Environment(env_keys), served)
            }
        };

        // The user's routes, then the ones the deployment template adds (the example
        // consumer's copy route), so the template never has to merge JSON into ROUTES.
        let mut specs = route_specs(&env, "ROUTES")?;
        specs.extend(route_specs(&env, "TEMPLATE_ROUTES")?);
        let routes = RouteTable::new(env.get("QUEUE_URL"), specs, &served)?;

        let dedup_ttl_s = env
            .number("DEDUP_TTL_SECONDS")?
            .unwrap_or(DEFAULT_DEDUP_TTL_SECONDS);
        if dedup_ttl_s < 60 {
            return Err(ConfigError::Invalid {
                name: "DEDUP_TTL_SECONDS",
                reason: "must be at least 60 seconds".into(),
            });
        }

        let max_body_bytes = env
            .number("MAX_BODY_BYTES")?
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

        let spool_bucket = env.get("SPOOL_BUCKET");
        if let Some(bucket) = &spool_bucket {
            let ok = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.')
                });
            if !ok {
                return Err(ConfigError::Invalid {
                    name: "SPOOL_BUCKET",
                    reason:
                        "must be an S3 bucket name (3 to 63 lowercase letters, digits, '-' or '.')"
                            .into(),
                });
            }
        }
        let defaults = RedrivePolicy::default();
        let redrive = RedrivePolicy {
            max_attempts: env.number_in(
                "SPOOL_MAX_ATTEMPTS",
                u64::from(defaults.max_attempts),
                1..=10_000,
            )? as u32,
            max_age: Duration::from_secs(env.number_in(
                "SPOOL_MAX_AGE_SECONDS",
                defaults.max_age.as_secs(),
                60..=dedup_ttl_s,
            )?),
            ..defaults
        };

        Ok(Config {
            table_name,
            routes,
            secrets,
            settings,
            dedup_ttl: Duration::from_secs(dedup_ttl_s),
            max_body_bytes,
            spool_bucket,
            redrive,
        })
    }
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
        assert!(c.env_verifier().unwrap().serves(Provider::Salesloft));
        assert_eq!(c.routes.all().count(), 1);
    }

    #[test]
    fn missing_required_variables_are_named() {
        assert_eq!(
            config(&[("QUEUE_URL", Q), ("SALESLOFT_SECRETS", "t")]).unwrap_err(),
            ConfigError::Missing("TABLE_NAME")
        );
        let err = config(&[
            ("TABLE_NAME", "tbl"),
            ("QUEUE_URL", Q),
            ("SALESLOFT_SECRETS", " , "),
        ])
        .unwrap_err();
        assert!(err.to_string().starts_with("SALESLOFT_SECRETS"), "{err}");
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
        assert!(with("SALESLOFT_THIRD_PARTY_TIMESTAMPED", "maybe")
            .contains("SALESLOFT_THIRD_PARTY_TIMESTAMPED"));
        assert!(with("SALESLOFT_TOLERANCE_SECONDS", "0").contains("SALESLOFT_TOLERANCE_SECONDS"));
        let bad_whsec = with(
            "STANDARD_WEBHOOKS_SECRETS",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,whsec_!!notbase64!!",
        );
        assert!(
            bad_whsec.contains("STANDARD_WEBHOOKS_SECRETS") && bad_whsec.contains("entry 2"),
            "{bad_whsec}"
        );
        assert!(
            !bad_whsec.contains("notbase64"),
            "the secret must not be echoed: {bad_whsec}"
        );
    }

    #[test]
    fn each_sender_is_served_only_when_it_has_a_secret() {
        let c = config(&[
            ("TABLE_NAME", "tbl"),
            ("QUEUE_URL", Q),
            ("SALESOS_SECRETS", "s1"),
            (
                "STANDARD_WEBHOOKS_SECRETS",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
        ])
        .unwrap();
        assert!(!c.env_verifier().unwrap().serves(Provider::Salesloft));
        assert!(c.env_verifier().unwrap().serves(Provider::SalesOs));
        assert!(c.env_verifier().unwrap().serves(Provider::StandardWebhooks));
        assert_eq!(c.settings.standard.tolerance_s, 300);
        assert!(!c.settings.salesloft.timestamped);
    }

    #[test]
    fn a_secret_arn_takes_the_secrets_from_secrets_manager() {
        let c = config(&[
            ("TABLE_NAME", "tbl"),
            ("QUEUE_URL", Q),
            (
                "SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhooks",
            ),
        ])
        .unwrap();
        match &c.secrets {
            SecretSource::SecretsManager { secret_id, refresh } => {
                assert!(secret_id.ends_with(":webhooks"));
                assert_eq!(*refresh, Duration::from_secs(300));
            }
            other => panic!("{other:?}"),
        }
        assert!(c.env_verifier().is_none());
        // Every sender may appear in the secret, so a route table must cover them all.
        let err = config(&[
            ("TABLE_NAME", "tbl"),
            ("SECRET_ARN", "x"),
            ("ROUTES", &format!(r#"[{{"name":"sl","queue_url":"{Q}","events":["*"],"providers":["salesloft"]}}]"#)),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("salesos"), "{err}");
        let err = config(&[
            ("TABLE_NAME", "tbl"),
            ("QUEUE_URL", Q),
            ("SECRET_ARN", "x"),
            ("SECRET_REFRESH_SECONDS", "1"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("SECRET_REFRESH_SECONDS"), "{err}");
    }

    #[test]
    fn the_spool_is_off_unless_a_bucket_is_named_and_the_redrive_needs_no_secret() {
        let c = config(&MINIMAL).unwrap();
        assert_eq!(c.spool_bucket, None);
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("SPOOL_BUCKET", "webhook-spool"));
        pairs.push(("SPOOL_MAX_ATTEMPTS", "3"));
        let c = config(&pairs).unwrap();
        assert_eq!(c.spool_bucket.as_deref(), Some("webhook-spool"));
        assert_eq!(c.redrive.max_attempts, 3);
        let map: HashMap<String, String> = [
            ("TABLE_NAME", "tbl"),
            ("QUEUE_URL", Q),
            ("SPOOL_BUCKET", "webhook-spool"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(Config::for_redrive(|k| map.get(k).cloned()).is_ok());
        assert!(
            Config::from_lookup(|k| map.get(k).cloned()).is_err(),
            "the webhook needs secrets"
        );
        let no_bucket: HashMap<String, String> = [("TABLE_NAME", "tbl"), ("QUEUE_URL", Q)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            Config::for_redrive(|k| no_bucket.get(k).cloned()).unwrap_err(),
            ConfigError::Missing("SPOOL_BUCKET")
        );
        pairs.push(("SPOOL_BUCKET", "Not_A_Bucket"));
        let mut bad = MINIMAL.to_vec();
        bad.push(("SPOOL_BUCKET", "Not_A_Bucket"));
        assert!(config(&bad)
            .unwrap_err()
            .to_string()
            .contains("SPOOL_BUCKET"));
    }

    #[test]
    fn template_routes_are_added_to_the_user_routes() {
        let mut pairs = MINIMAL.to_vec();
        let routes =
            format!(r#"[{{"name":"emails","queue_url":"{Q}-emails","events":["email_*"]}}]"#);
        let extra = format!(
            r#"[{{"name":"example","queue_url":"{Q}-example","events":["person_*"],"copy":true}}]"#
        );
        pairs.push(("ROUTES", &routes));
        pairs.push(("TEMPLATE_ROUTES", &extra));
        let c = config(&pairs).unwrap();
        let names: Vec<&str> = c
            .routes
            .destinations(Provider::Salesloft, "person_updated")
            .into_iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(names, ["default", "example"]);
        let mut bad = MINIMAL.to_vec();
        bad.push(("TEMPLATE_ROUTES", "{"));
        assert!(config(&bad)
            .unwrap_err()
            .to_string()
            .contains("TEMPLATE_ROUTES"));
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

    /// Whether `v` verifies a Salesloft delivery signed with `token`.
    fn ok_with(v: &Verifier, token: &str) -> bool {
        let body = b"{}";
        let h = crate::headers::Headers::from_pairs([
            (
                "x-salesloft-signature".to_string(),
                crate::senders::salesloft::sign(token.as_bytes(), body),
            ),
            (
                "x-salesloft-event".to_string(),
                "person_updated".to_string(),
            ),
        ]);
        v.verify(Provider::Salesloft, body, &h, 0).is_ok()
    }

    #[test]
    fn salesloft_tokens_can_be_bound_to_event_types_in_the_environment_too() {
        let c = config(&[
            ("TABLE_NAME", "tbl"),
            ("QUEUE_URL", Q),
            (
                "SALESLOFT_SECRETS",
                r#"{"person_updated":["tok1"],"*":["tok2"]}"#,
            ),
        ])
        .unwrap();
        let v = c.env_verifier().unwrap();
        let body = b"{}";
        let signed = |token: &str, event_type: &str| {
            crate::headers::Headers::from_pairs([
                (
                    "x-salesloft-signature".to_string(),
                    crate::senders::salesloft::sign(token.as_bytes(), body),
                ),
                ("x-salesloft-event".to_string(), event_type.to_string()),
            ])
        };
        let ok = |t, e| {
            v.verify(Provider::Salesloft, body, &signed(t, e), 0)
                .is_ok()
        };
        assert!(ok("tok1", "person_updated") && !ok("tok1", "person_deleted"));
        assert!(ok("tok2", "person_deleted"));
        // A JSON list is a list (never split as text), and broken JSON is refused.
        let c = config(&[
            ("TABLE_NAME", "tbl"),
            ("QUEUE_URL", Q),
            ("SALESLOFT_SECRETS", r#"["a,b","c"]"#),
        ])
        .unwrap();
        let v = c.env_verifier().unwrap();
        assert!(ok_with(&v, "a,b") && ok_with(&v, "c") && !ok_with(&v, "a"));
        assert!(config(&[
            ("TABLE_NAME", "tbl"),
            ("QUEUE_URL", Q),
            ("SALESLOFT_SECRETS", r#"["a""#),
        ])
        .is_err());
        let err = config(&[
            ("TABLE_NAME", "tbl"),
            ("QUEUE_URL", Q),
            ("SALESOS_SECRETS", r#"{"lead.created":["so"]}"#),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("SALESOS_SECRETS"), "{err}");
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
