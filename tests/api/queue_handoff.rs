//! The enqueue hand-off: with instant wake, an enqueue claims for an idle local worker in
//! its own transaction, so the job is claimed the moment `enqueue` returns; a full worker,
//! or `--wake poll`, leaves it ready for the worker's own claim.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use trifecta::config::WakeMode;
use trifecta::queue::{JobOptions, JobState, QueueSelector, Worker};

use crate::helpers::{TestResult, wait_for};
use crate::queue_support::{Fixture, Tagged, fixture_in};

/// A fixture whose running worker polls once at start and then never on its own (one-hour
/// interval), with `threads` slots running `tagged` jobs that each wait for a permit of the
/// returned gate.
async fn gated(wake: WakeMode, threads: usize) -> (Fixture, Arc<Semaphore>, CancellationToken) {
    gated_on(wake, QueueSelector::all(), threads).await
}

/// A queue whose worker would never poll on its own (one-hour interval), running `Tagged`
/// jobs that each wait for a permit of the returned gate; no worker is started.
async fn gated_queue(wake: WakeMode) -> (Fixture, Arc<Semaphore>) {
    let f = fixture_in(wake, |s| s.polling_interval = Duration::from_secs(3600)).await;
    let gate = Arc::new(Semaphore::new(0));
    let g = gate.clone();
    f.register(JobOptions::default(), move |_: Tagged, _| {
        let g = g.clone();
        async move {
            g.acquire().await.expect("gate").forget();
            Ok(())
        }
    });
    (f, gate)
}

/// As [`gated`], for a worker on `selector`.
async fn gated_on(
    wake: WakeMode,
    selector: QueueSelector,
    threads: usize,
) -> (Fixture, Arc<Semaphore>, CancellationToken) {
    let (f, gate) = gated_queue(wake).await;
    let worker = Worker::new(f.ready(), selector, threads, None)
        .await
        .expect("worker");
    let token = CancellationToken::new();
    tokio::spawn(worker.run(token.clone()));
    (f, gate, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueue_claims_for_an_idle_local_worker_in_its_transaction() -> TestResult {
    let (f, gate, token) = gated(WakeMode::Instant, 2).await;
    // The worker links itself to the queue when it starts running: wait for that by
    // letting a first job through.
    let first = f.queue.enqueue(&Tagged::new("first", "default", 0)).await?;
    gate.add_permits(1);
    wait_for("the first job", Duration::from_secs(10), || async {
        (f.state(first).await == Some(JobState::Finished)).then_some(())
    })
    .await;

    let id = f.queue.enqueue(&Tagged::new("x", "default", 0)).await?;
    // No waiting: the claim committed with the enqueue.
    assert_eq!(f.state(id).await, Some(JobState::Claimed));
    gate.add_permits(1);
    wait_for("the job to finish", Duration::from_secs(10), || async {
        (f.state(id).await == Some(JobState::Finished)).then_some(())
    })
    .await;
    token.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_worker_leaves_the_job_ready_and_takes_it_when_a_slot_frees() -> TestResult {
    let (f, gate, token) = gated(WakeMode::Instant, 1).await;
    let busy = f.queue.enqueue(&Tagged::new("busy", "default", 0)).await?;
    wait_for(
        "the first job to be claimed",
        Duration::from_secs(10),
        || async { (f.state(busy).await == Some(JobState::Claimed)).then_some(()) },
    )
    .await;
    let next = f.queue.enqueue(&Tagged::new("next", "default", 0)).await?;
    assert_eq!(
        f.state(next).await,
        Some(JobState::Ready),
        "no slot was free"
    );
    gate.add_permits(2);
    wait_for("both jobs to finish", Duration::from_secs(10), || async {
        (f.state(busy).await == Some(JobState::Finished)
            && f.state(next).await == Some(JobState::Finished))
        .then_some(())
    })
    .await;
    token.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_wake_poll_an_enqueue_only_makes_the_job_ready() -> TestResult {
    let (f, gate) = gated_queue(WakeMode::Poll).await;
    // A worker exists (not running: it polls only when driven by hand below).
    let worker = f.worker(1).await;
    let id = f.queue.enqueue(&Tagged::new("x", "default", 0)).await?;
    assert_eq!(f.state(id).await, Some(JobState::Ready));
    // The worker's own poll is what claims it.
    assert_eq!(worker.run_once().await?, 1);
    assert_eq!(f.state(id).await, Some(JobState::Claimed));
    gate.add_permits(1);
    worker.drain().await;
    assert_eq!(f.state(id).await, Some(JobState::Finished));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_at_enqueue_keeps_strict_order_and_pauses() -> TestResult {
    let (f, gate, token) = gated_on(WakeMode::Instant, QueueSelector::new(&["a", "b"]), 3).await;
    let first = f.queue.enqueue(&Tagged::new("first", "b", 0)).await?;
    gate.add_permits(1);
    wait_for("the first job", Duration::from_secs(10), || async {
        (f.state(first).await == Some(JobState::Finished)).then_some(())
    })
    .await;

    assert!(f.queue.pause("a").await?);
    let held = f.queue.enqueue(&Tagged::new("held", "a", 0)).await?;
    assert_eq!(
        f.state(held).await,
        Some(JobState::Ready),
        "its queue is paused"
    );
    let next = f.queue.enqueue(&Tagged::new("next", "b", 0)).await?;
    assert_eq!(f.state(next).await, Some(JobState::Claimed));
    assert_eq!(f.state(held).await, Some(JobState::Ready));
    // Not a queue of this worker: stays ready, whatever the free slots.
    let foreign = f.queue.enqueue(&Tagged::new("foreign", "c", 0)).await?;
    assert_eq!(f.state(foreign).await, Some(JobState::Ready));

    assert!(f.queue.resume("a").await?);
    wait_for(
        "the resumed job to be claimed",
        Duration::from_secs(10),
        || async { (f.state(held).await == Some(JobState::Claimed)).then_some(()) },
    )
    .await;
    gate.add_permits(2);
    wait_for("both to finish", Duration::from_secs(10), || async {
        (f.state(held).await == Some(JobState::Finished)
            && f.state(next).await == Some(JobState::Finished))
        .then_some(())
    })
    .await;
    assert_eq!(f.state(foreign).await, Some(JobState::Ready));
    token.cancel();
    Ok(())
}
