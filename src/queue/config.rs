//! Queue settings (`trifecta serve` flags, each also a `TRIFECTA_*` variable), with Solid
//! Queue's defaults.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// What happens to jobs claimed by a process found dead.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDeadProcess {
    /// Back to ready, to run again (at-least-once delivery).
    #[default]
    Release,
    /// Recorded as failed executions, as Solid Queue does.
    Fail,
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
    #[arg(id = "on_dead_process", long = "on-dead-process", env = "TRIFECTA_ON_DEAD_PROCESS", value_enum, default_value_t = OnDeadProcess::Release)]
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

impl Default for QueueArgs {
    fn default() -> Self {
        Self {
            queues: vec!["*".to_owned()],
            threads: 3,
            polling_interval: Duration::from_millis(100),
            dispatcher_polling_interval: Duration::from_secs(1),
            dispatcher_batch_size: 500,
            concurrency_maintenance_interval: Duration::from_secs(600),
            recurring_schedule: None,
            heartbeat_interval: Duration::from_secs(60),
            alive_threshold: Duration::from_secs(300),
            on_dead_process: OnDeadProcess::Release,
            shutdown_timeout: Duration::from_secs(5),
            preserve_finished_jobs: true,
            clear_finished_jobs_after: Duration::from_secs(86_400),
        }
    }
}
