//! What the store's operations take and return, the same on both backends: claimed jobs,
//! completions, listings, reports, and the rows a dispatch decision reads.

use std::collections::BTreeMap;

use crate::job::{JobError, JobId, JobState, NewJob, OnConflict};
use trifecta_store::Timestamp;

/// A claimed job, as handed to a worker.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    /// The job.
    pub id: i64,
    /// Registered name.
    pub class_name: String,
    /// JSON arguments.
    pub arguments: String,
    /// Queue.
    pub queue_name: String,
    /// Claims so far, this one included.
    pub attempt: u32,
    /// Enqueue time.
    pub created_at: Timestamp,
    /// When it became due.
    pub scheduled_at: Timestamp,
    /// The request that enqueued it, if any.
    pub request_id: Option<String>,
}

/// A job's concurrency limit as stored on its row.
#[derive(Clone, Debug)]
pub(crate) struct Limit {
    pub key: String,
    pub to: i64,
    pub duration_us: i64,
    pub discard: bool,
}

impl Limit {
    /// When a slot taken (or a job blocked) at `now` expires.
    pub(crate) fn expires(&self, now: Timestamp) -> Timestamp {
        Timestamp(now.0.saturating_add(self.duration_us))
    }
}

/// The concurrency limit of `job` as stored.
pub(crate) fn limit_of(job: &NewJob) -> Option<Limit> {
    job.concurrency.as_ref().map(|c| Limit {
        key: c.key.clone(),
        to: i64::from(c.to.max(1)),
        duration_us: i64::try_from(c.duration.as_micros()).unwrap_or(i64::MAX),
        discard: c.on_conflict == OnConflict::Discard,
    })
}

/// What dispatching a job needs to know about it.
#[derive(Clone, Debug)]
pub(crate) struct DispatchInfo {
    pub id: i64,
    pub queue_name: String,
    pub priority: i32,
    pub limit: Option<Limit>,
}

/// Where a dispatch put a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dispatched {
    Ready,
    Blocked,
    Discarded,
}

/// Where an enqueued job went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placed {
    Dispatched(Dispatched),
    Scheduled,
    /// Not inserted: a job with the same coalescing key was already waiting.
    Coalesced,
}

/// A claim to make in an enqueue's own transaction, for the idle slots of the local worker.
#[derive(Clone, Debug)]
pub(crate) struct ClaimFor {
    pub selector: crate::selector::QueueSelector,
    pub process_id: Option<i64>,
    pub slots: usize,
}

/// What an enqueue transaction did.
#[derive(Debug, Default)]
pub(crate) struct Written {
    /// Each job's id and place, in the order given.
    pub placed: Vec<(i64, Placed)>,
    /// Jobs claimed for the local worker in the same transaction.
    pub claimed: Vec<ClaimedJob>,
    /// The claim left nothing ready that the worker could take now.
    pub claim_done: bool,
}

/// How one execution ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Performed successfully.
    Finished,
    /// Failed with a class in `discard_on`: finished without a failure record.
    Discarded,
    /// Failed with this error (recorded as an attempt); run again at this time.
    Retry(Timestamp, JobError),
    /// Failed for good.
    Failed(JobError),
}

/// One finished execution.
#[derive(Clone, Debug)]
pub(crate) struct Completion {
    pub job_id: i64,
    pub outcome: Outcome,
}

/// What a finish batch changed beyond the jobs themselves.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FinishReport {
    /// Jobs that became ready (retries due now, released blocked jobs).
    pub made_ready: usize,
}

/// Counts by state, overall and per queue.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Stats {
    /// Jobs per state (every state present).
    pub totals: BTreeMap<String, i64>,
    /// Per queue: jobs per state (states with jobs only).
    pub queues: BTreeMap<String, BTreeMap<String, i64>>,
    /// Paused queues.
    pub paused: Vec<String>,
    /// Registered processes.
    pub processes: i64,
}

impl Stats {
    /// Empty counts, with every state present in the totals.
    pub(crate) fn empty() -> Self {
        let mut stats = Stats::default();
        for s in JobState::ALL {
            stats.totals.insert(s.as_str().to_owned(), 0);
        }
        stats
    }

