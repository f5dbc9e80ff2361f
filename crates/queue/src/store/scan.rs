//! What a dashboard search or count reads, the same on both backends: the window of one
//! state's order it walks ([`Window`]), the keys that order is made of ([`Key`]), and the
//! rows it returns ([`Hit`]).
//!
//! Each state is walked along the index its table already has, in the dashboard's order:
//!
//! | state     | table                              | key                                | order  |
//! |-----------|------------------------------------|------------------------------------|--------|
//! | ready     | `solid_queue_ready_executions`     | `(0, 0, job_id)`                   | ascending  |
//! | scheduled | `solid_queue_scheduled_executions` | `(scheduled_at, priority, job_id)` | ascending  |
//! | claimed   | `solid_queue_claimed_executions`   | `(0, 0, job_id)`                   | ascending  |
//! | blocked   | `solid_queue_blocked_executions`   | `(0, 0, job_id)`                   | ascending  |
//! | failed    | `solid_queue_failed_executions`    | `(created_at, 0, job_id)`          | descending |
//! | finished  | `solid_queue_jobs`                 | `(finished_at, 0, id)`             | descending |
//!
//! Where the key starts with the state's time (scheduled, failed, finished), a time range
//! is a range of the index; elsewhere it is a filter.

use crate::JobInfo;
use crate::job::JobState;
use crate::search::JobFilter;

/// A position in a state's order: three numbers, unused ones 0 (see the module table).
pub(crate) type Key = [i64; 3];

/// Whether `state` is walked newest first.
pub(crate) fn descending(state: JobState) -> bool {
    matches!(state, JobState::Failed | JobState::Finished)
}

/// Whether the order of `state` starts with its time, so a time range is an index range.
pub(crate) fn time_ordered(state: JobState) -> bool {
    matches!(
        state,
        JobState::Scheduled | JobState::Failed | JobState::Finished
    )
}

/// The rows of one state a search or count reads: strictly after `after`, up to and
/// including `until`, with the state's time in `lo..=hi`, of `queue` and `class` when set.
#[derive(Clone, Debug)]
pub(crate) struct Window {
    pub state: JobState,
    pub after: Key,
    pub until: Key,
    /// The time range, inclusive. For time-ordered states it is narrowed by `after` and
    /// `until`, so it is the index range.
    pub lo: i64,
    pub hi: i64,
    pub queue: Option<String>,
    pub class: Option<String>,
}

impl Window {
    /// The whole of `state` matching `filter`, from `after` on when given.
    pub(crate) fn new(state: JobState, filter: &JobFilter, after: Option<Key>) -> Self {
        let (first, last) = if descending(state) {
            ([i64::MAX; 3], [i64::MIN; 3])
        } else {
            ([i64::MIN; 3], [i64::MAX; 3])
        };
        let mut w = Self {
            state,
            after: after.unwrap_or(first),
            until: last,
            lo: filter.from.map_or(i64::MIN, |t| t.0),
            // `to` is exclusive.
            hi: filter.to.map_or(i64::MAX, |t| t.0.saturating_sub(1)),
            queue: filter.queue.clone(),
            class: filter.class.clone(),
        };
        w.narrow();
        w
    }

    /// Ends the window at `edge` (included).
    pub(crate) fn until(mut self, edge: Key) -> Self {
        self.until = edge;
        self.narrow();
        self
    }

    /// For time-ordered states, folds the keys' times into the time range, so the index
    /// range is as tight as the keyset allows.
    fn narrow(&mut self) {
        if !time_ordered(self.state) {
            return;
        }
        let (start, end) = if descending(self.state) {
            (self.until[0], self.after[0])
        } else {
            (self.after[0], self.until[0])
        };
        self.lo = self.lo.max(start);
        self.hi = self.hi.min(end);
    }

    /// Whether a condition is on a column of the job row that the state's own table
    /// lacks: a class; a queue (claimed, failed); the enqueue time (ready, blocked).
    pub(crate) fn needs_job(&self) -> bool {
        let timed = self.lo != i64::MIN || self.hi != i64::MAX;
        self.class.is_some()
            || (self.queue.is_some() && matches!(self.state, JobState::Claimed | JobState::Failed))
            || (timed && matches!(self.state, JobState::Ready | JobState::Blocked))
    }

    /// Whether some condition is not a range of the walked index (a queue or class, or a
    /// time range of a state not ordered by time): then a walk may read many rows for
    /// few matches, and is bounded by a row budget.
    pub(crate) fn needs_budget(&self) -> bool {
        let timed = self.lo != i64::MIN || self.hi != i64::MAX;
        self.queue.is_some() || self.class.is_some() || (timed && !time_ordered(self.state))
    }
}

/// One job a search found, with its key and the state's time.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub info: JobInfo,
    pub key: Key,
    pub at: i64,
}
