//! The dashboard's operational views, on SQLite and on PostgreSQL (each test runs on
//! both): queues with their counts ([`views`]), processes with the jobs they run and
//! recurring tasks with their last and next runs ([`views`]), and the minute statistics
//! the servers write ([`minutes`]).

mod bench;
mod minutes;
mod views;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tempfile::TempDir;
use trifecta_queue::{Job, JobError, JobOptions, Queue, QueueOptions, QueueSetup};
use trifecta_store::pg::testing;
use trifecta_store::{Backend, Clock, Db, PoolOptions, Timestamp, WakeMode};

/// 2023-11-14T22:13:00Z: a minute's start, for the manual clocks.
const START: Timestamp = Timestamp(1_699_999_980_000_000);

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug)]
enum On {
    Sqlite,
    Postgres,
}

/// Generates `sqlite` and `postgres` tests in a module named after the `async fn $name(On)`.
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::On::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(crate::On::Postgres).await;
            }
        }
    };
}
pub(crate) use on_both;

/// Fresh, migrated queue storage: an SQLite file in a temp dir, or a new PostgreSQL
/// database. Each [`Storage::backend`] is a connection of its own, as a server's.
struct Storage {
    dir: TempDir,
    url: Option<String>,
}

impl Storage {
    async fn new(on: On) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match on {
            On::Sqlite => None,
            On::Postgres => Some(testing::database().await.expect("test database")),
        };
        Self { dir, url }
    }

    /// A new connection to the storage (a pool of its own), migrated.
    async fn backend(&self) -> Backend {
        match &self.url {
            None => {
                let path = self.dir.path().join("queue.sqlite3");
                let db = Db::open("queue", &path, &PoolOptions::default()).expect("open");
                db.migrate_blocking(trifecta_queue::SCHEMA)
                    .expect("migrate");
                db.into()
            }
            Some(url) => testing::open_with(
                "queue",
                url,
                4,
                trifecta_queue::postgres_migrations,
                trifecta_queue::POSTGRES_SETTINGS,
            )
            .await
            .expect("queue store")
            .into(),
        }
    }

    /// A queue set up on a new connection, with [`Work`] registered.
    async fn setup(&self, clock: &Clock, options: QueueOptions) -> QueueSetup {
        let mut setup = QueueSetup::new(
            self.backend().await,
            clock.clone(),
            options,
            WakeMode::Instant,
        );
        setup.register(JobOptions::default(), |job: Work, _ctx| async move {
            if job.fail {
                Err(JobError::new("Boom", "told to fail"))
            } else {
                Ok(())
            }
        });
        setup
    }

    /// A handle that runs nothing, on a new connection.
    async fn offline(&self, clock: &Clock) -> Queue {
        self.setup(clock, QueueOptions::default()).await.offline()
    }
}

/// A job that succeeds, or fails for good (no retries) with `fail`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Work {
    queue: String,
    fail: bool,
}

impl Work {
    fn on(queue: &str) -> Self {
        Self {
            queue: queue.to_owned(),
            fail: false,
        }
    }
}

impl Job for Work {
    const NAME: &'static str = "work";

    fn queue(&self) -> &str {
        if self.queue.is_empty() {
            trifecta_queue::DEFAULT_QUEUE
        } else {
            &self.queue
        }
    }
}

/// Waits until `done` holds, for at most `secs` (of tokio time).
async fn eventually(secs: u64, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
