//! Job lifecycle: ready, scheduled, claimed, blocked, failed, finished; bulk enqueue;
//! retention and cleanup.

use std::time::Duration;

use trifecta::queue::builtin::{Fail, Noop};
use trifecta::queue::{Error, JobState, QueueSelector};

use crate::helpers::TestResult;
use crate::queue_support::{Limited, fixture, fixture_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_walks_through_every_state() -> TestResult {
    let f = fixture().await;
    let ready = f.queue.enqueue(&Noop::default()).await?;
    assert_eq!(f.state(ready).await, Some(JobState::Ready));

    let later = f
        .queue
        .enqueue_in(&Noop::default(), Duration::from_secs(60))
        .await?;
    assert_eq!(f.state(later).await, Some(JobState::Scheduled));

    let first = Limited {
        key: "k".into(),
        n: 1,
        discard: false,
    };
    let holder = f.queue.enqueue(&first).await?;
    let blocked = f
        .queue
        .enqueue(&Limited {
            n: 2,
            ..first.clone()
        })
        .await?;
    assert_eq!(f.state(holder).await, Some(JobState::Ready));
    assert_eq!(f.state(blocked).await, Some(JobState::Blocked));

    let claimed = f
        .queue
        .claim(&QueueSelector::new(&["default"]), None, 1)
        .await?;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, ready.0);
    assert_eq!(claimed[0].attempt, 1);
    assert_eq!(f.state(ready).await, Some(JobState::Claimed));

    let failing = f
        .queue
        .enqueue(&Fail {
            message: "boom".into(),
            while_exists: None,
        })
        .await?;
    // Nothing handles `limited` here: its jobs fail as unknown, which still frees the slot.
    let worker = f.worker(3).await;
    f.work_off(&worker).await;
    assert_eq!(f.state(failing).await, Some(JobState::Failed));
    let info = f.info(failing).await.expect("job");
    let error = info.error.expect("error recorded");
    assert_eq!(error.exception_class, "BuiltinFailure");
    assert_eq!(error.message, "boom");
    assert_eq!(f.state(holder).await, Some(JobState::Failed));
    assert_eq!(
        f.state(blocked).await,
        Some(JobState::Failed),
        "released after the holder failed, then ran"
    );

    f.advance(Duration::from_secs(61));
    let report = f.queue.dispatch_due(500).await?;
    assert_eq!(report.dispatched, 1);
    assert_eq!(f.state(later).await, Some(JobState::Ready));
    f.work_off(&worker).await;
    let done = f.info(later).await.expect("job");
    assert_eq!(done.state, JobState::Finished);
    assert_eq!(done.executions, 1);
    assert!(done.finished_at.is_some());

    let stats = f.queue.stats().await?;
    assert_eq!(stats.totals["finished"], 1);
    assert_eq!(stats.totals["failed"], 3);
    assert_eq!(stats.totals["claimed"], 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_all_writes_every_job_in_one_go() -> TestResult {
    let f = fixture().await;
    let jobs: Vec<Noop> = (0..250)
        .map(|i| Noop {
            tag: Some(i.to_string()),
        })
        .collect();
    let ids = f.queue.enqueue_all(&jobs).await?;
    assert_eq!(ids.len(), 250);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(f.queue.stats().await?.totals["ready"], 250);
    let worker = f.worker(5).await;
    assert_eq!(f.work_off(&worker).await, 250);
    let finished = f.queue.jobs(Some(JobState::Finished), None, 1000).await?;
    assert_eq!(finished.len(), 250);
    assert!(finished.iter().all(|j| j.executions == 1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_at_in_the_past_is_ready_at_once() -> TestResult {
    let f = fixture().await;
    let id = f
        .queue
        .enqueue_at(&Noop::default(), f.clock.now() - Duration::from_secs(5))
        .await?;
    assert_eq!(f.state(id).await, Some(JobState::Ready));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_queue_names_are_rejected_and_nothing_is_written() -> TestResult {
    let f = fixture().await;
    let err = f
        .queue
        .enqueue_named("noop", "{}", Some("bad queue!"), None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidQueueName(_)), "{err}");
    let err = f
        .queue
        .enqueue_named("noop", "not json", None, None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Serialize(_)), "{err}");
    assert_eq!(f.queue.jobs(None, None, 10).await?.len(), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_are_deleted_when_not_preserved() -> TestResult {
    let f = fixture_with(|s| s.preserve_finished_jobs = false).await;
    let id = f.queue.enqueue(&Noop::default()).await?;
    let worker = f.worker(1).await;
    f.work_off(&worker).await;
    assert_eq!(f.state(id).await, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_clears_only_jobs_finished_before_the_retention() -> TestResult {
    let f = fixture_with(|s| s.clear_finished_jobs_after = Duration::from_secs(3600)).await;
    let old = f.queue.enqueue(&Noop::default()).await?;
    let worker = f.worker(1).await;
    f.work_off(&worker).await;
    f.advance(Duration::from_secs(1800));
    let recent = f.queue.enqueue(&Noop::default()).await?;
    f.work_off(&worker).await;
    let pending = f.queue.enqueue(&Noop::default()).await?;
    f.advance(Duration::from_secs(1801));
    assert_eq!(f.queue.clear_finished().await?, 1);
    assert_eq!(f.state(old).await, None);
    assert_eq!(f.state(recent).await, Some(JobState::Finished));
    assert_eq!(f.state(pending).await, Some(JobState::Ready));
    Ok(())
}
