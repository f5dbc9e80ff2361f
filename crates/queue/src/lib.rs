//! Solid Queue on SQLite or PostgreSQL: durable jobs with workers, a dispatcher, recurring
//! tasks, concurrency limits, retries and crash recovery.
//!
//! A job's state is whichever execution row exists for it (ready, scheduled, claimed,
//! blocked, failed) or `finished`. A queue begins as a [`QueueSetup`]: job handlers are
//! registered on it ([`QueueSetup::register`]), then [`QueueSetup::start`] consumes it and
//! starts the background actors, so a handler cannot be registered once workers run. Its
//! [`Queue`] is the cheap-Clone handle, usable from the start: enqueue ([`Queue::enqueue`],
//! [`Queue::enqueue_at`], [`Queue::enqueue_in`], [`Queue::enqueue_all`]) and administer
//! (stats, retry, discard, pause):
//!
//! - [`Worker`]: claims up to its idle thread count per poll in one transaction, in strict
//!   queue order (on SQLite `BEGIN IMMEDIATE`, on PostgreSQL `FOR UPDATE SKIP LOCKED`);
//!   woken at once by a local enqueue ([`trifecta_store::WakeMode::Instant`]), on
//!   PostgreSQL also by other servers' `NOTIFY`, and otherwise by its poll, which on SQLite a
//!   `PRAGMA data_version` check makes nearly free when nothing changed. Finishes of
//!   several jobs are written in one transaction.
//! - [`Dispatcher`]: due scheduled jobs to ready; concurrency maintenance; cleanup of old
//!   finished jobs.
//! - [`Scheduler`]: recurring tasks from a TOML or Solid Queue YAML file
//!   ([`load_schedule`]), each run enqueued once across schedulers thanks to the unique
//!   `(task_key, run_at)`.
//! - the process registry: heartbeats, pruning of dead processes and recovery of their
//!   claimed jobs.
//! - the operations dashboard's views (`ops`): queues ([`Queue::queues`]), processes with
//!   their running jobs ([`Queue::process_details`]), recurring tasks
//!   ([`Queue::recurring_tasks`], [`Queue::run_task_now`]), and minute statistics
//!   ([`Queue::minutes`]) that each server counts in memory and its [`MinuteFlusher`] adds
//!   to a shared table (`tally`).
//!
//! For an operations dashboard: [`Queue::search`] (one state's jobs a page at a time,
//! filtered, with a keyset [`Cursor`] and a row budget per call), [`Queue::counts`]
//! (capped), [`Queue::job_detail`] (with every failed attempt), bulk actions
//! ([`Queue::retry_matching`], [`Queue::discard_matching`], [`Queue::run_now`]) and
//! [`Queue::activity`]; each call reads a bounded number of rows however many jobs are kept.
//!
//! The tables live behind one store seam (`store`: `store/sqlite/` and `store/postgres/`);
//! everything above it is the same on both backends.
//!
//! Talks to: [`trifecta_store`] only. Knows nothing of the app or the web layer.

pub mod builtin;
mod bulk;
mod coalesce;
mod config;
mod detail;
mod dispatcher;
mod enqueue;
mod error;
mod job;
mod manage;
mod ops;
mod process;
mod recurring;
mod registry;
mod request;
mod runtime;
mod scheduler;
mod search;
mod seed;
mod selector;
mod store;
mod tally;
mod worker;

use std::sync::{Arc, LazyLock, OnceLock};

use tokio::sync::Notify;

pub use config::{OnDeadProcess, QueueOptions, UnknownOnDeadProcess};
pub use detail::{Attempt, JobDetail, ProcessRef};
pub use search::{Count, Cursor, CursorError, JobFilter, JobPage, JobSummary, MAX_PAGE};
#[doc(hidden)]
pub use seed::BenchSeed;

mod embedded {
    refinery::embed_migrations!("sql/sqlite");
}

mod embedded_pg {
    refinery::embed_migrations!("sql/postgres");
}

/// This engine's tables on SQLite: the migrations in `crates/queue/sql/sqlite/`, which the
/// store runs.
pub const SCHEMA: trifecta_store::Schema = trifecta_store::Schema {
    name: "queue",
    runner: embedded::migrations::runner,
};

/// The queue's migrations on PostgreSQL (`sql/postgres/`), for [`trifecta_store::Pg::migrate`].
pub fn postgres_migrations() -> refinery::Runner {
    embedded_pg::migrations::runner()
}

