//! Cache settings: the `--cache-*` flags (`TRIFECTA_CACHE_*`) and the [`CacheOptions`] the
//! engine runs with.

use std::time::Duration;

use clap::Args;

/// Flags of the cache engine, flattened into `serve` and `cache`.
#[derive(Args, Clone, Debug)]
pub struct CacheArgs {
    /// Entries older than this are evicted by the expiry pass (`0s`: no age limit).
    #[arg(id = "cache_max_age", long = "cache-max-age", env = "TRIFECTA_CACHE_MAX_AGE", default_value = "14days", value_parser = humantime::parse_duration)]
    pub max_age: Duration,
    /// Most entries kept; the oldest go first (`0`: no limit).
    #[arg(
        id = "cache_max_entries",
        long = "cache-max-entries",
        env = "TRIFECTA_CACHE_MAX_ENTRIES",
        default_value_t = 0
    )]
    pub max_entries: u64,
    /// Largest total size in bytes (key + value + 140 per entry); the oldest go first (`0`: no limit).
    #[arg(id = "cache_max_size", long = "cache-max-size", env = "TRIFECTA_CACHE_MAX_SIZE", default_value_t = 256 * 1024 * 1024)]
    pub max_size: u64,
    /// Rows one expiry round removes at most; about 2 of every this many writes start a pass.
    #[arg(id = "cache_expiry_batch_size", long = "cache-expiry-batch-size", env = "TRIFECTA_CACHE_EXPIRY_BATCH_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub expiry_batch_size: u32,
    /// How long a read waits for a locked cache file before it counts as a miss.
    #[arg(id = "cache_read_timeout", long = "cache-read-timeout", env = "TRIFECTA_CACHE_READ_TIMEOUT", default_value = "20ms", value_parser = humantime::parse_duration)]
    pub read_timeout: Duration,
    /// How long a write (also delete, increment, expiry) waits for a locked cache file
    /// before it is dropped.
    #[arg(id = "cache_write_timeout", long = "cache-write-timeout", env = "TRIFECTA_CACHE_WRITE_TIMEOUT", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub write_timeout: Duration,
    /// Prefix of every key (`NAMESPACE:key`); empty for none.
    #[arg(
        id = "cache_namespace",
        long = "cache-namespace",
        env = "TRIFECTA_CACHE_NAMESPACE",
        default_value = ""
    )]
    pub namespace: String,
    /// How often a server writes its hit/miss counters for `trifecta cache stats`.
    #[arg(id = "cache_stats_interval", long = "cache-stats-interval", env = "TRIFECTA_CACHE_STATS_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub stats_interval: Duration,
}

impl CacheArgs {
    /// The engine options these flags describe.
    pub fn options(&self) -> CacheOptions {
        CacheOptions {
            max_age: (!self.max_age.is_zero()).then_some(self.max_age),
            max_entries: (self.max_entries > 0).then_some(self.max_entries),
            max_size: (self.max_size > 0).then_some(self.max_size),
            expiry_batch_size: self.expiry_batch_size.max(1),
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            namespace: (!self.namespace.is_empty()).then(|| self.namespace.clone()),
            // `cache stats` counts a server as running while it flushed within the last minute.
            stats_interval: self
                .stats_interval
                .clamp(Duration::from_millis(10), Duration::from_secs(10)),
        }
    }
}

impl Default for CacheArgs {
    /// The documented defaults, as with no flags and no environment.
    fn default() -> Self {
        let o = CacheOptions::default();
        Self {
            max_age: o.max_age.unwrap_or_default(),
            max_entries: o.max_entries.unwrap_or(0),
            max_size: o.max_size.unwrap_or(0),
            expiry_batch_size: o.expiry_batch_size,
            read_timeout: o.read_timeout,
            write_timeout: o.write_timeout,
            namespace: String::new(),
            stats_interval: o.stats_interval,
        }
    }
}

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
