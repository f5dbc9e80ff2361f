//! Timings of the views on a large store, SQLite and PostgreSQL (not a check: `#[ignore]`,
//! run by hand with `cargo test -p trifecta-queue --test ops bench -- --ignored
//! --nocapture --test-threads 1`): 10,000 ready, 100,000 failed and 1,000,000 finished
//! jobs over five queues, 20 processes of which 10 run 3 jobs each, seeded with plain SQL.

use std::time::{Duration, Instant};

use trifecta_store::{Backend, Clock};

use super::{On, START, Storage};

const SEED: &str = "
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, priority, executions,
  scheduled_at, finished_at, created_at, updated_at)
SELECT 'q' || (i % 5), 'work', '{\"queue\":\"\",\"fail\":false}', 0, 1, ?1, ?1, ?1, ?1 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, executions, scheduled_at,
  created_at, updated_at)
SELECT 'q' || (i % 5), 'work', '{}', 1, ?1, ?1, ?1 FROM n;
INSERT INTO solid_queue_failed_executions (job_id, error, created_at)
SELECT id, '{\"exception_class\":\"Boom\",\"message\":\"x\",\"backtrace\":[]}', ?1
  FROM solid_queue_jobs WHERE finished_at IS NULL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10030)
INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, scheduled_at, created_at,
  updated_at)
SELECT 'q' || (i % 5), 'work', '{}', ?1 + i, ?1 + i, ?1 + i FROM n;
INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
SELECT id, queue_name, 0, created_at FROM solid_queue_jobs
 WHERE id > 1100000 ORDER BY id LIMIT 10000;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
INSERT INTO solid_queue_processes (kind, last_heartbeat_at, pid, hostname, metadata,
  created_at, name)
SELECT 'Worker', ?1, 1000 + i, 'host', '{}', ?1, 'worker-' || i FROM n;
INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
SELECT id, 1 + (id % 10), ?1 FROM solid_queue_jobs WHERE id > 1110000;";

/// p50 and p95 of `n` runs of `f`.
async fn time<F: AsyncFn()>(n: usize, f: F) -> (Duration, Duration) {
    let mut runs = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await;
        runs.push(t.elapsed());
    }
    runs.sort();
    (runs[n / 2], runs[n * 95 / 100])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing, run by hand"]
async fn views_on_a_large_sqlite_file() {
    let storage = Storage::new(On::Sqlite).await;
    let Backend::Sqlite(db) = storage.backend().await else {
        unreachable!("an SQLite storage")
    };
    let seeding = Instant::now();
    let start = START.0;
    db.write(move |tx| {
        for sql in SEED.split(';').filter(|s| !s.trim().is_empty()) {
            if sql.contains("?1") {
                tx.execute(sql, [start])?;
            } else {
                tx.execute(sql, [])?;
            }
        }
        Ok::<_, trifecta_store::Error>(())
    })
    .await
    .expect("seed");
    eprintln!("seeded in {:?}", seeding.elapsed());
    let q = storage.offline(&Clock::manual(START)).await;
    measure(&q).await;
}

const SEED_PG: &str = "
INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, priority, executions,
  scheduled_at, finished_at, created_at, updated_at)
SELECT 'q' || (i % 5), 'work', '{}', 0, 1, $1::bigint, $1::bigint, $1::bigint, $1::bigint FROM generate_series(1, 1000000) i;
INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, executions, scheduled_at,
  created_at, updated_at)
SELECT 'q' || (i % 5), 'work', '{}', 1, $1::bigint, $1::bigint, $1::bigint FROM generate_series(1, 100000) i;
INSERT INTO solid_queue_failed_executions (job_id, error, created_at)
SELECT id, '{}', $1::bigint FROM solid_queue_jobs WHERE id > 1000000;
INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, scheduled_at, created_at,
  updated_at)
SELECT 'q' || (i % 5), 'work', '{}', $1::bigint + i, $1::bigint + i, $1::bigint + i FROM generate_series(1, 10030) i;
INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
SELECT id, queue_name, 0, created_at FROM solid_queue_jobs
 WHERE id > 1100000 ORDER BY id LIMIT 10000;
INSERT INTO solid_queue_processes (kind, last_heartbeat_at, pid, hostname, metadata,
  created_at, name)
SELECT 'Worker', $1::bigint, 1000 + i, 'host', '{}', $1::bigint, 'worker-' || i FROM generate_series(1, 20) i;
INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
SELECT id, 1 + (id % 10), $1::bigint FROM solid_queue_jobs WHERE id > 1110000;
ANALYZE";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing, run by hand"]
async fn views_on_a_large_postgres_database() {
    let storage = Storage::new(On::Postgres).await;
    let Backend::Postgres(pg) = storage.backend().await else {
        unreachable!("a PostgreSQL storage")
    };
    let seeding = Instant::now();
    let conn = pg.get().await.expect("connection");
    for sql in SEED_PG.split(';') {
        if sql.contains("$1::bigint") {
            conn.execute(sql, &[&START.0]).await.expect("seed");
        } else {
            conn.batch_execute(sql).await.expect("seed");
        }
    }
    drop(conn);
    eprintln!("seeded in {:?}", seeding.elapsed());
    let q = storage.offline(&Clock::manual(START)).await;
    measure(&q).await;
}

/// Checks the seeded counts, then times the views.
async fn measure(q: &trifecta_queue::Queue) {
    let queues = q.queues().await.expect("queues");
    assert_eq!(queues.iter().map(|s| s.ready).sum::<i64>(), 10_000);
    assert_eq!(queues.iter().map(|s| s.claimed).sum::<i64>(), 30);
    let details = q.process_details().await.expect("details");
    assert_eq!(details.iter().map(|d| d.running.len()).sum::<usize>(), 30);
    let stats = q.stats().await.expect("stats");
    assert_eq!(stats.totals["failed"], 100_000);
    assert_eq!(stats.totals["finished"], 1_000_000);

    let (p50, p95) = time(200, async || {
        q.queues().await.expect("queues");
    })
    .await;
    eprintln!("queues(): p50 {p50:?}, p95 {p95:?}");
    let (p50, p95) = time(200, async || {
        q.process_details().await.expect("details");
    })
    .await;
    eprintln!("process_details(): p50 {p50:?}, p95 {p95:?}");
    let (p50, p95) = time(200, async || {
        q.recurring_tasks().await.expect("tasks");
    })
    .await;
    eprintln!("recurring_tasks(): p50 {p50:?}, p95 {p95:?}");
    let (p50, p95) = time(200, async || {
        q.minutes(START).await.expect("minutes");
    })
    .await;
    eprintln!("minutes(): p50 {p50:?}, p95 {p95:?}");
}
