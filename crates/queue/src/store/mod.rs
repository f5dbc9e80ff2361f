//! The store seam of Solid Queue: its tables in an SQLite file (`sqlite`) or on a PostgreSQL
//! server (`postgres`). [`Store`] is what the engine calls, one async method per operation,
//! each one transaction on one backend; the engine above (enqueue, workers, dispatcher,
//! scheduler, process registry) is the same on both. What the operations take and return
//! lives in `model`.
//!
//! SQLite has one writer at a time: the hot writes (enqueue, claim, finish) share
//! transactions through the group-commit writer (`sqlite::writer`). PostgreSQL takes
//! writers side by side: each operation runs on a pooled connection of its own, claims
//! lock the rows they take with `FOR UPDATE SKIP LOCKED`, and commits that make jobs ready
//! send `NOTIFY` ([`NOTIFY_CHANNEL`]) to wake the workers of other servers.

mod dash;
pub(crate) mod model;
mod ops;
mod postgres;
pub(crate) mod scan;
mod sqlite;
pub(crate) mod views;

use trifecta_store::{Backend, Timestamp};

use crate::config::OnDeadProcess;
use crate::error::Result;
use crate::job::{JobId, JobState, NewJob};
use crate::selector::QueueSelector;
use model::{
    ClaimFor, ClaimedJob, Completion, DispatchReport, FinishReport, IsDead, JobInfo, NewProcess,
    ProcessRow, PruneReport, Stats, TaskRow, Written,
};

pub(crate) use postgres::NOTIFY_CHANNEL;

/// The queue's store: its operations on whichever [`Backend`] it is.
#[derive(Debug)]
pub(crate) struct Store {
    backend: Backend,
    /// Group commit of enqueues, claims and finishes (SQLite only).
    writer: sqlite::writer::Writer,
    /// Group commit of single enqueues that claim at insert (PostgreSQL only).
    group: postgres::group::Group,
}

impl Store {
    /// The store on `backend`.
    pub(crate) fn new(backend: Backend) -> Self {
        Self {
            backend,
            writer: sqlite::writer::Writer::default(),
            group: postgres::group::Group::default(),
        }
    }

    /// Where the tables live.
    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Slots beyond its own jobs that a local enqueue reserves for its claim. On
    /// PostgreSQL, jobs left ready (an enqueue that found no idle slot, another server's)
    /// are claimed by the next enqueues a few at a time, where a claim of exactly its own
    /// count would take one older job and leave its own ready, keeping the backlog and
    /// paying a ready row per job. SQLite's single writer drains it in the worker's
    /// cheap polls instead.
    pub(crate) fn claim_margin(&self) -> usize {
        match self.backend {
            Backend::Sqlite(_) => 0,
            Backend::Postgres(_) => 8,
        }
    }

    /// Whether [`Store::data_version`] gives a token that tells a poll nothing changed.
    pub(crate) fn has_change_token(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// A token that changes whenever another connection commits, where the backend has one
    /// (SQLite's `data_version`): while it is unchanged, nothing new can be ready.
    ///
    /// # Errors
    /// The SQLite watch connection cannot be opened or read.
    pub(crate) fn data_version(&self) -> Result<Option<i64>> {
        match &self.backend {
            Backend::Sqlite(db) => Ok(Some(db.data_version()?)),
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// Inserts `jobs` (and claims for the local worker when `claim` is given) in one
    /// transaction.
    pub(crate) async fn write_jobs(
        &self,
        jobs: Vec<NewJob>,
        now: Timestamp,
        claim: Option<ClaimFor>,
    ) -> Result<Written> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.writer
                    .write(db, move |tx| {
                        sqlite::enqueue::write_jobs(tx, &jobs, now, claim.as_ref())
                    })
                    .await
            }
            Backend::Postgres(pg) => {
                if let (Some(c), [job]) = (&claim, jobs.as_slice())
                    && postgres::enqueue::claims_at_insert(job, now, c)
                {
                    return self.group.write(pg, job.clone(), now, c.clone()).await;
                }
                postgres::retry(|| postgres::enqueue::write_jobs(pg, &jobs, now, claim.as_ref()))
                    .await
            }
        }
    }

