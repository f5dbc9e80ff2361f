//! Setting a queue up and starting its actors in a server: [`QueueSetup`] collects the job
//! handlers and code-defined recurring tasks, then [`QueueSetup::start`] consumes it, registers
//! the process, recovers what dead processes left behind, and runs worker, dispatcher,
//! scheduler, heartbeat and the minute-statistics flusher until the token is cancelled,
//! deregistering (releasing unfinished claims) on the way out.

use std::future::Future;
use std::path::Path;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::dispatcher::Dispatcher;
use super::error::{Error, Result};
use super::job::{Job, JobContext, JobError, JobOptions};
use super::process::Process;
use super::recurring::{RecurringTask, load_schedule};
use super::registry::Registry;
use super::scheduler::Scheduler;
use super::selector::QueueSelector;
use super::tally::MinuteFlusher;
use super::worker::Worker;
use super::{Queue, QueueOptions};
use trifecta_store::{Backend, Clock, WakeMode};

/// The actors [`QueueSetup::start`] launched.
#[derive(Clone, Debug)]
pub struct Runtime {
    /// This process in the registry.
    pub process: Process,
    /// The worker (absent with `--queue-threads 0`).
    pub worker: Option<Worker>,
    /// The dispatcher.
    pub dispatcher: Dispatcher,
    /// The scheduler (absent without a recurring schedule).
    pub scheduler: Option<Scheduler>,
    /// The writer of this process's minute statistics (node: the process id).
    pub flusher: MinuteFlusher,
}

/// A queue being set up. Its [`Queue`] handle can enqueue at once; job handlers and
/// recurring tasks defined in code are registered here, before [`QueueSetup::start`]
/// consumes this value (or [`QueueSetup::offline`] does, for a process that runs no
/// worker). Not `Clone`: nothing can be registered once the queue runs.
#[derive(Debug)]
pub struct QueueSetup {
    queue: Queue,
    registry: Registry,
    /// Recurring tasks added in code, scheduled with the schedule file's.
    added_tasks: Vec<RecurringTask>,
}

impl QueueSetup {
    /// A queue on the store `db` (an SQLite [`trifecta_store::Db`] or a
    /// [`trifecta_store::Pg`]), with no jobs registered yet. Nothing runs until
    /// [`QueueSetup::start`].
    pub fn new(
        db: impl Into<Backend>,
        clock: Clock,
        settings: QueueOptions,
        wake: WakeMode,
    ) -> Self {
        Self {
            queue: Queue::new(db.into(), clock, settings, wake),
            registry: Registry::default(),
            added_tasks: Vec::new(),
        }
    }

    /// The queue's handle (clone it to enqueue, before or after the start).
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Registers (or replaces) the handler of job type `J`. The handler may capture anything
    /// (other handles, `Arc`ed state); workers call it with the deserialized arguments.
    pub fn register<J, F, Fut>(&mut self, options: JobOptions, handler: F) -> &mut Self
    where
        J: Job,
        F: Fn(J, JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), JobError>> + Send + 'static,
    {
        self.registry.register::<J, F, Fut>(options, handler);
        self
    }

    /// Adds a recurring task defined in code (the server's scheduled backup), scheduled
    /// with the tasks of the schedule file.
    pub fn add_recurring(&mut self, task: RecurringTask) -> &mut Self {
        self.added_tasks.push(task);
        self
    }

    /// Fixes the registered jobs and returns the handle, starting nothing: for a process
    /// that enqueues and administers but runs no worker of its own (admin commands), or
    /// that drives [`Worker`]s and [`Scheduler`]s by hand.
    pub fn offline(self) -> Queue {
        self.install().0
    }

    /// Moves the registry into the handle; returns it with the code-defined tasks.
    fn install(self) -> (Queue, Vec<RecurringTask>) {
        let QueueSetup {
            queue,
            registry,
            added_tasks,
        } = self;
        // Only this value sets the cell, once, as it is consumed: the set cannot fail.
        let _ = queue.inner.registry.set(registry);
        (queue, added_tasks)
    }

