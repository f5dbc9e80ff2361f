//! Queue benchmarks (`cargo bench --bench queue`, release build): enqueue throughput (one
//! per call, batches of 100), processing throughput, end-to-end throughput, and
//! enqueue→start latency at several idle gaps in both wake modes. Prints a Markdown table.
//!
//! `QUEUE_BENCH_QUICK=1` shrinks every run (for a smoke test); `QUEUE_BENCH_THREADS=N`
//! sets the worker threads (job slots) of the throughput runs (default 256); `QUEUE_BENCH_ONLY=throughput`
//! skips the latency runs, `QUEUE_BENCH_ONLY=end_to_end` runs only end to end, 1 per call.
//! `QUEUE_BENCH_METRICS=1` installs the Prometheus recorder of `--metrics-bind` first and
//! renders its text every second meanwhile, as a scraped server does (the report's metrics
//! overhead runs this binary with and without it). `QUEUE_BENCH_ONLY=interleaved` measures
//! that cost inside one process instead (`queue/interleaved.rs`): `QUEUE_BENCH_ROUNDS` pairs
//! of 5,000-job blocks (default 60), with and without the recorder, alternating.
//!
//! On PostgreSQL: `--postgres` makes a durable throwaway cluster on this machine
//! (`pg::testing::Cluster::start_local(true)`: `fsync`, `synchronous_commit` and
//! `full_page_writes` on), and `QUEUE_BENCH_POSTGRES=postgres://user@host:port` (a server's
//! URL without a database name) uses that server instead. Each run gets a fresh database
//! there, migrated as a server migrates its queue store, with a pool of
//! `QUEUE_BENCH_POOL` connections (default `--database-pool`'s, 8). This mode runs the rows
//! of the PostgreSQL goals only: enqueue one per call (10 submitters) and in batches, end to
//! end one per call (10 submitters) and in batches of 100, and enqueue→start with the
//! instant wake (LISTEN/NOTIFY); `QUEUE_BENCH_ONLY=end_to_end` runs end to end, 1 per call,
//! alone here too.

#![allow(missing_docs)]

mod support;

#[path = "queue/interleaved.rs"]
mod interleaved;

use std::io::Write;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta::config::WakeMode;
use trifecta::queue::builtin::Noop;
use trifecta::queue::{Job, JobOptions, Queue, QueueOptions, QueueSetup};
use trifecta::store::{Backend, Clock, Pg, PoolOptions};
use trifecta::stores::{StoreKind, Stores};
use trifecta_store::pg::testing;

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A no-op with a 100-byte payload and the send time, for latency.
#[derive(Clone, Serialize, Deserialize)]
struct Probe {
    sent_us: i64,
    pad: String,
}

impl Job for Probe {
    const NAME: &'static str = "probe";
}

/// Where the runs of this process keep their queue.
enum Target {
    /// A SQLite file in a temp dir of each run's own.
    Sqlite,
    /// A fresh database per run on the server at `base` (a URL without a database name),
    /// with a pool of `pool` connections.
    Postgres { base: String, pool: usize },
}

/// The target of this process (SQLite unless a PostgreSQL mode was asked for).
static TARGET: OnceLock<Target> = OnceLock::new();

/// Databases made by this process so far.
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// What one run's queue lives in, removed when the run stops.
enum Storage {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin: String, name: String },
}

/// A fresh, migrated queue store on this process's target.
async fn open_store() -> Res<(Storage, Backend)> {
    match TARGET.get().unwrap_or(&Target::Sqlite) {
        Target::Sqlite => {
            let dir = tempfile::tempdir()?;
            let stores = tokio::task::block_in_place(|| {
                Stores::open(dir.path(), "bench", &PoolOptions::default())
            })?;
            Ok((Storage::Sqlite { _dir: dir }, stores.queue))
        }
        Target::Postgres { base, pool } => {
            let name = format!(
                "queue_bench_{}_{}",
                std::process::id(),
                DATABASES.fetch_add(1, Ordering::Relaxed)
            );
            let admin = format!("{base}/postgres");
            testing::create_database(&admin, &name).await?;
            let pg = Pg::connect_with(
                "queue",
                &format!("{base}/{name}"),
                *pool,
                StoreKind::Queue.postgres_settings(),
            )?;
            pg.migrate(StoreKind::Queue.postgres_schema()).await?;
            Ok((Storage::Postgres { admin, name }, pg.into()))
        }
    }
}

