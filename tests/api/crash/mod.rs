//! The crash checker: jobs and cable messages across `kill -9`, checked against README's
//! promises by a total order of events (see `docs/testing.md`, "Crash checker").
//!
//! Three `trifecta serve` and three worker processes share one storage directory; a random
//! one is killed with `kill -9` again and again and replaced. The workers enqueue jobs that
//! record their runs and broadcast messages, and so do the CLI (`trifecta jobs enqueue`,
//! `trifecta cable broadcast`) and this process; four subscribers follow the stream on the
//! servers and move to a live one when theirs dies. Every process appends what it does to
//! one ledger ([`ledger`]); at the end [`check_queue`] and [`check_cable`] classify every
//! job and every (subscriber, message) pair, print the counts per class, and the test fails
//! on any class the promises forbid.
//!
//! `CRASH_SECONDS` sets how long the chaos lasts (10 s here); `CRASH_CABLE_RESUME=1` also
//! forbids messages missed across a reconnect; `CRASH_ON_DEAD_PROCESS=fail` runs every
//! process with `--on-dead-process fail`.

mod check_cable;
mod check_queue;
mod checks;
mod cluster;
mod ledger;
mod role;
mod subscriber;
mod verdict;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trifecta::cable::{Cable, CableOptions};
use trifecta::config::WakeMode;
use trifecta::queue::{JobState, Queue, QueueOptions, QueueSetup};
use trifecta::store::{Clock, PoolOptions};
use trifecta::stores::{StoreKind, Stores};

use crate::helpers::{Browser, TestResult, run_cli};
use cluster::{Cluster, PER_KIND};
use ledger::{Event, Ledger};
use subscriber::Subscribers;

/// Subscribers, each on one server at a time.
const SUBSCRIBERS: usize = 4;

