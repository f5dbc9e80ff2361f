//! The dashboard's queue API on both backends: search with keyset pagination and capped
//! counts ([`search`]), a job's detail with every failed attempt ([`detail`]), and bulk
//! actions ([`bulk`]). Each case is one async function over a [`Fixture`], run once on an
//! SQLite file and once on a PostgreSQL database ([`both!`]). [`bench`] times the calls
//! on a large seeded SQLite file (ignored: run it by hand).

/// Runs each named case on SQLite and on PostgreSQL: `both!(case)` defines the tests
/// `case::sqlite` and `case::postgres` calling `case(fixture)`.
macro_rules! both {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$case(crate::Fixture::new(crate::On::Sqlite).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$case(crate::Fixture::new(crate::On::Postgres).await).await;
                }
            }
        )*
    };
}

mod bench;
mod bulk;
mod detail;
mod search;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tempfile::TempDir;
use trifecta_queue::{
    Concurrency, Job, JobContext, JobError, JobId, JobOptions, JobState, Process, Queue,
    QueueOptions, QueueSelector, QueueSetup, Retry, Worker,
};
use trifecta_store::{Backend, Clock, Db, PoolOptions, Timestamp, WakeMode};

/// 2023-11-14T22:13:20Z, where the tests' manual clocks start.
pub(crate) const START: Timestamp = Timestamp(1_700_000_000_000_000);

/// Where a case's queue lives.
#[derive(Clone, Copy, Debug)]
pub(crate) enum On {
    Sqlite,
    Postgres,
}

/// A job of class `task`: on queue `queue`, failing its n-th attempt with the n-th class
/// of `fail` (then succeeding), limited to one at a time by `key` when set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Task {
    pub(crate) queue: String,
    pub(crate) fail: Vec<String>,
    pub(crate) key: Option<String>,
    pub(crate) priority: i32,
}

impl Task {
    pub(crate) fn on(queue: &str) -> Self {
        Self {
            queue: queue.to_owned(),
            ..Self::default()
        }
    }

    pub(crate) fn failing(mut self, classes: &[&str]) -> Self {
        self.fail = classes.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    pub(crate) fn keyed(mut self, key: &str) -> Self {
        self.key = Some(key.to_owned());
        self
    }
}

impl Job for Task {
    const NAME: &'static str = "task";

    fn queue(&self) -> &str {
        &self.queue
    }

    fn priority(&self) -> i32 {
        self.priority
    }

    fn concurrency(&self) -> Option<Concurrency> {
        self.key
            .as_ref()
            .map(|k| Concurrency::new(k.clone()).duration(Duration::from_secs(86_400)))
    }
}

/// A job of class `other`, which fails for good (class `Fatal`) when `fail` is set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Other {
    pub(crate) queue: String,
    pub(crate) fail: bool,
}

impl Job for Other {
    const NAME: &'static str = "other";

    fn queue(&self) -> &str {
        &self.queue
    }
}

/// The error a [`Task`] fails its `attempt` with.
pub(crate) fn task_error(class: &str, attempt: u32) -> JobError {
    JobError {
        exception_class: class.to_owned(),
        message: format!("attempt {attempt} failed"),
        backtrace: vec![format!("task.rs:{attempt}"), "worker.rs:1".to_owned()],
    }
}

fn perform(task: Task, ctx: JobContext) -> Result<(), JobError> {
    let n = usize::try_from(ctx.attempt).expect("attempt");
    match task.fail.get(n - 1) {
        Some(class) => Err(task_error(class, ctx.attempt)),
        None => Ok(()),
    }
}

/// A migrated queue with a manual clock, a registered process and a worker (one thread,
/// on the queues named `w…`) driven by hand. `Flaky` failures are retried at once, up to 5
/// attempts; other classes fail for good.
pub(crate) struct Fixture {
    pub(crate) queue: Queue,
    pub(crate) clock: Clock,
    pub(crate) process: Process,
    pub(crate) worker: Worker,
    pub(crate) backend: Backend,
    _dir: Option<TempDir>,
}

impl Fixture {
    pub(crate) async fn new(on: On) -> Self {
        let (backend, dir) = match on {
            On::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let db = Db::open(
                    "queue",
                    &dir.path().join("queue.sqlite3"),
                    &PoolOptions::default(),
                )
                .expect("open");
                db.migrate_blocking(trifecta_queue::SCHEMA)
                    .expect("migrate");
                (Backend::from(db), Some(dir))
            }
            On::Postgres => {
                let url = trifecta_store::pg::testing::database()
                    .await
                    .expect("test database");
                let pg = trifecta_store::pg::testing::open_with(
                    "queue",
                    &url,
                    4,
                    trifecta_queue::postgres_migrations,
                    trifecta_queue::POSTGRES_SETTINGS,
                )
                .await
                .expect("queue store");
                (Backend::from(pg), None)
            }
        };
        let clock = Clock::manual(START);
        let options = QueueOptions {
            preserve_finished_jobs: true,
            ..QueueOptions::default()
        };
        let mut setup = QueueSetup::new(backend.clone(), clock.clone(), options, WakeMode::Poll);
        let retry = JobOptions::default().retry(Retry::new(5, Duration::ZERO).on(&["Flaky"]));
        setup.register(retry, |task: Task, ctx| async move { perform(task, ctx) });
        setup.register(JobOptions::default(), |o: Other, ctx| async move {
            if o.fail {
                Err(task_error("Fatal", ctx.attempt))
            } else {
                Ok(())
            }
        });
        let queue = setup.offline();
        let process = queue
            .register_process("Worker", serde_json::json!({}))
            .await
            .expect("register");
        let worker = Worker::new(&queue, QueueSelector::new(&["w*"]), 1, Some(process.id))
            .await
            .expect("worker");
        Self {
            queue,
            clock,
            process,
            worker,
            backend,
            _dir: dir,
        }
    }

    /// Moves the clock on by `ms` milliseconds.
    pub(crate) fn tick(&self, ms: u64) {
        self.clock.advance(Duration::from_millis(ms));
    }

    /// Runs the worker until nothing it can claim is left, one job at a time, the clock a
    /// millisecond on after each (so every finish and failure has its own time).
    pub(crate) async fn work(&self) {
        loop {
            let n = self.worker.run_once().await.expect("claim");
            self.worker.drain().await;
            self.tick(1);
            if n == 0 {
                return;
            }
        }
    }

    /// The state of job `id`.
    pub(crate) async fn state(&self, id: JobId) -> Option<JobState> {
        self.queue.job(id).await.expect("job").map(|j| j.state)
    }
}
