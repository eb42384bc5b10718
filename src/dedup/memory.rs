//! In-memory [`DedupStore`] for unit tests of the service and for fuzzing: the same state
//! machine as the DynamoDB adapter, behind a mutex, with switches to make each call fail.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::{
    ClaimOutcome, ClaimRequest, DedupError, DedupStore, RecordState, COMPLETED, IN_PROGRESS,
    RELEASED,
};

#[derive(Debug, Clone)]
struct Record {
    state: RecordState,
    token: String,
}

/// A process-local store. Not for production: it forgets everything on a cold start.
#[derive(Debug, Default)]
pub struct MemoryDedupStore {
    records: Mutex<HashMap<String, Record>>,
    /// When set, `claim` fails as if the store were unreachable.
    pub fail_claim: AtomicBool,
    /// When set, `complete` fails.
    pub fail_complete: AtomicBool,
    /// When set, `release` fails.
    pub fail_release: AtomicBool,
}

impl MemoryDedupStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current state of `key`, for assertions.
    pub fn state(&self, key: &str) -> Option<RecordState> {
        self.lock().get(key).map(|r| r.state.clone())
    }

    /// Overwrites the state of `key` (to set up expired or leased records in tests).
    pub fn put_state(&self, key: &str, token: &str, state: RecordState) {
        self.lock().insert(
            key.to_string(),
            Record {
                state,
                token: token.to_string(),
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        // A panic while holding the lock cannot leave a record half-written (every update
        // is a single assignment), so a poisoned lock is safe to keep using.
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn finish(
        &self,
        key: &str,
        token: &str,
        status: &str,
        delivered: &BTreeSet<String>,
    ) -> Result<(), DedupError> {
        let mut records = self.lock();
        match records.get_mut(key) {
            Some(r) if r.token == token => {
                r.state.status = status.to_string();
                r.state.delivered = delivered.clone();
                Ok(())
            }
            _ => Err(DedupError::ClaimLost),
        }
    }
}

impl DedupStore for MemoryDedupStore {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<ClaimOutcome, DedupError> {
        if self.fail_claim.load(Ordering::SeqCst) {
            return Err(DedupError::Unavailable("injected claim failure".into()));
        }
        let mut records = self.lock();
        let inherited = match records.get(request.key) {
            Some(existing) if !existing.state.claimable(request.now_ms) => {
                return Ok(existing.state.refusal())
            }
            Some(existing) => existing.state.inherited_delivered(request.now_ms),
            None => BTreeSet::new(),
        };
        records.insert(
            request.key.to_string(),
            Record {
                state: RecordState {
                    status: IN_PROGRESS.to_string(),
                    lease_until_ms: request.lease_until_ms,
                    expires_at_s: request.expires_at_s,
                    delivered: BTreeSet::new(),
                },
                token: request.token.to_string(),
            },
        );
        Ok(ClaimOutcome::Claimed {
            delivered: inherited,
        })
    }

    async fn complete(
        &self,
        key: &str,
        token: &str,
        delivered: &BTreeSet<String>,
    ) -> Result<(), DedupError> {
        if self.fail_complete.load(Ordering::SeqCst) {
            return Err(DedupError::Unavailable("injected complete failure".into()));
        }
        self.finish(key, token, COMPLETED, delivered)
    }

    async fn release(
        &self,
        key: &str,
        token: &str,
        delivered: &BTreeSet<String>,
    ) -> Result<(), DedupError> {
        if self.fail_release.load(Ordering::SeqCst) {
            return Err(DedupError::Unavailable("injected release failure".into()));
        }
        self.finish(key, token, RELEASED, delivered)
    }
}
