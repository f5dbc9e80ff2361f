//! Bulk actions: retry and discard by filter touch only the matching jobs (across several
//! batches), a discarded ready job gives its concurrency slot back, run now for scheduled
//! and blocked jobs, the states each action refuses, and the activity signal.

use trifecta_queue::{BenchSeed, Error, JobFilter, JobId, JobState};
use trifecta_store::Timestamp;

use super::{Fixture, Other, START, Task};

/// Ids of the jobs in `state` matching `filter`, through the search.
async fn ids(f: &Fixture, state: JobState, filter: &JobFilter) -> Vec<JobId> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .queue
            .search(state, filter, after.as_ref(), 1000)
            .await
            .expect("search");
        out.extend(page.jobs.iter().map(|j| j.info.id));
        match page.next {
            Some(c) => after = Some(c),
            None => {
                out.sort();
                return out;
            }
        }
    }
}

pub(crate) async fn retry_and_discard_take_only_the_matching_jobs(f: Fixture) {
    // 1,300 failed jobs (three batches and more) of seven classes on four queues.
    f.queue
        .seed_for_bench(BenchSeed {
            finished: 200,
            failed: 1_300,
            ready: 40,
            start: START,
        })
        .await
        .expect("seed");
    let all = JobFilter::default();
    let failed = ids(&f, JobState::Failed, &all).await;
    assert_eq!(failed.len(), 1_300);
    let mailers = JobFilter {
        queue: Some("mailers".to_owned()),
        ..JobFilter::default()
    };
    let want = ids(&f, JobState::Failed, &mailers).await;
    assert!(
        want.len() > 300 && want.len() < 400,
        "{} on mailers",
        want.len()
    );
    let before = f.queue.activity();
    assert_eq!(
        f.queue.retry_matching(&mailers).await.expect("retry"),
        want.len()
    );
    assert!(f.queue.activity() > before, "the retry is activity");
    assert!(ids(&f, JobState::Failed, &mailers).await.is_empty());
    for id in &want {
        assert_eq!(f.state(*id).await, Some(JobState::Ready));
    }
    assert_eq!(
        ids(&f, JobState::Failed, &all).await.len(),
        1_300 - want.len()
    );

    // A class and a time range together: only those.
    let mid = START.0 + 700 * 1000;
    let filter = JobFilter {
        class: Some("Charge".to_owned()),
        from: Some(Timestamp(mid)),
        ..JobFilter::default()
    };
    let want = ids(&f, JobState::Failed, &filter).await;
    assert!(!want.is_empty());
    let others = ids(&f, JobState::Failed, &all).await.len() - want.len();
    assert_eq!(
        f.queue
            .discard_matching(JobState::Failed, &filter)
            .await
            .expect("discard"),
        want.len()
    );
    for id in &want {
        assert_eq!(f.state(*id).await, None, "discarded");
    }
    assert_eq!(ids(&f, JobState::Failed, &all).await.len(), others);

    // Ready jobs of one queue: the seeded ones and the retried mailers.
    let low = JobFilter {
        queue: Some("low".to_owned()),
        ..JobFilter::default()
    };
    let want = ids(&f, JobState::Ready, &low).await;
    let ready = ids(&f, JobState::Ready, &all).await.len();
    assert_eq!(
        f.queue
            .discard_matching(JobState::Ready, &low)
            .await
            .expect("discard"),
        want.len()
    );
    assert_eq!(
        ids(&f, JobState::Ready, &all).await.len(),
        ready - want.len()
    );

    // The old wrappers: everything left, in id order.
    let rest = ids(&f, JobState::Failed, &all).await;
    assert_eq!(f.queue.retry_all().await.expect("retry all"), rest);
    assert_eq!(
        f.queue.discard_all_failed().await.expect("discard all"),
        Vec::<JobId>::new()
    );
}