    /// Adds `n` jobs of `queue` in `state`.
    pub(crate) fn add(&mut self, state: String, queue: String, n: i64) {
        *self.totals.entry(state.clone()).or_default() += n;
        *self
            .queues
            .entry(queue)
            .or_default()
            .entry(state)
            .or_default() += n;
    }
}

/// One job with its state, as listings show it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct JobInfo {
    /// The job.
    pub id: JobId,
    /// Registered name.
    pub class_name: String,
    /// Queue.
    pub queue_name: String,
    /// Priority.
    pub priority: i32,
    /// JSON arguments.
    pub arguments: String,
    /// Times claimed.
    pub executions: i64,
    /// Current state.
    pub state: JobState,
    /// Enqueue time.
    pub created_at: Timestamp,
    /// When due.
    pub scheduled_at: Option<Timestamp>,
    /// When finished.
    pub finished_at: Option<Timestamp>,
    /// The failure, when failed.
    pub error: Option<JobError>,
}

/// The state named `s` in a listing query.
pub(crate) fn parse_state(s: &str) -> JobState {
    JobState::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
        .unwrap_or(JobState::Ready)
}

/// The error of an operation that does not apply to a job's state.
pub(crate) fn wrong(
    id: i64,
    state: JobState,
    operation: &'static str,
    allowed: &'static str,
) -> crate::Error {
    crate::Error::WrongState {
        id: JobId(id),
        state: state.to_string(),
        operation,
        allowed,
    }
}

/// A registered process as stored.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProcessRow {
    /// Row id (stored on its claims).
    pub id: i64,
    /// `Worker`, ...
    pub kind: String,
    /// `<kind>-<hex>`.
    pub name: String,
    /// OS process id.
    pub pid: i64,
    /// Host name.
    pub hostname: Option<String>,
    /// Last heartbeat.
    pub last_heartbeat_at: Timestamp,
    /// JSON metadata (queues, threads, `pid_start`).
    pub metadata: Option<String>,
    /// When it registered.
    pub started_at: Timestamp,
}

/// A process as it registers (or registers again after it was pruned).
#[derive(Clone, Debug)]
pub(crate) struct NewProcess {
    pub kind: String,
    pub name: String,
    pub pid: i64,
    pub hostname: String,
    pub metadata: String,
}

/// What one prune pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Dead process rows removed.
    pub processes: usize,
    /// Claimed jobs recovered (released or failed), orphans included.
    pub jobs: usize,
}

/// Decides whether a process row is dead, and why.
pub(crate) type IsDead = Box<dyn Fn(&ProcessRow) -> Option<String> + Send + Sync>;

/// The failure recorded on jobs of a process found dead.
pub(crate) fn pruned_error(row: &ProcessRow, why: &str) -> JobError {
    JobError::new(
        "ProcessPrunedError",
        format!(
            "process {} (pid {}) was found dead and pruned: {why}",
            row.name, row.pid
        ),
    )
}

/// The failure recorded on claimed jobs whose process row is gone.
pub(crate) fn missing_error() -> JobError {
    JobError::new(
        "ProcessMissingError",
        "the process that claimed this job is no longer registered",
    )
}

/// A task as stored in `solid_queue_recurring_tasks`.
#[derive(Clone, Debug)]
pub(crate) struct TaskRow {
    pub key: String,
    pub schedule: String,
    pub class_name: String,
    pub arguments: String,
    pub queue_name: Option<String>,
    pub priority: i32,
    pub description: Option<String>,
}

/// What one dispatch batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Scheduled executions taken.
    pub dispatched: usize,
    /// Of those, made ready.
    pub ready: usize,
}

/// A stored error's JSON as a [`JobError`]; text that is not one becomes the message of an
/// `UnknownError`, so a row written by another tool still shows.
pub(crate) fn parse_error(json: &str) -> JobError {
    serde_json::from_str(json).unwrap_or_else(|_| JobError::new("UnknownError", json))
}
