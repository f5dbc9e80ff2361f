//! Processes: two real servers sharing one queue file (every job runs exactly once),
//! recovery after `kill -9`, graceful shutdown releasing claims, and pruning of processes
//! whose heartbeat went stale.

use std::time::{Duration, Instant};

use trifecta::queue::builtin::{Noop, Sleep};
use trifecta::queue::{JobState, OnDeadProcess, QueueSelector};

use crate::helpers::{ChildServer, TestApp, TestResult, wait_for};
use crate::queue_support::{count, fixture, fixture_with, queue_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_file_run_every_job_exactly_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let queue = queue_on(dir.path()).await;
    let args = ["--queue-threads", "8", "--queue-polling-interval", "20ms"];
    let a = ChildServer::spawn(dir.path(), &args);
    let b = ChildServer::spawn(dir.path(), &args);
    const N: usize = 3000;
    for chunk in 0..(N / 300) {
        let jobs: Vec<Noop> = (0..300)
            .map(|i| Noop {
                tag: Some(format!("{chunk}-{i}")),
            })
            .collect();
        queue.enqueue_all(&jobs).await?;
    }
    wait_for("every job finished", Duration::from_secs(120), || async {
        (count(&queue, JobState::Finished).await == N as i64).then_some(())
    })
    .await;
    let jobs = queue.jobs(None, None, N + 10).await?;
    assert_eq!(jobs.len(), N);
    let twice: Vec<_> = jobs
        .iter()
        .filter(|j| j.executions != 1)
        .map(|j| (j.id, j.executions))
        .collect();
    assert!(twice.is_empty(), "jobs not run exactly once: {twice:?}");
    assert!(jobs.iter().all(|j| j.state == JobState::Finished));
    assert_eq!(queue.processes().await?.len(), 2);
    drop((a, b));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_a_killed_server_complete_after_restart() -> TestResult {
    let dir = tempfile::tempdir()?;
    let queue = queue_on(dir.path()).await;
    let jobs: Vec<Sleep> = (0..60).map(|_| Sleep { ms: 100 }).collect();
    let ids = queue.enqueue_all(&jobs).await?;
    let mut first = ChildServer::spawn(dir.path(), &["--queue-threads", "5"]);
    wait_for(
        "some done and some running",
        Duration::from_secs(30),
        || async {
            (count(&queue, JobState::Finished).await >= 5
                && count(&queue, JobState::Claimed).await > 0)
                .then_some(())
        },
    )
    .await;
    first.signal("KILL");
    first.wait_exit(Duration::from_secs(10)).expect("killed");
    let stranded: Vec<_> = queue
        .jobs(Some(JobState::Claimed), None, 100)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert!(!stranded.is_empty(), "the kill left claimed jobs behind");

    // The restarted server finds the dead pid at once, without waiting 5 minutes.
    let _second = ChildServer::spawn(dir.path(), &["--queue-threads", "5"]);
    wait_for("every job finished", Duration::from_secs(60), || async {
        (count(&queue, JobState::Finished).await == ids.len() as i64).then_some(())
    })
    .await;
    for id in stranded {
        let info = queue.job(id).await?.expect("job");
        assert_eq!(info.executions, 2, "job {id} ran again after the crash");
    }
    let processes = queue.processes().await?;
    assert_eq!(
        processes.len(),
        1,
        "the dead process was pruned: {processes:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_short_jobs_and_releases_the_rest() -> TestResult {
    let app =
        TestApp::spawn_with(|c| c.serve.queue.shutdown_timeout = Duration::from_millis(500)).await;
    let queue = app.state.queue.clone();
    let short = queue.enqueue(&Sleep { ms: 100 }).await?;
    let long = queue.enqueue(&Sleep { ms: 60_000 }).await?;
    wait_for("both running", Duration::from_secs(10), || async {
        (count(&queue, JobState::Claimed).await == 2).then_some(())
    })
    .await;
    let started = Instant::now();
    app.stop().await?;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        queue.job(short).await?.expect("job").state,
        JobState::Finished
    );
    assert_eq!(
        queue.job(long).await?.expect("job").state,
        JobState::Ready,
        "claim released"
    );
    assert!(queue.processes().await?.is_empty(), "deregistered");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_enqueue_runs_in_the_server() -> TestResult {
    let app = TestApp::spawn().await;
    let queue = app.state.queue.clone();
    let id = queue.enqueue(&Noop::default()).await?;
    wait_for("job finished", Duration::from_secs(10), || async {
        let job = queue.job(id).await.ok()??;
        (job.state == JobState::Finished).then_some(())
    })
    .await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_with_a_stale_heartbeat_is_pruned_and_its_jobs_released() -> TestResult {
    let f = fixture().await;
    let dead = f
        .queue
        .register_process("Worker", serde_json::json!({}))
        .await?;
    let id = f.queue.enqueue(&Noop::default()).await?;
    f.queue
        .claim(&QueueSelector::all(), Some(dead.id), 1)
        .await?;
    f.advance(Duration::from_secs(120));
    let me = f
        .queue
        .register_process("Worker", serde_json::json!({}))
        .await?;
    assert_eq!(
        f.queue.prune(Some(me.id)).await?.processes,
        0,
        "alive within the threshold"
    );
    f.advance(Duration::from_secs(200));
    me.heartbeat().await?;
    let report = f.queue.prune(Some(me.id)).await?;
    assert_eq!((report.processes, report.jobs), (1, 1));
    assert_eq!(f.state(id).await, Some(JobState::Ready));
    assert_eq!(f.queue.processes().await?.len(), 1);
    // The pruned process comes back on its next heartbeat, under the same id.
    dead.heartbeat().await?;
    assert!(f.queue.processes().await?.iter().any(|p| p.id == dead.id));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_process_jobs_can_be_failed_instead() -> TestResult {
    let f = fixture_with(|s| s.on_dead_process = OnDeadProcess::Fail).await;
    let dead = f
        .queue
        .register_process("Worker", serde_json::json!({}))
        .await?;
    let id = f.queue.enqueue(&Noop::default()).await?;
    f.queue
        .claim(&QueueSelector::all(), Some(dead.id), 1)
        .await?;
    f.advance(Duration::from_secs(301));
    f.queue.prune(None).await?;
    let info = f.info(id).await.expect("job");
    assert_eq!(info.state, JobState::Failed);
    assert_eq!(
        info.error.expect("error").exception_class,
        "ProcessPrunedError"
    );
    Ok(())
}
