//! Searching jobs for a dashboard: one state's jobs a page at a time, filtered by queue,
//! class and a time range, with keyset pagination ([`Cursor`]), and capped counts.
//!
//! Every call reads a bounded number of rows, however many jobs are kept: a page walks the
//! state's index in order and stops when the page is full, and a walk whose filter is not
//! a range of that index (a queue or class, or the time of a state not ordered by time)
//! reads at most [`SCAN_BUDGET`] rows. When the budget ends the walk first, the page comes
//! back short with [`JobPage::scan_limited`] set and a cursor where the walk stopped.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use trifecta_store::Timestamp;

use super::Queue;
use super::error::{Error, Result};
use super::job::JobState;
use super::store::model::JobInfo;
use super::store::scan::{Key, Window};

/// Rows one search reads at most where its filter is not an index range. Measured on an
/// SQLite file with 1,000,000 finished and 100,000 failed jobs (`tests/dashboard/bench.rs`,
/// release build, 2 busy cores): a walk of this many rows that looks each job up takes
/// about 4 ms over finished jobs and 9 ms over failed ones (their jobs are scattered).
pub(crate) const SCAN_BUDGET: usize = 12_000;

/// Rows one state's count reads at most where its filter is not an index range: a count of
/// all six states with a class filter took 8 to 15 ms at 10,000 (p95 up to 22 ms on a busy
/// machine), hence a little less.
pub(crate) const COUNT_BUDGET: usize = 8_000;

/// Most jobs on one page.
pub const MAX_PAGE: usize = 1_000;

/// Which jobs a search, count or bulk action takes. Every field narrows; the default takes
/// every job of the state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Jobs of this queue only.
    pub queue: Option<String>,
    /// Jobs of this class (registered job name) only.
    pub class: Option<String>,
    /// The state's time is at or after this. The state's time: enqueued for ready and
    /// blocked jobs, due for scheduled ones, claimed, failed, finished.
    pub from: Option<Timestamp>,
    /// The state's time is before this (exclusive).
    pub to: Option<Timestamp>,
}

/// Where a search goes on: after the last job of a page, or where a walk stopped at its
/// budget. Opaque; as text ([`fmt::Display`], [`FromStr`]) it is URL-safe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    state: JobState,
    key: Key,
}

impl Cursor {
    /// The state this cursor walks.
    pub fn state(&self) -> JobState {
        self.state
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = self.key;
        write!(f, "{}.{a}.{b}.{c}", self.state)
    }
}

/// A cursor's text is not one this engine made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed cursor {0:?}")]
pub struct CursorError(pub String);

impl FromStr for Cursor {
    type Err = CursorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CursorError(s.chars().take(80).collect());
        let mut parts = s.split('.');
        let state = parts
            .next()
            .and_then(|p| p.parse::<JobState>().ok())
            .ok_or_else(bad)?;
        let mut key = [0; 3];
        for k in &mut key {
            *k = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self { state, key })
    }
}

/// One page of a search.
#[derive(Clone, Debug)]
pub struct JobPage {
    /// The jobs, in the state's order.
    pub jobs: Vec<JobSummary>,
    /// Where the next page starts; `None` when the search is done.
    pub next: Option<Cursor>,
    /// The scan stopped at its row budget before the page was full: `next` continues the
    /// search from there.
    pub scan_limited: bool,
}

/// A job a search found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct JobSummary {
    /// The job.
    pub info: JobInfo,
    /// The state's time (see [`JobFilter::from`]).
    pub at: Timestamp,
}

/// A capped count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Count {
    /// Jobs counted.
    pub n: u64,
    /// There may be more than `n`: the count reached its cap, or (with a filter that is not
    /// an index range) stopped at its row budget, so `n` is a lower bound.
    pub more: bool,
}

impl Queue {
    /// One page of the jobs in `state` matching `filter`, in the state's order: ready,
    /// blocked and claimed oldest first (by id), scheduled soonest first, failed and
    /// finished newest first. Starts after `after` (a cursor of an earlier page of the same
    /// state) or at the beginning. At most `limit` jobs (1 to [`MAX_PAGE`]).
    ///
    /// # Errors
    /// [`Error::InvalidCursor`] when `after` walks another state; database errors.
    pub async fn search(
        &self,
        state: JobState,
        filter: &JobFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<JobPage> {
        self.search_with_budget(state, filter, after, limit, SCAN_BUDGET)
            .await
    }

    /// [`Queue::search`] reading at most `budget` rows where the filter is not an index
    /// range. For tests and benchmarks.
    ///
    /// # Errors
    /// As [`Queue::search`].
    #[doc(hidden)]
    pub async fn search_with_budget(
        &self,
        state: JobState,
        filter: &JobFilter,
        after: Option<&Cursor>,
        limit: usize,
        budget: usize,
    ) -> Result<JobPage> {
        if let Some(c) = after
            && c.state != state
        {
            return Err(Error::InvalidCursor(CursorError(format!(
                "a cursor of {} jobs used for {state} jobs",
                c.state
            ))));
        }
        let limit = limit.clamp(1, MAX_PAGE);
        let window = Window::new(state, filter, after.map(|c| c.key));
        let (mut hits, edge) = self
            .store()
            .search(window, budget.max(1), limit + 1)
            .await?;
        let cursor = |key| Cursor { state, key };
        let (next, scan_limited) = if hits.len() > limit {
            hits.truncate(limit);
            (hits.last().map(|h| cursor(h.key)), false)
        } else {
            (edge.map(cursor), edge.is_some() && hits.len() < limit)
        };
        Ok(JobPage {
            jobs: hits
                .into_iter()
                .map(|h| JobSummary {
                    info: h.info,
                    at: Timestamp(h.at),
                })
                .collect(),
            next,
            scan_limited,
        })
    }

    /// How many jobs of each state match `filter`, counting at most `cap` of each (then
    /// `more` is set). A filter that is not an index range of a state (see
    /// [`JobPage::scan_limited`]) counts within the first rows of its walk only: `more` then
    /// says the count is a lower bound.
    ///
    /// # Errors
    /// Database errors.
    pub async fn counts(&self, filter: &JobFilter, cap: u64) -> Result<BTreeMap<JobState, Count>> {
        self.counts_with_budget(filter, cap, COUNT_BUDGET).await
    }

    /// [`Queue::counts`] reading at most `budget` rows per state where the filter is not an
    /// index range. For tests and benchmarks.
    ///
    /// # Errors
    /// Database errors.
    #[doc(hidden)]
    pub async fn counts_with_budget(
        &self,
        filter: &JobFilter,
        cap: u64,
        budget: usize,
    ) -> Result<BTreeMap<JobState, Count>> {
        let windows: Vec<Window> = JobState::ALL
            .into_iter()
            .map(|s| Window::new(s, filter, None))
            .collect();
        let cap_rows = usize::try_from(cap).unwrap_or(usize::MAX).saturating_add(1);
        let counted = self
            .store()
            .counts(windows, budget.max(1), cap_rows)
            .await?;
        Ok(JobState::ALL
            .into_iter()
            .zip(counted)
            .map(|(state, (n, limited))| {
                let count = if n > cap {
                    Count { n: cap, more: true }
                } else {
                    Count { n, more: limited }
                };
                (state, count)
            })
            .collect())
    }
}
