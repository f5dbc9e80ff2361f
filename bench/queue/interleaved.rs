//! `QUEUE_BENCH_ONLY=interleaved`: what the Prometheus recorder costs the queue, measured
//! inside one process so that the machine's drift cancels out.
//!
//! Two queues run side by side on their own storage, one whose metric handles record into
//! the installed Prometheus recorder (rendered every second, as a scraped server's are) and
//! one whose handles were made under the facade's no-op recorder, as in a server without
//! `--metrics-bind`. Short blocks of the end-to-end run alternate between them, which goes
//! first alternating too, so each pair of blocks sees the same load from the rest of the
//! machine. Separate processes drift by ±7 % between runs on a shared VM; blocks a third of
//! a second apart share their drift.
//!
//! Which queue is built first is a bias of its own (the first one ran about 1 % faster in
//! an A/A run), so `QUEUE_BENCH_FIRST=with` builds the recorded one first and the report
//! runs both orders. `QUEUE_BENCH_AA=1` gives both queues no-op handles: the bench's own
//! bias, with the recorder's cost taken out.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trifecta::config::WakeMode;
use trifecta::queue::builtin::Noop;

use super::{Bench, Res, build};

/// Submitters of every block, as in the end-to-end row of the queue bench.
const SUBMITTERS: usize = 10;

/// Runs `rounds` pairs of blocks of `n` jobs each; returns `{"without": [jobs/s…],
/// "with": [jobs/s…]}`, one entry per round on each side.
pub async fn interleaved(rounds: usize, n: usize, threads: usize) -> Res<Value> {
    let exporter = trifecta::prometheus::Exporter::install()?;
    let aa = std::env::var_os("QUEUE_BENCH_AA").is_some();
    let quiet = || {
        tokio::task::block_in_place(|| {
            metrics::with_local_recorder(&metrics::NoopRecorder, || {
                build(WakeMode::Instant, threads)
            })
        })
    };
    let recorded = || {
        if aa {
            quiet()
        } else {
            tokio::task::block_in_place(|| build(WakeMode::Instant, threads))
        }
    };
    let (mut without, mut with) = if std::env::var("QUEUE_BENCH_FIRST").as_deref() == Ok("with") {
        let with = recorded()?;
        (quiet()?, with)
    } else {
        let without = quiet()?;
        (without, recorded()?)
    };
    without.start().await?;
    with.start().await?;
    let render = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            std::hint::black_box(exporter.render());
        }
    });
    // One block each first: the pools, statement caches and job slots warm up.
    block(&without, n).await?;
    block(&with, n).await?;
    let (mut off, mut on) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        if round % 2 == 0 {
            off.push(block(&without, n).await?);
            on.push(block(&with, n).await?);
        } else {
            on.push(block(&with, n).await?);
            off.push(block(&without, n).await?);
        }
    }
    render.abort();
    without.stop().await;
    with.stop().await;
    Ok(json!({"without": off, "with": on}))
}

/// Enqueues `n` no-op jobs one per call from [`SUBMITTERS`] tasks and waits until the
/// workers have run them all; returns jobs/s from the first enqueue to the last job run.
async fn block(b: &Bench, n: usize) -> Res<f64> {
    let before = b.done.load(Ordering::Relaxed);
    let per = n / SUBMITTERS;
    let start = Instant::now();
    let tasks: Vec<_> = (0..SUBMITTERS)
        .map(|_| {
            let q = b.queue.clone();
            tokio::spawn(async move {
                let job = Noop::default();
                for _ in 0..per {
                    q.enqueue(&job).await?;
                }
                Ok::<_, trifecta::queue::Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    b.wait_done(before + per * SUBMITTERS).await;
    Ok((per * SUBMITTERS) as f64 / start.elapsed().as_secs_f64())
}