struct Bench {
    storage: Storage,
    queue: Queue,
    /// The registrations, until [`Bench::start`] starts the queue with them.
    jobs: Option<QueueSetup>,
    token: CancellationToken,
    tracker: TaskTracker,
    done: Arc<AtomicUsize>,
    all_done: Arc<Notify>,
    latencies: Option<mpsc::UnboundedReceiver<Duration>>,
}

async fn setup(wake: WakeMode, threads: usize, start: bool) -> Res<Bench> {
    let (storage, store) = open_store().await?;
    let mut b = tokio::task::block_in_place(|| build_on(storage, &store, wake, threads))?;
    if start {
        b.start().await?;
    }
    Ok(b)
}

/// Opens the stores (SQLite) and builds the queue, not started. Synchronous and on the
/// calling thread, so a local recorder around it decides what the metric handles record.
fn build(wake: WakeMode, threads: usize) -> Res<Bench> {
    let dir = tempfile::tempdir()?;
    let stores = Stores::open(dir.path(), "bench", &PoolOptions::default())?;
    build_on(Storage::Sqlite { _dir: dir }, &stores.queue, wake, threads)
}

/// Builds the queue on `store`, not started.
fn build_on(storage: Storage, store: &Backend, wake: WakeMode, threads: usize) -> Res<Bench> {
    let settings = QueueOptions {
        threads,
        ..QueueOptions::default()
    };
    let mut jobs = QueueSetup::new(store.clone(), Clock::system(), settings, wake);
    let done = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    let (tx, rx) = mpsc::unbounded_channel();
    let counter = done.clone();
    jobs.register(JobOptions::default(), move |_: Noop, _| {
        counter.fetch_add(1, Ordering::Relaxed);
        async { Ok(()) }
    });
    let clock = Clock::system();
    jobs.register(JobOptions::default(), move |p: Probe, _| {
        let _ = tx.send(clock.now().since(trifecta::store::Timestamp(p.sent_us)));
        async { Ok(()) }
    });
    Ok(Bench {
        storage,
        queue: jobs.queue().clone(),
        jobs: Some(jobs),
        token: CancellationToken::new(),
        tracker: TaskTracker::new(),
        done,
        all_done,
        latencies: Some(rx),
    })
}

impl Bench {
    async fn start(&mut self) -> Res {
        if let Some(jobs) = self.jobs.take() {
            jobs.start("production", &self.token, &self.tracker).await?;
        }
        Ok(())
    }

    async fn wait_done(&self, n: usize) {
        while self.done.load(Ordering::Relaxed) < n {
            tokio::select! {
                () = self.all_done.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(1)) => {}
            }
        }
    }

    async fn stop(self) {
        self.token.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        if let Storage::Postgres { admin, name } = &self.storage {
            // Best effort: a throwaway cluster goes away with its rows anyway.
            let _ = testing::drop_database(admin, name).await;
        }
    }
}

struct Row {
    what: String,
    rate: Option<f64>,
    samples: Vec<Duration>,
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

impl Row {
    /// Prints the row and records its figures under `key`.
    fn print(
        &mut self,
        out: &mut impl Write,
        figures: &mut serde_json::Map<String, serde_json::Value>,
        key: &str,
    ) -> std::io::Result<()> {
        self.samples.sort();
        let s = &self.samples;
        let ms_f = |d: Duration| d.as_secs_f64() * 1e3;
        figures.insert(
            key.to_owned(),
            serde_json::json!({
                "jobs_per_s": self.rate,
                "p50_ms": (!s.is_empty()).then(|| ms_f(pct(s, 0.5))),
                "p99_ms": (!s.is_empty()).then(|| ms_f(pct(s, 0.99))),
                "max_ms": s.last().map(|d| ms_f(*d)),
            }),
        );
        let rate = self.rate.map_or("".to_owned(), |r| format!("{r:.0}"));
        let (p50, p99, max) = if self.samples.is_empty() {
            (String::new(), String::new(), String::new())
        } else {
            let s = &self.samples;
            (
                ms(pct(s, 0.5)),
                ms(pct(s, 0.99)),
                ms(*s.last().unwrap_or(&Duration::ZERO)),
            )
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            self.what, rate, p50, p99, max
        )?;
        out.flush()
    }
}

/// Enqueue only, one job per call from `submitters` tasks.
async fn enqueue_single(n: usize, submitters: usize) -> Res<Row> {
    let b = setup(WakeMode::Instant, 0, false).await?;
    let start = Instant::now();
    let per = n / submitters;
    let mut tasks = Vec::new();
    for _ in 0..submitters {
        let q = b.queue.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for _ in 0..per {
                let t = Instant::now();
                q.enqueue(&Noop::default()).await?;
                lat.push(t.elapsed());
            }
            Ok::<_, trifecta::queue::Error>(lat)
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await??);
    }
    let rate = (per * submitters) as f64 / start.elapsed().as_secs_f64();
    b.stop().await;
    Ok(Row {
        what: format!("enqueue, 1 job per call, {submitters} submitter(s) (per-call latency)"),
        rate: Some(rate),
        samples,
    })
}

