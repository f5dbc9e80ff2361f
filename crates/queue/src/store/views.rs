//! What the operational views read, the same on both backends: queues with their counts,
//! processes with the jobs they run, recurring tasks with their last run, and the minute
//! statistics the servers write.

use trifecta_store::Timestamp;

use super::model::ProcessRow;
use crate::job::JobId;

/// One queue as the dashboard lists it. Counts come from the execution tables only.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueSummary {
    /// Queue name.
    pub name: String,
    /// Jobs ready to be claimed.
    pub ready: i64,
    /// Jobs waiting for their time.
    pub scheduled: i64,
    /// Jobs claimed by a worker (in progress).
    pub claimed: i64,
    /// Jobs waiting for a concurrency slot.
    pub blocked: i64,
    /// When the oldest ready job became ready (Solid Queue's latency is now minus this).
    pub oldest_ready_at: Option<Timestamp>,
    /// The queue is paused.
    pub paused: bool,
}

/// A registered process and the jobs it runs now.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProcessDetail {
    /// Its registry row.
    pub row: ProcessRow,
    /// Its claimed jobs, oldest first.
    pub running: Vec<RunningJob>,
}

/// A job a process has claimed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RunningJob {
    /// The job.
    pub id: JobId,
    /// Registered name.
    pub class_name: String,
    /// Queue.
    pub queue_name: String,
    /// When it was claimed.
    pub claimed_at: Timestamp,
}

/// A recurring task with its last and next run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TaskSummary {
    /// Its key.
    pub key: String,
    /// The schedule as written.
    pub schedule: String,
    /// Job name (`None` for a row written by another tool without one).
    pub class_name: Option<String>,
    /// JSON arguments.
    pub arguments: Option<String>,
    /// Queue override.
    pub queue_name: Option<String>,
    /// Priority as stored (0 when the task sets none).
    pub priority: i32,
    /// Free text.
    pub description: Option<String>,
    /// The latest recorded run (a scheduled run's time, or when it was run by hand).
    pub last_run_at: Option<Timestamp>,
    /// The job of that run.
    pub last_job_id: Option<JobId>,
    /// The next run after now, per the schedule (`None` when it does not parse).
    pub next_run_at: Option<Timestamp>,
}

/// What the queue did in one minute, summed over every server on the storage.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Minute {
    /// The minute's start.
    pub at: Timestamp,
    /// Jobs enqueued.
    pub enqueued: u64,
    /// Jobs performed successfully.
    pub finished: u64,
    /// Jobs failed for good.
    pub failed: u64,
    /// Failed attempts that will be retried.
    pub retried: u64,
    /// Failed attempts discarded by the job's `discard_on`.
    pub discarded: u64,
    /// Jobs started.
    pub delay_count: u64,
    /// Sum of their waits from due to start, in microseconds.
    pub delay_sum_us: u64,
    /// Longest such wait, in microseconds.
    pub delay_max_us: u64,
}

/// One queue's counts taken from a server's counters, to add to a minute row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MinuteDelta {
    pub queue_name: String,
    pub enqueued: u64,
    pub finished: u64,
    pub failed: u64,
    pub retried: u64,
    pub discarded: u64,
    pub delay_count: u64,
    pub delay_sum_us: u64,
    pub delay_max_us: u64,
}

/// A recurring task's row, for running it by hand.
#[derive(Clone, Debug)]
pub(crate) struct TaskRecord {
    pub class_name: Option<String>,
    pub arguments: Option<String>,
    pub queue_name: Option<String>,
    pub priority: i32,
}

/// A stored count as an unsigned one (negative only if the row was edited by hand).
pub(crate) fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// An unsigned count as stored.
pub(crate) fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The start of the minute holding `t`.
pub(crate) fn minute_of(t: Timestamp) -> Timestamp {
    Timestamp(t.0.div_euclid(60_000_000) * 60_000_000)
}
