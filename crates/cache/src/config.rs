//! [`CacheOptions`]: what the cache engine runs with.

use std::time::Duration;

/// What the engine runs with. `None` limits are off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheOptions {
    /// Entries created longer ago than this are evicted.
    pub max_age: Option<Duration>,
    /// Most entries kept.
    pub max_entries: Option<u64>,
    /// Largest total of `byte_size`.
    pub max_size: Option<u64>,
    /// Rows one expiry round removes at most; a write starts a pass with probability
    /// `2 / expiry_batch_size` (Solid Cache's 2% at 100).
    pub expiry_batch_size: u32,
    /// Busy timeout of reads: longer than this on a locked file and the read is a miss.
    pub read_timeout: Duration,
    /// Longest wait of a write (write, write_multi, delete, increment, the expiry pass and
    /// the stats flush) for this process's other writes and another process's write lock
    /// together; then the write is dropped (logged). The admin calls (`clear`,
    /// `try_delete`) wait the store's full busy timeout instead.
    ///
    /// 100 ms by default: a cache write itself takes tens of microseconds (p99 about 1 ms,
    /// 4 ms with eight writers queued), and other processes' write transactions on the file
    /// are as short, so ordinary contention is ridden out with a wide margin; a lock held
    /// longer (a long `clear`, a stuck process, a `sqlite3` shell in a transaction) costs a
    /// request at most a tenth of a second and a recomputation later, never the 5 s busy
    /// timeout.
    pub write_timeout: Duration,
    /// Key prefix (`namespace:key`).
    pub namespace: Option<String>,
    /// Period of the background counter flush.
    pub stats_interval: Duration,
}

impl Default for CacheOptions {
    /// Solid Cache's defaults with the install template's 256 MB `max_size`.
    fn default() -> Self {
        Self {
            max_age: Some(Duration::from_secs(14 * 24 * 3600)),
            max_entries: None,
            max_size: Some(256 * 1024 * 1024),
            expiry_batch_size: 100,
            read_timeout: Duration::from_millis(20),
            write_timeout: Duration::from_millis(100),
            namespace: None,
            stats_interval: Duration::from_secs(1),
        }
    }
}
