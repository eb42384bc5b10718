//! The senders this function serves: one module per sender, each implementing [`Sender`]
//! (its request paths, headers, signature scheme, secrets and event identity rules, with its
//! own tests and known-answer vectors), and the one list, [`senders!`], that turns them into
//! the [`Provider`] enum and the dispatch the rest of the crate uses.
//!
//! Adding a sender is a new module here, one line in the `senders!` invocation below and one
//! entry in `tools/gen_events.py`; `docs/ARCHITECTURE.md` ("Add a sender") walks through it.

pub mod salesloft;
pub mod salesos;
pub mod standard;

use std::fmt;

use crate::config::{ConfigError, Env};
use crate::event::{Delivery, Identity, ParseError};
use crate::headers::Headers;
use crate::signature::{Keys, Secret, SignatureError};

/// Everything that differs from one sender to the next. Implemented by a unit struct per
/// sender module; never used as a trait object (the `senders!` list dispatches statically).
pub trait Sender {
    /// The sender's name in URLs, keys, envelopes, message attributes, `ROUTES` and the
    /// secret document, e.g. `salesloft`. Lowercase letters only; never changes once
    /// deliveries have been recorded under it.
    const NAME: &'static str;
    /// Request paths served (compared after dropping trailing slashes).
    const PATHS: &'static [&'static str];
    /// The environment variable holding the sender's comma-separated secrets (local runs).
    const SECRETS_ENV: &'static str;
    /// Member names of the sender's secrets in the Secrets Manager document; the first is the
    /// canonical one.
    const DOCUMENT_KEYS: &'static [&'static str];

    /// Whether the sender's keys may be bound to event types (the secret document's object
    /// form). Only for a sender whose event type is outside the signature and whose tokens
    /// are per type; its `verify` must then use [`Keys::any_matches_for`].
    const BINDS_EVENT_TYPES: bool = false;

    /// Settings of the scheme that are not secret (tolerance windows, variants).
    type Settings: fmt::Debug + Clone + Default + PartialEq + Send + Sync + 'static;

    /// Reads [`Sender::Settings`] from the environment; a bad value names its variable.
    fn settings(env: &Env<'_>) -> Result<Self::Settings, ConfigError>;

    /// Turns one configured secret (a list entry) into key bytes. The error names what is
    /// wrong and never contains the secret.
    fn parse_secret(entry: &str) -> Result<Secret, String> {
        Ok(Secret::new(entry))
    }

    /// Checks the delivery's signature with `keys` at `now_s` (unix seconds). Must compare
    /// in constant time (use [`Keys::any_matches`]) and must not allocate the body.
    fn verify(
        keys: &Keys,
        settings: &Self::Settings,
        body: &[u8],
        headers: &Headers,
        now_s: i64,
    ) -> Result<(), SignatureError>;

    /// The event type, event id and resource id of a verified delivery whose body is a JSON
    /// object. The type and id are validated by the caller.
    fn identify(delivery: &Delivery<'_>) -> Result<Identity, ParseError>;

    /// The headers this sender sends with `body`, signed with `key` as of `now_s`;
    /// `event_type` and `delivery_id` fill the sender's type and id headers where it has
    /// them. For tests, fuzzing and benchmarks: the one Rust signing helper per sender.
    fn sign(
        key: &Secret,
        settings: &Self::Settings,
        body: &[u8],
        event_type: &str,
        delivery_id: &str,
        now_s: i64,
    ) -> Vec<(&'static str, String)>;
}

/// Generates [`Provider`], [`SenderSettings`] and their dispatch from the list of senders.
macro_rules! senders {
    ($($variant:ident => $module:ident :: $ty:ident,)*) => {
        /// The sender a request claims to come from; chosen by the request path.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Provider {
            $(
                #[doc = concat!("See [`", stringify!($module), "`].")]
                $variant,
            )*
        }

        impl Provider {
            /// Every sender this build knows.
            pub const ALL: &'static [Provider] = &[$(Provider::$variant,)*];

            /// The sender's name ([`Sender::NAME`]).
            pub fn as_str(self) -> &'static str {
                match self { $(Provider::$variant => <$module::$ty as Sender>::NAME,)* }
            }

            /// Request paths served ([`Sender::PATHS`]).
            pub fn paths(self) -> &'static [&'static str] {
                match self { $(Provider::$variant => <$module::$ty as Sender>::PATHS,)* }
            }

            /// The environment variable with its secrets ([`Sender::SECRETS_ENV`]).
            pub fn secrets_env(self) -> &'static str {
                match self { $(Provider::$variant => <$module::$ty as Sender>::SECRETS_ENV,)* }
            }

            /// Member names in the secret document ([`Sender::DOCUMENT_KEYS`]).
            pub fn document_keys(self) -> &'static [&'static str] {
                match self { $(Provider::$variant => <$module::$ty as Sender>::DOCUMENT_KEYS,)* }
            }

            /// Whether keys may be bound to event types ([`Sender::BINDS_EVENT_TYPES`]).
            pub fn binds_event_types(self) -> bool {
                match self { $(Provider::$variant => <$module::$ty as Sender>::BINDS_EVENT_TYPES,)* }
            }

            /// One configured secret as key bytes ([`Sender::parse_secret`]).
            pub fn parse_secret(self, entry: &str) -> Result<Secret, String> {
                match self {
                    $(Provider::$variant => <$module::$ty as Sender>::parse_secret(entry),)*
                }
            }

            pub(crate) fn identify(self, delivery: &Delivery<'_>) -> Result<Identity, ParseError> {
                match self {
                    $(Provider::$variant => <$module::$ty as Sender>::identify(delivery),)*
                }
            }
        }

        /// The non-secret settings of every sender's scheme.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct SenderSettings {
            $(pub $module: <$module::$ty as Sender>::Settings,)*
        }

        impl SenderSettings {
            /// Reads every sender's settings from the environment.
            pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
                Ok(Self { $($module: <$module::$ty as Sender>::settings(env)?,)* })
            }

            /// The signed headers `provider` would send ([`Sender::sign`]).
            pub fn sign(
                &self,
                provider: Provider,
                key: &Secret,
                body: &[u8],
                event_type: &str,
                delivery_id: &str,
                now_s: i64,
            ) -> Vec<(&'static str, String)> {
                match provider {
                    $(Provider::$variant => <$module::$ty as Sender>::sign(
                        key, &self.$module, body, event_type, delivery_id, now_s,
                    ),)*
                }
            }

            pub(crate) fn verify(
                &self,
                provider: Provider,
                keys: &Keys,
                body: &[u8],
                headers: &Headers,
                now_s: i64,
            ) -> Result<(), SignatureError> {
                match provider {
                    $(Provider::$variant => {
                        <$module::$ty as Sender>::verify(keys, &self.$module, body, headers, now_s)
                    })*
                }
            }
        }
    };
}

