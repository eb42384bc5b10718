//! Sender secrets at run time: the secret-store port, the document format, and the
//! [`Keyring`] that caches a [`Verifier`] built from them and refreshes it so a rotation takes
//! effect within minutes without a redeploy.
//!
//! Refresh policy: the keys are re-read when older than the refresh interval (default five
//! minutes), and a failed verification re-reads them once if they are older than a minute
//! (the sender may already be signing with a token added a moment ago). Forged requests can
//! therefore cause at most one extra read a minute. A failed read keeps the keys we have.
//! While no usable keys are loaded (the first read failed, or the secret holds none),
//! requests answer 503 and the store is re-read with a backoff that doubles from one second
//! up to the one-minute retry age, never once per request.

pub mod memory;
#[cfg(feature = "aws")]
pub mod secrets_manager;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

pub use memory::MemorySecretStore;
#[cfg(feature = "aws")]
pub use secrets_manager::SecretsManagerSecretStore;

use std::collections::BTreeMap;

use crate::config::{ConfigError, Env};
use crate::event::validate_event_type;
use crate::senders::{Provider, SenderSettings};
use crate::signature::{Key, Secret, Verifier};

/// A failure to read or understand the secret. Its text never contains secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
    #[error("secret document is invalid: {0}")]
    Invalid(String),
}

/// Each sender's keys, from the environment or the secret document. `Debug` never shows a
/// secret ([`Secret`] is redacted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderKeys(BTreeMap<Provider, Vec<Key>>);

impl SenderKeys {
    /// The keys of `provider` (empty: not served).
    pub fn get(&self, provider: Provider) -> &[Key] {
        self.0.get(&provider).map(Vec::as_slice).unwrap_or_default()
    }

    /// Replaces the keys of `provider`.
    pub fn set(&mut self, provider: Provider, keys: Vec<Key>) {
        self.0.insert(provider, keys);
    }

    /// The verifier serving every sender that has at least one key.
    pub fn verifier(&self, settings: &SenderSettings) -> Verifier {
        self.0
            .iter()
            .fold(Verifier::new(settings.clone()), |v, (p, keys)| {
                v.with_scoped_keys(*p, keys.clone())
            })
    }

    /// Reads each sender's `*_SECRETS` variable: a comma-separated list of secrets valid for
    /// any event type, a JSON list of them, or (senders that bind tokens to types) the JSON
    /// object form of the secret document, e.g. `{"person_updated":["tok1"],"*":["tok2"]}`. A bad entry names
    /// the variable and its position, never the value.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let mut keys = Self::default();
        for &provider in Provider::ALL {
            let name = provider.secrets_env();
            if let Some(value) = env.get(name) {
                // JSON (an object or a list) is read as JSON, never split as text.
                let parsed = if value.trim_start().starts_with(['{', '[']) {
                    serde_json::from_str::<serde_json::Value>(&value)
                        .map_err(|e| format!("not valid JSON (column {})", e.column()))
                        .and_then(|json| keys_from_value(provider, &json))
                } else {
                    let entries: Vec<&str> = value.split(',').collect();
                    parse_entries(provider, &entries)
                        .map(|secrets| secrets.into_iter().map(Key::any).collect())
                };
                let parsed = parsed.map_err(|reason| ConfigError::Invalid { name, reason })?;
                keys.set(provider, parsed);
            }
        }
        Ok(keys)
    }
}

/// Parses secret entries of `provider`, trimming spaces and dropping empty entries. The error
/// names the position of a bad entry, never its value.
pub fn parse_entries(provider: Provider, entries: &[&str]) -> Result<Vec<Secret>, String> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .enumerate()
        .map(|(i, e)| {
            provider
                .parse_secret(e)
                .map_err(|reason| format!("entry {}: {reason}", i + 1))
        })
        .collect()
}

/// The keys of `provider` from its member of the secret document: a string (comma-separated
/// secrets), a list of strings (one secret each, never split), or, for a sender that binds
/// tokens to event types, an object from event type (or `"*"`, any type) to a secret or a
/// list of secrets. Errors never quote a value.
pub fn keys_from_value(provider: Provider, value: &serde_json::Value) -> Result<Vec<Key>, String> {
    use serde_json::Value;
    /// A string or a list of strings, each element one secret.
    fn list(value: &Value) -> Option<Vec<&str>> {
        match value {
            Value::String(s) => Some(vec![s.as_str()]),
            Value::Array(items) => items.iter().map(Value::as_str).collect(),
            _ => None,
        }
    }
    let not_list = || "must be a string or a list of strings".to_string();
    match value {
        Value::String(s) => {
            let entries: Vec<&str> = s.split(',').collect();
            Ok(parse_entries(provider, &entries)?
                .into_iter()
                .map(Key::any)
                .collect())
        }
        Value::Array(_) => Ok(parse_entries(provider, &list(value).ok_or_else(not_list)?)?
            .into_iter()
            .map(Key::any)
            .collect()),
        Value::Object(map) if provider.binds_event_types() => {
            let mut keys = Vec::new();
            for (event_type, secrets) in map {
                if event_type != "*" && validate_event_type(event_type).is_err() {
                    return Err(format!(
                        "{event_type:?} is neither \"*\" nor a valid event type"
                    ));
                }
                let entries = list(secrets)
                    .ok_or_else(|| format!("the secrets of {event_type:?} {}", not_list()))?;
                for secret in parse_entries(provider, &entries)
                    .map_err(|reason| format!("{event_type:?}: {reason}"))?
                {
                    keys.push(if event_type == "*" {
                        Key::any(secret)
                    } else {
                        Key::bound(secret, [event_type.clone()])
                    });
                }
            }
            Ok(keys)
        }
        Value::Object(_) => Err(format!(
            "{} signs its event type, so its secrets are a string or a list, not a map of event types",
            provider
        )),
        _ => Err(not_list()),
    }
}

