//! The enqueue's fast paths on PostgreSQL: a job claimed in the enqueue's own statement
//! (no ready row written) runs once and is recovered like any claim when its process dies;
//! a job with something ready ahead of it is not taken out of order.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta_queue::{JobOptions, JobState, Queue, QueueOptions, QueueSelector, QueueSetup};
use trifecta_store::pg::testing;
use trifecta_store::{Clock, Pg, Timestamp, WakeMode};

use super::{Numbered, Runs, eventually, offline, stop, store};

/// Whether any ready row was ever inserted in this database (its id sequence was used).
async fn ready_row_ever_written(pg: &Pg) -> bool {
    let conn = pg.get().await.expect("conn");
    conn.query_one(
        "SELECT is_called FROM solid_queue_ready_executions_id_seq",
        &[],
    )
    .await
    .expect("sequence")
    .get(0)
}

/// A started queue on `pg` whose [`Numbered`] jobs record their run and then wait for
/// `release` is cancelled. It polls once an hour, and its instant wake (which the claim at
/// enqueue comes with) has had time to start.
async fn held_worker(
    pg: Pg,
    clock: &Clock,
    runs: &Runs,
    release: &CancellationToken,
    threads: usize,
    token: &CancellationToken,
    tracker: &TaskTracker,
) -> Queue {
    let options = QueueOptions {
        threads,
        polling_interval: Duration::from_secs(3600),
        dispatcher_polling_interval: Duration::from_secs(3600),
        ..QueueOptions::default()
    };
    let mut setup = QueueSetup::new(pg, clock.clone(), options, WakeMode::Instant);
    let (runs, release) = (runs.clone(), release.clone());
    setup.register(JobOptions::default(), move |job: Numbered, ctx| {
        let (runs, release) = (runs.clone(), release.clone());
        async move {
            runs.lock().expect("runs").push((job.n, ctx.attempt));
            release.cancelled().await;
            Ok(())
        }
    });
    let queue = setup.queue().clone();
    setup.start("test", token, tracker).await.expect("start");
    // The worker offers its idle slots to enqueues once its loop runs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    queue
}

/// An idle worker's own enqueue claims the job in the insert: no ready row is ever
/// written, the job runs once (attempt 1), and once its process stops heartbeating another
/// server's prune puts it back to ready, to be claimed again as attempt 2. (One thread, held
/// by the job: the worker cannot race the other server for the recovered job.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_claimed_at_enqueue_runs_once_and_is_recovered() {
    let url = testing::database().await.expect("test database");
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let clock = Clock::manual(Timestamp(1_700_000_000_000_000));
    let (runs, release) = (Runs::default(), CancellationToken::new());
    let pg = store(&url, 4).await;
    let queue = held_worker(pg.clone(), &clock, &runs, &release, 1, &token, &tracker).await;
    queue.enqueue(&Numbered::new(1)).await.expect("enqueue");
    let r = runs.clone();
    eventually(5, "the job to start", async || {
        !r.lock().expect("runs").is_empty()
    })
    .await;
    assert!(
        !ready_row_ever_written(&pg).await,
        "claimed in the enqueue, never made ready"
    );
    let stats = queue.stats().await.expect("stats");
    assert_eq!(stats.totals[JobState::Claimed.as_str()], 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*runs.lock().expect("runs"), vec![(1, 1)], "ran once");

    let other = offline(store(&url, 2).await, &clock);
    let me = other
        .register_process("Worker", serde_json::json!({}))
        .await
        .expect("register");
    clock.advance(Duration::from_secs(301));
    me.heartbeat().await.expect("heartbeat");
    let pruned = other.prune(Some(me.id)).await.expect("prune");
    assert_eq!(pruned.jobs, 1, "the claim at enqueue is recovered");
    let again = other
        .claim(&QueueSelector::all(), Some(me.id), 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    release.cancel();
    stop(token, tracker).await;
}

/// A job ready ahead of the new one (older, same priority) keeps its place: with one free
/// slot, the enqueue's claim takes the older one, as the ordinary claim would, and the new
/// one is made ready. (Whether the other server's `NOTIFY` or this enqueue's claim takes
/// the older job first, the outcome is the same.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueue_does_not_claim_past_a_job_ready_ahead() {
    let url = testing::database().await.expect("test database");
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let clock = Clock::manual(Timestamp(1_700_000_000_000_000));
    let (runs, release) = (Runs::default(), CancellationToken::new());
    let pg = store(&url, 4).await;
    let queue = held_worker(pg.clone(), &clock, &runs, &release, 1, &token, &tracker).await;
    // Another server's enqueue: ready.
    offline(store(&url, 2).await, &clock)
        .enqueue(&Numbered::new(1))
        .await
        .expect("enqueue the older job");
    queue.enqueue(&Numbered::new(2)).await.expect("enqueue");
    let r = runs.clone();
    eventually(5, "a job to start", async || {
        !r.lock().expect("runs").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        *runs.lock().expect("runs"),
        vec![(1, 1)],
        "the older job first"
    );
    let stats = queue.stats().await.expect("stats");
    assert_eq!(
        stats.totals[JobState::Ready.as_str()],
        1,
        "the new job waits"
    );
    assert!(ready_row_ever_written(&pg).await);
    release.cancel();
    stop(token, tracker).await;
}