senders! {
    Salesloft => salesloft::Salesloft,
    SalesOs => salesos::SalesOs,
    StandardWebhooks => standard::StandardWebhooks,
}

impl Provider {
    /// The provider named `name` (as in [`Provider::as_str`]), if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.as_str() == name)
    }

    /// The provider serving `path` (trailing slashes ignored), if any.
    pub fn for_path(path: &str) -> Option<Self> {
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.paths().contains(&trimmed))
    }

    /// The provider whose secrets the document member `key` holds, if any.
    pub fn for_document_key(key: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.document_keys().contains(&key))
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sender_has_a_distinct_name_path_variable_and_document_key() {
        let mut seen = std::collections::BTreeSet::new();
        for p in Provider::ALL {
            assert!(seen.insert(p.as_str()), "name {p}");
            assert!(seen.insert(p.secrets_env()), "variable of {p}");
            for path in p.paths() {
                assert!(seen.insert(path), "path {path} of {p}");
                assert_eq!(Provider::for_path(path), Some(*p));
            }
            for key in p.document_keys() {
                assert_eq!(Provider::for_document_key(key), Some(*p));
            }
            assert_eq!(Provider::parse(p.as_str()), Some(*p));
            assert!(p.as_str().bytes().all(|b| b.is_ascii_lowercase()));
        }
    }

    #[test]
    fn what_each_sender_signs_verifies_and_a_tampered_body_does_not() {
        use crate::headers::Headers;
        use crate::signature::Verifier;
        let key = Secret::new("k");
        let now_s = 1_795_442_400;
        for settings in [SenderSettings::default(), {
            let mut s = SenderSettings::default();
            s.salesloft.timestamped = true;
            s
        }] {
            for &p in Provider::ALL {
                let body = br#"{"id":1,"type":"thing.done"}"#;
                let signed = settings.sign(p, &key, body, "thing_done", "msg_1", now_s);
                let headers =
                    Headers::from_pairs(signed.into_iter().map(|(k, v)| (k.to_string(), v)));
                let v = Verifier::new(settings.clone()).with_keys(p, vec![key.clone()]);
                assert!(v.verify(p, body, &headers, now_s).is_ok(), "{p}");
                let tampered = br#"{"id":2,"type":"thing.done"}"#;
                assert_eq!(
                    v.verify(p, tampered, &headers, now_s).unwrap_err(),
                    SignatureError::Mismatch,
                    "{p}"
                );
            }
        }
    }

    #[test]
    fn paths_match_with_or_without_trailing_slashes() {
        assert_eq!(Provider::for_path("/salesos/"), Some(Provider::SalesOs));
        assert_eq!(Provider::for_path("/salesos//"), Some(Provider::SalesOs));
        assert_eq!(Provider::for_path("/"), Some(Provider::Salesloft));
        assert_eq!(Provider::for_path("/salesos/x"), None);
        assert_eq!(Provider::for_path("/nope"), None);
    }
}