    /// Fixes the registered jobs, loads the recurring schedule (the block of environment
    /// `env`, see [`super::load_schedule`]), registers this process, prunes dead ones, and
    /// spawns the actors on `tracker`; they stop when `token` is cancelled. A task naming an
    /// unregistered job stops startup.
    ///
    /// # Errors
    /// An invalid recurring schedule (one line naming the file and the task), or database
    /// errors.
    pub async fn start(
        self,
        env: &str,
        token: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<Runtime> {
        let (queue, added) = self.install();
        queue.start(added, env, token, tracker).await
    }
}

impl Queue {
    /// [`QueueSetup::start`] once the registry is in place.
    async fn start(
        &self,
        added: Vec<RecurringTask>,
        env: &str,
        token: &CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<Runtime> {
        let settings = self.settings().clone();
        let mut tasks = match &settings.recurring_schedule {
            Some(path) => self.schedule_file_tasks(path, env)?,
            None => Vec::new(),
        };
        tasks.extend(self.added_tasks(added)?);
        let selector = QueueSelector::new(&settings.queues);
        // One registered process runs the worker, the dispatcher and the scheduler; the
        // metadata says which of them it runs, for `jobs processes` and the dashboard.
        let metadata = serde_json::json!({
            "queues": selector.describe(),
            "thread_pool_size": settings.threads,
            "polling_interval": settings.polling_interval.as_secs_f64(),
            "dispatcher": true,
            "recurring_tasks": tasks.len(),
        });
        let process = self.register_process("Worker", metadata).await?;
        self.prune(Some(process.id)).await?;
        let worker = if settings.threads > 0 {
            Some(Worker::new(self, selector, settings.threads, Some(process.id)).await?)
        } else {
            None
        };
        let dispatcher = Dispatcher::new(self);
        let scheduler = (!tasks.is_empty()).then(|| Scheduler::new(self, tasks));
        let flusher = MinuteFlusher::new(self, process.id);
        let runtime = Runtime {
            process,
            worker,
            dispatcher,
            scheduler,
            flusher,
        };
        if let Some(worker) = &runtime.worker {
            worker.offer_slots();
            self.spawn_listener(tracker, token);
        }
        tracker.spawn(supervise(self.clone(), runtime.clone(), token.clone()));
        Ok(runtime)
    }

    /// On PostgreSQL, wakes this process's worker whenever another server's commit made
    /// jobs ready (`LISTEN`); the worker's poll stays the guarantee, since notifications
    /// sent while the connection is down are lost. Nothing to do on SQLite, where the
    /// poll's `data_version` check is the cheap signal.
    fn spawn_listener(&self, tracker: &TaskTracker, token: &CancellationToken) {
        if !self.inner.instant_wake {
            // `--wake poll`: the poll alone, on every backend.
            return;
        }
        if let Backend::Postgres(pg) = self.backend() {
            let queue = self.clone();
            let wake = move || queue.inner.wake.notify_one();
            tracker.spawn(
                pg.clone()
                    .listen(super::store::NOTIFY_CHANNEL, wake, token.clone()),
            );
        }
    }

    /// The tasks added with [`QueueSetup::add_recurring`], each checked as a file's task is.
    fn added_tasks(&self, tasks: Vec<RecurringTask>) -> Result<Vec<RecurringTask>> {
        let fail = |reason: String| Error::Recurring {
            path: std::path::PathBuf::from("(built-in)"),
            reason,
        };
        for t in &tasks {
            if !self.registry().contains(&t.job) {
                return Err(fail(format!(
                    "task {}: unknown job class {:?}",
                    t.key, t.job
                )));
            }
            self.named_job(&t.job, &t.args, t.queue.as_deref(), t.priority, None)
                .map_err(|e| fail(format!("task {}: {e}", t.key)))?;
        }
        Ok(tasks)
    }

    /// The schedule file's tasks for `env`, each checked against the registry: its job is
    /// registered and its arguments deserialize into the job type.
    fn schedule_file_tasks(&self, path: &Path, env: &str) -> Result<Vec<RecurringTask>> {
        let tasks = load_schedule(path, env)?;
        let fail = |reason: String| Error::Recurring {
            path: path.to_path_buf(),
            reason,
        };
        for t in &tasks {
            if !self.registry().contains(&t.job) {
                return Err(fail(format!(
                    "task {}: unknown job class {:?}; registered jobs: {}",
                    t.key,
                    t.job,
                    self.registry().names().join(", ")
                )));
            }
            self.named_job(&t.job, &t.args, t.queue.as_deref(), t.priority, None)
                .map_err(|e| {
                    fail(format!(
                        "task {}: arguments do not fit job {}: {e}",
                        t.key, t.job
                    ))
                })?;
        }
        if tasks.is_empty() {
            tracing::warn!(path = %path.display(), env, "the recurring schedule has no tasks for this environment");
        }
        Ok(tasks)
    }
}

/// Runs every actor to completion, then deregisters. The actors are joined here, so they
/// are scoped to this tracked task.
async fn supervise(queue: Queue, rt: Runtime, token: CancellationToken) {
    let worker = rt
        .worker
        .clone()
        .map(|w| tokio::spawn(w.run(token.clone())));
    let dispatcher = tokio::spawn(rt.dispatcher.clone().run(token.clone()));
    let scheduler = rt
        .scheduler
        .clone()
        .map(|s| tokio::spawn(s.run(token.clone())));
    let flusher = tokio::spawn(rt.flusher.clone().run(token.clone()));
    heartbeat(&queue, &rt.process, &token).await;
    if let Some(w) = worker
        && let Err(err) = w.await
    {
        tracing::error!(cause = %err, "worker task failed");
    }
    for t in [Some(dispatcher), scheduler, Some(flusher)]
        .into_iter()
        .flatten()
    {
        if let Err(err) = t.await {
            tracing::error!(cause = %err, "queue task failed");
        }
    }
    // The last counts, once the worker's running jobs have ended.
    if let Err(err) = rt.flusher.run_once().await {
        tracing::warn!(cause = %err, "cannot write queue minute statistics at shutdown");
    }
    if let Err(err) = rt.process.deregister().await {
        tracing::warn!(cause = %err, "cannot deregister queue process; it will be pruned");
    }
}

/// Heartbeats and prunes every heartbeat interval until cancelled.
async fn heartbeat(queue: &Queue, process: &Process, token: &CancellationToken) {
    let mut tick = tokio::time::interval(queue.settings().heartbeat_interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = token.cancelled() => break,
            _ = tick.tick() => {
                if let Err(err) = process.heartbeat().await {
                    tracing::warn!(cause = %err, "queue heartbeat failed");
                }
                if let Err(err) = queue.prune(Some(process.id)).await {
                    tracing::warn!(cause = %err, "pruning dead queue processes failed");
                }
            }
        }
    }
}
