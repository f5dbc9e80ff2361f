//! Claims on PostgreSQL: two servers working off one backlog run every job exactly once, a
//! claim passes over rows another transaction holds instead of waiting for them, and the
//! claim order (strict queue order, priority, age; paused queues skipped) is SQLite's.

use std::collections::HashMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta_queue::{JobState, QueueOptions, QueueSelector};
use trifecta_store::pg::testing;
use trifecta_store::{Clock, WakeMode};

use super::{Numbered, Runs, eventually, offline, setup, stop, store};

/// 10,000 jobs, enqueued in batches from both servers while both work them off with 8
/// threads each: every job runs exactly once, on its first attempt. Two claims picking
/// the same ready rows would run a job twice or fail on the unique claimed row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_run_ten_thousand_jobs_exactly_once() {
    const JOBS: u64 = 10_000;
    const BATCH: u64 = 250;
    let url = testing::database().await.expect("test database");
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let runs = Runs::default();
    let options = QueueOptions {
        threads: 8,
        polling_interval: Duration::from_millis(20),
        preserve_finished_jobs: true,
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
            None,
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
                let mut n = i as u64 * BATCH;
                while n < JOBS {
                    let jobs: Vec<_> = (n..(n + BATCH).min(JOBS)).map(Numbered::new).collect();
                    q.enqueue_all(&jobs).await.expect("enqueue");
                    n += 2 * BATCH;
                }
            })
        })
        .collect();
    for p in producers {
        p.await.expect("producer");
    }
    let q = servers[0].clone();
    eventually(120, "every job to finish", async || {
        let stats = q.stats().await.expect("stats");
        stats.totals["finished"] == JOBS as i64
    })
    .await;
    let runs = runs.lock().expect("runs").clone();
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (n, attempt) in &runs {
        assert_eq!(*attempt, 1, "job {n} ran on attempt {attempt}");
        *seen.entry(*n).or_default() += 1;
    }
    assert_eq!(seen.len(), JOBS as usize, "every job ran");
    assert!(
        seen.values().all(|&c| c == 1),
        "a job ran twice: {:?}",
        seen.iter().find(|(_, c)| **c > 1)
    );
    stop(token, tracker).await;
}

/// While another transaction holds the first five ready rows locked (a claim of another
/// server in flight), a claim takes the next five at once instead of waiting for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_passes_over_rows_another_claim_holds() {
    let url = testing::database().await.expect("test database");
    let clock = Clock::system();
    let queue = offline(store(&url, 2).await, &clock);
    let jobs: Vec<_> = (0..10).map(Numbered::new).collect();
    let ids = queue.enqueue_all(&jobs).await.expect("enqueue");
    let other = store(&url, 1).await;
    let holder = other.get().await.expect("conn");
    holder
        .batch_execute(
            "BEGIN; SELECT id FROM solid_queue_ready_executions ORDER BY priority, job_id
               LIMIT 5 FOR UPDATE",
        )
        .await
        .expect("lock five rows");
    let claimed = tokio::time::timeout(
        Duration::from_secs(5),
        queue.claim(&QueueSelector::all(), None, 10),
    )
    .await
    .expect("the claim must not wait for the locked rows")
    .expect("claim");
    let got: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    let want: Vec<i64> = ids[5..].iter().map(|id| id.0).collect();
    assert_eq!(got, want, "the five unlocked jobs, in order");
    holder.batch_execute("ROLLBACK").await.expect("rollback");
}

/// One server enqueues, the other claims: exact queues in the listed order, then a
/// wildcard's queues by name, each by priority then age; a queue paused by one server is
/// skipped by the other's claim until resumed.
#[tokio::test]
async fn claims_keep_strict_queue_order_and_pauses_across_servers() {
    let url = testing::database().await.expect("test database");
    let clock = Clock::system();
    let a = offline(store(&url, 2).await, &clock);
    let b = offline(store(&url, 2).await, &clock);
    let job = |n, queue: &str, priority| Numbered {
        queue: queue.to_owned(),
        priority,
        ..Numbered::new(n)
    };
    for j in [
        job(0, "low", 0),
        job(1, "mail.b", 5),
        job(2, "critical", 1),
        job(3, "mail.a", 0),
        job(4, "critical", 0),
        job(5, "mail.b", 1),
        job(6, "low", 0),
    ] {
        a.enqueue(&j).await.expect("enqueue");
    }
    assert!(a.pause("critical").await.expect("pause"));
    let selector = QueueSelector::new(&["critical", "mail*", "low"]);
    let numbers = |claimed: &[trifecta_queue::ClaimedJob]| -> Vec<u64> {
        claimed
            .iter()
            .map(|c| {
                serde_json::from_str::<Numbered>(&c.arguments)
                    .expect("args")
                    .n
            })
            .collect()
    };
    let first = b.claim(&selector, None, 3).await.expect("claim");
    assert_eq!(numbers(&first), vec![3, 5, 1], "critical is paused");
    assert!(b.resume("critical").await.expect("resume"));
    let rest = b.claim(&selector, None, 10).await.expect("claim");
    assert_eq!(numbers(&rest), vec![4, 2, 0, 6]);
    let stats = a.stats().await.expect("stats");
    assert_eq!(stats.totals[JobState::Claimed.as_str()], 7);
}
