//! Sender secrets at run time: the secret-store port, the document format, and the
//! [`Keyring`] that caches a [`Verifier`] built from them and refreshes it so a rotation takes
//! effect within minutes without a redeploy.
//!
//! Refresh policy: the keys are re-read when older than the refresh interval (default five
//! minutes), and a failed verification re-reads them once if they are older than a minute
//! (the sender may already be signing with a token added a moment ago). Forged requests can
//! therefore cause at most one extra read a minute. A failed read keeps the keys we have.

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
use crate::senders::{Provider, SenderSettings};
use crate::signature::{Secret, Verifier};

/// A failure to read or understand the secret. Its text never contains secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
    #[error("secret document is invalid: {0}")]
    Invalid(String),
}

/// Each sender's secrets, from the environment or the secret document. `Debug` never shows a
/// secret ([`Secret`] is redacted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderKeys(BTreeMap<Provider, Vec<Secret>>);

impl SenderKeys {
    /// The secrets of `provider` (empty: not served).
    pub fn get(&self, provider: Provider) -> &[Secret] {
        self.0.get(&provider).map(Vec::as_slice).unwrap_or_default()
    }

    /// Replaces the secrets of `provider`.
    pub fn set(&mut self, provider: Provider, secrets: Vec<Secret>) {
        self.0.insert(provider, secrets);
    }

    /// The verifier serving every sender that has at least one secret.
    pub fn verifier(&self, settings: &SenderSettings) -> Verifier {
        self.0
            .iter()
            .fold(Verifier::new(settings.clone()), |v, (p, secrets)| {
                v.with_keys(*p, secrets.clone())
            })
    }

    /// Reads each sender's `*_SECRETS` variable (comma-separated). A bad entry names the
    /// variable and its position, never the value.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let mut keys = Self::default();
        for &provider in Provider::ALL {
            let name = provider.secrets_env();
            if let Some(value) = env.get(name) {
                let entries: Vec<&str> = value.split(',').collect();
                let secrets = parse_entries(provider, &entries)
                    .map_err(|reason| ConfigError::Invalid { name, reason })?;
                keys.set(provider, secrets);
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
/// `Sender::DOCUMENT_KEYS`, e.g. `salesloft`, `salesos`, `standard_webhooks`), each a string or
/// a list of strings; or a bare JSON string or plain text, taken as comma-separated Salesloft
/// tokens.
pub fn parse_secret_document(text: &str) -> Result<SenderKeys, SecretError> {
    let trimmed = text.trim();
    let mut keys = SenderKeys::default();
    if !trimmed.starts_with('{') {
        let plain = serde_json::from_str::<String>(trimmed).unwrap_or_else(|_| trimmed.to_string());
        let entries: Vec<&str> = plain.split(',').collect();
        let secrets = parse_entries(Provider::Salesloft, &entries)
            .map_err(|reason| SecretError::Invalid(format!("plain text: {reason}")))?;
        keys.set(Provider::Salesloft, secrets);
        return Ok(keys);
    }
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(trimmed)
        // serde's message can quote the input; say only where it failed.
        .map_err(|e| {
            SecretError::Invalid(format!(
                "not a JSON object (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
    for (key, value) in &object {
        let provider = Provider::for_document_key(key).ok_or_else(|| {
            let known: Vec<&str> = Provider::ALL
                .iter()
                .flat_map(|p| p.document_keys().iter().take(1))
                .copied()
                .collect();
            SecretError::Invalid(format!(
                "unknown sender {key:?} (expected one of {})",
                known.join(", ")
            ))
        })?;
        let list: Vec<&str> = match value {
            serde_json::Value::String(s) => s.split(',').collect(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str())
                .collect::<Option<Vec<&str>>>()
                .ok_or_else(|| {
                    SecretError::Invalid(format!("{key:?} must be a string or a list of strings"))
                })?
                .into_iter()
                .flat_map(|s| s.split(','))
                .collect(),
            _ => {
                return Err(SecretError::Invalid(format!(
                    "{key:?} must be a string or a list of strings"
                )))
            }
        };
        let secrets = parse_entries(provider, &list)
            .map_err(|reason| SecretError::Invalid(format!("{key:?}: {reason}")))?;
        keys.set(provider, secrets);
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
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            refresh_after_ms: 300_000,
            retry_on_failure_after_ms: 60_000,
        }
    }
}

#[derive(Debug)]
struct KeyState {
    verifier: Option<Arc<Verifier>>,
    /// When the store was last asked (success or not), epoch ms; gates refreshes.
    attempted_at_ms: u64,
}

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
        let due =
            verifier.is_none() || now_ms.saturating_sub(attempted) >= self.policy.refresh_after_ms;
        if due {
            // Keys are missing: retry at once; otherwise only when due.
            let min_age = if verifier.is_none() {
                0
            } else {
                self.policy.refresh_after_ms
            };
            self.refresh(now_ms, min_age).await;
        }
        self.read().0
    }

    /// After a failed verification: re-reads the store once if the keys are older than the
    /// retry age, and returns the new verifier if one was read.
    pub async fn refresh_after_failure(&self, now_ms: u64) -> Option<Arc<Verifier>> {
        // A fixed keyring has nothing to re-read.
        self.store.as_ref()?;
        let (_, attempted) = self.read();
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
        let (current, attempted) = self.read();
        if current.is_some() && attempted != 0 && now_ms.saturating_sub(attempted) < min_age_ms {
            return false;
        }
        let result = store.fetch().await;
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.attempted_at_ms = now_ms;
        match result {
            Ok(secrets) => {
                let verifier = secrets.verifier(&self.settings);
                if verifier.served().is_empty() {
                    tracing::error!(
                        "the secret holds no secret for any sender; keeping the previous keys"
                    );
                    return false;
                }
                state.verifier = Some(Arc::new(verifier));
                true
            }
            Err(err) => {
                tracing::warn!(error = %err, "reading the sender secrets failed; keeping the previous keys");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests;