/// The boxed future a [`SecretStore`] returns (object-safe: the keyring holds a `dyn`).
pub type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SenderKeys, SecretError>> + Send + 'a>>;

/// Port: where the senders' secrets live.
pub trait SecretStore: Send + Sync {
    /// Reads the current secrets of every sender. Called at cold start and on refresh;
    /// must not cache (the keyring does).
    fn fetch(&self) -> FetchFuture<'_>;
}

/// Parses the secret document: a JSON object with a member per sender (its
/// `Sender::DOCUMENT_KEYS`, e.g. `salesloft`, `salesos`, `standard_webhooks`), each as
/// [`keys_from_value`] reads it; or a JSON string, or plain text that is not JSON, taken as
/// comma-separated Salesloft tokens. Any other JSON (an array, a number) is refused, and so is
/// text that starts like JSON but does not parse: it is never read as tokens.
pub fn parse_secret_document(text: &str) -> Result<SenderKeys, SecretError> {
    let trimmed = text.trim();
    let mut keys = SenderKeys::default();
    let json = match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(json) => Some(json),
        Err(e) if trimmed.starts_with(['{', '[', '"']) => {
            // serde's message can quote the input; say only where it failed.
            return Err(SecretError::Invalid(format!(
                "not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            )));
        }
        Err(_) => None,
    };
    let object = match json {
        Some(serde_json::Value::Object(object)) => object,
        Some(value @ serde_json::Value::String(_)) => {
            let salesloft = keys_from_value(Provider::Salesloft, &value)
                .map_err(|reason| SecretError::Invalid(format!("JSON string: {reason}")))?;
            keys.set(Provider::Salesloft, salesloft);
            return Ok(keys);
        }
        Some(_) => {
            return Err(SecretError::Invalid(
                "a JSON document must be an object (a member per sender) or a string".into(),
            ))
        }
        None => {
            let entries: Vec<&str> = trimmed.split(',').collect();
            let secrets = parse_entries(Provider::Salesloft, &entries)
                .map_err(|reason| SecretError::Invalid(format!("plain text: {reason}")))?;
            keys.set(
                Provider::Salesloft,
                secrets.into_iter().map(Key::any).collect(),
            );
            return Ok(keys);
        }
    };
    for (member, value) in &object {
        let provider = Provider::for_document_key(member).ok_or_else(|| {
            let known: Vec<&str> = Provider::ALL
                .iter()
                .flat_map(|p| p.document_keys().iter().take(1))
                .copied()
                .collect();
            SecretError::Invalid(format!(
                "unknown sender {member:?} (expected one of {})",
                known.join(", ")
            ))
        })?;
        let parsed = keys_from_value(provider, value)
            .map_err(|reason| SecretError::Invalid(format!("{member:?}: {reason}")))?;
        keys.set(provider, parsed);
    }
    Ok(keys)
}

/// How often the keyring re-reads its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Re-read keys older than this on the next request.
    pub refresh_after_ms: u64,
    /// After a failed verification, re-read keys older than this (once).
    pub retry_on_failure_after_ms: u64,
    /// Longest wait for one read; a read that takes longer counts as failed (the keys we
    /// have keep serving), so a hung store never holds a request until Lambda's timeout.
    pub fetch_timeout_ms: u64,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            refresh_after_ms: 300_000,
            retry_on_failure_after_ms: 60_000,
            fetch_timeout_ms: 1_500,
        }
    }
}

#[derive(Debug)]
struct KeyState {
    verifier: Option<Arc<Verifier>>,
    /// When the store was last asked (success or not), epoch ms; gates refreshes.
    attempted_at_ms: u64,
    /// Reads in a row that gave no usable keys; sets the backoff while none are loaded.
    failures: u32,
}

/// The first wait after a read that gave no usable keys; doubles with each such read.
const FIRST_BACKOFF_MS: u64 = 1_000;