/// Enqueue only, batches of 100.
async fn enqueue_batched(n: usize) -> Res<Row> {
    let b = setup(WakeMode::Instant, 0, false).await?;
    let batch: Vec<Noop> = (0..100).map(|_| Noop::default()).collect();
    let start = Instant::now();
    let mut samples = Vec::new();
    for _ in 0..n / 100 {
        let t = Instant::now();
        b.queue.enqueue_all(&batch).await?;
        samples.push(t.elapsed());
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    b.stop().await;
    Ok(Row {
        what: "enqueue, batches of 100 (per-batch latency)".into(),
        rate: Some(rate),
        samples,
    })
}

/// Pre-filled queue, then workers drain it.
async fn process_only(n: usize, threads: usize) -> Res<Row> {
    let mut b = setup(WakeMode::Instant, threads, false).await?;
    let batch: Vec<Noop> = (0..500).map(|_| Noop::default()).collect();
    for _ in 0..n / 500 {
        b.queue.enqueue_all(&batch).await?;
    }
    let start = Instant::now();
    b.start().await?;
    b.wait_done(n).await;
    let rate = n as f64 / start.elapsed().as_secs_f64();
    b.stop().await;
    Ok(Row {
        what: format!("process pre-filled no-op jobs, {threads} threads"),
        rate: Some(rate),
        samples: vec![],
    })
}

/// Enqueue and process at once, end to end: time from the first enqueue to the last
/// job performed.
async fn end_to_end(n: usize, submitters: usize, batch: usize, threads: usize) -> Res<Row> {
    let b = setup(WakeMode::Instant, threads, true).await?;
    let start = Instant::now();
    let per = n / submitters;
    let mut tasks = Vec::new();
    for _ in 0..submitters {
        let q = b.queue.clone();
        tasks.push(tokio::spawn(async move {
            let jobs: Vec<Noop> = (0..batch).map(|_| Noop::default()).collect();
            for _ in 0..per / batch {
                if batch == 1 {
                    q.enqueue(&jobs[0]).await?;
                } else {
                    q.enqueue_all(&jobs).await?;
                }
            }
            Ok::<_, trifecta::queue::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let total = (per / batch) * batch * submitters;
    b.wait_done(total).await;
    let rate = total as f64 / start.elapsed().as_secs_f64();
    b.stop().await;
    let how = if batch == 1 {
        "1 job per call".to_owned()
    } else {
        format!("batches of {batch}")
    };
    Ok(Row {
        what: format!("end to end, {how}, {submitters} submitter(s), {threads} threads"),
        rate: Some(rate),
        samples: vec![],
    })
}

/// Open-loop: one probe every `gap`, measuring enqueue (before the call) to start.
async fn latency(wake: WakeMode, gap: Duration, samples: usize) -> Res<Row> {
    let mut b = setup(wake, 3, true).await?;
    let mut rx = b.latencies.take().ok_or("no latency channel")?;
    let clock = Clock::system();
    let pad = "x".repeat(100);
    // Warm up the pool and the worker.
    b.queue.enqueue(&Noop::default()).await?;
    b.wait_done(1).await;
    // Open loop: probes go out on a fixed schedule whatever the previous one did, so a
    // slow start cannot make the next probe luckier (no coordinated omission). They are
    // sent from a runtime task, as a request handler of the server enqueues.
    let queue = b.queue.clone();
    tokio::spawn(async move {
        let mut next = tokio::time::Instant::now() + gap;
        for _ in 0..samples {
            tokio::time::sleep_until(next).await;
            next += gap;
            let probe = Probe {
                sent_us: clock.now().micros(),
                pad: pad.clone(),
            };
            queue.enqueue(&probe).await?;
        }
        Ok::<_, trifecta::queue::Error>(())
    })
    .await??;
    let mut got = Vec::with_capacity(samples);
    for _ in 0..samples {
        got.push(rx.recv().await.ok_or("probe lost")?);
    }
    b.stop().await;
    let mode = wake_name(wake);
    Ok(Row {
        what: format!("enqueue→start, {mode} wake, idle gap {gap:?} ({samples} samples)"),
        rate: None,
        samples: got,
    })
}

/// The PostgreSQL target asked for, if any: `QUEUE_BENCH_POSTGRES`, or with `--postgres` a
/// durable cluster made here (returned too, to be kept alive).
fn postgres_target() -> Res<(Option<testing::Cluster>, Option<Target>)> {
    let pool = std::env::var("QUEUE_BENCH_POOL")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(usize::from(trifecta::config::DEFAULT_POOL));
    if let Some(base) = std::env::var("QUEUE_BENCH_POSTGRES")
        .ok()
        .filter(|b| !b.is_empty())
    {
        let base = base.trim_end_matches('/').to_owned();
        return Ok((None, Some(Target::Postgres { base, pool })));
    }
    if !std::env::args().any(|a| a == "--postgres") {
        return Ok((None, None));
    }
    let cluster = testing::Cluster::start_local(true)?;
    let base = cluster.url("").trim_end_matches('/').to_owned();
    Ok((Some(cluster), Some(Target::Postgres { base, pool })))
}

/// The rows of the PostgreSQL goals, on [`TARGET`].
async fn on_postgres(
    scale: usize,
    quick: bool,
    threads: usize,
    pool: usize,
    only: &str,
) -> Res<serde_json::Map<String, serde_json::Value>> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\n| queue benchmark on PostgreSQL (durable, pool of {pool}, release, 2 runtime threads) | jobs/s | p50 | p99 | max |"
    )?;
    writeln!(out, "|---|---|---|---|---|")?;
    let mut figures = serde_json::Map::new();
    let f = &mut figures;
    if only == "end_to_end" {
        end_to_end(50_000 / scale, 10, 1, threads).await?.print(
            &mut out,
            f,
            "end_to_end_1_per_call",
        )?;
        return Ok(figures);
    }
    enqueue_single(20_000 / scale, 10).await?.print(
        &mut out,
        f,
        "enqueue_1_per_call_10_submitters",
    )?;
    enqueue_batched(100_000 / scale)
        .await?
        .print(&mut out, f, "enqueue_batched")?;
    end_to_end(50_000 / scale, 10, 1, threads).await?.print(
        &mut out,
        f,
        "end_to_end_1_per_call",
    )?;
    end_to_end(100_000 / scale, 1, 100, threads)
        .await?
        .print(&mut out, f, "end_to_end_batched")?;
    let mut pooled = Vec::new();
    for (gap, n) in [(50, 200), (500, 60), (2000, 20)] {
        let n = if quick { n / 10 } else { n };
        let mut row = latency(WakeMode::Instant, Duration::from_millis(gap), n).await?;
        row.print(&mut out, f, &format!("start_instant_{gap}ms"))?;
        pooled.extend_from_slice(&row.samples);
    }
    let mut all = Row {
        what: format!(
            "enqueue→start, instant wake, all gaps ({} samples)",
            pooled.len()
        ),
        rate: None,
        samples: pooled,
    };
    all.print(&mut out, f, "start_instant_all")?;
    Ok(figures)
}

fn wake_name(wake: WakeMode) -> &'static str {
    match wake {
        WakeMode::Instant => "instant",
        WakeMode::Poll => "poll",
    }
}

fn main() -> Res {
    support::mark_checkout();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and then a small throughput smoke run is enough to prove it works.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let quick = std::env::var_os("QUEUE_BENCH_QUICK").is_some();
    let scale = if smoke {
        100
    } else if quick {
        10
    } else {
        1
    };
    let threads: usize = std::env::var("QUEUE_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(256);
    let only = if smoke {
        "throughput".to_owned()
    } else {
        std::env::var("QUEUE_BENCH_ONLY").unwrap_or_default()
    };
    // The cluster of `--postgres` lives as long as this thread (and so this process).
    let (_cluster, postgres) = postgres_target()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if let Some(target) = postgres {
        let pool = match &target {
            Target::Postgres { pool, .. } => *pool,
            Target::Sqlite => 0,
        };
        let _ = TARGET.set(target);
        let figures = rt.block_on(on_postgres(scale, quick, threads, pool, &only))?;
        support::write_figures(&serde_json::Value::Object(figures))?;
        return Ok(());
    }
    if only == "interleaved" {
        let rounds = std::env::var("QUEUE_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(60);
        let figures = rt.block_on(interleaved::interleaved(
            rounds,
            50_000 / scale / 10,
            threads,
        ))?;
        support::write_figures(&serde_json::json!({ "interleaved": figures }))?;
        return Ok(());
    }
    let metrics =
        std::env::var_os("QUEUE_BENCH_METRICS").is_some_and(|v| !v.is_empty() && v != "0");
    if metrics {
        let exporter = trifecta::prometheus::Exporter::install()?;
        rt.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                std::hint::black_box(exporter.render());
            }
        });
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\n| queue benchmark (release, 2 runtime threads{}) | jobs/s | p50 | p99 | max |",
        if metrics { ", Prometheus recorder" } else { "" }
    )?;
    writeln!(out, "|---|---|---|---|---|")?;
    let mut figures = serde_json::Map::new();
    let f = &mut figures;
    rt.block_on(async {
        if only == "end_to_end" {
            end_to_end(50_000 / scale, 10, 1, threads).await?.print(
                &mut out,
                f,
                "end_to_end_1_per_call",
            )?;
            return Ok(());
        }
        if only.is_empty() || only == "throughput" {
            enqueue_single(20_000 / scale, 1)
                .await?
                .print(&mut out, f, "enqueue_1_per_call")?;
            enqueue_single(20_000 / scale, 10).await?.print(
                &mut out,
                f,
                "enqueue_1_per_call_10_submitters",
            )?;
            enqueue_batched(100_000 / scale)
                .await?
                .print(&mut out, f, "enqueue_batched")?;
            process_only(100_000 / scale, threads)
                .await?
                .print(&mut out, f, "process")?;
            end_to_end(50_000 / scale, 10, 1, threads).await?.print(
                &mut out,
                f,
                "end_to_end_1_per_call",
            )?;
            end_to_end(20_000 / scale, 1, 1, threads).await?.print(
                &mut out,
                f,
                "end_to_end_1_per_call_1_submitter",
            )?;
            end_to_end(100_000 / scale, 1, 100, threads).await?.print(
                &mut out,
                f,
                "end_to_end_batched",
            )?;
        }
        if only == "throughput" {
            return Ok(());
        }
        for wake in [WakeMode::Instant, WakeMode::Poll] {
            let mut pooled = Vec::new();
            for (gap, n) in [(50, 200), (500, 60), (2000, 20)] {
                let n = if quick { n / 10 } else { n };
                let key = format!("start_{}_{gap}ms", wake_name(wake));
                let mut row = latency(wake, Duration::from_millis(gap), n).await?;
                row.print(&mut out, f, &key)?;
                pooled.extend_from_slice(&row.samples);
            }
            // The goals hold for every gap: one percentile over all the samples, since a
            // 20-sample median of a uniform 0–100 ms wait alone varies by ±11 ms.
            let mut all = Row {
                what: format!(
                    "enqueue→start, {} wake, all gaps ({} samples)",
                    wake_name(wake),
                    pooled.len()
                ),
                rate: None,
                samples: pooled,
            };
            all.print(&mut out, f, &format!("start_{}_all", wake_name(wake)))?;
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })?;
    support::write_figures(&serde_json::Value::Object(figures))?;
    Ok(())
}
