//! In-memory [`SpoolStore`] for unit tests: a map, a count of calls, and a switch that makes
//! writes fail.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{SpoolError, SpoolFuture, SpoolStore};

#[derive(Debug, Default)]
pub struct MemorySpool {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    /// Calls of any kind, to prove the hot path makes none.
    pub calls: AtomicUsize,
    /// Makes `put` fail.
    pub fail_put: AtomicBool,
}

impl MemorySpool {
    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SpoolStore for MemorySpool {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> SpoolFuture<'a, ()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let result = if self.fail_put.load(Ordering::SeqCst) {
            Err(SpoolError("injected failure".into()))
        } else {
            self.lock().insert(key.to_string(), bytes);
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> SpoolFuture<'a, Vec<String>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let keys = self
            .lock()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        Box::pin(async move { Ok(keys) })
    }

    fn get<'a>(&'a self, key: &'a str) -> SpoolFuture<'a, Option<Vec<u8>>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let object = self.lock().get(key).cloned();
        Box::pin(async move { Ok(object) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> SpoolFuture<'a, ()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.lock().remove(key);
        Box::pin(async move { Ok(()) })
    }
}

impl<T: SpoolStore + ?Sized> SpoolStore for std::sync::Arc<T> {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> SpoolFuture<'a, ()> {
        self.as_ref().put(key, bytes)
    }
    fn list<'a>(&'a self, prefix: &'a str) -> SpoolFuture<'a, Vec<String>> {
        self.as_ref().list(prefix)
    }
    fn get<'a>(&'a self, key: &'a str) -> SpoolFuture<'a, Option<Vec<u8>>> {
        self.as_ref().get(key)
    }
    fn delete<'a>(&'a self, key: &'a str) -> SpoolFuture<'a, ()> {
        self.as_ref().delete(key)
    }
}
