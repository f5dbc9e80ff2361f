//! Rules kept across servers on PostgreSQL: a concurrency limit of one held by two servers,
//! each recurring run enqueued once by two schedulers, a dead server's claims recovered
//! once by two pruners, `NOTIFY` waking another server's worker, and the migrations.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta_queue::{
    JobState, QueueOptions, QueueSelector, QueueSetup, RecurringTask, Schedule, Scheduler,
};
use trifecta_store::pg::testing;
use trifecta_store::{Clock, Timestamp, WakeMode};

use super::{Gauge, Numbered, Runs, eventually, offline, setup, stop, store};

/// 60 jobs limited to one at a time, enqueued on both servers at once and worked by both
/// (4 threads each): never two at once, and all of them run. Without the semaphore row
/// lock two servers could both take the last slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_limit_of_one_holds_across_two_servers() {
    const EACH: u64 = 30;
    let url = testing::database().await.expect("test database");
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let runs = Runs::default();
    let gauge = Arc::new(Gauge::default());
    let options = QueueOptions {
        threads: 4,
        polling_interval: Duration::from_millis(10),
        ..QueueOptions::default()
    };
    let mut servers = Vec::new();
    for _ in 0..2 {
        let s = setup(
            store(&url, 8).await,
            Clock::system(),
            options.clone(),
            WakeMode::Instant,
            runs.clone(),
            Some(gauge.clone()),
        );
        let queue = s.queue().clone();
        s.start("test", &token, &tracker).await.expect("start");
        servers.push(queue);
    }
    let producers: Vec<_> = servers
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let q = q.clone();
            tokio::spawn(async move {
                for n in 0..EACH {
                    let job = Numbered {
                        key: Some(("one".to_owned(), 1)),
                        ..Numbered::new(i as u64 * EACH + n)
                    };
                    q.enqueue(&job).await.expect("enqueue");
                }
            })
        })
        .collect();
    for p in producers {
        p.await.expect("producer");
    }
    let q = servers[0].clone();
    eventually(60, "every limited job to run", async || {
        q.stats().await.expect("stats").totals["finished"] == 2 * EACH as i64
    })
    .await;
    assert_eq!(runs.lock().expect("runs").len(), 2 * EACH as usize);
    assert_eq!(
        gauge.most.load(Ordering::SeqCst),
        1,
        "two limited jobs ran at once"
    );
    stop(token, tracker).await;
}

/// Another server's transaction takes the last slot of a limit of two and has not
/// committed yet: an enqueue under the same key waits for it, then finds the limit full
/// and blocks its job. Reading the slot count without locking the semaphore row would see
/// the slot still free and take it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_slot_taken_by_another_server_is_not_taken_twice() {
    let url = testing::database().await.expect("test database");
    let clock = Clock::system();
    let queue = offline(store(&url, 2).await, &clock);
    let job = |n| Numbered {
        key: Some(("two".to_owned(), 2)),
        ..Numbered::new(n)
    };
    queue
        .enqueue(&job(0))
        .await
        .expect("first job takes a slot");
    let other = store(&url, 1).await;
    let conn = other.get().await.expect("conn");
    conn.batch_execute(
        "BEGIN; UPDATE solid_queue_semaphores SET value = value - 1
           WHERE key = 'numbered/two' AND value > 0",
    )
    .await
    .expect("take the last slot");
    let q = queue.clone();
    let second = tokio::spawn(async move { q.enqueue(&job(1)).await });
    // The enqueue waits at the semaphore row until the commit.
    wait_for_a_lock(&url).await;
    conn.batch_execute("COMMIT").await.expect("commit");
    let id = second.await.expect("join").expect("enqueue");
    let info = queue.job(id).await.expect("job").expect("exists");
    assert_eq!(info.state, JobState::Blocked, "the limit of two is full");
}

/// Another server is enqueueing a coalescing job (it holds the key's lock, its job not
/// committed yet): an enqueue of the same key waits, then coalesces into that job instead
/// of adding a second waiting one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalescing_holds_across_servers() {
    let url = testing::database().await.expect("test database");
    let queue = offline(store(&url, 2).await, &Clock::system());
    let other = store(&url, 1).await;
    let conn = other.get().await.expect("conn");
    conn.batch_execute(
        "BEGIN;
         SELECT pg_advisory_xact_lock(hashtextextended('numbered/c', 0));
         INSERT INTO solid_queue_jobs
           (id, queue_name, class_name, concurrency_key, created_at, updated_at)
           VALUES (777, 'default', 'numbered', 'numbered/c', 0, 0);
         INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
           VALUES (777, 'default', 0, 0)",
    )
    .await
    .expect("enqueue in another transaction");
    let q = queue.clone();
    let second = tokio::spawn(async move {
        let job = Numbered {
            key: Some(("c".to_owned(), 1)),
            coalesce: true,
            ..Numbered::new(1)
        };
        q.enqueue(&job).await
    });
    wait_for_a_lock(&url).await;
    conn.batch_execute("COMMIT").await.expect("commit");
    let id = second.await.expect("join").expect("enqueue");
    assert_eq!(id.0, 777, "coalesced into the other server's job");
    assert_eq!(queue.jobs(None, None, 10).await.expect("jobs").len(), 1);
}

