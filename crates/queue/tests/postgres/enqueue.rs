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
/// `release` is cancelled. It polls once an hour; its worker offers its slots to enqueues
/// (the claim at enqueue) from the moment `start` returns.
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
    // One slot, held by the job: nothing else can start it meanwhile.
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
    // One slot, held by the job that started: no second one can start.
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

/// How many ready rows were ever written in this database.
async fn ready_rows_written(pg: &Pg) -> i64 {
    let conn = pg.get().await.expect("conn");
    let row = conn
        .query_one(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END
               FROM solid_queue_ready_executions_id_seq",
            &[],
        )
        .await
        .expect("sequence");
    row.get(0)
}

/// The jobs started so far, by number, sorted.
fn started(runs: &Runs) -> Vec<u64> {
    let mut n: Vec<u64> = runs.lock().expect("runs").iter().map(|r| r.0).collect();
    n.sort_unstable();
    n
}

/// A batch enqueued to an idle worker is claimed in its own statement, in claim order
/// (priority, then age) up to the idle slots: the three best of five start, and only the
/// two left over were ever written as ready rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_claimed_in_its_insert_in_claim_order() {
    let url = testing::database().await.expect("test database");
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let clock = Clock::manual(Timestamp(1_700_000_000_000_000));
    let (runs, release) = (Runs::default(), CancellationToken::new());
    let pg = store(&url, 4).await;
    let queue = held_worker(pg.clone(), &clock, &runs, &release, 3, &token, &tracker).await;
    let batch: Vec<Numbered> = [(1, 5), (2, 0), (3, 5), (4, 1), (5, 0)]
        .into_iter()
        .map(|(n, priority)| Numbered {
            priority,
            ..Numbered::new(n)
        })
        .collect();
    queue.enqueue_all(&batch).await.expect("enqueue the batch");
    let r = runs.clone();
    eventually(5, "three jobs to start", async || {
        r.lock().expect("runs").len() == 3
    })
    .await;
    assert_eq!(started(&runs), vec![2, 4, 5], "priorities 0, 0 and 1 first");
    assert_eq!(ready_rows_written(&pg).await, 2, "only the two left over");
    let stats = queue.stats().await.expect("stats");
    assert_eq!(stats.totals[JobState::Ready.as_str()], 2);
    release.cancel();
    stop(token, tracker).await;
}

/// Jobs left ready that no wake-up announced (another server's, its `NOTIFY` lost) are
/// taken by the next local enqueue along with its own, as the worker's claim would take
/// them: a backlog drains at enqueue instead of each enqueue taking one older job and
/// leaving its own behind as a ready row for the worker's next claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueue_takes_the_jobs_left_ready_with_its_own() {
    let url = testing::database().await.expect("test database");
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let clock = Clock::manual(Timestamp(1_700_000_000_000_000));
    let (runs, release) = (Runs::default(), CancellationToken::new());
    let pg = store(&url, 4).await;
    let queue = held_worker(pg.clone(), &clock, &runs, &release, 10, &token, &tracker).await;
    let other_pg = store(&url, 2).await;
    let other = offline(other_pg.clone(), &clock);
    // Enqueued while the queue is paused, so the worker their NOTIFY wakes leaves them;
    // the pause is then lifted behind the queue's back, with no wake-up.
    assert!(other.pause("default").await.expect("pause"));
    for n in 1..=3 {
        other
            .enqueue(&Numbered::new(n))
            .await
            .expect("enqueue elsewhere");
    }
    other_pg
        .get()
        .await
        .expect("conn")
        .batch_execute("DELETE FROM solid_queue_pauses")
        .await
        .expect("unpause quietly");
    queue.enqueue(&Numbered::new(4)).await.expect("enqueue");
    let r = runs.clone();
    eventually(5, "all four jobs to start", async || {
        r.lock().expect("runs").len() == 4
    })
    .await;
    assert_eq!(started(&runs), vec![1, 2, 3, 4]);
    let stats = queue.stats().await.expect("stats");
    assert_eq!(
        stats.totals[JobState::Ready.as_str()],
        0,
        "nothing left ready"
    );
    assert_eq!(stats.totals[JobState::Claimed.as_str()], 4);
    assert_eq!(
        ready_rows_written(&pg).await,
        3,
        "the new job was claimed in its insert, never made ready"
    );
    release.cancel();
    stop(token, tracker).await;
}

