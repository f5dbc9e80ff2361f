//! Failures: retry_on with exponential backoff, discard_on, failed executions with their
//! error, retry and discard of failed jobs (a manual retry restores the retry budget),
//! unknown jobs, bad arguments, panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trifecta::queue::builtin::{Fail, Noop};
use trifecta::queue::{
    BAD_ARGUMENTS, Error, Job, JobError, JobId, JobOptions, JobState, Retry, UNKNOWN_JOB,
};

use crate::helpers::TestResult;
use crate::queue_support::fixture;

#[derive(Serialize, Deserialize)]
struct Flaky {
    class: String,
}

impl Job for Flaky {
    const NAME: &'static str = "flaky";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_on_backs_off_exponentially_then_records_the_failure() -> TestResult {
    let f = fixture().await;
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    f.register(
        JobOptions::default().retry(Retry::new(3, Duration::from_secs(10)).on(&["Timeout"])),
        move |job: Flaky, ctx| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Err(JobError::new(job.class, format!("attempt {}", ctx.attempt))) }
        },
    );
    let id = f
        .queue
        .enqueue(&Flaky {
            class: "Timeout".into(),
        })
        .await?;
    let worker = f.worker(1).await;
    f.work_off(&worker).await;
    let info = f.info(id).await.expect("job");
    assert_eq!(info.state, JobState::Scheduled);
    assert_eq!(
        info.scheduled_at,
        Some(f.clock.now() + Duration::from_secs(10))
    );

    f.advance(Duration::from_secs(9));
    assert_eq!(
        f.queue.dispatch_due(500).await?.dispatched,
        0,
        "not due before the backoff"
    );
    f.advance(Duration::from_secs(1));
    assert_eq!(f.queue.dispatch_due(500).await?.dispatched, 1);
    f.work_off(&worker).await;
    let info = f.info(id).await.expect("job");
    assert_eq!(info.state, JobState::Scheduled);
    assert_eq!(
        info.scheduled_at,
        Some(f.clock.now() + Duration::from_secs(20)),
        "doubled"
    );

    f.advance(Duration::from_secs(20));
    f.queue.dispatch_due(500).await?;
    f.work_off(&worker).await;
    let info = f.info(id).await.expect("job");
    assert_eq!(info.state, JobState::Failed, "third attempt was the last");
    assert_eq!(info.executions, 3);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    let error = info.error.expect("error");
    assert_eq!(error.exception_class, "Timeout");
    assert_eq!(error.message, "attempt 3");

    // A class not listed in retry_on fails at once.
    let other = f
        .queue
        .enqueue(&Flaky {
            class: "Other".into(),
        })
        .await?;
    f.work_off(&worker).await;
    assert_eq!(f.state(other).await, Some(JobState::Failed));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_on_finishes_the_job_without_a_failure() -> TestResult {
    let f = fixture().await;
    f.register(
        JobOptions::default().discard_on(&["Gone"]),
        |job: Flaky, _| async move { Err(JobError::new(job.class, "nothing to do")) },
    );
    let gone = f
        .queue
        .enqueue(&Flaky {
            class: "Gone".into(),
        })
        .await?;
    let broken = f
        .queue
        .enqueue(&Flaky {
            class: "Broken".into(),
        })
        .await?;
    let worker = f.worker(2).await;
    f.work_off(&worker).await;
    assert_eq!(f.state(gone).await, Some(JobState::Finished));
    assert_eq!(f.state(broken).await, Some(JobState::Failed));
    assert_eq!(f.queue.stats().await?.totals["failed"], 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_jobs_and_bad_arguments_fail_clearly_and_the_worker_goes_on() -> TestResult {
    let f = fixture().await;
    let unknown = f
        .queue
        .enqueue_named("no_such_job", r#"{"a":1}"#, None, None, None)
        .await?;
    // `sleep` needs `ms`; enqueue it through a different type with the same name.
    #[derive(Serialize, Deserialize)]
    struct BadSleep {
        seconds: String,
    }
    impl Job for BadSleep {
        const NAME: &'static str = "sleep";
    }
    let bad = f
        .queue
        .enqueue(&BadSleep {
            seconds: "x".into(),
        })
        .await?;
    let fine = f.queue.enqueue(&Noop::default()).await?;
    let worker = f.worker(1).await;
    f.work_off(&worker).await;

    let u = f.info(unknown).await.expect("job").error.expect("error");
    assert_eq!(u.exception_class, UNKNOWN_JOB);
    assert!(u.message.contains("no_such_job"), "{}", u.message);
    let b = f.info(bad).await.expect("job").error.expect("error");
    assert_eq!(b.exception_class, BAD_ARGUMENTS);
    assert!(
        b.message.contains("sleep") && b.message.contains("ms"),
        "{}",
        b.message
    );
    assert_eq!(f.state(fine).await, Some(JobState::Finished));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_is_recorded_as_failed() -> TestResult {
    let f = fixture().await;
    #[allow(clippy::panic)]
    f.register(JobOptions::default(), |_: Flaky, _| async move {
        panic!("handler exploded");
    });
    let id = f.queue.enqueue(&Flaky { class: "x".into() }).await?;
    let worker = f.worker(1).await;
    f.work_off(&worker).await;
    let e = f.info(id).await.expect("job").error.expect("error");
    assert_eq!(e.exception_class, "Panic");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_can_be_retried_or_discarded_one_or_all() -> TestResult {
    let f = fixture().await;
    let ids: Vec<JobId> = {
        let mut v = Vec::new();
        for i in 0..4 {
            v.push(
                f.queue
                    .enqueue(&Fail {
                        message: format!("m{i}"),
                        while_exists: None,
                    })
                    .await?,
            );
        }
        v
    };
    let worker = f.worker(4).await;
    f.work_off(&worker).await;
    assert_eq!(f.queue.stats().await?.totals["failed"], 4);

    f.queue.retry(ids[0]).await?;
    assert_eq!(f.state(ids[0]).await, Some(JobState::Ready));
    f.queue.discard(ids[1]).await?;
    assert_eq!(f.state(ids[1]).await, None);

    let err = f.queue.retry(ids[0]).await.unwrap_err();
    assert!(matches!(err, Error::WrongState { .. }), "{err}");
    let err = f.queue.retry(JobId(9999)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");

    assert_eq!(f.queue.retry_all().await?, vec![ids[2], ids[3]]);
    f.work_off(&worker).await;
    assert_eq!(f.queue.stats().await?.totals["failed"], 3);
    let info = f.info(ids[0]).await.expect("job");
    assert_eq!(
        info.executions, 1,
        "ran once more after the retry, which reset the counter"
    );
    assert_eq!(f.queue.discard_all_failed().await?.len(), 3);
    assert_eq!(f.queue.stats().await?.totals["failed"], 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_jobs_cannot_be_discarded() -> TestResult {
    let f = fixture().await;
    let id = f.queue.enqueue(&Noop::default()).await?;
    f.queue
        .claim(&trifecta::queue::QueueSelector::all(), None, 1)
        .await?;
    let err = f.queue.discard(id).await.unwrap_err();
    assert!(err.to_string().contains("claimed"), "{err}");
    Ok(())
}

/// Runs a job that always fails with `retry_on` 2 attempts until it is failed, stepping the
/// manual clock over the backoff; returns the failed job's `executions`.
async fn exhaust_two_attempts(
    f: &crate::queue_support::Fixture,
    worker: &trifecta::queue::Worker,
    id: JobId,
) -> i64 {
    f.work_off(worker).await;
    let info = f.info(id).await.expect("job");
    assert_eq!(info.state, JobState::Scheduled, "first attempt is retried");
    assert_eq!(info.executions, 1);
    f.advance(Duration::from_secs(5));
    assert_eq!(f.queue.dispatch_due(500).await.expect("dispatch").ready, 1);
    f.work_off(worker).await;
    let info = f.info(id).await.expect("job");
    assert_eq!(info.state, JobState::Failed, "second attempt was the last");
    assert_eq!(
        info.error.expect("error").message,
        "attempt 2",
        "the handler saw a fresh attempt count"
    );
    info.executions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_retry_resets_executions_and_restores_the_retry_budget() -> TestResult {
    let f = fixture().await;
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    f.register(
        JobOptions::default().retry(Retry::new(2, Duration::from_secs(5))),
        move |job: Flaky, ctx| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Err(JobError::new(job.class, format!("attempt {}", ctx.attempt))) }
        },
    );
    let id = f
        .queue
        .enqueue(&Flaky {
            class: "Down".into(),
        })
        .await?;
    let worker = f.worker(1).await;
    assert_eq!(exhaust_two_attempts(&f, &worker, id).await, 2);
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // One job: the failed row goes, the counter is back to 0, and both attempts run again.
    f.queue.retry(id).await?;
    let info = f.info(id).await.expect("job");
    assert_eq!(info.state, JobState::Ready);
    assert_eq!(info.executions, 0, "retry resets the execution counter");
    assert_eq!(exhaust_two_attempts(&f, &worker, id).await, 2);
    assert_eq!(runs.load(Ordering::SeqCst), 4, "two more runs, not one");

    // Every failed job: the same reset.
    assert_eq!(f.queue.retry_all().await?, vec![id]);
    assert_eq!(f.info(id).await.expect("job").executions, 0);
    assert_eq!(exhaust_two_attempts(&f, &worker, id).await, 2);
    assert_eq!(runs.load(Ordering::SeqCst), 6);
    Ok(())
}