#[test]
#[ignore = "the worker process of the crash test: only that test runs it, in a child"]
fn worker_role() -> TestResult {
    role::run_if_started().map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_messages_keep_their_promises_across_kill_9() -> TestResult {
    let root = tempfile::tempdir()?;
    let ledger_path = root.path().join("ledger.jsonl");
    let ledger = Arc::new(Ledger::open(&ledger_path)?);
    let mut cluster = Cluster::new(root.path(), &ledger_path, ledger.clone());
    let storage = cluster.storage().to_path_buf();
    let (mut cluster, first) = blocking(move || {
        let first = cluster.start_serve();
        for _ in 1..PER_KIND {
            cluster.start_serve();
        }
        for _ in 0..PER_KIND {
            cluster.start_worker();
        }
        (cluster, first)
    })
    .await;
    let browser = Browser::new(first, "");
    let res = browser
        .sign_up("crash@example.com", "correct horse battery")
        .await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    let cookie = browser.cookie("_trifecta_session").expect("signed in");
    let (queue, cable) = handles(&storage).await?;
    let subscribers = Subscribers::start(SUBSCRIBERS, &cluster.addrs, &cookie, &ledger);

    let length = cluster::chaos_length();
    let until = Instant::now() + length;
    let producers = (
        tokio::spawn(publish_here(cable.clone(), ledger.clone(), until)),
        tokio::task::spawn_blocking(cli_loop(&storage, &ledger, until, Cli::Enqueue)),
        tokio::task::spawn_blocking(cli_loop(&storage, &ledger, until, Cli::Broadcast)),
    );
    let mut cluster = blocking(move || {
        cluster.chaos(until);
        cluster
    })
    .await;
    producers.0.await??;
    producers.1.await?;
    producers.2.await?;

    // The drain: producers stop, every subscriber is connected again, the fence goes out,
    // the queue empties and the dead processes are pruned.
    std::fs::write(storage.join(role::STOP_FILE), b"")?;
    let workers = cluster.workers();
    settle(Duration::from_secs(30), || {
        let ledger_path = ledger_path.clone();
        let workers = workers.clone();
        async move { quiet(&ledger_path, &workers) }
    })
    .await;
    settle(Duration::from_secs(30), || async {
        subscribers.all_connected()
    })
    .await;
    let fence = "test/fence".to_owned();
    publish(&cable, &ledger, &fence, "test").await?;
    settle(Duration::from_secs(30), || async {
        subscribers.all_got(&fence)
    })
    .await;
    settle(Duration::from_secs(60), || async {
        pending(&queue).await == 0
    })
    .await;
    let live = cluster.pids();
    let pruned = settle(Duration::from_secs(15), || {
        let (queue, live) = (queue.clone(), live.clone());
        async move { registered(&queue).await == sorted(live) }
    })
    .await;
    subscribers.stop().await?;
    let kills = cluster.kills;
    blocking(move || cluster.kill_all()).await;

    let events = ledger::read(&ledger_path)?;
    let mode = role::on_dead_process();
    let jobs = check_queue::check(&events, &stored_jobs(&queue).await?, mode);
    let stored = stored_messages(&storage)?;
    let resume = std::env::var("CRASH_CABLE_RESUME").is_ok_and(|v| v == "1");
    let inputs = check_cable::Inputs {
        stored: &stored,
        fence: &fence,
        resume,
    };
    let messages = check_cable::check(&events, &inputs);
    eprintln!(
        "crash checker: {} s of chaos, {kills} kill -9s, --on-dead-process {mode}, {} ledger \
         lines, dead processes pruned: {pruned}\n{jobs}{messages}",
        length.as_secs(),
        events.len()
    );
    let failures: Vec<&str> = jobs
        .failures()
        .into_iter()
        .chain(messages.failures())
        .map(|r| r.class)
        .collect();
    if !failures.is_empty() {
        // The ledger, the storage and the workers' logs, for the post-mortem.
        let kept = root.keep();
        panic!(
            "forbidden outcomes: {failures:?} (ledger and storage kept in {})\n{jobs}{messages}",
            kept.display()
        );
    }
    assert!(pruned, "a killed process is still registered in the queue");
    assert!(kills >= 2, "only {kills} kill -9s: the chaos did not run");
    assert!(
        jobs.count(check_queue::RAN_ONCE) > 100,
        "too few jobs ran:\n{jobs}"
    );
    assert!(
        messages.count(check_cable::DELIVERED) > 100,
        "too few deliveries:\n{messages}"
    );
    Ok(())
}

/// Runs blocking `f` (process management) off the runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

/// Polls `f` until it holds or `deadline` passes; whether it held. The checkers judge
/// what a drain that did not complete left behind.
async fn settle<F, Fut>(deadline: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if f().await {
            return true;
        }
        if start.elapsed() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A queue and a cable of this process on the shared storage.
async fn handles(storage: &Path) -> TestResult<(Queue, Cable)> {
    let dir = storage.to_path_buf();
    let stores = tokio::task::spawn_blocking(move || {
        Stores::open_existing(&dir, role::ENV, &PoolOptions::default())
    })
    .await??;
    let options = QueueOptions::default();
    let queue = QueueSetup::new(stores.queue, Clock::system(), options, WakeMode::Poll).offline();
    let cable = Cable::new(
        stores.cable,
        Clock::system(),
        CableOptions::default(),
        WakeMode::Poll,
    );
    Ok((queue, cable))
}

/// Broadcasts `msg` from this process, bracketed by its ledger lines.
async fn publish(cable: &Cable, ledger: &Ledger, msg: &str, by: &str) -> TestResult {
    ledger.append(&Event::Publish {
        msg: msg.to_owned(),
        by: by.to_owned(),
    })?;
    let id = cable.broadcast(role::STREAM, &role::payload(msg)).await?;
    ledger.append(&Event::Published {
        msg: msg.to_owned(),
        id,
    })?;
    Ok(())
}

/// This process's publisher: a message every 50 ms until `until`.
async fn publish_here(cable: Cable, ledger: Arc<Ledger>, until: Instant) -> TestResult {
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    for n in 1.. {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        publish(&cable, &ledger, &format!("test/m{n}"), "test").await?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Cli {
    Enqueue,
    Broadcast,
}

/// `trifecta jobs enqueue` or `trifecta cable broadcast`, one process after another until
/// `until`, each bracketed by ledger lines (acknowledged when it exits 0).
fn cli_loop(
    storage: &Path,
    ledger: &Arc<Ledger>,
    until: Instant,
    cli: Cli,
) -> impl FnOnce() + Send + 'static {
    let (storage, ledger) = (storage.to_path_buf(), ledger.clone());
    move || {
        for n in 1.. {
            if Instant::now() >= until {
                break;
            }
            let (out, ok) = match cli {
                Cli::Enqueue => {
                    let tag = format!("cli/{n}");
                    let args =
                        serde_json::json!({"tag": tag, "ms": fastrand::u64(0..20)}).to_string();
                    ledger
                        .append(&Event::Enqueue {
                            tag: tag.clone(),
                            by: "cli".to_owned(),
                        })
                        .expect("ledger");
                    let (status, out, _) = run_cli(
                        &storage,
                        &[
                            "jobs",
                            "enqueue",
                            "crash_record",
                            "--queue",
                            "crash",
                            "--args",
                            &args,
                        ],
                    );
                    let id = out
                        .trim()
                        .strip_prefix("enqueued job ")
                        .and_then(|id| id.parse().ok());
                    (id.map(|job| Event::Enqueued { tag, job }), status.success())
                }
                Cli::Broadcast => {
                    let msg = format!("cli/m{n}");
                    ledger
                        .append(&Event::Publish {
                            msg: msg.clone(),
                            by: "cli".to_owned(),
                        })
                        .expect("ledger");
                    let payload = role::payload(&msg).to_string();
                    let (status, out, _) =
                        run_cli(&storage, &["cable", "broadcast", role::STREAM, &payload]);
                    let id = out.split_whitespace().nth(2).and_then(|id| id.parse().ok());
                    (id.map(|id| Event::Published { msg, id }), status.success())
                }
            };
            if let (Some(ack), true) = (out, ok) {
                ledger.append(&ack).expect("ledger");
            }
        }
    }
}

/// Whether every one of `workers` wrote its `Quiet` line.
fn quiet(ledger_path: &Path, workers: &[String]) -> bool {
    let Ok(events) = ledger::read(ledger_path) else {
        return false;
    };
    workers.iter().all(|w| {
        events
            .iter()
            .any(|e| matches!(e, Event::Quiet { proc } if proc == w))
    })
}

/// Jobs not yet finished or failed.
async fn pending(queue: &Queue) -> i64 {
    let stats = queue.stats().await.expect("stats");
    [
        JobState::Ready,
        JobState::Claimed,
        JobState::Scheduled,
        JobState::Blocked,
    ]
    .iter()
    .map(|s| stats.totals[s.as_str()])
    .sum()
}

/// Pids of the registered queue processes, sorted.
async fn registered(queue: &Queue) -> Vec<i64> {
    let rows = queue.processes().await.expect("processes");
    sorted(rows.into_iter().map(|p| p.pid).collect())
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

/// The `crash` queue's jobs by tag, with their state.
async fn stored_jobs(queue: &Queue) -> TestResult<HashMap<String, check_queue::Stored>> {
    let jobs = queue.jobs(None, Some("crash"), 10_000_000).await?;
    let mut by_tag = HashMap::new();
    for job in jobs {
        let args: serde_json::Value = serde_json::from_str(&job.arguments)?;
        let tag = args["tag"].as_str().ok_or("a crash job without a tag")?;
        let error = job.error.map(|e| e.exception_class);
        let stored = check_queue::Stored {
            state: job.state,
            error,
        };
        by_tag.insert(tag.to_owned(), stored);
    }
    Ok(by_tag)
}

/// The stream's stored messages: message → row id, read from the cable file.
fn stored_messages(storage: &Path) -> TestResult<HashMap<String, i64>> {
    let path = storage.join(StoreKind::Cable.file_name(role::ENV));
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt =
        conn.prepare("SELECT id, payload FROM solid_cable_messages WHERE channel = ?1")?;
    let rows = stmt.query_map([role::STREAM.as_bytes()], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut stored = HashMap::new();
    for row in rows {
        let (id, payload) = row?;
        let payload: serde_json::Value = serde_json::from_slice(&payload)?;
        if let Some(msg) = payload["crash"].as_str() {
            stored.insert(msg.to_owned(), id);
        }
    }
    Ok(stored)
}