pub(crate) async fn discard_by_filter_in_every_state_it_allows(f: Fixture) {
    let q = &f.queue;
    let soon = Timestamp(START.0 + 60_000_000);
    let late = Timestamp(START.0 + 3_600_000_000);
    let s1 = q.enqueue_at(&Task::on("a"), soon).await.expect("enqueue");
    let s2 = q.enqueue_at(&Task::on("a"), late).await.expect("enqueue");
    let s3 = q
        .enqueue_at(
            &Other {
                queue: "a".to_owned(),
                fail: false,
            },
            soon,
        )
        .await
        .expect("enqueue");
    let r1 = q.enqueue(&Task::on("a").keyed("k")).await.expect("enqueue");
    let b1 = q.enqueue(&Task::on("a").keyed("k")).await.expect("enqueue");
    let b2 = q.enqueue(&Task::on("b").keyed("k")).await.expect("enqueue");
    assert_eq!(f.state(b1).await, Some(JobState::Blocked));

    // Scheduled due before the late one, class task: only s1.
    let filter = JobFilter {
        class: Some("task".to_owned()),
        to: Some(Timestamp(late.0)),
        ..JobFilter::default()
    };
    assert_eq!(
        q.discard_matching(JobState::Scheduled, &filter)
            .await
            .expect("discard"),
        1
    );
    assert_eq!(f.state(s1).await, None);
    assert_eq!(f.state(s2).await, Some(JobState::Scheduled));
    assert_eq!(f.state(s3).await, Some(JobState::Scheduled));

    // Blocked on queue b: only b2.
    let b = JobFilter {
        queue: Some("b".to_owned()),
        ..JobFilter::default()
    };
    assert_eq!(
        q.discard_matching(JobState::Blocked, &b)
            .await
            .expect("discard"),
        1
    );
    assert_eq!(f.state(b2).await, None);
    assert_eq!(f.state(b1).await, Some(JobState::Blocked));

    // The ready limited job gives its slot back: b1 becomes ready.
    let a = JobFilter {
        queue: Some("a".to_owned()),
        ..JobFilter::default()
    };
    assert_eq!(
        q.discard_matching(JobState::Ready, &a)
            .await
            .expect("discard"),
        1
    );
    assert_eq!(f.state(r1).await, None);
    assert_eq!(
        f.state(b1).await,
        Some(JobState::Ready),
        "released by the freed slot"
    );

    for state in [JobState::Claimed, JobState::Finished] {
        let err = q
            .discard_matching(state, &a)
            .await
            .expect_err("not allowed");
        assert!(matches!(err, Error::StateNotAllowed { .. }), "{err:?}");
    }
}

pub(crate) async fn run_now_makes_scheduled_and_blocked_jobs_ready(f: Fixture) {
    let q = &f.queue;
    let later = Timestamp(START.0 + 3_600_000_000);
    let scheduled = q.enqueue_at(&Task::on("a"), later).await.expect("enqueue");
    let first = q.enqueue(&Task::on("a").keyed("k")).await.expect("enqueue");
    let blocked = q.enqueue(&Task::on("a").keyed("k")).await.expect("enqueue");
    assert_eq!(f.state(blocked).await, Some(JobState::Blocked));
    let before = q.activity();

    q.run_now(scheduled).await.expect("run now");
    assert_eq!(f.state(scheduled).await, Some(JobState::Ready));
    let d = q
        .job_detail(scheduled)
        .await
        .expect("detail")
        .expect("the job");
    assert_eq!(d.info.scheduled_at, Some(f.clock.now()), "due now");
    assert!(q.activity() > before);

    // Past its limit: both limited jobs are ready at once.
    q.run_now(blocked).await.expect("run now");
    assert_eq!(f.state(blocked).await, Some(JobState::Ready));
    assert_eq!(f.state(first).await, Some(JobState::Ready));

    for id in [scheduled, blocked] {
        let err = q.run_now(id).await.expect_err("ready already");
        assert!(matches!(err, Error::WrongState { .. }), "{err:?}");
    }
    let err = q.run_now(JobId(999_999)).await.expect_err("no such job");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

pub(crate) async fn admin_actions_bump_activity(f: Fixture) {
    let q = &f.queue;
    let mut last = q.activity();
    let mut bumped = |what: &str, now: u64| {
        assert!(now > last, "{what} is activity");
        last = now;
    };
    q.pause("a").await.expect("pause");
    bumped("pause", q.activity());
    q.resume("a").await.expect("resume");
    bumped("resume", q.activity());
    let id = q
        .enqueue(&Other {
            queue: "w1".to_owned(),
            fail: true,
        })
        .await
        .expect("enqueue");
    f.work().await;
    q.retry(id).await.expect("retry");
    bumped("retry", q.activity());
    q.discard(id).await.expect("discard");
    bumped("discard", q.activity());
}

both!(
    retry_and_discard_take_only_the_matching_jobs,
    discard_by_filter_in_every_state_it_allows,
    run_now_makes_scheduled_and_blocked_jobs_ready,
    admin_actions_bump_activity,
);
