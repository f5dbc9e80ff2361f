//! What a job is: the [`Job`] trait, its id and states, concurrency limits, the error a
//! handler returns and the context it gets.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use trifecta_store::Timestamp;

/// Queue used when a job does not name one.
pub const DEFAULT_QUEUE: &str = "default";

/// A job type: a serde value (the arguments) with a registered name. The handler that
/// performs it is registered separately ([`super::QueueSetup::register`]), so it can capture
/// whatever handles it needs.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// Registry name, stored as `class_name`. Must be unique per job type.
    const NAME: &'static str;

    /// Queue this job goes to.
    fn queue(&self) -> &str {
        DEFAULT_QUEUE
    }

    /// Smaller runs first within a queue.
    fn priority(&self) -> i32 {
        0
    }

    /// A concurrency limit for this job, if any (Solid Queue's `limits_concurrency`).
    fn concurrency(&self) -> Option<Concurrency> {
        None
    }
}

/// Id of a job row.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a job is in its lifecycle: which execution row exists for it. Ordered as
/// [`JobState::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a worker.
    Ready,
    /// Due in the future.
    Scheduled,
    /// Taken by a worker process.
    Claimed,
    /// Waiting for its concurrency semaphore.
    Blocked,
    /// Failed; can be retried or discarded.
    Failed,
    /// Done (kept while `preserve_finished_jobs`).
    Finished,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 6] = [
        Self::Ready,
        Self::Scheduled,
        Self::Claimed,
        Self::Blocked,
        Self::Failed,
        Self::Finished,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Scheduled => "scheduled",
            Self::Claimed => "claimed",
            Self::Blocked => "blocked",
            Self::Failed => "failed",
            Self::Finished => "finished",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`JobState`].
#[derive(Debug, thiserror::Error)]
#[error("unknown job state {0:?}: use ready, scheduled, claimed, blocked, failed or finished")]
pub struct UnknownJobState(String);

impl std::str::FromStr for JobState {
    type Err = UnknownJobState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownJobState(s.to_owned()))
    }
}

/// What to do with a job whose concurrency limit is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Keep it as a blocked execution until a slot frees or the limit expires.
    #[default]
    Block,
    /// Drop it: it is not enqueued.
    Discard,
}

/// `limits_concurrency(key, to, duration, on_conflict)`: at most `to` jobs with the same
/// key run at once; a slot held longer than `duration` is considered lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Concurrency {
    /// Key within the job type (the stored key is `NAME/key`).
    pub key: String,
    /// How many may run at once (at least 1).
    pub to: u32,
    /// How long a slot is held at most before maintenance frees it.
    pub duration: Duration,
    /// Block or discard when full.
    pub on_conflict: OnConflict,
    /// At most one job with this key waits (ready or blocked) at a time: enqueueing while
    /// one waits adds nothing and returns the waiting job's id. For jobs whose work is
    /// "bring X up to date", where the waiting job, once it runs, covers the new change.
    pub coalesce: bool,
}

impl Concurrency {
    /// One at a time per `key`, blocking, for Solid Queue's default 3 minutes.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            to: 1,
            duration: Duration::from_secs(180),
            on_conflict: OnConflict::Block,
            coalesce: false,
        }
    }

    /// Allows `to` at once.
    #[must_use]
    pub fn to(mut self, to: u32) -> Self {
        self.to = to.max(1);
        self
    }

    /// Sets how long a slot may be held.
    #[must_use]
    pub fn duration(mut self, d: Duration) -> Self {
        self.duration = d;
        self
    }

    /// Sets the conflict behaviour.
    #[must_use]
    pub fn on_conflict(mut self, c: OnConflict) -> Self {
        self.on_conflict = c;
        self
    }

    /// Coalesces enqueues while a job with this key waits (see [`Concurrency::coalesce`]).
    /// A job that already runs does not count: it may have read the state before the
    /// change that enqueues, so that change gets a waiting job of its own.
    #[must_use]
    pub fn coalescing(mut self) -> Self {
        self.coalesce = true;
        self
    }
}

/// Why a job failed: what a handler returns, and what failed executions record
/// (`{exception_class, message, backtrace}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobError {
    /// A stable class name that `retry_on` / `discard_on` match against.
    pub exception_class: String,
    /// Human-readable message.
    pub message: String,
    /// Cause chain or stack, one entry per line.
    #[serde(default)]
    pub backtrace: Vec<String>,
}

impl JobError {
    /// An error of class `class`.
    pub fn new(class: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            exception_class: class.into(),
            message: message.into(),
            backtrace: Vec::new(),
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.exception_class, self.message)
    }
}

