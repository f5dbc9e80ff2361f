//! [`QueueOptions`]: what the queue engine runs with, with Solid Queue's defaults.

use std::path::PathBuf;
use std::time::Duration;

use std::fmt;
use std::str::FromStr;

/// What happens to jobs claimed by a process found dead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDeadProcess {
    /// Back to ready, to run again (at-least-once delivery).
    #[default]
    Release,
    /// Recorded as failed executions, as Solid Queue does.
    Fail,
}

/// Settings of the job queue engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueOptions {
    /// Queues the worker takes jobs from, in strict order: names, `prefix*` or `*`.
    pub queues: Vec<String>,
    /// Jobs run at once by this process's worker (0 runs no worker).
    pub threads: usize,
    /// How often the worker polls for jobs written by other processes.
    pub polling_interval: Duration,
    /// How often the dispatcher moves due scheduled jobs to ready.
    pub dispatcher_polling_interval: Duration,
    /// Most scheduled jobs dispatched per dispatcher transaction.
    pub dispatcher_batch_size: usize,
    /// How often expired concurrency semaphores and blocked jobs are cleaned up.
    pub concurrency_maintenance_interval: Duration,
    /// Recurring tasks file: TOML, or `.yml`/`.yaml` in Solid Queue's `recurring.yml` shape
    /// (none when unset).
    pub recurring_schedule: Option<PathBuf>,
    /// How often this process records that it is alive.
    pub heartbeat_interval: Duration,
    /// A process silent for longer than this is dead; its claimed jobs are recovered.
    pub alive_threshold: Duration,
    /// Jobs claimed by a dead process: `release` (run again) or `fail`.
    pub on_dead_process: OnDeadProcess,
    /// On shutdown, how long running jobs may finish before their claims are released.
    pub shutdown_timeout: Duration,
    /// Keep finished jobs (marked finished) instead of deleting them.
    pub preserve_finished_jobs: bool,
    /// Finished jobs older than this are deleted by the periodic cleanup.
    pub clear_finished_jobs_after: Duration,
}

impl Default for QueueOptions {
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

impl OnDeadProcess {
    /// Every choice, by its name.
    pub const NAMES: [&'static str; 2] = ["release", "fail"];

    /// The choice's name, as [`FromStr`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Fail => "fail",
        }
    }
}

impl fmt::Display for OnDeadProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not an [`OnDeadProcess`] choice.
#[derive(Debug, thiserror::Error)]
#[error("unknown choice {0:?}: use release or fail")]
pub struct UnknownOnDeadProcess(String);

impl FromStr for OnDeadProcess {
    type Err = UnknownOnDeadProcess;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "release" => Ok(Self::Release),
            "fail" => Ok(Self::Fail),
            other => Err(UnknownOnDeadProcess(other.to_owned())),
        }
    }
}
