//! Read operations. Any failure is a miss with a logged warning.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::Cache;
use super::error::Result;
use super::key::Key;
use super::store::EntryInfo;

impl Cache {
    /// The value under `key`, or `None` when it is absent, expired, of another type, or the
    /// file cannot be read (logged).
    pub async fn read<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let key = self.key(key);
        let value = self.read_key(&key).await;
        self.count(u64::from(value.is_some()), u64::from(value.is_none()));
        value
    }

    /// The live values of `keys` (absent ones left out), read in one database call.
    pub async fn read_multi<T: DeserializeOwned>(&self, keys: &[&str]) -> HashMap<String, T> {
        let normalized: Vec<Key> = keys.iter().map(|k| self.key(k)).collect();
        let now = self.now();
        let timeout = self.inner.options.read_timeout;
        let found = self.inner.db.values(normalized, now, timeout).await;
        let mut out = HashMap::new();
        match found {
            Ok(values) => {
                for (name, value) in keys.iter().zip(values) {
                    if let Some(v) = value.and_then(|bytes| decode(name.as_bytes(), &bytes)) {
                        out.insert((*name).to_owned(), v);
                    }
                }
            }
            Err(err) => warn_miss("read_multi", &err),
        }
        let hits = out.len() as u64;
        self.count(hits, keys.len() as u64 - hits);
        out
    }

    /// Whether `key` has a live entry (`false` when the file cannot be read, logged).
    pub async fn exists(&self, key: &str) -> bool {
        let key = self.key(key);
        let now = self.now();
        let timeout = self.inner.options.read_timeout;
        let found = self.inner.db.exists(key, now, timeout).await;
        found.unwrap_or_else(|err| {
            warn_miss("exists", &err);
            false
        })
    }

    /// The live entry under `key` with its metadata, for administration. Unlike the other
    /// reads it reports failures and is not counted as a hit or miss.
    ///
    /// # Errors
    /// The file is busy, locked or unreadable.
    pub async fn inspect(&self, key: &str) -> Result<Option<EntryInfo>> {
        let key = self.key(key);
        let now = self.now();
        let timeout = self.inner.options.read_timeout;
        self.inner.db.entry(key, now, timeout).await
    }

    /// One key's value, uncounted; failures logged as misses.
    pub(super) async fn read_key<T: DeserializeOwned>(&self, key: &Key) -> Option<T> {
        let now = self.now();
        let timeout = self.inner.options.read_timeout;
        let found = self.inner.db.values(vec![key.clone()], now, timeout).await;
        match found {
            Ok(mut values) => values
                .pop()
                .flatten()
                .and_then(|bytes| decode(&key.bytes, &bytes)),
            Err(err) => {
                warn_miss("read", &err);
                None
            }
        }
    }
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Option<T> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Some(v),
        Err(err) => {
            let key = String::from_utf8_lossy(key);
            tracing::warn!(key = %key, cause = %err, "cache value does not match the requested type; treated as a miss");
            None
        }
    }
}

fn warn_miss(op: &'static str, err: &super::Error) {
    tracing::warn!(op, busy = err.is_busy(), cause = %err, "cache read failed; treated as a miss");
}
