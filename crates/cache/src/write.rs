//! Write operations. A failed write is logged and dropped; the caller sees `false`/`None`.
//! Each waits at most [`super::CacheOptions::write_timeout`] for the store (the file's
//! lock, or on PostgreSQL a connection and the totals lock); `clear` and `try_delete`, for
//! administration, wait longer.

use std::time::Duration;

use serde::Serialize;

use super::Cache;
use super::error::{Error, Result};
use super::key::Key;
use trifecta_store::Timestamp;

/// How [`Cache::write`] writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// The entry expires this long after the write (`None`: only `max_age` applies).
    pub expires_in: Option<Duration>,
    /// Write only if the key has no live entry.
    pub unless_exist: bool,
}

impl WriteOptions {
    /// No expiry of its own, overwriting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expires `d` after the write.
    #[must_use]
    pub fn expires_in(mut self, d: Duration) -> Self {
        self.expires_in = Some(d);
        self
    }

    /// Writes only if the key is absent or expired.
    #[must_use]
    pub fn unless_exist(mut self) -> Self {
        self.unless_exist = true;
        self
    }
}

impl Cache {
    /// Writes `value` under `key`. Returns whether it was written: `false` when
    /// `unless_exist` found a live entry, or when the write failed (logged).
    pub async fn write<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        options: WriteOptions,
    ) -> bool {
        let key = self.key(key);
        self.write_key(&key, value, options).await
    }

    /// Writes several entries in one transaction; all or none. Returns whether they were
    /// written. `unless_exist` applies per key (an existing key is skipped).
    pub async fn write_multi<T: Serialize>(
        &self,
        entries: &[(&str, T)],
        options: WriteOptions,
    ) -> bool {
        let mut rows = Vec::with_capacity(entries.len());
        for (name, value) in entries {
            match serde_json::to_vec(value) {
                Ok(bytes) => rows.push((self.key(name), bytes)),
                Err(err) => {
                    warn_dropped("write_multi", &Error::from(err));
                    return false;
                }
            }
        }
        let n = rows.len();
        let now = self.now();
        let expires_at = options.expires_in.map(|d| now + d);
        let timeout = self.inner.options.write_timeout;
        let done = self
            .inner
            .db
            .write(rows, now, expires_at, options.unless_exist, timeout)
            .await;
        self.finish_write("write_multi", done, n).is_some()
    }

    /// Deletes `key`; true when an entry went (`false` too when the write failed, logged).
    pub async fn delete(&self, key: &str) -> bool {
        self.delete_multi(&[key]).await > 0
    }

    /// Deletes `key`, reporting failures: for administration.
    ///
    /// # Errors
    /// The file is busy, locked or unwritable.
    pub async fn try_delete(&self, key: &str) -> Result<bool> {
        let keys = vec![self.key(key)];
        let n = self.inner.db.delete(keys, None).await?;
        Ok(n > 0)
    }

    /// Deletes `keys`; returns how many entries went (0 when the write failed, logged).
    pub async fn delete_multi(&self, keys: &[&str]) -> usize {
        let keys: Vec<Key> = keys.iter().map(|k| self.key(k)).collect();
        let timeout = self.inner.options.write_timeout;
        let done = self.inner.db.delete(keys, Some(timeout)).await;
        done.unwrap_or_else(|err| {
            warn_dropped("delete", &err);
            0
        })
    }

    /// Adds `amount` to the integer under `key` atomically and returns the new value. A live
    /// integer keeps its expiry; a missing, expired or non-integer entry starts from 0 and
    /// gets `expires_in`. `None` when the write failed (logged).
    pub async fn increment(
        &self,
        key: &str,
        amount: i64,
        expires_in: Option<Duration>,
    ) -> Option<i64> {
        let key = self.key(key);
        let now = self.now();
        let expires_at = expires_in.map(|d| now + d);
        let timeout = self.inner.options.write_timeout;
        let done = self
            .inner
            .db
            .increment(key, amount, now, expires_at, timeout)
            .await;
        self.finish_write("increment", done, 1)
    }

    /// [`Cache::increment`] for counters that must not be dropped silently (a limit that
    /// fails closed): it waits up to `timeout` for the file rather than the write timeout,
    /// and returns the error instead of logging it.
    ///
    /// # Errors
    /// The file stayed busy or locked past `timeout`, or is unwritable or gone.
    pub async fn try_increment(
        &self,
        key: &str,
        amount: i64,
        expires_in: Option<Duration>,
        timeout: Duration,
    ) -> Result<i64> {
        let key = self.key(key);
        let now = self.now();
        let expires_at = expires_in.map(|d| now + d);
        let next = self
            .inner
            .db
            .increment(key, amount, now, expires_at, timeout)
            .await?;
        self.track_writes(1);
        Ok(next)
    }

    /// [`Cache::increment`] by `-amount`.
    pub async fn decrement(
        &self,
        key: &str,
        amount: i64,
        expires_in: Option<Duration>,
    ) -> Option<i64> {
        self.increment(key, amount.saturating_neg(), expires_in)
            .await
    }

    /// Deletes every entry of the cache file (all namespaces, as Solid Cache's `clear`); returns
    /// how many.
    ///
    /// # Errors
    /// The file is busy, locked or unwritable.
    pub async fn clear(&self) -> Result<usize> {
        self.inner.db.clear().await
    }

    /// Encodes and writes one normalized key.
    pub(super) async fn write_key<T: Serialize + ?Sized>(
        &self,
        key: &Key,
        value: &T,
        options: WriteOptions,
    ) -> bool {
        let bytes = match serde_json::to_vec(value) {
            Ok(b) => b,
            Err(err) => {
                warn_dropped("write", &Error::from(err));
                return false;
            }
        };
        let key = key.clone();
        let now = self.now();
        let expires_at: Option<Timestamp> = options.expires_in.map(|d| now + d);
        let timeout = self.inner.options.write_timeout;
        let done = self
            .inner
            .db
            .write(
                vec![(key, bytes)],
                now,
                expires_at,
                options.unless_exist,
                timeout,
            )
            .await
            .map(|written| written > 0);
        self.finish_write("write", done, 1).unwrap_or(false)
    }

    /// Logs a failed write, or counts a successful one towards expiry.
    fn finish_write<T>(&self, op: &'static str, done: Result<T>, rows: usize) -> Option<T> {
        match done {
            Ok(v) => {
                self.track_writes(rows);
                self.inner.writes.increment(rows as u64);
                self.inner
                    .written
                    .fetch_add(rows as u64, std::sync::atomic::Ordering::Relaxed);
                Some(v)
            }
            Err(err) => {
                warn_dropped(op, &err);
                None
            }
        }
    }
}

fn warn_dropped(op: &'static str, err: &Error) {
    tracing::warn!(op, busy = err.is_busy(), cause = %err, "cache write failed; dropped");
}
