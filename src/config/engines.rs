//! The clap flags of the engines (`--queue-*`, `--cable-*`, `--cache-*`, `--wake`), each also
//! a `TRIFECTA_*` variable, and the plain option structs of the engines they describe. The
//! engines know nothing of clap; their defaults are the ones documented here.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};

use crate::actioncable::ActionCableOptions;
use crate::cable::CableOptions;
use crate::cache::CacheOptions;
use crate::queue::{OnDeadProcess, QueueOptions};
use crate::store::WakeMode;

/// Parses `--wake` (`instant` or `poll`), listing both in `--help`.
pub fn wake_parser() -> impl TypedValueParser<Value = WakeMode> {
    PossibleValuesParser::new(WakeMode::NAMES).try_map(|s| s.parse::<WakeMode>())
}

/// Parses `--on-dead-process` (`release` or `fail`), listing both in `--help`.
fn on_dead_parser() -> impl TypedValueParser<Value = OnDeadProcess> {
    PossibleValuesParser::new(OnDeadProcess::NAMES).try_map(|s| s.parse::<OnDeadProcess>())
}

/// Settings of the job queue engine.
#[derive(Args, Clone, Debug)]
pub struct QueueArgs {
    /// Queues the worker takes jobs from, in strict order: names, `prefix*` or `*`.
    #[arg(
        id = "queues",
        long = "queues",
        env = "TRIFECTA_QUEUES",
        default_value = "*",
        value_delimiter = ','
    )]
    pub queues: Vec<String>,
    /// Jobs run at once by this process's worker (0 runs no worker).
    #[arg(
        id = "queue_threads",
        long = "queue-threads",
        env = "TRIFECTA_QUEUE_THREADS",
        default_value_t = 3
    )]
    pub threads: usize,
    /// How often the worker polls for jobs written by other processes.
    #[arg(id = "queue_polling_interval", long = "queue-polling-interval", env = "TRIFECTA_QUEUE_POLLING_INTERVAL", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub polling_interval: Duration,
    /// How often the dispatcher moves due scheduled jobs to ready.
    #[arg(id = "dispatcher_polling_interval", long = "dispatcher-polling-interval", env = "TRIFECTA_DISPATCHER_POLLING_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub dispatcher_polling_interval: Duration,
    /// Most scheduled jobs dispatched per dispatcher transaction.
    #[arg(
        id = "dispatcher_batch_size",
        long = "dispatcher-batch-size",
        env = "TRIFECTA_DISPATCHER_BATCH_SIZE",
        default_value_t = 500
    )]
    pub dispatcher_batch_size: usize,
    /// How often expired concurrency semaphores and blocked jobs are cleaned up.
    #[arg(id = "concurrency_maintenance_interval", long = "concurrency-maintenance-interval", env = "TRIFECTA_CONCURRENCY_MAINTENANCE_INTERVAL", default_value = "600s", value_parser = humantime::parse_duration)]
    pub concurrency_maintenance_interval: Duration,
    /// Recurring tasks file: TOML, or `.yml`/`.yaml` in Solid Queue's `recurring.yml` shape
    /// (none when unset).
    #[arg(
        id = "recurring_schedule",
        long = "recurring-schedule",
        env = "TRIFECTA_RECURRING_SCHEDULE"
    )]
    pub recurring_schedule: Option<PathBuf>,
    /// How often this process records that it is alive.
    #[arg(id = "process_heartbeat_interval", long = "process-heartbeat-interval", env = "TRIFECTA_PROCESS_HEARTBEAT_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration)]
    pub heartbeat_interval: Duration,
    /// A process silent for longer than this is dead; its claimed jobs are recovered.
    #[arg(id = "process_alive_threshold", long = "process-alive-threshold", env = "TRIFECTA_PROCESS_ALIVE_THRESHOLD", default_value = "5m", value_parser = humantime::parse_duration)]
    pub alive_threshold: Duration,
    /// Jobs claimed by a dead process: `release` (run again) or `fail`.
    #[arg(id = "on_dead_process", long = "on-dead-process", env = "TRIFECTA_ON_DEAD_PROCESS", value_parser = on_dead_parser(), default_value = "release")]
    pub on_dead_process: OnDeadProcess,
    /// On shutdown, how long running jobs may finish before their claims are released.
    #[arg(id = "queue_shutdown_timeout", long = "queue-shutdown-timeout", env = "TRIFECTA_QUEUE_SHUTDOWN_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
    /// Keep finished jobs (marked finished) instead of deleting them.
    #[arg(id = "preserve_finished_jobs", long = "preserve-finished-jobs", env = "TRIFECTA_PRESERVE_FINISHED_JOBS", default_value_t = true, action = clap::ArgAction::Set)]
    pub preserve_finished_jobs: bool,
    /// Finished jobs older than this are deleted by the periodic cleanup.
    #[arg(id = "clear_finished_jobs_after", long = "clear-finished-jobs-after", env = "TRIFECTA_CLEAR_FINISHED_JOBS_AFTER", default_value = "1day", value_parser = humantime::parse_duration)]
    pub clear_finished_jobs_after: Duration,
}

