//! Inspection and administration of the queue: stats, listings, retry, discard, pause,
//! cleanup, and the single steps the actors repeat (claim, dispatch, maintenance).

use super::Queue;
use super::enqueue::validate_queue_name;
use super::error::Result;
use super::job::{JobId, JobState};
use super::selector::QueueSelector;
use super::store::admin::{self, JobInfo, Stats};
use super::store::claim::{ClaimedJob, claim};
use super::store::schedule::{DispatchReport, dispatch_due};
use super::store::semaphore;

/// Rows deleted per cleanup transaction.
const CLEAR_BATCH: usize = 500;

impl Queue {
    /// Counts jobs by state, overall and per queue.
    ///
    /// # Errors
    /// Database errors.
    pub async fn stats(&self) -> Result<Stats> {
        self.inner.db.call(|c| admin::stats(c)).await
    }

    /// Jobs in `state` (any when `None`) on `queue` (any when `None`), oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn jobs(
        &self,
        state: Option<JobState>,
        queue: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JobInfo>> {
        let queue = queue.map(str::to_owned);
        self.inner
            .db
            .call(move |c| admin::list(c, None, state, queue.as_deref(), limit))
            .await
    }

    /// One job with its state, if it exists.
    ///
    /// # Errors
    /// Database errors.
    pub async fn job(&self, id: JobId) -> Result<Option<JobInfo>> {
        let mut found = self
            .inner
            .db
            .call(move |c| admin::list(c, Some(id.0), None, None, 1))
            .await?;
        Ok(found.pop())
    }

    /// Retries failed job `id`: it becomes ready (or blocked) again with its `executions`
    /// counter reset, so a job with `retry_on` attempts gets all of them again.
    ///
    /// # Errors
    /// [`super::Error::NotFound`], [`super::Error::WrongState`] when not failed, or
    /// database errors.
    pub async fn retry(&self, id: JobId) -> Result<()> {
        self.retry_inner(Some(id.0)).await.map(|_| ())
    }

    /// Retries every failed job, resetting each one's `executions` counter as
    /// [`Queue::retry`] does; returns their ids.
    ///
    /// # Errors
    /// Database errors.
    pub async fn retry_all(&self) -> Result<Vec<JobId>> {
        self.retry_inner(None).await
    }

    async fn retry_inner(&self, id: Option<i64>) -> Result<Vec<JobId>> {
        let now = self.inner.clock.now();
        let ids = self
            .inner
            .db
            .write(move |tx| admin::retry(tx, id, now))
            .await?;
        if !ids.is_empty() {
            self.notify_ready();
        }
        Ok(ids)
    }

    /// Discards job `id` (ready, scheduled, blocked or failed).
    ///
    /// # Errors
    /// [`super::Error::NotFound`], [`super::Error::WrongState`] for claimed or finished
    /// jobs, or database errors.
    pub async fn discard(&self, id: JobId) -> Result<()> {
        let now = self.inner.clock.now();
        self.inner
            .db
            .write(move |tx| admin::discard(tx, Some(id.0), now))
            .await
            .map(|_| ())
    }

    /// Discards every failed job; returns their ids.
    ///
    /// # Errors
    /// Database errors.
    pub async fn discard_all_failed(&self) -> Result<Vec<JobId>> {
        let now = self.inner.clock.now();
        self.inner
            .db
            .write(move |tx| admin::discard(tx, None, now))
            .await
    }

    /// Pauses `queue`: its jobs are not claimed (scheduled ones still become ready).
    /// Returns false if it was already paused.
    ///
    /// # Errors
    /// An invalid queue name or database errors.
    pub async fn pause(&self, queue: &str) -> Result<bool> {
        validate_queue_name(queue)?;
        let queue = queue.to_owned();
        let now = self.inner.clock.now();
        self.inner
            .db
            .write(move |tx| admin::pause(tx, &queue, now))
            .await
    }

    /// Resumes `queue`. Returns false if it was not paused.
    ///
    /// # Errors
    /// An invalid queue name or database errors.
    pub async fn resume(&self, queue: &str) -> Result<bool> {
        validate_queue_name(queue)?;
        let queue = queue.to_owned();
        let resumed = self
            .inner
            .db
            .write(move |tx| admin::resume(tx, &queue))
            .await?;
        if resumed {
            self.notify_ready();
        }
        Ok(resumed)
    }

    /// Whether `queue` is paused.
    ///
    /// # Errors
    /// Database errors.
    pub async fn is_paused(&self, queue: &str) -> Result<bool> {
        let queue = queue.to_owned();
        self.inner
            .db
            .call(move |c| admin::is_paused(c, &queue))
            .await
    }

    /// Deletes jobs finished longer ago than `clear_finished_jobs_after`, in batches;
    /// returns how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn clear_finished(&self) -> Result<usize> {
        let before = self.inner.clock.now() - self.inner.settings.clear_finished_jobs_after;
        let mut total = 0;
        loop {
            let n = self
                .inner
                .db
                .write(move |tx| admin::clear_finished(tx, before, CLEAR_BATCH))
                .await?;
            total += n;
            if n < CLEAR_BATCH {
                return Ok(total);
            }
        }
    }

    /// Claims up to `limit` ready jobs from `selector` for `process_id` (what a worker
    /// poll does). Public for tools and tests; a claimed job must be finished by its worker
    /// or released by pruning.
    ///
    /// # Errors
    /// Database errors.
    pub async fn claim(
        &self,
        selector: &QueueSelector,
        process_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ClaimedJob>> {
        let selector = selector.clone();
        let now = self.inner.clock.now();
        self.group_write(move |tx| claim(tx, &selector, process_id, limit, now))
            .await
    }

    /// Moves up to `batch` due scheduled jobs to ready (one dispatcher step).
    ///
    /// # Errors
    /// Database errors.
    pub async fn dispatch_due(&self, batch: usize) -> Result<DispatchReport> {
        let now = self.inner.clock.now();
        let report = self
            .inner
            .db
            .write(move |tx| dispatch_due(tx, now, batch))
            .await?;
        if report.ready > 0 {
            self.notify_ready();
        }
        Ok(report)
    }

    /// Concurrency maintenance: drops expired semaphores and releases blocked jobs whose
    /// wait expired. Returns how many became ready.
    ///
    /// # Errors
    /// Database errors.
    pub async fn maintain_concurrency(&self) -> Result<usize> {
        let now = self.inner.clock.now();
        let batch = self.inner.settings.dispatcher_batch_size;
        let released = self
            .inner
            .db
            .write(move |tx| semaphore::maintain(tx, now, batch))
            .await?;
        if released > 0 {
            self.notify_ready();
        }
        Ok(released)
    }
}
