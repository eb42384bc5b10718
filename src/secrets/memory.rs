//! In-memory [`SecretStore`] for unit tests: a document that can be swapped (a rotation) or
//! made to fail, and a count of reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{parse_secret_document, FetchFuture, SecretError, SecretStore};

#[derive(Debug, Default)]
pub struct MemorySecretStore {
    document: Mutex<Option<String>>,
    reads: AtomicUsize,
}

impl MemorySecretStore {
    /// A store holding `document` (see [`parse_secret_document`]).
    pub fn new(document: &str) -> Self {
        Self {
            document: Mutex::new(Some(document.to_string())),
            reads: AtomicUsize::new(0),
        }
    }

    /// Replaces the document; `None` makes reads fail.
    pub fn set(&self, document: Option<&str>) {
        *self.document.lock().unwrap_or_else(|p| p.into_inner()) = document.map(str::to_string);
    }

    /// How many times the store was read.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl SecretStore for MemorySecretStore {
    fn fetch(&self) -> FetchFuture<'_> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let doc = self
            .document
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Box::pin(async move {
            match doc {
                Some(d) => parse_secret_document(&d),
                None => Err(SecretError::Unavailable("injected failure".into())),
            }
        })
    }
}

impl SecretStore for std::sync::Arc<MemorySecretStore> {
    fn fetch(&self) -> FetchFuture<'_> {
        self.as_ref().fetch()
    }
}