impl QueueArgs {
    /// The engine options these flags describe.
    pub fn options(&self) -> QueueOptions {
        QueueOptions {
            queues: self.queues.clone(),
            threads: self.threads,
            polling_interval: self.polling_interval,
            dispatcher_polling_interval: self.dispatcher_polling_interval,
            dispatcher_batch_size: self.dispatcher_batch_size,
            concurrency_maintenance_interval: self.concurrency_maintenance_interval,
            recurring_schedule: self.recurring_schedule.clone(),
            heartbeat_interval: self.heartbeat_interval,
            alive_threshold: self.alive_threshold,
            on_dead_process: self.on_dead_process,
            shutdown_timeout: self.shutdown_timeout,
            preserve_finished_jobs: self.preserve_finished_jobs,
            clear_finished_jobs_after: self.clear_finished_jobs_after,
        }
    }
}

impl Default for QueueArgs {
    /// The engine's defaults, as with no flags and no environment.
    fn default() -> Self {
        let o = QueueOptions::default();
        Self {
            queues: o.queues,
            threads: o.threads,
            polling_interval: o.polling_interval,
            dispatcher_polling_interval: o.dispatcher_polling_interval,
            dispatcher_batch_size: o.dispatcher_batch_size,
            concurrency_maintenance_interval: o.concurrency_maintenance_interval,
            recurring_schedule: o.recurring_schedule,
            heartbeat_interval: o.heartbeat_interval,
            alive_threshold: o.alive_threshold,
            on_dead_process: o.on_dead_process,
            shutdown_timeout: o.shutdown_timeout,
            preserve_finished_jobs: o.preserve_finished_jobs,
            clear_finished_jobs_after: o.clear_finished_jobs_after,
        }
    }
}

/// Solid Cable settings (Solid Cable's `config/cable.yml`).
#[derive(Args, Clone, Debug)]
pub struct CableArgs {
    /// How often the listener polls the cable database for messages of other processes.
    #[arg(id = "cable_polling_interval", long = "cable-polling-interval", env = "TRIFECTA_CABLE_POLLING_INTERVAL", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub polling_interval: Duration,
    /// How long messages are kept before trimming deletes them.
    #[arg(id = "cable_message_retention", long = "cable-message-retention", env = "TRIFECTA_CABLE_MESSAGE_RETENTION", default_value = "1day", value_parser = humantime::parse_duration)]
    pub message_retention: Duration,
    /// How often the listener trims messages older than the retention.
    #[arg(id = "cable_trim_interval", long = "cable-trim-interval", env = "TRIFECTA_CABLE_TRIM_INTERVAL", default_value = "1min", value_parser = humantime::parse_duration)]
    pub trim_interval: Duration,
    /// Most rows deleted by one trim transaction (trimming repeats until done).
    #[arg(id = "cable_trim_batch_size", long = "cable-trim-batch-size", env = "TRIFECTA_CABLE_TRIM_BATCH_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub trim_batch_size: u32,
    /// Most messages of one stream replayed to a resuming client; a longer gap is refused.
    #[arg(id = "cable_history_limit", long = "cable-history-limit", env = "TRIFECTA_CABLE_HISTORY_LIMIT", default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub history_limit: u32,
    /// Oldest message replayed to a resuming client; a gap reaching further back is refused.
    #[arg(id = "cable_history_ttl", long = "cable-history-ttl", env = "TRIFECTA_CABLE_HISTORY_TTL", default_value = "5min", value_parser = humantime::parse_duration)]
    pub history_ttl: Duration,
    /// How long a closed connection's session can be restored by its client.
    #[arg(id = "cable_session_ttl", long = "cable-session-ttl", env = "TRIFECTA_CABLE_SESSION_TTL", default_value = "5min", value_parser = humantime::parse_duration)]
    pub session_ttl: Duration,
    /// How long someone whose socket closed (or whose server died) stays in presence sets.
    #[arg(id = "cable_presence_ttl", long = "cable-presence-ttl", env = "TRIFECTA_CABLE_PRESENCE_TTL", default_value = "15s", value_parser = presence_ttl)]
    pub presence_ttl: Duration,
}