/// The current verifier: fixed (environment) or read from a [`SecretStore`] and refreshed.
pub struct Keyring {
    store: Option<Box<dyn SecretStore>>,
    settings: SenderSettings,
    policy: RefreshPolicy,
    state: RwLock<KeyState>,
    /// Single flight: concurrent requests wait for one read instead of each making one.
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("store", &self.store.is_some())
            .field("policy", &self.policy)
            .finish()
    }
}

impl Keyring {
    /// Keys that never change (from the environment).
    pub fn fixed(verifier: Verifier) -> Self {
        Self {
            store: None,
            settings: SenderSettings::default(),
            policy: RefreshPolicy::default(),
            state: RwLock::new(KeyState {
                verifier: Some(Arc::new(verifier)),
                attempted_at_ms: 0,
                failures: 0,
            }),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Keys read from `store`, first at `now_ms`. A failed first read is logged, not fatal:
    /// requests then answer 503 (the sender retries) until a read succeeds.
    pub async fn from_store(
        store: Box<dyn SecretStore>,
        settings: SenderSettings,
        policy: RefreshPolicy,
        now_ms: u64,
    ) -> Self {
        let keyring = Self {
            store: Some(store),
            settings,
            policy,
            state: RwLock::new(KeyState {
                verifier: None,
                attempted_at_ms: 0,
                failures: 0,
            }),
            refreshing: tokio::sync::Mutex::new(()),
        };
        keyring.refresh(now_ms, 0).await;
        keyring
    }

    fn read(&self) -> (Option<Arc<Verifier>>, u64) {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        (state.verifier.clone(), state.attempted_at_ms)
    }

    /// How long to wait after the last read before reading again while no keys are loaded:
    /// one second after the first failed read, doubling, at most the retry age.
    fn backoff_ms(&self) -> u64 {
        let failures = self
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .failures;
        FIRST_BACKOFF_MS
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(self.policy.retry_on_failure_after_ms)
    }

    /// Whether `provider` is served. Before the first successful read nothing is known, so
    /// every provider counts as served (and is answered 503 rather than 404).
    pub fn serves(&self, provider: Provider) -> bool {
        match self.read().0 {
            Some(v) => v.serves(provider),
            None => self.store.is_some(),
        }
    }

    /// The verifier to use at `now_ms`, re-reading the store first when the keys are older
    /// than the refresh interval. `None` only when no read has ever succeeded.
    pub async fn current(&self, now_ms: u64) -> Option<Arc<Verifier>> {
        let (verifier, attempted) = self.read();
        if self.store.is_none() {
            return verifier;
        }
        // Keys are missing: retry after the backoff; otherwise when the keys are due.
        let min_age = if verifier.is_none() {
            self.backoff_ms()
        } else {
            self.policy.refresh_after_ms
        };
        if now_ms.saturating_sub(attempted) >= min_age {
            self.refresh(now_ms, min_age).await;
        }
        self.read().0
    }

    /// After a failed verification: re-reads the store once if the keys are older than the
    /// retry age, and returns the new verifier if one was read.
    pub async fn refresh_after_failure(&self, now_ms: u64) -> Option<Arc<Verifier>> {
        // A fixed keyring has nothing to re-read; without keys, `current` does the retrying.
        self.store.as_ref()?;
        let (verifier, attempted) = self.read();
        verifier.as_ref()?;
        if now_ms.saturating_sub(attempted) < self.policy.retry_on_failure_after_ms {
            return None;
        }
        if self
            .refresh(now_ms, self.policy.retry_on_failure_after_ms)
            .await
        {
            self.read().0
        } else {
            None
        }
    }

    /// Reads the store unless another caller did so within `min_age_ms`; true when new keys
    /// were installed by this call.
    async fn refresh(&self, now_ms: u64, min_age_ms: u64) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        let _guard = self.refreshing.lock().await;
        // Another request may have refreshed while this one waited for the lock.
        let (_, attempted) = self.read();
        if attempted != 0 && now_ms.saturating_sub(attempted) < min_age_ms {
            return false;
        }
        let timeout = std::time::Duration::from_millis(self.policy.fetch_timeout_ms);
        let result = tokio::time::timeout(timeout, store.fetch())
            .await
            .unwrap_or_else(|_| Err(SecretError::Unavailable("the read timed out".into())));
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.attempted_at_ms = now_ms;
        match result {
            Ok(secrets) => {
                let verifier = secrets.verifier(&self.settings);
                if verifier.served().is_empty() {
                    state.failures = state.failures.saturating_add(1);
                    tracing::error!(
                        "the secret holds no secret for any sender; keeping the previous keys"
                    );
                    return false;
                }
                state.verifier = Some(Arc::new(verifier));
                state.failures = 0;
                true
            }
            Err(err) => {
                state.failures = state.failures.saturating_add(1);
                tracing::warn!(error = %err, "reading the sender secrets failed; keeping the previous keys");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests;