/// Any error converts, so handlers can use `?`: the class is the error's type name without
/// its module path, the backtrace its `source()` chain.
impl<E: std::error::Error> From<E> for JobError {
    fn from(e: E) -> Self {
        let full = std::any::type_name::<E>();
        let class = full.rsplit("::").next().unwrap_or(full).to_owned();
        let mut backtrace = Vec::new();
        let mut cause = e.source();
        while let Some(c) = cause {
            backtrace.push(c.to_string());
            cause = c.source();
        }
        Self {
            exception_class: class,
            message: e.to_string(),
            backtrace,
        }
    }
}

/// What a handler learns about the execution it runs.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// The job.
    pub id: JobId,
    /// Its queue.
    pub queue: String,
    /// 1 on the first run, then 2, 3, ... across retries.
    pub attempt: u32,
    /// When it was enqueued.
    pub enqueued_at: Timestamp,
    /// When it became due (enqueue time unless scheduled).
    pub due_at: Timestamp,
}

/// `retry_on`: failures of these classes are retried with exponential backoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Total attempts including the first.
    pub attempts: u32,
    /// Wait before the second attempt; doubles each time.
    pub wait: Duration,
    /// Longest wait.
    pub max_wait: Duration,
    /// Error classes retried; empty means every class.
    pub on: Vec<String>,
}

impl Retry {
    /// `attempts` in total, first wait `wait`, for every error class.
    pub fn new(attempts: u32, wait: Duration) -> Self {
        Self {
            attempts,
            wait,
            max_wait: Duration::from_secs(3600),
            on: Vec::new(),
        }
    }

    /// Only retries these error classes.
    #[must_use]
    pub fn on(mut self, classes: &[&str]) -> Self {
        self.on = classes.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// Wait before attempt `next` (2 for the first retry): `wait * 2^(next-2)`, capped.
    pub fn backoff(&self, next: u32) -> Duration {
        let exp = next.saturating_sub(2).min(30);
        self.wait.saturating_mul(1u32 << exp).min(self.max_wait)
    }

    fn matches(&self, class: &str) -> bool {
        self.on.is_empty() || self.on.iter().any(|c| c == class)
    }
}

/// Per job type failure handling, given at registration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobOptions {
    /// `retry_on`, if any.
    pub retry: Option<Retry>,
    /// `discard_on`: failures of these classes finish the job without recording a failure.
    pub discard_on: Vec<String>,
}

impl JobOptions {
    /// Adds a retry policy.
    #[must_use]
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Adds classes to discard on.
    #[must_use]
    pub fn discard_on(mut self, classes: &[&str]) -> Self {
        self.discard_on
            .extend(classes.iter().map(|c| (*c).to_owned()));
        self
    }

    /// What happens after attempt `attempt` failed with `error`.
    pub(crate) fn after_failure(&self, error: &JobError, attempt: u32) -> AfterFailure {
        if self.discard_on.contains(&error.exception_class) {
            return AfterFailure::Discard;
        }
        match &self.retry {
            Some(r) if r.matches(&error.exception_class) && attempt < r.attempts => {
                AfterFailure::Retry(r.backoff(attempt + 1))
            }
            _ => AfterFailure::Fail,
        }
    }
}

/// The decision [`JobOptions::after_failure`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// Finish without a failure record.
    Discard,
    /// Run again after this wait.
    Retry(Duration),
    /// Record a failed execution.
    Fail,
}

/// A job ready to be written: the erased form of a [`Job`] value.
#[derive(Clone, Debug)]
pub(crate) struct NewJob {
    pub class_name: String,
    pub arguments: String,
    pub queue_name: String,
    pub priority: i32,
    pub scheduled_at: Option<Timestamp>,
    pub concurrency: Option<Concurrency>,
    /// The request that enqueued it (set at enqueue, see [`super::with_request_id`]).
    pub request_id: Option<String>,
}

impl NewJob {
    /// Erases a typed job.
    pub(crate) fn from_job<J: Job>(job: &J, at: Option<Timestamp>) -> serde_json::Result<Self> {
        Ok(Self {
            class_name: J::NAME.to_owned(),
            arguments: serde_json::to_string(job)?,
            queue_name: job.queue().to_owned(),
            priority: job.priority(),
            scheduled_at: at,
            concurrency: job.concurrency().map(|mut c| {
                c.key = format!("{}/{}", J::NAME, c.key);
                c
            }),
            request_id: None,
        })
    }
}
