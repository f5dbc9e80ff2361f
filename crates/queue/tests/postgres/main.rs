//! Solid Queue on PostgreSQL, against a real server (`trifecta_store::pg::testing`): what
//! SQLite's single writer gave for free and PostgreSQL must get from row locks, checked with
//! two "servers" (two queue handles, each with its own pool) on one database. Claims with
//! `SKIP LOCKED` ([`claims`]); a concurrency limit, recurring runs and dead-process recovery
//! across servers, `NOTIFY` wake-ups and migrations ([`shared`]).

mod claims;
mod enqueue;
mod shared;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta_queue::{Concurrency, Job, JobOptions, Queue, QueueOptions, QueueSetup};
use trifecta_store::pg::testing;
use trifecta_store::{Clock, Pg, WakeMode};

/// A migrated queue store on `url`, with a pool of `size` connections.
async fn store(url: &str, size: usize) -> Pg {
    testing::open_with(
        "queue",
        url,
        size,
        trifecta_queue::postgres_migrations,
        trifecta_queue::POSTGRES_SETTINGS,
    )
    .await
    .expect("queue store")
}

/// A job numbered `n` on queue `queue`, limited by `key` (name, how many at once) when set,
/// and then coalescing (at most one waits) with `coalesce`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Numbered {
    n: u64,
    queue: String,
    priority: i32,
    key: Option<(String, u32)>,
    coalesce: bool,
}

impl Numbered {
    fn new(n: u64) -> Self {
        Self {
            n,
            queue: "default".to_owned(),
            priority: 0,
            key: None,
            coalesce: false,
        }
    }
}

impl Job for Numbered {
    const NAME: &'static str = "numbered";

    fn queue(&self) -> &str {
        &self.queue
    }

    fn priority(&self) -> i32 {
        self.priority
    }

    fn concurrency(&self) -> Option<Concurrency> {
        self.key.as_ref().map(|(k, to)| {
            let c = Concurrency::new(k.clone())
                .to(*to)
                .duration(Duration::from_secs(600));
            if self.coalesce { c.coalescing() } else { c }
        })
    }
}

/// Runs of [`Numbered`] jobs: (n, attempt) in the order they started.
type Runs = Arc<Mutex<Vec<(u64, u32)>>>;

/// Jobs running right now, and the most seen at once.
#[derive(Debug, Default)]
struct Gauge {
    running: AtomicUsize,
    most: AtomicUsize,
}

/// A queue set up on `pg` with `clock` and `options`, recording its runs of [`Numbered`]
/// into `runs`. With a `gauge`, each job holds 2 ms and is counted while it runs; it
/// leaves the count before it returns, so before its finish commits and gives its
/// concurrency slot back: an overlap counted is a real one.
fn setup(
    pg: Pg,
    clock: Clock,
    options: QueueOptions,
    wake: WakeMode,
    runs: Runs,
    gauge: Option<Arc<Gauge>>,
) -> QueueSetup {
    let mut setup = QueueSetup::new(pg, clock, options, wake);
    trifecta_queue::builtin::register(&mut setup);
    setup.register(JobOptions::default(), move |job: Numbered, ctx| {
        let runs = runs.clone();
        let gauge = gauge.clone();
        async move {
            runs.lock().expect("runs").push((job.n, ctx.attempt));
            if let Some(g) = gauge {
                let now = g.running.fetch_add(1, Ordering::SeqCst) + 1;
                g.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                g.running.fetch_sub(1, Ordering::SeqCst);
            }
            Ok(())
        }
    });
    setup
}

/// A handle on `pg` that runs nothing, with a manual clock.
fn offline(pg: Pg, clock: &Clock) -> Queue {
    setup(
        pg,
        clock.clone(),
        QueueOptions::default(),
        WakeMode::Poll,
        Runs::default(),
        None,
    )
    .offline()
}

/// Waits until `done` holds, for at most `secs`.
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

/// Cancels the token and waits for the tracked tasks.
async fn stop(token: CancellationToken, tracker: TaskTracker) {
    token.cancel();
    tracker.close();
    tracker.wait().await;
}
