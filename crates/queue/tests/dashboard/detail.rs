//! A job's detail: every failed attempt with its class, message, backtrace and process, the
//! process that ran the job (from each claim path), the claim and failure times, and
//! attempts that go with the job when it is deleted.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta_queue::{JobState, QueueOptions, QueueSelector, QueueSetup};
use trifecta_store::{Backend, Clock, WakeMode};

use super::{Fixture, Other, Task, task_error};

pub(crate) async fn every_failed_attempt_is_listed(f: Fixture) {
    let id = f
        .queue
        .enqueue(&Task::on("w1").failing(&["Flaky", "Flaky", "Fatal"]))
        .await
        .expect("enqueue");
    f.work().await;
    let d = f
        .queue
        .job_detail(id)
        .await
        .expect("detail")
        .expect("the job");
    assert_eq!(d.info.state, JobState::Failed);
    assert_eq!(d.info.executions, 3);
    let failed_at = d.failed_at.expect("failed at");
    assert!(d.claimed_at.is_none());
    let classes: Vec<&str> = d
        .attempts
        .iter()
        .map(|a| a.error.exception_class.as_str())
        .collect();
    assert_eq!(classes, ["Flaky", "Flaky", "Fatal"]);
    for (i, a) in d.attempts.iter().enumerate() {
        let n = u32::try_from(i + 1).expect("n");
        assert_eq!(a.number, i64::from(n));
        assert_eq!(a.error, task_error(classes[i], n), "attempt {n}");
        assert_eq!(a.process_id, Some(f.process.id));
    }
    assert!(
        d.attempts.windows(2).all(|w| w[0].at < w[1].at),
        "oldest first"
    );
    assert_eq!(
        d.attempts[2].at, failed_at,
        "the last attempt is the failure"
    );
    assert_eq!(d.info.error.as_ref(), Some(&d.attempts[2].error));
    let process = d.process.expect("the process");
    assert_eq!(process.id, f.process.id);
    let row = process.row.expect("still registered");
    assert_eq!(row.name, f.process.name);

    // A manual retry keeps the history and counts from 1 again (the job fails the same
    // three ways); a job that succeeds records nothing.
    f.queue.retry(id).await.expect("retry");
    let id2 = f.queue.enqueue(&Task::on("w1")).await.expect("enqueue");
    f.work().await;
    let d = f
        .queue
        .job_detail(id)
        .await
        .expect("detail")
        .expect("the job");
    assert_eq!(d.info.state, JobState::Failed);
    let numbers: Vec<i64> = d.attempts.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [1, 2, 3, 1, 2, 3]);
    let ok = f
        .queue
        .job_detail(id2)
        .await
        .expect("detail")
        .expect("the job");
    assert_eq!(ok.info.state, JobState::Finished);
    assert!(ok.attempts.is_empty(), "a success records no attempt");
    assert_eq!(ok.process.map(|p| p.id), Some(f.process.id));
    assert!(
        f.queue
            .job_detail(trifecta_queue::JobId(999_999))
            .await
            .expect("detail")
            .is_none()
    );
}

pub(crate) async fn a_claimed_job_names_its_claim_and_process(f: Fixture) {
    let id = f.queue.enqueue(&Task::on("c1")).await.expect("enqueue");
    f.tick(10);
    let claimed = f
        .queue
        .claim(&QueueSelector::new(&["c1"]), Some(f.process.id), 5)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let d = f
        .queue
        .job_detail(id)
        .await
        .expect("detail")
        .expect("the job");
    assert_eq!(d.info.state, JobState::Claimed);
    assert_eq!(d.claimed_at, Some(f.clock.now()));
    assert_eq!(d.process.map(|p| p.id), Some(f.process.id));
    // Once the process is gone the id stays, without a row.
    f.process.deregister().await.expect("deregister");
    let d = f
        .queue
        .job_detail(id)
        .await
        .expect("detail")
        .expect("the job");
    assert_eq!(d.info.state, JobState::Ready, "released");
    let p = d.process.expect("the last process");
    assert_eq!(p.id, f.process.id);
    assert!(p.row.is_none());
}

pub(crate) async fn deleting_a_job_deletes_its_attempts(f: Fixture) {
    let id = f
        .queue
        .enqueue(&Other {
            queue: "w1".to_owned(),
            fail: true,
        })
        .await
        .expect("enqueue");
    f.work().await;
    assert_eq!(attempts(&f, id.0).await, 1);
    f.queue.discard(id).await.expect("discard");
    assert_eq!(
        attempts(&f, id.0).await,
        0,
        "the attempts went with the job"
    );
}

/// Attempt rows of job `id`, read from the table itself.
async fn attempts(f: &Fixture, id: i64) -> i64 {
    const SQL: &str = "SELECT count(*) FROM trifecta_job_attempts WHERE job_id = ";
    match &f.backend {
        Backend::Sqlite(db) => db
            .call(move |c| {
                c.query_row(&format!("{SQL}{id}"), [], |r| r.get(0))
                    .map_err(trifecta_store::Error::from)
            })
            .await
            .expect("count"),
        Backend::Postgres(pg) => {
            let conn = pg.get().await.expect("connection");
            conn.query_one(&format!("{SQL}{id}"), &[])
                .await
                .expect("count")
                .get(0)
        }
    }
}

/// Through a started queue, where a local enqueue may claim in its own statement
/// (PostgreSQL) or its transaction (SQLite): the job names the worker's process.
pub(crate) async fn every_claim_path_records_the_process(f: Fixture) {
    let options = QueueOptions {
        preserve_finished_jobs: true,
        polling_interval: Duration::from_millis(20),
        ..QueueOptions::default()
    };
    let mut setup = QueueSetup::new(
        f.backend.clone(),
        Clock::system(),
        options,
        WakeMode::Instant,
    );
    setup.register(trifecta_queue::JobOptions::default(), |_: Other, _| async {
        Ok(())
    });
    let queue = setup.queue().clone();
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    setup.start("test", &token, &tracker).await.expect("start");
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            queue
                .enqueue(&Other {
                    queue: "default".to_owned(),
                    fail: false,
                })
                .await
                .expect("enqueue"),
        );
    }
    let batch: Vec<Other> = (0..5)
        .map(|_| Other {
            queue: "default".to_owned(),
            fail: false,
        })
        .collect();
    ids.extend(queue.enqueue_all(&batch).await.expect("enqueue"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for id in ids {
        loop {
            let d = queue
                .job_detail(id)
                .await
                .expect("detail")
                .expect("the job");
            if d.info.state == JobState::Finished {
                let p = d.process.expect("a process");
                assert_ne!(p.id, f.process.id, "the started queue's own worker");
                assert!(p.row.is_some());
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {id} never finished"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    token.cancel();
    tracker.close();
    tracker.wait().await;
}

both!(
    every_failed_attempt_is_listed,
    a_claimed_job_names_its_claim_and_process,
    deleting_a_job_deletes_its_attempts,
    every_claim_path_records_the_process,
);
