//! Timings of the dashboard calls on a large SQLite queue file: not a test of speed (the
//! figures depend on the machine), a measurement to run by hand:
//!
//! ```sh
//! cargo test -p trifecta-queue --release --test dashboard -- --ignored --nocapture bench
//! ```
//!
//! `BENCH_FINISHED`, `BENCH_FAILED`, `BENCH_READY` set the seeded sizes (default
//! 1,000,000, 100,000 and 10,000). Prints p50 and p95 of each call over
//! `BENCH_RUNS` runs (default 30).

use std::time::{Duration, Instant};

use trifecta_queue::{BenchSeed, Cursor, JobFilter, JobState, Queue, QueueOptions, QueueSetup};
use trifecta_store::{Clock, Db, PoolOptions, Timestamp, WakeMode};

use super::START;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// p50 and p95 of `runs` calls of `f`, in milliseconds.
async fn time<T>(runs: u64, mut f: impl AsyncFnMut() -> T) -> (f64, f64) {
    let mut took: Vec<Duration> = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f().await);
        took.push(t.elapsed());
    }
    took.sort();
    let at = |p: f64| {
        let i = ((took.len() as f64 - 1.0) * p).round() as usize;
        took[i].as_secs_f64() * 1000.0
    };
    (at(0.5), at(0.95))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand with --ignored --nocapture"]
async fn bench() {
    let (finished, failed, ready) = (
        env("BENCH_FINISHED", 1_000_000),
        env("BENCH_FAILED", 100_000),
        env("BENCH_READY", 10_000),
    );
    let runs = env("BENCH_RUNS", 30);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(
        "queue",
        &dir.path().join("queue.sqlite3"),
        &PoolOptions::default(),
    )
    .expect("open");
    db.migrate_blocking(trifecta_queue::SCHEMA)
        .expect("migrate");
    let total = finished + failed + ready;
    let end = Timestamp(START.0 + i64::try_from(total).expect("total") * 1000);
    let clock = Clock::manual(Timestamp(end.0 + 1_000_000));
    let q: Queue = QueueSetup::new(db, clock, QueueOptions::default(), WakeMode::Poll).offline();
    let t = Instant::now();
    q.seed_for_bench(BenchSeed {
        finished,
        failed,
        ready,
        start: START,
    })
    .await
    .expect("seed");
    println!(
        "seeded {finished} finished, {failed} failed, {ready} ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let recent = Timestamp(end.0 - i64::try_from(total / 10).expect("n") * 1000);
    let old = (
        Timestamp(START.0 + i64::try_from(total / 10).expect("n") * 1000),
        Timestamp(START.0 + i64::try_from(total / 5).expect("n") * 1000),
    );
    let filters: Vec<(&str, JobFilter)> = vec![
        ("none", JobFilter::default()),
        (
            "queue",
            JobFilter {
                queue: Some("mailers".into()),
                ..JobFilter::default()
            },
        ),
        (
            "class",
            JobFilter {
                class: Some("Charge".into()),
                ..JobFilter::default()
            },
        ),
        (
            "rare class",
            JobFilter {
                class: Some("RareJob".into()),
                ..JobFilter::default()
            },
        ),
        (
            "absent class",
            JobFilter {
                class: Some("Nope".into()),
                ..JobFilter::default()
            },
        ),
        (
            "recent 10%",
            JobFilter {
                from: Some(recent),
                ..JobFilter::default()
            },
        ),
        (
            "old 10%",
            JobFilter {
                from: Some(old.0),
                to: Some(old.1),
                ..JobFilter::default()
            },
        ),
        (
            "queue+class+old",
            JobFilter {
                queue: Some("low".into()),
                class: Some("Charge".into()),
                from: Some(old.0),
                to: Some(old.1),
            },
        ),
    ];
    println!(
        "{:<10} {:<16} {:>8} {:>8} {:>8} {:>8}  (ms; page of 50, then the next page)",
        "state", "filter", "p50", "p95", "next p50", "next p95"
    );
    for state in JobState::ALL {
        for (name, filter) in &filters {
            let first = q.search(state, filter, None, 50).await.expect("search");
            let (p50, p95) = time(runs, async || q.search(state, filter, None, 50).await).await;
            let next: Option<Cursor> = first.next.clone();
            let (n50, n95) = time(runs, async || {
                q.search(state, filter, next.as_ref(), 50).await
            })
            .await;
            println!(
                "{:<10} {:<16} {p50:>8.2} {p95:>8.2} {n50:>8.2} {n95:>8.2}  {} jobs{}",
                state.as_str(),
                name,
                first.jobs.len(),
                if first.scan_limited {
                    ", scan limited"
                } else {
                    ""
                }
            );
        }
    }
    println!("counts (cap 10,000), all six states:");
    for (name, filter) in &filters {
        let c = q.counts(filter, 10_000).await.expect("counts");
        let (p50, p95) = time(runs, async || q.counts(filter, 10_000).await).await;
        let shown: Vec<String> = c
            .iter()
            .map(|(s, c)| format!("{}={}{}", s.as_str(), c.n, if c.more { "+" } else { "" }))
            .collect();
        println!(
            "  {name:<16} p50 {p50:>6.2} p95 {p95:>6.2}  {}",
            shown.join(" ")
        );
    }
    let failed_page = q
        .search(JobState::Failed, &JobFilter::default(), None, 1)
        .await
        .expect("search");
    let finished_page = q
        .search(JobState::Finished, &JobFilter::default(), None, 1)
        .await
        .expect("search");
    for (name, page) in [("failed", failed_page), ("finished", finished_page)] {
        let id = page.jobs[0].info.id;
        let (p50, p95) = time(runs, async || q.job_detail(id).await).await;
        println!("job_detail of a {name} job: p50 {p50:.2} p95 {p95:.2} ms");
    }
    for (name, filter) in [
        (
            "rare class",
            JobFilter {
                class: Some("RareJob".into()),
                ..JobFilter::default()
            },
        ),
        ("queue+class+old", filters[7].1.clone()),
        (
            "class Charge",
            JobFilter {
                class: Some("Charge".into()),
                ..JobFilter::default()
            },
        ),
    ] {
        let t = Instant::now();
        let n = q.retry_matching(&filter).await.expect("retry");
        println!(
            "retry_matching({name}): {n} jobs in {:.1} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
}
