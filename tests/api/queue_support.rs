//! Shared pieces of the queue tests: a queue on a temp dir with a manual clock, and small
//! job types. With `TRIFECTA_TEST_BACKEND=postgres` the queue's tables are on a fresh
//! PostgreSQL database instead (`trifecta_store::pg::testing`); tests that need SQLite
//! (a server, which keeps its queue on SQLite, or the file itself) skip with a reason.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tempfile::TempDir;
use trifecta::config::WakeMode;
use trifecta::queue::{
    Concurrency, Job, JobContext, JobError, JobId, JobInfo, JobOptions, JobState, Queue,
    QueueOptions, QueueSelector, QueueSetup, Worker,
};
use trifecta::store::pg::testing;
use trifecta::store::{Backend, Clock, PoolOptions, Timestamp};
use trifecta::stores::Stores;

pub use crate::helpers::on_postgres;

/// A queue on fresh storage, driven by hand. Its jobs are registered through
/// [`Fixture::register`] until the first [`Fixture::ready`] (or worker) fixes them.
pub struct Fixture {
    pub dir: TempDir,
    /// The PostgreSQL database of the queue, when on PostgreSQL.
    pub url: Option<String>,
    pub queue: Queue,
    pub clock: Clock,
    jobs: Mutex<Option<QueueSetup>>,
}

/// 2023-11-14T22:13:20Z, a fixed start for the manual clock.
pub const START: Timestamp = Timestamp(1_700_000_000_000_000);

pub async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

pub async fn fixture_with(tune: impl FnOnce(&mut QueueOptions)) -> Fixture {
    fixture_in(WakeMode::Instant, tune).await
}

/// As [`fixture_with`], in wake mode `wake`.
pub async fn fixture_in(wake: WakeMode, tune: impl FnOnce(&mut QueueOptions)) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = if on_postgres() {
        let url = testing::database().await.expect("test database");
        // A server or the CLI started on this dir keeps its queue there too.
        crate::helpers::register_database(dir.path(), "TRIFECTA_QUEUE_DATABASE_URL", &url);
        Some(url)
    } else {
        None
    };
    let store = queue_store(dir.path(), url.as_deref()).await;
    let mut settings = QueueOptions::default();
    tune(&mut settings);
    let clock = Clock::manual(START);
    let mut jobs = QueueSetup::new(store, clock.clone(), settings, wake);
    trifecta::queue::builtin::register(&mut jobs);
    Fixture {
        dir,
        url,
        queue: jobs.queue().clone(),
        clock,
        jobs: Mutex::new(Some(jobs)),
    }
}

/// The queue store: the database at `url` (PostgreSQL, migrated, a pool of its own), or
/// the SQLite file in `dir`.
async fn queue_store(dir: &std::path::Path, url: Option<&str>) -> Backend {
    if let Some(url) = url {
        return testing::open_with(
            "queue",
            url,
            8,
            trifecta::queue::postgres_migrations,
            trifecta::queue::POSTGRES_SETTINGS,
        )
        .await
        .expect("queue store on PostgreSQL")
        .into();
    }
    let dir = dir.to_path_buf();
    let stores =
        tokio::task::spawn_blocking(move || Stores::open(&dir, "test", &PoolOptions::default()))
            .await
            .expect("join")
            .expect("open stores");
    stores.queue
}

impl Fixture {
    /// A second handle on the same store with its own pool, as another process would
    /// have, on the same clock and settings, its jobs registered.
    pub async fn other_process(&self, wake: WakeMode) -> Queue {
        let store = queue_store(self.dir.path(), self.url.as_deref()).await;
        let mut setup = QueueSetup::new(
            store,
            self.clock.clone(),
            self.queue.settings().clone(),
            wake,
        );
        trifecta::queue::builtin::register(&mut setup);
        setup.offline()
    }

    /// Registers the handler of `J`; before the first [`Fixture::ready`].
    pub fn register<J, F, Fut>(&self, options: JobOptions, handler: F)
    where
        J: Job,
        F: Fn(J, JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.jobs
            .lock()
            .expect("lock")
            .as_mut()
            .expect("jobs are registered before the first worker or scheduler")
            .register(options, handler);
    }