/// Waits until some session of the database at `url` waits for a lock.
async fn wait_for_a_lock(url: &str) {
    let admin = store(url, 1).await;
    let watcher = admin.get().await.expect("conn");
    eventually(10, "a session to wait for a lock", async || {
        watcher
            .query_opt(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                   AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .expect("pg_stat_activity")
            .is_some()
    })
    .await;
}

/// A scheduler whose run another scheduler is recording right now (not committed yet)
/// waits for that commit, then skips the run without an error: the record's unique
/// `(task_key, run_at)` decides, not the check before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_recorded_concurrently_is_skipped() {
    let url = testing::database().await.expect("test database");
    let start = Timestamp(1_700_000_000_000_000);
    let clock = Clock::manual(start);
    let queue = offline(store(&url, 2).await, &clock);
    let scheduler = Scheduler::new(&queue, vec![beat()]);
    clock.advance(Duration::from_secs(1));
    let other = store(&url, 1).await;
    let conn = other.get().await.expect("conn");
    conn.batch_execute(&format!(
        "BEGIN;
         INSERT INTO solid_queue_jobs (id, queue_name, class_name, created_at, updated_at)
           VALUES (424242, 'default', 'noop', 0, 0);
         INSERT INTO solid_queue_recurring_executions (job_id, task_key, run_at, created_at)
           VALUES (424242, 'beat', {}, 0)",
        start.0 + 1_000_000
    ))
    .await
    .expect("record the run in another transaction");
    let run = tokio::spawn(async move { scheduler.run_once().await });
    wait_for_a_lock(&url).await;
    conn.batch_execute("COMMIT").await.expect("commit");
    let created = run.await.expect("join").expect("run_once");
    assert!(
        created.is_empty(),
        "the run was enqueued by the other scheduler"
    );
    assert_eq!(queue.jobs(None, None, 10).await.expect("jobs").len(), 1);
}

/// A task enqueuing `noop` every second.
fn beat() -> RecurringTask {
    RecurringTask {
        key: "beat".to_owned(),
        schedule_text: "every 1 second".to_owned(),
        schedule: Schedule::parse("every 1 second").expect("schedule"),
        job: "noop".to_owned(),
        args: "{}".to_owned(),
        queue: None,
        priority: None,
        description: None,
    }
}

/// Two schedulers on two servers, run at once for 40 runs of a task: each run is
/// enqueued exactly once, and neither scheduler sees an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_enqueue_each_run_once() {
    let url = testing::database().await.expect("test database");
    let clock = Clock::manual(Timestamp(1_700_000_000_000_000));
    let (a, b) = (
        offline(store(&url, 2).await, &clock),
        offline(store(&url, 2).await, &clock),
    );
    let task = beat();
    let (x, y) = (
        Scheduler::new(&a, vec![task.clone()]),
        Scheduler::new(&b, vec![task]),
    );
    x.sync().await.expect("sync");
    y.sync().await.expect("sync");
    let mut created = 0;
    for _ in 0..40 {
        clock.advance(Duration::from_secs(1));
        let (p, q) = tokio::join!(x.run_once(), y.run_once());
        created += p.expect("scheduler a").len() + q.expect("scheduler b").len();
    }
    assert_eq!(created, 40);
    assert_eq!(a.jobs(None, None, 1000).await.expect("jobs").len(), 40);
}

/// A server claims five jobs and stops heartbeating; once past the alive threshold two
/// other servers prune at once: its claims are released once (five jobs in all), back to
/// ready, and claimable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_servers_claims_are_released_once() {
    let url = testing::database().await.expect("test database");
    let clock = Clock::manual(Timestamp(1_700_000_000_000_000));
    let dead = offline(store(&url, 2).await, &clock);
    let (b, c) = (
        offline(store(&url, 2).await, &clock),
        offline(store(&url, 2).await, &clock),
    );
    let jobs: Vec<_> = (0..5).map(Numbered::new).collect();
    dead.enqueue_all(&jobs).await.expect("enqueue");
    let process = dead
        .register_process("Worker", serde_json::json!({}))
        .await
        .expect("register");
    let claimed = dead
        .claim(&QueueSelector::all(), Some(process.id), 5)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 5);
    let me_b = b
        .register_process("Worker", serde_json::json!({}))
        .await
        .expect("b");
    let me_c = c
        .register_process("Worker", serde_json::json!({}))
        .await
        .expect("c");
    clock.advance(Duration::from_secs(301));
    me_b.heartbeat().await.expect("heartbeat");
    me_c.heartbeat().await.expect("heartbeat");
    let (x, y) = tokio::join!(b.prune(Some(me_b.id)), c.prune(Some(me_c.id)));
    let (x, y) = (x.expect("prune b"), y.expect("prune c"));
    assert_eq!(x.jobs + y.jobs, 5, "each claim recovered once: {x:?} {y:?}");
    assert_eq!(x.processes + y.processes, 1);
    let stats = b.stats().await.expect("stats");
    assert_eq!(stats.totals[JobState::Ready.as_str()], 5);
    let again = c
        .claim(&QueueSelector::all(), Some(me_c.id), 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 5);
    assert!(again.iter().all(|j| j.attempt == 2));
}

