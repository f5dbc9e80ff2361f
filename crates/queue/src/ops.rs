//! The operational views of the dashboard: queues with their counts and latency base,
//! processes with the jobs they run, recurring tasks with their last and next run (and
//! running one now), and the minute statistics every server writes (see `tally`).

use std::time::Duration;

use super::Queue;
use super::error::{Error, Result};
use super::job::JobId;
use super::recurring::Schedule;
use super::store::views::{Minute, ProcessDetail, QueueSummary, TaskSummary, minute_of};

/// How far back a queue with minute statistics but no jobs left is still listed.
const RECENT: Duration = Duration::from_secs(3600);

impl Queue {
    /// Every queue that has ready, scheduled, claimed or blocked jobs, is paused, or had
    /// jobs counted in the minute statistics of the last hour, by name. Reads only the
    /// execution, pause and minute tables (claimed jobs reach their job by primary key),
    /// never the whole jobs table. The latency of a queue is now minus
    /// [`QueueSummary::oldest_ready_at`].
    ///
    /// # Errors
    /// Database errors.
    pub async fn queues(&self) -> Result<Vec<QueueSummary>> {
        let since = self.clock().now() - RECENT;
        self.store().queues(since).await
    }

    /// Every registered process (workers of every server sharing the storage) with the
    /// jobs it has claimed now, oldest first. Claims of no registered process (about to be
    /// recovered by pruning) are left out.
    ///
    /// # Errors
    /// Database errors.
    pub async fn process_details(&self) -> Result<Vec<ProcessDetail>> {
        self.store().process_details().await
    }

    /// Every recurring task in `solid_queue_recurring_tasks`, by key, with its last run
    /// (the latest recorded run and its job) and its next run after now per its schedule.
    ///
    /// # Errors
    /// Database errors.
    pub async fn recurring_tasks(&self) -> Result<Vec<TaskSummary>> {
        let now = self.clock().now();
        let mut tasks = self.store().tasks().await?;
        for t in &mut tasks {
            t.next_run_at = Schedule::parse(&t.schedule)
                .ok()
                .and_then(|s| s.next_after(now));
        }
        Ok(tasks)
    }

    /// Runs recurring task `key` now, as Solid Queue's "run now": its job is enqueued with
    /// the task's class, arguments, queue and priority, due now, and recorded as the
    /// task's run at now (so it shows as the last run). A stored priority of 0 is taken as
    /// "none set" (the table cannot tell them apart) and leaves the job type's own. Should
    /// a run at this very microsecond already be recorded, the job is enqueued without a
    /// record. Returns the job's id.
    ///
    /// # Errors
    /// [`Error::UnknownTask`] when no task has this key (or it names no job class); the
    /// errors of [`Queue::enqueue_named`].
    pub async fn run_task_now(&self, key: &str) -> Result<JobId> {
        let unknown = || Error::UnknownTask(key.to_owned());
        let task = self
            .store()
            .task(key.to_owned())
            .await?
            .ok_or_else(unknown)?;
        let class = task.class_name.ok_or_else(unknown)?;
        let args = task.arguments.unwrap_or_else(|| "{}".to_owned());
        let queue = task.queue_name.as_deref();
        let priority = (task.priority != 0).then_some(task.priority);
        let now = self.clock().now();
        let job = self.named_job(&class, &args, queue, priority, Some(now))?;
        super::enqueue::validate_queue_name(&job.queue_name)?;
        let counters = self.tally().queue(&job.queue_name);
        let recorded = self
            .store()
            .enqueue_run(key.to_owned(), now, job, now)
            .await?;
        let id = match recorded {
            Some(id) => {
                self.tally().enqueued(&counters, 1);
                self.notify_ready();
                JobId(id)
            }
            None => {
                self.enqueue_named(&class, &args, queue, priority, Some(now))
                    .await?
            }
        };
        tracing::info!(task = key, job_id = id.0, "recurring task run by hand");
        Ok(id)
    }

    /// The minute statistics of every server sharing the storage from the minute holding
    /// `since` on, summed per minute, oldest first; only minutes with data.
    ///
    /// # Errors
    /// Database errors.
    pub async fn minutes(&self, since: trifecta_store::Timestamp) -> Result<Vec<Minute>> {
        self.store().minutes(minute_of(since)).await
    }
}
