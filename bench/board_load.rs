//! The todo board under load, against a `trifecta serve` child on a board that already holds
//! many todos: a burst of changes at a fixed open-loop rate while one client is subscribed,
//! then how long the broadcast backlog takes to drain after the burst stops, and how much
//! the cable file grew.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

use crate::pipeline::{BoxError, Server, now_us, post_todo, sign_up, subscribe};
use crate::support::Samples;

/// One burst's parameters.
pub struct Burst {
    /// Todos on the board before the burst.
    pub seed: usize,
    /// Changes per second.
    pub rate: u32,
    /// How long the burst lasts.
    pub length: Duration,
}

/// Bytes of a SQLite file with its WAL.
fn file_bytes(db: &Path) -> u64 {
    let wal = db.with_extension("sqlite3-wal");
    [db, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Whether every change has been broadcast and no broadcast job is left.
fn drained(app: &Path, queue: &Path) -> Result<bool, BoxError> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let a = rusqlite::Connection::open_with_flags(app, flags)?;
    let (version, sent): (i64, i64) = a.query_row(
        "SELECT version, broadcast_version FROM todo_board WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let q = rusqlite::Connection::open_with_flags(queue, flags)?;
    let waiting: i64 = q.query_row(
        "SELECT (SELECT count(*) FROM solid_queue_ready_executions)
              + (SELECT count(*) FROM solid_queue_blocked_executions)
              + (SELECT count(*) FROM solid_queue_claimed_executions)",
        [],
        |r| r.get(0),
    )?;
    Ok(version == sent && waiting == 0)
}

/// Runs one burst; returns its figures as JSON.
pub async fn burst(bin: &Path, b: &Burst) -> Result<Value, BoxError> {
    let server = Server::start_seeded(bin, "instant", b.seed).await?;
    let addr = server.addr;
    let (client, xsrf, session) = sign_up(addr).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    subscribe(addr, 0, &session, tx).await?;
    let frames = tokio::spawn(async move {
        let mut n = 0u64;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    let cable = server.db("cable");
    let cable_before = file_bytes(&cable);

    let total = (f64::from(b.rate) * b.length.as_secs_f64()) as usize;
    let gap = Duration::from_secs_f64(1.0 / f64::from(b.rate));
    // Open loop, but never more than 256 requests in flight (a client, not a flood).
    let inflight = Arc::new(Semaphore::new(256));
    let start = Instant::now();
    let mut sends = Vec::with_capacity(total);
    for k in 0..total {
        tokio::time::sleep_until((start + gap * k as u32).into()).await;
        let permit = inflight.clone().acquire_owned().await?;
        let (client, xsrf) = (client.clone(), xsrf.clone());
        sends.push(tokio::spawn(async move {
            let sent = now_us();
            let res = post_todo(&client, addr, &xsrf, &format!("bench-{}", k + 1)).await;
            drop(permit);
            let ok = matches!(&res, Ok(r) if r.status().is_redirection());
            (ok, Duration::from_micros((now_us() - sent).max(0) as u64))
        }));
    }
    let mut http = Samples::default();
    let mut failed = 0usize;
    for s in futures_util::stream::iter(sends)
        .buffered(64)
        .collect::<Vec<_>>()
        .await
    {
        let (ok, took) = s?;
        http.push(took);
        failed += usize::from(!ok);
    }
    let sent_for = start.elapsed();
    let stopped = Instant::now();
    let app = server.dir.path().join("bench.sqlite3");
    let queue = server.db("queue");
    let drain = loop {
        let (a, q) = (app.clone(), queue.clone());
        if tokio::task::spawn_blocking(move || drained(&a, &q)).await?? {
            break stopped.elapsed();
        }
        if stopped.elapsed() > Duration::from_secs(120) {
            break Duration::MAX;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let grown = file_bytes(&cable).saturating_sub(cable_before);
    let jobs: i64 = tokio::task::spawn_blocking(move || {
        rusqlite::Connection::open_with_flags(&queue, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?
            .query_row(
                "SELECT count(*) FROM solid_queue_jobs WHERE class_name = 'BroadcastTodos'",
                [],
                |r| r.get(0),
            )
    })
    .await??;
    server.stop().await;
    let received = frames.await.unwrap_or(0);
    Ok(json!({
        "seed": b.seed,
        "rate_per_s": b.rate,
        "changes": total,
        "failed": failed,
        "sent_s": (sent_for.as_secs_f64() * 100.0).round() / 100.0,
        "http": http.summary_ms(),
        "broadcast_jobs": jobs,
        "frames_received": received,
        "drain_after_stop_ms": if drain == Duration::MAX { Value::Null } else {
            json!((drain.as_secs_f64() * 1000.0).round())
        },
        "cable_growth_mb": (grown as f64 / 1_048_576.0 * 100.0).round() / 100.0,
    }))
}
