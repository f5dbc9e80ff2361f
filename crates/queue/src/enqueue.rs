//! Enqueueing: typed jobs, bulk, delayed, and by name (recurring tasks, the CLI).

use std::time::Duration;

use super::Queue;
use super::error::{Error, Result};
use super::job::{DEFAULT_QUEUE, Job, JobId, NewJob};
use super::store::model::{ClaimFor, Dispatched, Placed};
use trifecta_store::Timestamp;

impl Queue {
    /// Enqueues `job` to run now; returns its id.
    ///
    /// # Errors
    /// [`Error::ConcurrencyDiscarded`] when its concurrency limit is full and it discards on
    /// conflict; serialization, queue-name or database errors.
    pub async fn enqueue<J: Job>(&self, job: &J) -> Result<JobId> {
        self.enqueue_one(NewJob::from_job(job, None)?).await
    }

    /// Enqueues `job` to run at `at` (now if `at` is not in the future).
    ///
    /// # Errors
    /// As [`Queue::enqueue`].
    pub async fn enqueue_at<J: Job>(&self, job: &J, at: Timestamp) -> Result<JobId> {
        self.enqueue_one(NewJob::from_job(job, Some(at))?).await
    }

    /// Enqueues `job` to run after `delay`.
    ///
    /// # Errors
    /// As [`Queue::enqueue`].
    pub async fn enqueue_in<J: Job>(&self, job: &J, delay: Duration) -> Result<JobId> {
        let at = self.inner.clock.now() + delay;
        self.enqueue_at(job, at).await
    }

    /// Enqueues every job in one transaction; returns the ids of those enqueued (jobs
    /// discarded by a full concurrency limit are left out).
    ///
    /// # Errors
    /// Serialization, queue-name or database errors; then nothing is enqueued.
    pub async fn enqueue_all<J: Job>(&self, jobs: &[J]) -> Result<Vec<JobId>> {
        let new = jobs
            .iter()
            .map(|j| NewJob::from_job(j, None))
            .collect::<serde_json::Result<Vec<_>>>()?;
        let placed = self.write_jobs(new).await?;
        Ok(placed
            .into_iter()
            .filter(|(_, p)| *p != Placed::Dispatched(Dispatched::Discarded))
            .map(|(id, _)| JobId(id))
            .collect())
    }

    /// Enqueues job `name` with JSON `args`. When `name` is registered, its queue, priority
    /// and concurrency come from the job type unless `queue`/`priority` override them; an
    /// unregistered name is enqueued as given (a worker without its handler fails it).
    ///
    /// # Errors
    /// Invalid JSON, arguments that do not fit the registered type, or as
    /// [`Queue::enqueue`].
    pub async fn enqueue_named(
        &self,
        name: &str,
        args: &str,
        queue: Option<&str>,
        priority: Option<i32>,
        at: Option<Timestamp>,
    ) -> Result<JobId> {
        self.enqueue_one(self.named_job(name, args, queue, priority, at)?)
            .await
    }

    /// Builds the stored form of a job given by name.
    pub(crate) fn named_job(
        &self,
        name: &str,
        args: &str,
        queue: Option<&str>,
        priority: Option<i32>,
        at: Option<Timestamp>,
    ) -> Result<NewJob> {
        let mut job = match self.registry().get(name) {
            Some(entry) => (entry.describe)(args, at)?,
            None => {
                let value: serde_json::Value = serde_json::from_str(args)?;
                NewJob {
                    class_name: name.to_owned(),
                    arguments: value.to_string(),
                    queue_name: DEFAULT_QUEUE.to_owned(),
                    priority: 0,
                    scheduled_at: at,
                    concurrency: None,
                    request_id: None,
                }
            }
        };
        if let Some(q) = queue {
            q.clone_into(&mut job.queue_name);
        }
        if let Some(p) = priority {
            job.priority = p;
        }
        Ok(job)
    }

    async fn enqueue_one(&self, job: NewJob) -> Result<JobId> {
        let key = job.concurrency.as_ref().map(|c| c.key.clone());
        let (id, placed) = self
            .write_jobs(vec![job])
            .await?
            .pop()
            .ok_or(Error::NotFound(JobId(0)))?;
        if placed == Placed::Dispatched(Dispatched::Discarded) {
            return Err(Error::ConcurrencyDiscarded {
                key: key.unwrap_or_default(),
            });
        }
        Ok(JobId(id))
    }

    /// Inserts `jobs` in one group transaction. With a local worker idle (instant wake),
    /// the same transaction claims for it, and the claimed jobs start right after the
    /// commit; the worker is woken only when jobs it could take may be left ready.
    async fn write_jobs(&self, mut jobs: Vec<NewJob>) -> Result<Vec<(i64, Placed)>> {
        for j in &jobs {
            validate_queue_name(&j.queue_name)?;
        }
        if let Some(id) = super::request::current() {
            for j in &mut jobs {
                j.request_id = Some(id.clone());
            }
        }
        let now = self.inner.clock.now();
        let due = jobs
            .iter()
            .filter(|j| j.scheduled_at.is_none_or(|at| at <= now))
            .count();
        let slots = if due > 0 {
            let margin = self.store().claim_margin();
            self.inner.local_worker.reserve(due + margin).await
        } else {
            None
        };
        let claim_for = slots.as_ref().map(|s| ClaimFor {
            selector: s.selector().clone(),
            process_id: s.process_id(),
            slots: s.len(),
        });
        let counters = self
            .tally()
            .queues_of(jobs.iter().map(|j| j.queue_name.as_str()));
        let written = self.store().write_jobs(jobs, now, claim_for).await?;
        let ready = written
            .placed
            .iter()
            .any(|(_, p)| *p == Placed::Dispatched(Dispatched::Ready));
        let enqueued = written
            .placed
            .iter()
            .filter(|(_, p)| *p != Placed::Dispatched(Dispatched::Discarded))
            .count();
        self.inner.metrics.enqueued.increment(enqueued as u64);
        for ((_, placed), c) in written.placed.iter().zip(&counters) {
            if matches!(
                placed,
                Placed::Dispatched(Dispatched::Ready | Dispatched::Blocked) | Placed::Scheduled
            ) {
                self.tally().enqueued(c, 1);
            }
        }
        if let Some(slots) = slots {
            slots.start(written.claimed);
        }
        if ready && !written.claim_done {
            self.notify_ready();
        }
        Ok(written.placed)
    }
}

/// Queue names are identifiers: letters, digits, `_ - . :`, at most 128 characters.
pub(crate) fn validate_queue_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidQueueName(name.to_owned()))
    }
}