/// Run-time parameters for every PostgreSQL connection of the queue's pool (see
/// `trifecta_store::Pg::connect_with`).
///
/// - Sequential scans off: every hot statement of the queue finds its rows through an
///   index, but a prepared statement's cached generic plan is made once per connection,
///   and one made while a table was small (a new database, before autovacuum's first
///   analyze) scans it whole on every run: measured, a finish batch's update reading
///   50,000 jobs each time, the end-to-end rate a quarter of what it is with the index.
///   Statements with no index to use still scan.
/// - JIT and parallel workers off: the penalty that turns sequential scans off makes
///   such a statement look expensive enough for both, and the stats query took 60 to
///   270 ms with them (0.5 ms without) on empty tables.
pub const POSTGRES_SETTINGS: &[(&str, &str)] = &[
    ("enable_seqscan", "off"),
    ("jit", "off"),
    ("max_parallel_workers_per_gather", "0"),
];
pub use dispatcher::Dispatcher;
pub use error::{Error, Result};
pub use job::{
    Concurrency, DEFAULT_QUEUE, Job, JobContext, JobError, JobId, JobOptions, JobState, OnConflict,
    Retry, UnknownJobState,
};
pub use process::Process;
pub use recurring::{RecurringTask, Schedule, load_schedule, parse_schedule};
pub use registry::{BAD_ARGUMENTS, Registry, UNKNOWN_JOB};
pub use request::with_request_id;
pub use runtime::{QueueSetup, Runtime};
pub use scheduler::Scheduler;
pub use selector::{Pattern, QueueSelector};
pub use store::model::{ClaimedJob, DispatchReport, JobInfo, ProcessRow, PruneReport, Stats};
pub use store::views::{Minute, ProcessDetail, QueueSummary, RunningJob, TaskSummary};
pub use tally::{FLUSH_INTERVAL, MINUTES_KEPT, MinuteFlusher};
pub use worker::Worker;

use trifecta_store::WakeMode;
use trifecta_store::{Backend, Clock};

/// The job queue. Cheap to clone; clones share the database, registry and wake-up signal.
#[derive(Clone, Debug)]
pub struct Queue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: store::Store,
    clock: Clock,
    /// Set once, when the [`QueueSetup`] is consumed; read without a lock afterwards.
    registry: OnceLock<Registry>,
    settings: QueueOptions,
    instant_wake: bool,
    /// Wakes this process's worker after a local enqueue commits (instant wake only).
    wake: Notify,
    /// The running worker of this process, for enqueues that claim in their transaction.
    local_worker: worker::LocalWorker,
    /// The queue's metric handles.
    metrics: JobMetrics,
    /// Per-queue counters for the minute statistics, and the activity number.
    tally: tally::Tally,
}

/// The queue's metrics, looked up once when the handle is built: with a recorder installed
/// each `counter!`/`histogram!` is a registry lookup, too dear per job. A recorder installed
/// after [`QueueSetup::new`] does not see this queue.
#[derive(Debug)]
struct JobMetrics {
    enqueued: metrics::Counter,
    start_delay: metrics::Histogram,
    busy: metrics::Gauge,
    finished: metrics::Counter,
    failed: metrics::Counter,
    retried: metrics::Counter,
    discarded: metrics::Counter,
}

impl JobMetrics {
    fn new() -> Self {
        let failed = |outcome: &'static str| metrics::counter!("trifecta_jobs_failed_total", "outcome" => outcome);
        Self {
            enqueued: metrics::counter!("trifecta_jobs_enqueued_total"),
            start_delay: metrics::histogram!("trifecta_jobs_start_delay_seconds"),
            busy: metrics::gauge!("trifecta_jobs_busy_threads"),
            finished: metrics::counter!("trifecta_jobs_finished_total"),
            failed: failed("failed"),
            retried: failed("retried"),
            discarded: failed("discarded"),
        }
    }
}

impl Queue {
    /// A handle on the queue store `backend`, without jobs: only [`QueueSetup`] builds one.
    fn new(backend: Backend, clock: Clock, settings: QueueOptions, wake: WakeMode) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: store::Store::new(backend),
                clock,
                registry: OnceLock::new(),
                settings,
                instant_wake: wake == WakeMode::Instant,
                wake: Notify::new(),
                local_worker: worker::LocalWorker::default(),
                metrics: JobMetrics::new(),
                tally: tally::Tally::default(),
            }),
        }
    }

    /// The job registry: empty until the [`QueueSetup`] that built this handle is started
    /// (or made [`QueueSetup::offline`]), fixed afterwards.
    pub fn registry(&self) -> &Registry {
        static NONE: LazyLock<Registry> = LazyLock::new(Registry::default);
        self.inner.registry.get().unwrap_or(&NONE)
    }

    /// The settings this handle was built with.
    pub fn settings(&self) -> &QueueOptions {
        &self.inner.settings
    }

    /// The clock used for every timestamp.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Where the queue's tables live: an SQLite file or a PostgreSQL database.
    pub fn backend(&self) -> &Backend {
        self.inner.store.backend()
    }

    /// The store the queue's operations run on.
    fn store(&self) -> &store::Store {
        &self.inner.store
    }

    /// Wakes the local worker (instant wake only): called after a commit that made jobs
    /// ready.
    fn notify_ready(&self) {
        if self.inner.instant_wake {
            self.inner.wake.notify_one();
        }
    }
}
