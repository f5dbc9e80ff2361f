//! Every metric: its name (Prometheus conventions: `trifecta_` prefix, `_total` on
//! counters, base units `_seconds` and `_bytes`), its help text, and the buckets of the
//! latency histograms. The engines spell the same names in their facade calls; the test of
//! `/metrics` checks that each one shows up with this help text.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder};

/// Bucket bounds of every `_seconds` histogram: 100 µs (a warm SQLite write lock) to 10 s
/// (a request timing out).
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// HTTP requests by method, route template and status.
pub(super) const HTTP_REQUESTS: &str = "trifecta_http_requests_total";
/// HTTP latency by method and route template.
pub(super) const HTTP_DURATION: &str = "trifecta_http_request_duration_seconds";
/// Jobs by state (read at scrape time).
pub(super) const JOBS: &str = "trifecta_jobs";
/// Cache reads that found a live entry (read at scrape time).
pub(super) const CACHE_HITS: &str = "trifecta_cache_hits_total";
/// Cache reads that found nothing (read at scrape time).
pub(super) const CACHE_MISSES: &str = "trifecta_cache_misses_total";
/// Cache rows (read at scrape time).
pub(super) const CACHE_ENTRIES: &str = "trifecta_cache_entries";
/// Cache bytes (read at scrape time).
pub(super) const CACHE_BYTES: &str = "trifecta_cache_bytes";
/// Open ActionCable sockets (read at scrape time).
pub(super) const CABLE_SOCKETS: &str = "trifecta_cable_open_sockets";
/// Broadcast frames written to sockets (read at scrape time).
pub(super) const CABLE_FRAMES: &str = "trifecta_cable_frames_delivered_total";
/// Sockets dropped as too slow (read at scrape time).
pub(super) const CABLE_SLOW: &str = "trifecta_cable_slow_consumer_disconnects_total";
/// SQLite main file size per store (read at scrape time).
pub(super) const SQLITE_FILE: &str = "trifecta_sqlite_file_bytes";
/// SQLite WAL size per store (read at scrape time).
pub(super) const SQLITE_WAL: &str = "trifecta_sqlite_wal_bytes";
/// Open connections of each store's PostgreSQL pool (read at scrape time).
pub(super) const PG_OPEN: &str = "trifecta_postgres_pool_connections";
/// Idle connections of each store's PostgreSQL pool (read at scrape time).
pub(super) const PG_IDLE: &str = "trifecta_postgres_pool_idle_connections";
/// Operations waiting for a connection of each store's PostgreSQL pool (read at scrape time).
pub(super) const PG_WAITING: &str = "trifecta_postgres_pool_waiting";
/// Resident memory (read at scrape time).
pub(super) const PROCESS_RSS: &str = "trifecta_process_resident_memory_bytes";
/// CPU time (read at scrape time).
pub(super) const PROCESS_CPU: &str = "trifecta_process_cpu_seconds_total";
/// Help text of [`PROCESS_CPU`], which the scrape writes itself (see `scrape::write_cpu`).
pub(super) const PROCESS_CPU_HELP: &str = "User and system CPU time of the process.";
/// Open descriptors (read at scrape time).
pub(super) const PROCESS_FDS: &str = "trifecta_process_open_fds";
/// Descriptor limit (read at scrape time).
pub(super) const PROCESS_MAX_FDS: &str = "trifecta_process_max_fds";

/// Turns every `_seconds` metric into a histogram with [`SECONDS_BUCKETS`] (the exporter's
/// default is a summary, which cannot be aggregated across servers).
pub(super) fn buckets(builder: PrometheusBuilder) -> Result<PrometheusBuilder, BuildError> {
    builder.set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
}

/// The help text of every metric, for the `# HELP` lines.
pub(super) fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template (`unmatched` for a 404 outside every route) and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its response head, by method and route template."
    );
    describe_gauge!(
        JOBS,
        "Jobs in the queue database by state (ready, scheduled, claimed, blocked, failed, finished), over every process sharing it."
    );
    describe_counter!(
        "trifecta_jobs_enqueued_total",
        "Jobs enqueued by this process (jobs discarded by a full concurrency limit excluded)."
    );
    describe_counter!(
        "trifecta_jobs_finished_total",
        "Jobs this process performed successfully."
    );
    describe_counter!(
        "trifecta_jobs_failed_total",
        "Job attempts of this process that raised, by what followed: failed, retried or discarded."
    );
    describe_histogram!(
        "trifecta_jobs_start_delay_seconds",
        Unit::Seconds,
        "Time from a job being due (its enqueue, unless scheduled later) to a worker of this process starting it."
    );
    describe_gauge!(
        "trifecta_jobs_busy_threads",
        "Worker threads of this process performing a job now."
    );
    describe_counter!(
        CACHE_HITS,
        "Cache reads of this process that found a live entry."
    );
    describe_counter!(
        CACHE_MISSES,
        "Cache reads of this process that found nothing (or failed)."
    );
    describe_counter!(
        "trifecta_cache_writes_total",
        "Cache entries written by this process."
    );
    describe_counter!(
        "trifecta_cache_evictions_total",
        "Cache entries removed by this process's expiry passes (too old, expired, or over the size or entry limit)."
    );
    describe_gauge!(CACHE_ENTRIES, "Entries in the cache file.");
    describe_gauge!(
        CACHE_BYTES,
        Unit::Bytes,
        "Bytes of the cache's entries (key + value + 140 per row, as Solid Cache counts)."
    );
    describe_gauge!(CABLE_SOCKETS, "Open ActionCable sockets of this process.");
    describe_gauge!(
        "trifecta_cable_subscriptions",
        "Confirmed ActionCable subscriptions of this process, by channel class."
    );
    describe_counter!(
        "trifecta_cable_broadcasts_total",
        "Messages this process broadcast through Solid Cable."
    );
    describe_counter!(
        CABLE_FRAMES,
        "Broadcast frames written to this process's sockets."
    );
    describe_histogram!(
        "trifecta_cable_listener_lag_seconds",
        Unit::Seconds,
        "Time from a broadcast's commit to this process's listener reading it (messages not delivered at once: from other processes, or behind others)."
    );
    describe_counter!(
        CABLE_SLOW,
        "Sockets this process disconnected for not reading fast enough."
    );
    describe_gauge!(
        SQLITE_FILE,
        Unit::Bytes,
        "Size of each SQLite database file."
    );
    describe_gauge!(
        SQLITE_WAL,
        Unit::Bytes,
        "Size of each SQLite database's write-ahead log."
    );
    describe_gauge!(
        PG_OPEN,
        "Open connections of each PostgreSQL store's pool (stores on PostgreSQL only)."
    );
    describe_gauge!(PG_IDLE, "Idle connections of each PostgreSQL store's pool.");
    describe_gauge!(
        PG_WAITING,
        "Operations waiting for a connection of each PostgreSQL store's pool."
    );
    describe_histogram!(
        "trifecta_sqlite_write_wait_seconds",
        Unit::Seconds,
        "Time a write transaction of this process waited for its turn and SQLite's write lock, per database."
    );
    describe_gauge!(PROCESS_RSS, Unit::Bytes, "Resident memory of the process.");
    describe_gauge!(PROCESS_FDS, "Open file descriptors of the process.");
    describe_gauge!(
        PROCESS_MAX_FDS,
        "The process's limit of open file descriptors."
    );
}
