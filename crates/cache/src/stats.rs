//! `Cache::stats`: totals of the cache file and the counters of running servers.

use std::time::Duration;

use super::Cache;
use super::error::Result;
use super::store::ServerStats;

/// Counter rows flushed longer ago than this belong to processes that are gone.
const LIVE_WINDOW: Duration = Duration::from_secs(60);

/// A snapshot of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheStats {
    /// Rows in the file (live and not yet evicted).
    pub entries: u64,
    /// Sum of their `byte_size` (key + value + 140).
    pub bytes: u64,
    /// Hits counted by this handle's process.
    pub hits: u64,
    /// Misses counted by this handle's process.
    pub misses: u64,
    /// Counters and limits of server processes that flushed within the last minute.
    pub servers: Vec<ServerStats>,
}

impl Cache {
    /// Entry and byte totals (exact), this process's counters, and running servers'.
    ///
    /// # Errors
    /// The file is busy, locked or unreadable.
    pub async fn stats(&self) -> Result<CacheStats> {
        let since = self.now() - LIVE_WINDOW;
        let (totals, servers) = self.inner.db.stats(since).await?;
        let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(CacheStats {
            entries: unsigned(totals.entries),
            bytes: unsigned(totals.bytes),
            hits: self.hits(),
            misses: self.misses(),
            servers,
        })
    }
}
