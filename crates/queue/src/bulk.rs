//! Bulk actions for a dashboard: retry or discard every job of a state matching a filter,
//! and run a scheduled or blocked job now.
//!
//! A bulk action walks the matching jobs with the search's keyset (so it never holds a
//! list of them all) and changes them [`BULK_BATCH`] at a time, one transaction each: a
//! retry of 100,000 jobs never holds SQLite's writer for long, and each job is changed
//! only if it is still in the state it was found in.

use super::Queue;
use super::error::{Error, Result};
use super::job::{JobId, JobState};
use super::search::{Cursor, JobFilter, SCAN_BUDGET};

/// Jobs changed per transaction.
pub(crate) const BULK_BATCH: usize = 500;

impl Queue {
    /// Retries every failed job matching `filter` (as [`Queue::retry`]: back to ready, or
    /// blocked, with its attempt counter reset), in batches; returns how many.
    ///
    /// # Errors
    /// Database errors (the batches before the failing one stay retried).
    pub async fn retry_matching(&self, filter: &JobFilter) -> Result<usize> {
        Ok(self.retry_matching_ids(filter).await?.len())
    }

    /// [`Queue::retry_matching`], returning the ids.
    pub(crate) async fn retry_matching_ids(&self, filter: &JobFilter) -> Result<Vec<JobId>> {
        let mut retried = Vec::new();
        let mut walk = Batches::default();
        while let Some(ids) = self.next_batch(JobState::Failed, filter, &mut walk).await? {
            let now = self.clock().now();
            let done = self.store().retry_ids(ids, now).await?;
            if !done.is_empty() {
                self.notify_ready();
                self.touch();
            }
            retried.extend(done.into_iter().map(JobId));
        }
        Ok(retried)
    }

    /// Discards every job in `state` (failed, ready, scheduled or blocked) matching
    /// `filter`, in batches; returns how many. A ready job under a concurrency limit gives
    /// its slot back, as [`Queue::discard`] does.
    ///
    /// # Errors
    /// [`Error::StateNotAllowed`] for claimed or finished; database errors (the batches before the failing one stay discarded).
    pub async fn discard_matching(&self, state: JobState, filter: &JobFilter) -> Result<usize> {
        Ok(self.discard_matching_ids(state, filter).await?.len())
    }

    /// [`Queue::discard_matching`], returning the ids.
    pub(crate) async fn discard_matching_ids(
        &self,
        state: JobState,
        filter: &JobFilter,
    ) -> Result<Vec<JobId>> {
        if matches!(state, JobState::Claimed | JobState::Finished) {
            return Err(Error::StateNotAllowed {
                state: state.to_string(),
                operation: "discard",
                allowed: "ready, scheduled, blocked or failed jobs",
            });
        }
        let mut discarded = Vec::new();
        let mut walk = Batches::default();
        while let Some(ids) = self.next_batch(state, filter, &mut walk).await? {
            let now = self.clock().now();
            let (done, released) = self.store().discard_ids(state, ids, now).await?;
            if released {
                self.notify_ready();
            }
            if !done.is_empty() {
                self.touch();
            }
            discarded.extend(done.into_iter().map(JobId));
        }
        Ok(discarded)
    }

    /// Runs job `id` now. A scheduled job is due now and dispatched as at its time: ready,
    /// or blocked (or discarded, per its limit) when its concurrency limit is full. A blocked
    /// job is made ready at once **without taking a slot of its concurrency limit**: while
    /// it runs, the limit may be exceeded by one (when it finishes it gives back a slot it
    /// never took, which can release the next blocked job early).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::WrongState`] when it is neither scheduled nor blocked,
    /// or database errors.
    pub async fn run_now(&self, id: JobId) -> Result<()> {
        let now = self.clock().now();
        let ready = self.store().run_now(id.0, now).await?;
        if ready {
            self.notify_ready();
        }
        self.touch();
        Ok(())
    }

    /// The next batch of the ids of jobs in `state` matching `filter`, walking the state's
    /// order once; `None` when the walk is over.
    async fn next_batch(
        &self,
        state: JobState,
        filter: &JobFilter,
        walk: &mut Batches,
    ) -> Result<Option<Vec<i64>>> {
        while !walk.done {
            let page = self
                .search_with_budget(state, filter, walk.after.as_ref(), BULK_BATCH, SCAN_BUDGET)
                .await?;
            match page.next {
                Some(next) => walk.after = Some(next),
                None => walk.done = true,
            }
            let ids: Vec<i64> = page.jobs.iter().map(|j| j.info.id.0).collect();
            if !ids.is_empty() {
                return Ok(Some(ids));
            }
        }
        Ok(None)
    }
}

/// Where a bulk action's walk is.
#[derive(Debug, Default)]
struct Batches {
    after: Option<Cursor>,
    done: bool,
}
