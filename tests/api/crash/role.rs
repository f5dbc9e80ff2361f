//! The worker process of the crash test: this test binary started again by
//! [`super::cluster`], running the real queue and cable engines on the shared storage.
//!
//! It runs a queue worker (3 threads, queue `crash`) whose one job, `crash_record`, writes
//! a `Start` line to the ledger, works for its `ms`, and writes an `End` line. Beside it,
//! it enqueues `crash_record` jobs (one, or a batch of three) and broadcasts messages on
//! the board's stream, each bracketed by ledger lines, until the stop file appears; then
//! it writes `Quiet` and keeps working jobs until it is killed.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta::cable::{Cable, CableOptions};
use trifecta::config::WakeMode;
use trifecta::queue::{Job, JobOptions, OnDeadProcess, Queue, QueueOptions, QueueSetup};
use trifecta::store::{Clock, PoolOptions};
use trifecta::stores::Stores;

use super::ledger::{Event, Ledger};
use crate::helpers::TestResult;

/// The environment variable that turns this binary into a worker: the storage dir.
pub const STORAGE: &str = "CRASH_ROLE_STORAGE";
/// The ledger's path.
pub const LEDGER: &str = "CRASH_ROLE_LEDGER";
/// The process's name in the ledger.
pub const NAME: &str = "CRASH_ROLE_NAME";
/// The file whose appearance stops enqueues and broadcasts.
pub const STOP_FILE: &str = "crash-stop";
/// The stream every message goes to (the todo board's: `trifecta serve` subscribers can
/// follow it through `TodosChannel`).
pub const STREAM: &str = "todos";
/// The test's environment (file names).
pub const ENV: &str = "test";
/// What every process does with a dead process's jobs: `release` (default) or `fail`.
pub const ON_DEAD_PROCESS: &str = "CRASH_ON_DEAD_PROCESS";

/// The recovery mode of this run, from [`ON_DEAD_PROCESS`] (inherited by the workers).
pub fn on_dead_process() -> OnDeadProcess {
    match std::env::var(ON_DEAD_PROCESS) {
        Ok(mode) => mode
            .parse()
            .unwrap_or_else(|e| panic!("{ON_DEAD_PROCESS}: {e}")),
        Err(_) => OnDeadProcess::Release,
    }
}

/// The job that records its runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// Unique per enqueue: `<process>/<n>`.
    pub tag: String,
    /// How long a run works between its two lines.
    pub ms: u64,
}

impl Job for Record {
    const NAME: &'static str = "crash_record";

    fn queue(&self) -> &str {
        "crash"
    }
}

/// The payload of message `msg`.
pub fn payload(msg: &str) -> serde_json::Value {
    serde_json::json!({ "crash": msg })
}

/// Runs the worker role when this process was started as one; `Ok(false)` otherwise.
pub fn run_if_started() -> TestResult<bool> {
    let Ok(storage) = std::env::var(STORAGE) else {
        return Ok(false);
    };
    let ledger = Arc::new(Ledger::open(&PathBuf::from(std::env::var(LEDGER)?))?);
    let name = std::env::var(NAME)?;
    // The test holds our stdin open; when it ends, however it ends, so does this process.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(worker(PathBuf::from(storage), ledger, name))?;
    Ok(true)
}

async fn worker(dir: PathBuf, ledger: Arc<Ledger>, name: String) -> TestResult {
    let open_dir = dir.clone();
    let stores = tokio::task::spawn_blocking(move || {
        Stores::open_existing(&open_dir, ENV, &PoolOptions::default())
    })
    .await??;
    let options = QueueOptions {
        queues: vec!["crash".to_owned()],
        heartbeat_interval: Duration::from_secs(1),
        on_dead_process: on_dead_process(),
        ..QueueOptions::default()
    };
    let mut setup = QueueSetup::new(stores.queue, Clock::system(), options, WakeMode::Instant);
    let runs = Arc::new(AtomicU64::new(0));
    let (l, n) = (ledger.clone(), name.clone());
    setup.register(JobOptions::default(), move |job: Record, _| {
        let (ledger, proc) = (l.clone(), n.clone());
        let run = runs.fetch_add(1, Ordering::Relaxed);
        async move {
            let tag = job.tag;
            ledger.append(&Event::Start {
                tag: tag.clone(),
                proc: proc.clone(),
                run,
            })?;
            tokio::time::sleep(Duration::from_millis(job.ms)).await;
            ledger.append(&Event::End { tag, proc, run })?;
            Ok(())
        }
    });
    let queue = setup.queue().clone();
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    setup.start(ENV, &token, &tracker).await?;
    let cable = Cable::new(
        stores.cable,
        Clock::system(),
        CableOptions::default(),
        WakeMode::Instant,
    );
    let stop = dir.join(STOP_FILE);
    let producers = (
        enqueue_loop(&queue, &ledger, &name, &stop),
        publish_loop(&cable, &ledger, &name, &stop),
    );
    let (enqueued, published) = tokio::join!(producers.0, producers.1);
    enqueued?;
    published?;
    ledger.append(&Event::Quiet { proc: name.clone() })?;
    // Keeps working jobs until the test kills this process.
    std::future::pending::<()>().await;
    Ok(())
}

/// Pace of each producer: about 25 enqueue calls and 25 broadcasts a second per process.
const PACE: Duration = Duration::from_millis(40);

async fn enqueue_loop(
    queue: &Queue,
    ledger: &Ledger,
    name: &str,
    stop: &std::path::Path,
) -> TestResult {
    let mut tick = tokio::time::interval(PACE);
    let mut seq = 0u64;
    loop {
        tick.tick().await;
        if stop.exists() {
            return Ok(());
        }
        let batch = if seq.is_multiple_of(4) { 3 } else { 1 };
        let jobs: Vec<Record> = (0..batch)
            .map(|_| {
                seq += 1;
                Record {
                    tag: format!("{name}/{seq}"),
                    ms: fastrand::u64(0..20),
                }
            })
            .collect();
        for job in &jobs {
            let by = name.to_owned();
            ledger.append(&Event::Enqueue {
                tag: job.tag.clone(),
                by,
            })?;
        }
        // A failed enqueue stays unacknowledged; the checker allows either outcome for it.
        if let Ok(ids) = queue.enqueue_all(&jobs).await {
            for (job, id) in jobs.iter().zip(ids) {
                ledger.append(&Event::Enqueued {
                    tag: job.tag.clone(),
                    job: id.0,
                })?;
            }
        }
    }
}

async fn publish_loop(
    cable: &Cable,
    ledger: &Ledger,
    name: &str,
    stop: &std::path::Path,
) -> TestResult {
    let mut tick = tokio::time::interval(PACE);
    for seq in 1.. {
        tick.tick().await;
        if stop.exists() {
            break;
        }
        let msg = format!("{name}/m{seq}");
        ledger.append(&Event::Publish {
            msg: msg.clone(),
            by: name.to_owned(),
        })?;
        if let Ok(id) = cable.broadcast(STREAM, &payload(&msg)).await {
            ledger.append(&Event::Published { msg, id })?;
        }
    }
    Ok(())
}