/// A presence TTL: from 1 s (rows are refreshed every quarter of it) to 1 hour.
fn presence_ttl(text: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if ttl < Duration::from_secs(1) || ttl > Duration::from_secs(3600) {
        return Err("must be from 1s to 1h".into());
    }
    Ok(ttl)
}

impl CableArgs {
    /// The engine options these flags describe.
    pub fn options(&self) -> CableOptions {
        CableOptions {
            polling_interval: self.polling_interval,
            message_retention: self.message_retention,
            trim_interval: self.trim_interval,
            trim_batch_size: self.trim_batch_size,
            history_limit: self.history_limit,
            history_ttl: self.history_ttl,
            session_ttl: self.session_ttl,
            presence_ttl: self.presence_ttl,
        }
    }
}

impl Default for CableArgs {
    /// The engine's defaults, as with no flags and no environment.
    fn default() -> Self {
        let o = CableOptions::default();
        Self {
            polling_interval: o.polling_interval,
            message_retention: o.message_retention,
            trim_interval: o.trim_interval,
            trim_batch_size: o.trim_batch_size,
            history_limit: o.history_limit,
            history_ttl: o.history_ttl,
            session_ttl: o.session_ttl,
            presence_ttl: o.presence_ttl,
        }
    }
}

/// ActionCable server settings: origins, ping beat, the limits of one connection and the
/// server's memory budget.
#[derive(Args, Clone, Debug)]
pub struct ActionCableArgs {
    /// Extra origins allowed to open `/cable` (comma separated, `*` for any). The page's own
    /// origin (same as the Host header) is always allowed, and so are clients sending no Origin.
    #[arg(
        id = "cable_allowed_origins",
        long = "cable-allowed-origins",
        env = "TRIFECTA_CABLE_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Interval of `{"type":"ping"}` frames (clients call a connection stale after 6 s).
    #[arg(id = "cable_ping_interval", long = "cable-ping-interval", env = "TRIFECTA_CABLE_PING_INTERVAL", default_value = "3s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,
    /// Largest frame a client may send, in bytes; a larger one closes the socket with 1009.
    #[arg(id = "cable_max_frame", long = "cable-max-frame", env = "TRIFECTA_CABLE_MAX_FRAME", default_value_t = 64 * 1024)]
    pub max_frame: usize,
    /// Most subscriptions one connection may hold; further subscribes are rejected.
    #[arg(
        id = "cable_max_subscriptions",
        long = "cable-max-subscriptions",
        env = "TRIFECTA_CABLE_MAX_SUBSCRIPTIONS",
        default_value_t = 100
    )]
    pub max_subscriptions: usize,
    /// Bytes of broadcasts queued per connection (each queued broadcast counts its whole
    /// payload, shared or not); a client that lets it fill is disconnected as too slow. One
    /// broadcast is always accepted into an empty queue, however large.
    #[arg(id = "cable_send_queue_bytes", long = "cable-send-queue-bytes", env = "TRIFECTA_CABLE_SEND_QUEUE_BYTES", default_value_t = 4 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub send_queue_bytes: u64,
    /// Bytes of broadcast payloads all connections may hold in their queues together (each
    /// shared payload counted once); past it the connections with the most queued bytes are
    /// disconnected as too slow, largest first.
    #[arg(id = "cable_memory_budget", long = "cable-memory-budget", env = "TRIFECTA_CABLE_MEMORY_BUDGET", default_value_t = 128 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_budget: u64,
    /// How often a connection asks the connect hook whether its identity is still valid
    /// (e.g. its session has not expired); it is also asked on every subscribe. A connection
    /// that is no longer valid is closed with `unauthorized`, without reconnecting.
    #[arg(id = "cable_revalidate_interval", long = "cable-revalidate-interval", env = "TRIFECTA_CABLE_REVALIDATE_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub revalidate_interval: Duration,
    /// Longest time one write to a client may take before it counts as too slow.
    #[arg(id = "cable_write_timeout", long = "cable-write-timeout", env = "TRIFECTA_CABLE_WRITE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub write_timeout: Duration,
    /// Commands (frames) a connection may send per second on average; 0 for no limit. A
    /// frame past it is rejected (logged and ignored), and a connection that keeps going
    /// for 5 s is closed (`rate_limited`, no reconnect).
    #[arg(
        id = "cable_max_commands",
        long = "cable-max-commands",
        env = "TRIFECTA_CABLE_MAX_COMMANDS",
        default_value_t = 50
    )]
    pub max_commands: u32,
    /// Commands a connection may send at once before the rate applies.
    #[arg(id = "cable_commands_burst", long = "cable-commands-burst", env = "TRIFECTA_CABLE_COMMANDS_BURST", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub commands_burst: u32,
}

