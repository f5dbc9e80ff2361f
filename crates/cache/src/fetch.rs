//! `fetch`: read, or compute once and write. Concurrent misses of one key in this process
//! share one computation: the first caller initializes a per-key `OnceCell`, the others wait
//! on it and clone its value. If the computing caller fails or is cancelled, a waiting one
//! takes over.

use parking_lot::MutexGuard;
use std::any::{Any, TypeId};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::Cache;
use super::key::Key;
use super::write::WriteOptions;

/// The in-flight map's key: one slot per key and value type.
pub(super) type SlotKey = (Key, TypeId);

/// A type-erased `Arc<OnceCell<T>>`.
pub(super) type Slot = Arc<dyn Any + Send + Sync>;

impl Cache {
    /// The value under `key`; on a miss, `compute()` runs (once, however many tasks of this
    /// process miss the same key at the same time), is written with `expires_in`, and
    /// returned. A failing cache makes every call compute (logged).
    pub async fn fetch<T, F, Fut>(&self, key: &str, expires_in: Option<Duration>, compute: F) -> T
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let result: Result<T, Infallible> = self
            .try_fetch(key, expires_in, || async { Ok(compute().await) })
            .await;
        match result {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// [`Cache::fetch`] with a fallible `compute`. An error goes to the caller whose
    /// computation failed and nothing is written; tasks waiting on it then compute
    /// themselves, one at a time.
    ///
    /// # Errors
    /// Whatever `compute` returns.
    pub async fn try_fetch<T, E, F, Fut>(
        &self,
        key: &str,
        expires_in: Option<Duration>,
        compute: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key = self.key(key);
        let found = self.read_key::<T>(&key).await;
        self.count(u64::from(found.is_some()), u64::from(found.is_none()));
        if let Some(v) = found {
            return Ok(v);
        }
        let release = Release::<T>::take(self, &key);
        let options = WriteOptions {
            expires_in,
            unless_exist: false,
        };
        let value = release
            .cell
            .get_or_try_init(move || async move {
                // A fetch that finished between our miss and taking the slot has written it.
                if let Some(v) = self.read_key::<T>(&key).await {
                    return Ok(v);
                }
                let v = compute().await?;
                self.write_key(&key, &v, options).await;
                Ok(v)
            })
            .await?;
        Ok(value.clone())
    }

    fn inflight(&self) -> MutexGuard<'_, std::collections::HashMap<SlotKey, Slot>> {
        self.inner.inflight.lock()
    }
}

/// This caller's use of a key's slot. On drop (also on cancellation) it removes the slot
/// from the map once it holds a value, or when no one else uses it.
struct Release<'a, T: Send + Sync + 'static> {
    cache: &'a Cache,
    key: SlotKey,
    cell: Arc<OnceCell<T>>,
}

impl<'a, T: Send + Sync + 'static> Release<'a, T> {
    fn take(cache: &'a Cache, key: &Key) -> Self {
        let key = (key.clone(), TypeId::of::<T>());
        let mut map = cache.inflight();
        let slot = map
            .entry(key.clone())
            .or_insert_with(|| Arc::new(OnceCell::<T>::new()))
            .clone();
        // The map key includes the type, so the downcast holds; a private cell would only
        // lose the sharing, never the value.
        let cell = slot
            .downcast::<OnceCell<T>>()
            .unwrap_or_else(|_| Arc::new(OnceCell::new()));
        Self { cache, key, cell }
    }
}

impl<T: Send + Sync + 'static> Drop for Release<'_, T> {
    fn drop(&mut self) {
        let mut map = self.cache.inflight();
        let ours = map
            .get(&self.key)
            .is_some_and(|s| std::ptr::addr_eq(Arc::as_ptr(s), Arc::as_ptr(&self.cell)));
        // Counted under the lock, where every clone is made: the map's and ours.
        if ours && (self.cell.initialized() || Arc::strong_count(&self.cell) <= 2) {
            map.remove(&self.key);
        }
        // Our clone of the cell is dropped after the guard; a waiter that counts before
        // that keeps the slot, and the next fetch of the key reuses it.
    }
}