/// Single enqueues that arrive while one is being written go together in the next
/// statement, one transaction: with the first held up by a lock the test holds on the job
/// id sequence (which only inserts use), the other nineteen wait and share one commit, so
/// the twenty jobs were written by two transactions (their rows' `xmin`). A few more if
/// some met the worker's own poll (at start, or on its `LISTEN` connection's first wake):
/// such an enqueue waits for the poll's slots and may join a later statement. Written one
/// by one, they would be twenty. Each caller gets its own job's id, and each job runs
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enqueues_share_one_commit() {
    use std::future::Future;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let url = testing::database().await.expect("test database");
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let clock = Clock::manual(Timestamp(1_700_000_000_000_000));
    let (runs, release) = (Runs::default(), CancellationToken::new());
    let pg = store(&url, 4).await;
    let queue = held_worker(pg.clone(), &clock, &runs, &release, 64, &token, &tracker).await;
    let mut conn = pg.get().await.expect("conn");
    let setting: String = conn
        .query_one("SHOW enable_seqscan", &[])
        .await
        .expect("show")
        .get(0);
    assert_eq!(setting, "off", "the queue's connections use its indexes");
    // `ALTER SEQUENCE` locks the sequence until the transaction ends: `nextval` waits.
    let lock = conn.transaction().await.expect("begin");
    lock.batch_execute("ALTER SEQUENCE solid_queue_jobs_id_seq CACHE 1")
        .await
        .expect("lock");
    let first = tokio::spawn({
        let queue = queue.clone();
        async move { queue.enqueue(&Numbered::new(0)).await }
    });
    let probe = store(&url, 1).await;
    eventually(5, "the first enqueue to wait for the lock", async || {
        let c = probe.get().await.expect("conn");
        let waiting: i64 = c
            .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted", &[])
            .await
            .expect("locks")
            .get(0);
        waiting > 0
    })
    .await;
    // Each of the others is counted once its first poll returned: by then its job waits
    // in the group, unless it waits for the worker's poll to give slots back.
    let queued = Arc::new(AtomicUsize::new(0));
    let mut rest = Vec::new();
    for n in 1..20 {
        let (queue, queued) = (queue.clone(), queued.clone());
        rest.push(tokio::spawn(async move {
            let mut enqueue = Box::pin(async move { queue.enqueue(&Numbered::new(n)).await });
            let mut counted = false;
            std::future::poll_fn(|cx| {
                let poll = enqueue.as_mut().poll(cx);
                if !std::mem::replace(&mut counted, true) {
                    queued.fetch_add(1, Ordering::SeqCst);
                }
                poll
            })
            .await
        }));
    }
    let q = queued.clone();
    eventually(5, "nineteen enqueues to wait", async || {
        q.load(Ordering::SeqCst) == 19
    })
    .await;
    lock.rollback().await.expect("unlock");
    let mut ids = vec![first.await.expect("join").expect("enqueue")];
    for t in rest {
        ids.push(t.await.expect("join").expect("enqueue"));
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "each caller got its own job");
    let transactions: i64 = conn
        .query_one(
            "SELECT count(DISTINCT xmin::text) FROM solid_queue_jobs",
            &[],
        )
        .await
        .expect("xmin")
        .get(0);
    assert!(
        (2..=5).contains(&transactions),
        "the first alone, the nineteen together: {transactions} transactions"
    );
    let r = runs.clone();
    eventually(5, "all twenty to start", async || {
        r.lock().expect("runs").len() == 20
    })
    .await;
    assert_eq!(started(&runs), (0..20).collect::<Vec<u64>>(), "each once");
    release.cancel();
    stop(token, tracker).await;
}