    /// Claims up to `limit` ready jobs for `process_id`, in strict queue order.
    pub(crate) async fn claim(
        &self,
        selector: &QueueSelector,
        process_id: Option<i64>,
        limit: usize,
        now: Timestamp,
    ) -> Result<Vec<ClaimedJob>> {
        match &self.backend {
            Backend::Sqlite(db) => {
                let selector = selector.clone();
                self.writer
                    .write(db, move |tx| {
                        sqlite::claim::claim(tx, &selector, process_id, limit, now)
                    })
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::claim::claim(pg, selector, process_id, limit, now))
                    .await
            }
        }
    }

    /// Records the outcomes of `batch`, each only where `process_id` still holds its claim.
    pub(crate) async fn finish(
        &self,
        process_id: Option<i64>,
        batch: Vec<Completion>,
        preserve: bool,
        now: Timestamp,
    ) -> Result<FinishReport> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.writer
                    .write(db, move |tx| {
                        sqlite::finish::finish_batch(tx, process_id, &batch, preserve, now)
                    })
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| {
                    postgres::finish::finish_batch(pg, process_id, &batch, preserve, now)
                })
                .await
            }
        }
    }

    /// Counts jobs by state and queue.
    pub(crate) async fn stats(&self) -> Result<Stats> {
        match &self.backend {
            Backend::Sqlite(db) => db.call(|c| sqlite::admin::stats(c)).await,
            Backend::Postgres(pg) => postgres::admin::stats(pg).await,
        }
    }

    /// Jobs matching the filters, oldest first.
    pub(crate) async fn list(
        &self,
        id: Option<i64>,
        state: Option<JobState>,
        queue: Option<String>,
        limit: usize,
    ) -> Result<Vec<JobInfo>> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.call(move |c| sqlite::admin::list(c, id, state, queue.as_deref(), limit))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::admin::list(pg, id, state, queue.as_deref(), limit).await
            }
        }
    }

    /// Retries failed job `id` (every failed job with `None`).
    pub(crate) async fn retry(&self, id: Option<i64>, now: Timestamp) -> Result<Vec<JobId>> {
        match &self.backend {
            Backend::Sqlite(db) => db.write(move |tx| sqlite::admin::retry(tx, id, now)).await,
            Backend::Postgres(pg) => postgres::retry(|| postgres::admin::retry(pg, id, now)).await,
        }
    }

    /// Discards job `id` (every failed job with `None`).
    pub(crate) async fn discard(&self, id: Option<i64>, now: Timestamp) -> Result<Vec<JobId>> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::admin::discard(tx, id, now))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::admin::discard(pg, id, now)).await
            }
        }
    }

    /// Pauses `queue`; false if it already was.
    pub(crate) async fn pause(&self, queue: String, now: Timestamp) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::admin::pause(tx, &queue, now))
                    .await
            }
            Backend::Postgres(pg) => postgres::admin::pause(pg, &queue, now).await,
        }
    }

    /// Resumes `queue`; false if it was not paused.
    pub(crate) async fn resume(&self, queue: String) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(db) => db.write(move |tx| sqlite::admin::resume(tx, &queue)).await,
            Backend::Postgres(pg) => postgres::admin::resume(pg, &queue).await,
        }
    }

    /// Whether `queue` is paused.
    pub(crate) async fn is_paused(&self, queue: String) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(db) => db.call(move |c| sqlite::admin::is_paused(c, &queue)).await,
            Backend::Postgres(pg) => postgres::admin::is_paused(pg, &queue).await,
        }
    }

    /// Deletes up to `batch` jobs finished before `before`; returns how many.
    pub(crate) async fn clear_finished(&self, before: Timestamp, batch: usize) -> Result<usize> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::admin::clear_finished(tx, before, batch))
                    .await
            }
            Backend::Postgres(pg) => postgres::admin::clear_finished(pg, before, batch).await,
        }
    }

    /// Moves up to `batch` due scheduled jobs to ready (or blocked).
    pub(crate) async fn dispatch_due(
        &self,
        now: Timestamp,
        batch: usize,
    ) -> Result<DispatchReport> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::schedule::dispatch_due(tx, now, batch))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::schedule::dispatch_due(pg, now, batch)).await
            }
        }
    }

    /// Concurrency maintenance; returns how many blocked jobs became ready.
    pub(crate) async fn maintain(&self, now: Timestamp, batch: usize) -> Result<usize> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::semaphore::maintain(tx, now, batch))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::semaphore::maintain(pg, now, batch)).await
            }
        }
    }

    /// Registers a process; returns its id.
    pub(crate) async fn register(&self, p: NewProcess, now: Timestamp) -> Result<i64> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| {
                    sqlite::process::register(
                        tx,
                        &p.kind,
                        &p.name,
                        p.pid,
                        &p.hostname,
                        &p.metadata,
                        now,
                    )
                })
                .await
            }
            Backend::Postgres(pg) => postgres::process::register(pg, &p, now).await,
        }
    }

    /// Touches the heartbeat of process `id`; writes its row again (same id) when it was
    /// pruned meanwhile, and then returns true.
    pub(crate) async fn heartbeat(&self, id: i64, p: NewProcess, now: Timestamp) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| {
                    if sqlite::process::heartbeat(tx, id, now)? {
                        return Ok(false);
                    }
                    sqlite::process::reinsert(
                        tx,
                        id,
                        &p.kind,
                        &p.name,
                        p.pid,
                        &p.hostname,
                        &p.metadata,
                        now,
                    )?;
                    Ok(true)
                })
                .await
            }
            Backend::Postgres(pg) => postgres::process::heartbeat(pg, id, &p, now).await,
        }
    }

    /// Removes process `id`, releasing its claims; returns how many.
    pub(crate) async fn deregister(&self, id: i64, now: Timestamp) -> Result<usize> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::process::deregister(tx, id, now))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::process::deregister(pg, id, now)).await
            }
        }
    }

    /// Every registered process.
    pub(crate) async fn processes(&self) -> Result<Vec<ProcessRow>> {
        match &self.backend {
            Backend::Sqlite(db) => db.call(|c| sqlite::process::list(c)).await,
            Backend::Postgres(pg) => postgres::process::list(pg).await,
        }
    }

    /// Removes the processes `is_dead` picks (never `me`) and recovers their claims, then
    /// the claims of processes that no longer exist.
    pub(crate) async fn prune(
        &self,
        me: Option<i64>,
        is_dead: IsDead,
        on_dead: OnDeadProcess,
        now: Timestamp,
    ) -> Result<PruneReport> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::process::prune(tx, me, &*is_dead, on_dead, now))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::process::prune(pg, me, &*is_dead, on_dead, now)).await
            }
        }
    }

    /// Mirrors the schedule file's tasks.
    pub(crate) async fn sync_tasks(&self, tasks: Vec<TaskRow>, now: Timestamp) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::recurring::sync_tasks(tx, &tasks, now))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::recurring::sync_tasks(pg, &tasks, now)).await
            }
        }
    }

    /// Enqueues the run of task `key` at `run_at` unless some scheduler already did;
    /// returns the job's id when this call enqueued it.
    pub(crate) async fn enqueue_run(
        &self,
        key: String,
        run_at: Timestamp,
        job: NewJob,
        now: Timestamp,
    ) -> Result<Option<i64>> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::recurring::enqueue_run(tx, &key, run_at, &job, now))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::recurring::enqueue_run(pg, &key, run_at, &job, now))
                    .await
            }
        }
    }
}