impl ActionCableArgs {
    /// The engine options these flags describe.
    pub fn options(&self) -> ActionCableOptions {
        ActionCableOptions {
            allowed_origins: self.allowed_origins.clone(),
            ping_interval: self.ping_interval,
            max_frame: self.max_frame,
            max_subscriptions: self.max_subscriptions,
            send_queue_bytes: self.send_queue_bytes,
            memory_budget: self.memory_budget,
            revalidate_interval: self.revalidate_interval,
            write_timeout: self.write_timeout,
            max_commands: self.max_commands,
            commands_burst: self.commands_burst,
        }
    }
}

impl Default for ActionCableArgs {
    /// The engine's defaults, as with no flags and no environment.
    fn default() -> Self {
        let o = ActionCableOptions::default();
        Self {
            allowed_origins: o.allowed_origins,
            ping_interval: o.ping_interval,
            max_frame: o.max_frame,
            max_subscriptions: o.max_subscriptions,
            send_queue_bytes: o.send_queue_bytes,
            memory_budget: o.memory_budget,
            revalidate_interval: o.revalidate_interval,
            write_timeout: o.write_timeout,
            max_commands: o.max_commands,
            commands_burst: o.commands_burst,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        queue: QueueArgs,
        #[command(flatten)]
        cable: CableArgs,
        #[command(flatten)]
        actioncable: ActionCableArgs,
        #[command(flatten)]
        cache: CacheArgs,
        #[arg(long, value_parser = wake_parser(), default_value = "instant")]
        wake: WakeMode,
    }

    #[test]
    fn no_flags_give_the_engines_own_defaults() {
        let flags = Flags::try_parse_from(["trifecta"]).unwrap();
        assert_eq!(flags.queue.options(), QueueOptions::default());
        assert_eq!(flags.cable.options(), CableOptions::default());
        assert_eq!(flags.actioncable.options(), ActionCableOptions::default());
        assert_eq!(flags.cache.options(), CacheOptions::default());
        assert_eq!(QueueArgs::default().options(), QueueOptions::default());
        assert_eq!(flags.wake, WakeMode::default());
    }

    #[test]
    fn the_choices_parse_by_name_and_refuse_others() {
        let flags =
            Flags::try_parse_from(["trifecta", "--wake", "poll", "--on-dead-process", "fail"])
                .unwrap();
        assert_eq!(flags.wake, WakeMode::Poll);
        assert_eq!(flags.queue.on_dead_process, OnDeadProcess::Fail);
        let refused = Flags::try_parse_from(["trifecta", "--wake", "sometimes"]);
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("instant") && message.contains("poll"),
            "{message}"
        );
    }
}
