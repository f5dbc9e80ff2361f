//! Solid Cache in Rust: an expiring, size-bounded key-value cache in its own SQLite file.
//!
//! [`Cache`] is a cheap-`Clone` handle with a serde-typed API (`read`, `write`, `fetch`,
//! `increment`, the `_multi` forms, ...). Keys are stored as Solid Cache stores them (namespaced,
//! hashed down to 1024 bytes, looked up by a signed 64-bit `key_hash`); values are JSON.
//!
//! - Failure policy: a busy, locked or unreadable file makes a read a miss and a write a
//!   dropped write, each with a logged warning; request-facing calls never return errors.
//!   Reads wait at most [`CacheOptions::read_timeout`] for a locked file, writes (and the
//!   expiry pass) at most [`CacheOptions::write_timeout`].
//! - Eviction: writes start an expiry pass with probability `2 / expiry_batch_size` (Solid
//!   Cache's 2%); the pass runs in [`Cache::run`], a background task, and removes the oldest
//!   rows while the exact totals (kept by triggers) exceed `max_entries`/`max_size`, and
//!   rows past `max_age` or their own expiry. Expired rows are never returned.
//! - `fetch` is single-flight per key within a process.
//!
//! Talks to: [`trifecta_store`] only. Knows nothing of the app or the web layer.

mod background;
mod config;
mod error;
mod fetch;
mod key;
mod read;
mod stats;
mod store;
mod write;

use parking_lot::Mutex;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

pub use background::ExpiryOutcome;
pub use config::CacheOptions;

mod embedded {
    refinery::embed_migrations!("sql/sqlite");
}

mod embedded_pg {
    refinery::embed_migrations!("sql/postgres");
}

/// The cache's migrations on PostgreSQL (`sql/postgres/`), for [`trifecta_store::Pg::migrate`].
pub fn postgres_migrations() -> refinery::Runner {
    embedded_pg::migrations::runner()
}

/// This engine's tables on SQLite: the migrations in `crates/cache/sql/sqlite/`, which the
/// store runs.
pub const SCHEMA: trifecta_store::Schema = trifecta_store::Schema {
    name: "cache",
    runner: embedded::migrations::runner,
};
pub use error::{Error, Result};
pub use key::MAX_KEY_BYTES;
pub use stats::CacheStats;
pub use store::{EntryInfo, ServerStats};
pub use write::WriteOptions;

use key::Key;
use trifecta_store::{Clock, Timestamp};

/// The cache. Cheap to clone; clones share counters, expiry and in-flight fetches.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
    namespace: Option<Arc<str>>,
}

struct Inner {
    db: store::Store,
    clock: Clock,
    options: CacheOptions,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Entries this process wrote.
    written: AtomicU64,
    /// Entries this process's expiry deleted.
    evicted: AtomicU64,
    /// Set by writes when an expiry pass is due; [`Cache::run`] waits on it. A pending
    /// permit coalesces many requests into one pass, which runs until the cache is back
    /// within bounds.
    expiry: Notify,
    /// Keys being computed by `fetch`, type-erased; see `fetch.rs`.
    inflight: Mutex<HashMap<fetch::SlotKey, fetch::Slot>>,
    instance: String,
    started_at: Timestamp,
    /// `trifecta_cache_writes_total`, looked up once (a registry lookup per write
    /// otherwise, with a recorder installed).
    writes: metrics::Counter,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("db", &self.inner.db)
            .field("namespace", &self.namespace)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache on `db` (a migrated cache file, [`trifecta_store::Db`], or a migrated
    /// [`trifecta_store::Pg`] store), with time from `clock`.
    pub fn new(
        db: impl Into<trifecta_store::Backend>,
        clock: Clock,
        options: CacheOptions,
    ) -> Self {
        let namespace = options.namespace.as_deref().map(Arc::from);
        let started_at = clock.now();
        let instance = format!("{}-{:016x}", std::process::id(), fastrand::u64(..));
        Self {
            inner: Arc::new(Inner {
                db: store::Store(db.into()),
                clock,
                options,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                written: AtomicU64::new(0),
                evicted: AtomicU64::new(0),
                expiry: Notify::new(),
                inflight: Mutex::new(HashMap::new()),
                instance,
                started_at,
                writes: metrics::counter!("trifecta_cache_writes_total"),
            }),
            namespace,
        }
    }

    /// A handle on the same cache whose keys live under `namespace` (`namespace:key`);
    /// an empty string means no namespace. Counters and expiry are shared.
    pub fn with_namespace(&self, namespace: &str) -> Self {
        Self {
            inner: self.inner.clone(),
            namespace: (!namespace.is_empty()).then(|| Arc::from(namespace)),
        }
    }

    /// This handle's namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The options the cache runs with.
    pub fn options(&self) -> &CacheOptions {
        &self.inner.options
    }

    /// Where the cache lives.
    pub fn backend(&self) -> &trifecta_store::Backend {
        &self.inner.db.0
    }

    /// Reads that found a live entry, since this cache was created (all handles).
    pub fn hits(&self) -> u64 {
        self.inner.hits.load(Ordering::Relaxed)
    }

    /// Reads that found nothing (or failed), since this cache was created (all handles).
    pub fn misses(&self) -> u64 {
        self.inner.misses.load(Ordering::Relaxed)
    }

    /// Entries written by this process since the cache was created (all handles).
    pub fn writes(&self) -> u64 {
        self.inner.written.load(Ordering::Relaxed)
    }

    /// Entries this process's expiry passes deleted (by age, count or size) since the
    /// cache was created.
    pub fn evictions(&self) -> u64 {
        self.inner.evicted.load(Ordering::Relaxed)
    }

    fn key(&self, key: &str) -> Key {
        Key::new(self.namespace.as_deref(), key)
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn count(&self, hits: u64, misses: u64) {
        if hits > 0 {
            self.inner.hits.fetch_add(hits, Ordering::Relaxed);
        }
        if misses > 0 {
            self.inner.misses.fetch_add(misses, Ordering::Relaxed);
        }
    }
}
