//! The scheduler: enqueues each recurring task at its run times. Several schedulers may
//! share a file; the unique `(task_key, run_at)` record makes each run enqueue once.

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Queue;
use super::error::Result;
use super::job::JobId;
use super::recurring::RecurringTask;
use super::store::model::TaskRow;
use trifecta_store::Timestamp;

/// Longest sleep between checks, so clock jumps are noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The scheduler of one process. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Scheduler {
    queue: Queue,
    tasks: Arc<Vec<RecurringTask>>,
    next: Arc<Mutex<Vec<Option<Timestamp>>>>,
}

impl Scheduler {
    /// A scheduler of `tasks`; the first runs are the first times after now.
    pub fn new(queue: &Queue, tasks: Vec<RecurringTask>) -> Self {
        let now = queue.clock().now();
        let next = tasks.iter().map(|t| t.schedule.next_after(now)).collect();
        Self {
            queue: queue.clone(),
            tasks: Arc::new(tasks),
            next: Arc::new(Mutex::new(next)),
        }
    }

    /// Mirrors the tasks into `solid_queue_recurring_tasks`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn sync(&self) -> Result<()> {
        let rows: Vec<TaskRow> = self
            .tasks
            .iter()
            .map(|t| TaskRow {
                key: t.key.clone(),
                schedule: t.schedule_text.clone(),
                class_name: t.job.clone(),
                arguments: t.args.clone(),
                queue_name: t.queue.clone(),
                priority: t.priority.unwrap_or(0),
                description: t.description.clone(),
            })
            .collect();
        let now = self.queue.clock().now();
        self.queue.store().sync_tasks(rows, now).await
    }

    /// Enqueues every task whose next run is due; returns the jobs this scheduler created
    /// (runs another scheduler already enqueued are skipped).
    ///
    /// # Errors
    /// Database errors; the failed run is tried again on the next call.
    #[tracing::instrument(level = "trace", skip(self))]
    pub async fn run_once(&self) -> Result<Vec<JobId>> {
        let now = self.queue.clock().now();
        let mut created = Vec::new();
        for (i, task) in self.tasks.iter().enumerate() {
            let due = self.next.lock()[i].filter(|at| *at <= now);
            let Some(run_at) = due else {
                continue;
            };
            // Due at its run time, so the job knows which run it is (`JobContext::due_at`)
            // and can make a repeated attempt of that run a no-op.
            let job = self.queue.named_job(
                &task.job,
                &task.args,
                task.queue.as_deref(),
                task.priority,
                Some(run_at),
            )?;
            let key = task.key.clone();
            let counters = self.queue.tally().queue(&job.queue_name);
            let id = self
                .queue
                .store()
                .enqueue_run(key, run_at, job, now)
                .await?;
            if let Some(id) = id {
                tracing::info!(task = %task.key, job_id = id, run_at = %run_at.to_rfc3339(), "recurring task enqueued");
                self.queue.tally().enqueued(&counters, 1);
                created.push(JobId(id));
            }
            self.next.lock()[i] = task.schedule.next_after(now.max(run_at));
        }
        if !created.is_empty() {
            self.queue.notify_ready();
        }
        Ok(created)
    }

    /// Time until the earliest next run.
    fn sleep_for(&self) -> Duration {
        let now = self.queue.clock().now();
        self.next
            .lock()
            .iter()
            .flatten()
            .min()
            .map_or(MAX_SLEEP, |at| at.since(now).min(MAX_SLEEP))
    }

    /// Runs until `token` is cancelled.
    pub async fn run(self, token: CancellationToken) {
        if let Err(err) = self.sync().await {
            tracing::warn!(cause = %err, "cannot record recurring tasks");
        }
        tracing::info!(tasks = self.tasks.len(), "scheduler started");
        loop {
            tokio::select! {
                () = token.cancelled() => break,
                () = tokio::time::sleep(self.sleep_for()) => {
                    if let Err(err) = self.run_once().await {
                        tracing::warn!(cause = %err, "recurring enqueue failed");
                    }
                }
            }
        }
    }
}
