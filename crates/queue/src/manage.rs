//! Inspection and administration of the queue: stats, listings, retry, discard, pause,
//! cleanup, and the single steps the actors repeat (claim, dispatch, maintenance).

use super::Queue;
use super::enqueue::validate_queue_name;
use super::error::Result;
use super::job::{JobId, JobState};
use super::search::JobFilter;
use super::selector::QueueSelector;
use super::store::model::{ClaimedJob, DispatchReport, JobInfo, Stats};

/// Rows deleted per cleanup transaction.
const CLEAR_BATCH: usize = 500;

impl Queue {
    /// Counts jobs by state, overall and per queue.
    ///
    /// # Errors
    /// Database errors.
    pub async fn stats(&self) -> Result<Stats> {
        self.store().stats().await
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
        self.store()
            .list(None, state, queue.map(str::to_owned), limit)
            .await
    }

    /// One job with its state, if it exists.
    ///
    /// # Errors
    /// Database errors.
    pub async fn job(&self, id: JobId) -> Result<Option<JobInfo>> {
        let mut found = self.store().list(Some(id.0), None, None, 1).await?;
        Ok(found.pop())
    }

    /// Retries failed job `id`: it becomes ready (or blocked) again with its `executions`
    /// counter reset, so a job with `retry_on` attempts gets all of them again.
    ///
    /// # Errors
    /// [`super::Error::NotFound`], [`super::Error::WrongState`] when not failed, or
    /// database errors.
    pub async fn retry(&self, id: JobId) -> Result<()> {
        let now = self.inner.clock.now();
        self.store().retry(Some(id.0), now).await?;
        self.notify_ready();
        self.touch();
        Ok(())
    }

    /// Retries every failed job, resetting each one's `executions` counter as
    /// [`Queue::retry`] does, in batches ([`Queue::retry_matching`] with no filter);
    /// returns their ids in id order.
    ///
    /// # Errors
    /// Database errors.
    pub async fn retry_all(&self) -> Result<Vec<JobId>> {
        let mut ids = self.retry_matching_ids(&JobFilter::default()).await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Discards job `id` (ready, scheduled, blocked or failed).
    ///
    /// # Errors
    /// [`super::Error::NotFound`], [`super::Error::WrongState`] for claimed or finished
    /// jobs, or database errors.
    pub async fn discard(&self, id: JobId) -> Result<()> {
        let now = self.inner.clock.now();
        self.store().discard(Some(id.0), now).await?;
        self.touch();
        Ok(())
    }

    /// Discards every failed job, in batches ([`Queue::discard_matching`] with no filter);
    /// returns their ids in id order.
    ///
    /// # Errors
    /// Database errors.
    pub async fn discard_all_failed(&self) -> Result<Vec<JobId>> {
        let mut ids = self
            .discard_matching_ids(JobState::Failed, &JobFilter::default())
            .await?;
        ids.sort_unstable();
        Ok(ids)
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
        let paused = self.store().pause(queue, now).await?;
        if paused {
            self.touch();
        }
        Ok(paused)
    }

    /// Resumes `queue`. Returns false if it was not paused.
    ///
    /// # Errors
    /// An invalid queue name or database errors.
    pub async fn resume(&self, queue: &str) -> Result<bool> {
        validate_queue_name(queue)?;
        let queue = queue.to_owned();
        let resumed = self.store().resume(queue).await?;
        if resumed {
            self.notify_ready();
            self.touch();
        }
        Ok(resumed)
    }

    /// Whether `queue` is paused.
    ///
    /// # Errors
    /// Database errors.
    pub async fn is_paused(&self, queue: &str) -> Result<bool> {
        let queue = queue.to_owned();
        self.store().is_paused(queue).await
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
            let n = self.store().clear_finished(before, CLEAR_BATCH).await?;
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
        let now = self.inner.clock.now();
        self.store().claim(selector, process_id, limit, now).await
    }

    /// Moves up to `batch` due scheduled jobs to ready (one dispatcher step).
    ///
    /// # Errors
    /// Database errors.
    pub async fn dispatch_due(&self, batch: usize) -> Result<DispatchReport> {
        let now = self.inner.clock.now();
        let report = self.store().dispatch_due(now, batch).await?;
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
        let released = self.store().maintain(now, batch).await?;
        if released > 0 {
            self.notify_ready();
        }
        Ok(released)
    }
}
