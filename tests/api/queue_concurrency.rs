//! Concurrency controls: block releases the next job when a slot frees; discard drops the
//! job; maintenance releases jobs whose wait expired.

use std::time::Duration;

use trifecta::queue::{Error, JobOptions, JobState, QueueSelector};

use crate::helpers::TestResult;
use crate::queue_support::{Coalescing, Limited, fixture};

fn job(key: &str, n: u32, discard: bool) -> Limited {
    Limited {
        key: key.into(),
        n,
        discard,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_jobs_run_one_at_a_time_in_order() -> TestResult {
    let f = fixture().await;
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = order.clone();
    f.register(JobOptions::default(), move |j: Limited, _| {
        let sink = sink.clone();
        async move {
            sink.lock().expect("lock").push(j.n);
            Ok(())
        }
    });
    let a = f.queue.enqueue(&job("acct", 1, false)).await?;
    let b = f.queue.enqueue(&job("acct", 2, false)).await?;
    let c = f.queue.enqueue(&job("acct", 3, false)).await?;
    let other = f.queue.enqueue(&job("other", 9, false)).await?;
    assert_eq!(f.state(a).await, Some(JobState::Ready));
    assert_eq!(f.state(b).await, Some(JobState::Blocked));
    assert_eq!(f.state(c).await, Some(JobState::Blocked));
    assert_eq!(
        f.state(other).await,
        Some(JobState::Ready),
        "keys are independent"
    );

    // With many threads still only one `acct` job is ever claimable at a time.
    let claimed = f.queue.claim(&QueueSelector::all(), None, 10).await?;
    assert_eq!(claimed.len(), 2);
    let worker = f.worker(10).await;
    // Finish by hand through the worker path: release the claims, then work everything off.
    drop(claimed);
    f.queue.prune(None).await?; // claims without a process are orphans: back to ready
    f.work_off(&worker).await;
    for id in [a, b, c, other] {
        assert_eq!(f.state(id).await, Some(JobState::Finished));
    }
    // `acct` jobs ran one after another, in order; `other` (9) ran alongside the first
    // of them, in either order (both were claimed together onto separate slots).
    let ran = order.lock().expect("lock").clone();
    assert_eq!(
        ran.iter().filter(|n| **n != 9).copied().collect::<Vec<_>>(),
        vec![1, 2, 3],
        "{ran:?}"
    );
    let nine = ran.iter().position(|n| *n == 9);
    assert!(matches!(nine, Some(0 | 1)), "{ran:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_on_conflict_drops_the_job() -> TestResult {
    let f = fixture().await;
    let first = f.queue.enqueue(&job("k", 1, true)).await?;
    let err = f.queue.enqueue(&job("k", 2, true)).await.unwrap_err();
    assert!(
        matches!(&err, Error::ConcurrencyDiscarded { key } if key == "limited/k"),
        "{err}"
    );
    assert_eq!(f.queue.jobs(None, None, 10).await?.len(), 1);
    let ids = f
        .queue
        .enqueue_all(&[job("k", 3, true), job("j", 4, true)])
        .await?;
    assert_eq!(ids.len(), 1, "the conflicting one is left out");
    assert_eq!(f.state(first).await, Some(JobState::Ready));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_releases_blocked_jobs_whose_slot_expired() -> TestResult {
    let f = fixture().await;
    let a = f.queue.enqueue(&job("k", 1, false)).await?;
    let b = f.queue.enqueue(&job("k", 2, false)).await?;
    // `a` is claimed and never finishes (its worker hung).
    f.queue.claim(&QueueSelector::all(), None, 1).await?;
    assert_eq!(
        f.queue.maintain_concurrency().await?,
        0,
        "nothing expired yet"
    );
    assert_eq!(f.state(b).await, Some(JobState::Blocked));
    f.advance(Duration::from_secs(61));
    assert_eq!(f.queue.maintain_concurrency().await?, 1);
    assert_eq!(f.state(b).await, Some(JobState::Ready));
    assert_eq!(f.state(a).await, Some(JobState::Claimed));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_limited_jobs_take_their_slot_when_due() -> TestResult {
    let f = fixture().await;
    let a = f
        .queue
        .enqueue_in(&job("k", 1, false), Duration::from_secs(5))
        .await?;
    let b = f.queue.enqueue(&job("k", 2, false)).await?;
    assert_eq!(f.state(a).await, Some(JobState::Scheduled));
    assert_eq!(f.state(b).await, Some(JobState::Ready));
    f.advance(Duration::from_secs(5));
    f.queue.dispatch_due(500).await?;
    assert_eq!(
        f.state(a).await,
        Some(JobState::Blocked),
        "b holds the only slot"
    );
    Ok(())
}

/// A finish that unblocks the next job lets the worker claim it at once, without waiting
/// for the next poll, even in pure polling mode (as the gem's worker, woken by its own
/// thread after the finish): with a one-minute poll, three limited jobs still all run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unblocked_job_is_claimed_without_waiting_for_the_poll() -> TestResult {
    let f = crate::queue_support::fixture_in(trifecta::config::WakeMode::Poll, |a| {
        a.polling_interval = Duration::from_secs(60);
    })
    .await;
    f.register(JobOptions::default(), |_: Limited, _| async { Ok(()) });
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(f.queue.enqueue(&job("acct", n, false)).await?);
    }
    assert_eq!(f.state(ids[1]).await, Some(JobState::Blocked));
    let worker = f.worker(3).await;
    let token = tokio_util::sync::CancellationToken::new();
    let run = tokio::spawn(worker.run(token.clone()));
    let done = crate::helpers::wait_for("all three finished", Duration::from_secs(10), || async {
        for id in &ids {
            if f.state(*id).await != Some(JobState::Finished) {
                return None;
            }
        }
        Some(())
    });
    done.await;
    token.cancel();
    run.await?;
    Ok(())
}

fn coalescing(key: &str, n: u32) -> Coalescing {
    Coalescing { key: key.into(), n }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalescing_jobs_keep_at_most_one_waiting_per_key() -> TestResult {
    let f = fixture().await;
    // Ready and waiting: a second enqueue adds nothing and answers the waiting job's id.
    let first = f.queue.enqueue(&coalescing("board", 1)).await?;
    assert_eq!(f.queue.enqueue(&coalescing("board", 2)).await?, first);
    let other = f.queue.enqueue(&coalescing("other", 3)).await?;
    assert_ne!(other, first, "keys are independent");
    assert_eq!(f.state(first).await, Some(JobState::Ready));

    // Running: it may have read the state before the next change, so that change gets a
    // job of its own, which waits (blocked by the limit of one) and then coalesces the rest.
    let claimed = f.queue.claim(&QueueSelector::all(), None, 10).await?;
    assert_eq!(claimed.len(), 2);
    assert_eq!(f.state(first).await, Some(JobState::Claimed));
    let second = f.queue.enqueue(&coalescing("board", 4)).await?;
    assert_ne!(second, first);
    assert_eq!(f.state(second).await, Some(JobState::Blocked));
    for n in 5..10 {
        assert_eq!(f.queue.enqueue(&coalescing("board", n)).await?, second);
    }
    // A job scheduled for later does not stand in for one that must run now, nor the reverse.
    let later = f
        .queue
        .enqueue_in(&coalescing("board", 10), Duration::from_secs(600))
        .await?;
    assert_ne!(later, second);
    assert_eq!(f.state(later).await, Some(JobState::Scheduled));
    let jobs = f.queue.jobs(None, None, 100).await?;
    assert_eq!(jobs.len(), 4, "{jobs:?}");
    Ok(())
}