/// A worker polling once an hour runs a job another server enqueued within seconds: only
/// the `NOTIFY` sent after the enqueue's commit can wake it. Jobs are enqueued only once its
/// `LISTEN` connection is up (its wake-up after connecting would otherwise find them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueue_on_one_server_wakes_the_others_worker() {
    let url = testing::database().await.expect("test database");
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let runs = Runs::default();
    let deaf = QueueOptions {
        threads: 2,
        polling_interval: Duration::from_secs(3600),
        dispatcher_polling_interval: Duration::from_secs(3600),
        ..QueueOptions::default()
    };
    let worker: QueueSetup = setup(
        store(&url, 4).await,
        Clock::system(),
        deaf,
        WakeMode::Instant,
        runs.clone(),
        None,
    );
    worker.start("test", &token, &tracker).await.expect("start");
    let admin = store(&url, 1).await;
    let conn = admin.get().await.expect("conn");
    let listening = "SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND query = 'LISTEN trifecta_queue'";
    eventually(20, "the LISTEN connection", async || {
        conn.query_opt(listening, &[])
            .await
            .expect("pg_stat_activity")
            .is_some()
    })
    .await;
    let other = offline(store(&url, 2).await, &Clock::system());
    // Jobs without a limit notify right after their one insert statement; a limited one
    // right after the commit of its transaction (the NOTIFY is a statement of its own,
    // outside the durable transaction).
    for n in 0..4 {
        let job = Numbered {
            key: (n == 3).then(|| ("k".to_owned(), 1)),
            ..Numbered::new(n)
        };
        other.enqueue(&job).await.expect("enqueue");
        let r = runs.clone();
        eventually(5, "the notified worker to run the job", async || {
            r.lock().expect("runs").iter().any(|(m, _)| *m == n)
        })
        .await;
    }
    stop(token, tracker).await;
}

/// The migrations run once into `queue_schema_history`, and a history newer than this
/// binary's migrations is refused.
#[tokio::test]
async fn migrations_run_once_and_refuse_a_newer_history() {
    let url = testing::database().await.expect("test database");
    let pg = store(&url, 1).await;
    let again = pg
        .migrate(trifecta_queue::postgres_migrations)
        .await
        .expect("again");
    assert!(again.applied.is_empty());
    let latest = trifecta_queue::postgres_migrations()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max();
    assert_eq!(Some(again.version), latest);
    assert!(
        again.version >= 2,
        "the jobs table's fillfactor migration is known"
    );
    let conn = pg.get().await.expect("conn");
    conn.batch_execute(
        "INSERT INTO queue_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', 'now', '0')",
    )
    .await
    .expect("forge a newer history");
    drop(conn);
    let err = pg
        .migrate(trifecta_queue::postgres_migrations)
        .await
        .expect_err("a newer history must be refused");
    assert!(
        err.to_string().contains("newer than this binary knows"),
        "{err}"
    );
}

/// `--wake poll` keeps to the poll on PostgreSQL too: its worker opens no `LISTEN`
/// connection, so another server's `NOTIFY` cannot wake it. A second worker with the
/// instant wake, started at the same time on the same database, shows its connection is
/// counted once it is up: there is then exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_in_poll_mode_does_not_listen() {
    let url = testing::database().await.expect("test database");
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    for wake in [WakeMode::Poll, WakeMode::Instant] {
        setup(
            store(&url, 2).await,
            Clock::system(),
            QueueOptions::default(),
            wake,
            Runs::default(),
            None,
        )
        .start("test", &token, &tracker)
        .await
        .expect("start");
    }
    let admin = store(&url, 1).await;
    let conn = admin.get().await.expect("conn");
    let listening = "SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND query = 'LISTEN trifecta_queue'";
    let count = async || -> i64 {
        conn.query_one(listening, &[])
            .await
            .expect("pg_stat_activity")
            .get(0)
    };
    eventually(20, "the instant worker's LISTEN connection", async || {
        count().await > 0
    })
    .await;
    assert_eq!(count().await, 1, "only the instant worker listens");
    stop(token, tracker).await;
}