    /// The queue with its registered jobs fixed (by the first call), for workers and
    /// schedulers driven by hand.
    pub fn ready(&self) -> &Queue {
        if let Some(jobs) = self.jobs.lock().expect("lock").take() {
            jobs.offline();
        }
        &self.queue
    }

    pub async fn state(&self, id: JobId) -> Option<JobState> {
        self.info(id).await.map(|j| j.state)
    }

    pub async fn info(&self, id: JobId) -> Option<JobInfo> {
        self.queue.job(id).await.expect("job lookup")
    }

    pub async fn worker(&self, threads: usize) -> Worker {
        Worker::new(self.ready(), QueueSelector::all(), threads, None)
            .await
            .expect("worker")
    }

    /// Claims and performs until a poll finds nothing.
    pub async fn work_off(&self, worker: &Worker) -> usize {
        let mut total = 0;
        loop {
            let n = worker.run_once().await.expect("poll");
            worker.drain().await;
            if n == 0 {
                return total;
            }
            total += n;
        }
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }
}

/// A job with a queue, priority and tag chosen per value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tagged {
    pub tag: String,
    pub queue: String,
    pub priority: i32,
}

impl Tagged {
    pub fn new(tag: &str, queue: &str, priority: i32) -> Self {
        Self {
            tag: tag.to_owned(),
            queue: queue.to_owned(),
            priority,
        }
    }
}

impl Job for Tagged {
    const NAME: &'static str = "tagged";
    fn queue(&self) -> &str {
        &self.queue
    }
    fn priority(&self) -> i32 {
        self.priority
    }
}

/// A job limited by concurrency key `key`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Limited {
    pub key: String,
    pub n: u32,
    pub discard: bool,
}

impl Job for Limited {
    const NAME: &'static str = "limited";
    fn concurrency(&self) -> Option<Concurrency> {
        let c = Concurrency::new(self.key.clone()).duration(Duration::from_secs(60));
        Some(if self.discard {
            c.on_conflict(trifecta::queue::OnConflict::Discard)
        } else {
            c
        })
    }
}

/// A job that coalesces on concurrency key `key` (at most one waits).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Coalescing {
    pub key: String,
    pub n: u32,
}

impl Job for Coalescing {
    const NAME: &'static str = "coalescing";
    fn concurrency(&self) -> Option<Concurrency> {
        Some(
            Concurrency::new(self.key.clone())
                .duration(Duration::from_secs(60))
                .coalescing(),
        )
    }
}

/// Records the tags of performed [`Tagged`] jobs in order.
#[allow(dead_code)]
pub fn record_tagged(f: &Fixture) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    f.register(Default::default(), move |job: Tagged, _| {
        let sink = sink.clone();
        async move {
            sink.lock().expect("lock").push(job.tag);
            Ok(())
        }
    });
    seen
}

/// Tags of claimed jobs.
pub fn tags(claimed: &[trifecta::queue::ClaimedJob]) -> Vec<String> {
    claimed
        .iter()
        .map(|c| {
            serde_json::from_str::<Tagged>(&c.arguments)
                .expect("tagged args")
                .tag
        })
        .collect()
}

/// A queue handle on `dir` (environment `test`) with the system clock, as a third process
/// next to child servers.
pub async fn queue_on(dir: &std::path::Path) -> Queue {
    let dir = dir.to_path_buf();
    let stores =
        tokio::task::spawn_blocking(move || Stores::open(&dir, "test", &PoolOptions::default()))
            .await
            .expect("join")
            .expect("open stores");
    let mut jobs = QueueSetup::new(
        stores.queue,
        Clock::system(),
        QueueOptions::default(),
        WakeMode::Poll,
    );
    trifecta::queue::builtin::register(&mut jobs);
    jobs.offline()
}

/// Total jobs in `state`.
pub async fn count(queue: &Queue, state: JobState) -> i64 {
    queue.stats().await.expect("stats").totals[state.as_str()]
}
