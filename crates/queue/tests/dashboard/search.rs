//! Search and counts: every state with every filter, walked page by page (no job twice,
//! none missing, in the state's order), a tiny row budget (short pages flagged
//! `scan_limited` that still add up to the whole), malformed and foreign cursors, and
//! capped counts.

use std::collections::{BTreeMap, HashSet};

use trifecta_queue::{Count, Cursor, Error, JobFilter, JobId, JobInfo, JobState, QueueSelector};
use trifecta_store::Timestamp;

use super::{Fixture, Other, START, Task};

/// Jobs in every state, on two queues each and of both classes, each with its own time:
/// failed and finished on `w1`/`w2`, ready, scheduled and blocked on `a`/`b`, claimed on
/// `c1`/`c2`.
async fn populate(f: &Fixture) {
    let q = &f.queue;
    for i in 0..12 {
        let queue = if i % 3 == 0 { "w2" } else { "w1" };
        let fail = i % 2 == 0;
        if i % 4 == 3 {
            q.enqueue(&Other {
                queue: queue.to_owned(),
                fail,
            })
            .await
            .expect("enqueue");
        } else {
            let t = Task::on(queue);
            let t = if fail { t.failing(&["Fatal"]) } else { t };
            q.enqueue(&t).await.expect("enqueue");
        }
        f.tick(3);
    }
    f.work().await;
    for i in 0..9 {
        let queue = if i % 3 == 0 { "b" } else { "a" };
        if i % 2 == 0 {
            q.enqueue(&Task::on(queue)).await.expect("enqueue");
        } else {
            q.enqueue(&Other {
                queue: queue.to_owned(),
                fail: false,
            })
            .await
            .expect("enqueue");
        }
        f.tick(3);
    }
    for i in 0..9i32 {
        let queue = if i % 3 == 0 { "b" } else { "a" };
        // Out of order, two sharing a time (their priority and id order them).
        let due = START.0 + 86_400_000_000 + i64::from((i * 7) % 5) * 60_000_000;
        if i % 2 == 0 {
            let t = Task {
                priority: i % 3,
                ..Task::on(queue)
            };
            q.enqueue_at(&t, Timestamp(due)).await.expect("enqueue");
        } else {
            let o = Other {
                queue: queue.to_owned(),
                fail: false,
            };
            q.enqueue_at(&o, Timestamp(due)).await.expect("enqueue");
        }
        f.tick(3);
    }
    for i in 0..7 {
        let queue = if i % 2 == 0 { "b" } else { "a" };
        q.enqueue(&Task::on(queue).keyed("k"))
            .await
            .expect("enqueue");
        f.tick(3);
    }
    for i in 0..8 {
        let queue = if i % 3 == 0 { "c2" } else { "c1" };
        if i % 2 == 0 {
            q.enqueue(&Task::on(queue)).await.expect("enqueue");
        } else {
            q.enqueue(&Other {
                queue: queue.to_owned(),
                fail: false,
            })
            .await
            .expect("enqueue");
        }
        f.tick(3);
    }
    let claims = QueueSelector::new(&["c*"]);
    for _ in 0..8 {
        q.claim(&claims, Some(f.process.id), 1)
            .await
            .expect("claim");
        f.tick(5);
    }
}

/// Every job in `state` with its state time, in the state's order, read through the old
/// listing and the job detail: the reference a search must match.
async fn reference(f: &Fixture, state: JobState) -> Vec<(JobInfo, Timestamp)> {
    let jobs = f.queue.jobs(Some(state), None, 1000).await.expect("jobs");
    let mut out = Vec::new();
    for j in jobs {
        let d = f
            .queue
            .job_detail(j.id)
            .await
            .expect("detail")
            .expect("a job");
        let at = match state {
            JobState::Ready | JobState::Blocked => j.created_at,
            JobState::Scheduled => j.scheduled_at.expect("due"),
            JobState::Claimed => d.claimed_at.expect("claimed at"),
            JobState::Failed => d.failed_at.expect("failed at"),
            JobState::Finished => j.finished_at.expect("finished at"),
        };
        out.push((j, at));
    }
    match state {
        JobState::Scheduled => out.sort_by_key(|(j, at)| (*at, j.priority, j.id)),
        JobState::Failed | JobState::Finished => {
            out.sort_by_key(|(j, at)| std::cmp::Reverse((*at, j.id)));
        }
        _ => out.sort_by_key(|(j, _)| j.id),
    }
    out
}

fn matches(filter: &JobFilter, j: &JobInfo, at: Timestamp) -> bool {
    filter.queue.as_ref().is_none_or(|q| *q == j.queue_name)
        && filter.class.as_ref().is_none_or(|c| *c == j.class_name)
        && filter.from.is_none_or(|t| at >= t)
        && filter.to.is_none_or(|t| at < t)
}

/// Walks every page of a search; returns the (id, time) seen in order and how many pages
/// were `scan_limited`. Checks each page's size, and that no job comes twice.
async fn walk(
    f: &Fixture,
    state: JobState,
    filter: &JobFilter,
    limit: usize,
    budget: Option<usize>,
) -> (Vec<(JobId, Timestamp)>, usize) {
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    let mut limited = 0;
    for pages in 1.. {
        assert!(pages <= 1000, "the search never ended");
        let page = match budget {
            Some(b) => {
                f.queue
                    .search_with_budget(state, filter, after.as_ref(), limit, b)
                    .await
            }
            None => f.queue.search(state, filter, after.as_ref(), limit).await,
        }
        .expect("search");
        assert!(page.jobs.len() <= limit, "a page of at most {limit}");
        if page.scan_limited {
            limited += 1;
            assert!(page.jobs.len() < limit, "a limited page is short");
            assert!(page.next.is_some(), "a limited page says where to go on");
        }
        for j in &page.jobs {
            assert_eq!(j.info.state, state);
            seen.push((j.info.id, j.at));
        }
        match page.next {
            // The cursor goes through its text, as a link would carry it.
            Some(c) => after = Some(c.to_string().parse().expect("cursor text")),
            None => {
                let ids: HashSet<_> = seen.iter().map(|(id, _)| *id).collect();
                assert_eq!(ids.len(), seen.len(), "no job twice");
                return (seen, limited);
            }
        }
    }
    unreachable!("the page count is unbounded")
}

/// The filters tried on `state`: none, a queue, a class, a time range, all together.
fn filters(all: &[(JobInfo, Timestamp)]) -> Vec<JobFilter> {
    let queue = all.first().map(|(j, _)| j.queue_name.clone());
    let mut times: Vec<Timestamp> = all.iter().map(|(_, at)| *at).collect();
    times.sort();
    let (from, to) = match times.len() {
        0 => (None, None),
        n => (Some(times[n / 4]), Some(times[(3 * n) / 4])),
    };
    vec![
        JobFilter::default(),
        JobFilter {
            queue: queue.clone(),
            ..JobFilter::default()
        },
        JobFilter {
            class: Some("other".to_owned()),
            ..JobFilter::default()
        },
        JobFilter {
            class: Some("task".to_owned()),
            ..JobFilter::default()
        },
        JobFilter {
            from,
            to,
            ..JobFilter::default()
        },
        JobFilter {
            from,
            ..JobFilter::default()
        },
        JobFilter {
            queue,
            class: Some("task".to_owned()),
            from,
            to,
        },
    ]
}

pub(crate) async fn every_state_and_filter_pages_in_order(f: Fixture) {
    populate(&f).await;
    for state in JobState::ALL {
        let all = reference(&f, state).await;
        assert!(all.len() >= 6, "{state}: {} jobs populated", all.len());
        for filter in filters(&all) {
            let want: Vec<(JobId, Timestamp)> = all
                .iter()
                .filter(|(j, at)| matches(&filter, j, *at))
                .map(|(j, at)| (j.id, *at))
                .collect();
            for limit in [1, 2, 5, 1000] {
                let (got, limited) = walk(&f, state, &filter, limit, None).await;
                assert_eq!(got, want, "{state} {filter:?} by {limit}");
                assert_eq!(
                    limited, 0,
                    "{state}: the default budget is never reached here"
                );
            }
            // A budget of 3 rows: short pages, the same jobs in the same order.
            let (got, _) = walk(&f, state, &filter, 2, Some(3)).await;
            assert_eq!(got, want, "{state} {filter:?} with a budget of 3");
        }
    }
}

pub(crate) async fn a_tiny_budget_stops_the_scan_and_says_where(f: Fixture) {
    // Twenty finished jobs; the two of class `other` are the oldest, so newest first a
    // class search reads eighteen rows before it finds one.
    f.queue
        .enqueue(&Other {
            queue: "w1".to_owned(),
            fail: false,
        })
        .await
        .expect("enqueue");
    f.queue
        .enqueue(&Other {
            queue: "w1".to_owned(),
            fail: false,
        })
        .await
        .expect("enqueue");
    for _ in 0..18 {
        f.queue.enqueue(&Task::on("w1")).await.expect("enqueue");
    }
    f.work().await;
    let filter = JobFilter {
        class: Some("other".to_owned()),
        ..JobFilter::default()
    };
    let first = f
        .queue
        .search_with_budget(JobState::Finished, &filter, None, 10, 5)
        .await
        .expect("search");
    assert!(first.jobs.is_empty(), "the newest five are all tasks");
    assert!(first.scan_limited);
    let (got, limited) = walk(&f, JobState::Finished, &filter, 10, Some(5)).await;
    assert_eq!(got.len(), 2);
    assert!(limited >= 3, "{limited} limited pages");
    // The default budget finds both at once.
    let page = f
        .queue
        .search(JobState::Finished, &filter, None, 10)
        .await
        .expect("search");
    assert_eq!(page.jobs.len(), 2);
    assert!(!page.scan_limited);
    assert!(page.next.is_none());
    // Without a filter the index is the whole condition: no budget, full pages.
    let page = f
        .queue
        .search_with_budget(JobState::Finished, &JobFilter::default(), None, 10, 5)
        .await
        .expect("search");
    assert_eq!(page.jobs.len(), 10);
    assert!(!page.scan_limited);
}

pub(crate) async fn malformed_and_foreign_cursors_are_refused(f: Fixture) {
    for bad in [
        "",
        "garbage",
        "finished.1.2",
        "finished.1.2.3.4",
        "done.1.2.3",
        "finished.a.0.1",
    ] {
        assert!(bad.parse::<Cursor>().is_err(), "{bad:?} parsed");
    }
    let c: Cursor = "finished.1700000000000000.0.42".parse().expect("a cursor");
    assert_eq!(c.to_string(), "finished.1700000000000000.0.42");
    assert_eq!(c.state(), JobState::Finished);
    let err = f
        .queue
        .search(JobState::Ready, &JobFilter::default(), Some(&c), 10)
        .await
        .expect_err("a finished cursor for ready jobs");
    assert!(matches!(err, Error::InvalidCursor(_)), "{err:?}");
    let page = f
        .queue
        .search(JobState::Finished, &JobFilter::default(), Some(&c), 10)
        .await
        .expect("search");
    assert!(page.jobs.is_empty());
}

pub(crate) async fn counts_are_capped_and_say_so(f: Fixture) {
    populate(&f).await;
    let mut exact = BTreeMap::new();
    for state in JobState::ALL {
        exact.insert(state, reference(&f, state).await.len() as u64);
    }
    let counts = f
        .queue
        .counts(&JobFilter::default(), 1000)
        .await
        .expect("counts");
    for state in JobState::ALL {
        assert_eq!(
            counts[&state],
            Count {
                n: exact[&state],
                more: false
            },
            "{state}"
        );
    }
    let capped = f
        .queue
        .counts(&JobFilter::default(), 5)
        .await
        .expect("counts");
    for state in JobState::ALL {
        let want = if exact[&state] > 5 {
            Count { n: 5, more: true }
        } else {
            Count {
                n: exact[&state],
                more: false,
            }
        };
        assert_eq!(capped[&state], want, "{state}");
    }
    // Filtered: exact within the default budget.
    let filter = JobFilter {
        class: Some("other".to_owned()),
        ..JobFilter::default()
    };
    let counts = f.queue.counts(&filter, 1000).await.expect("counts");
    for state in JobState::ALL {
        let n = reference(&f, state)
            .await
            .iter()
            .filter(|(j, at)| matches(&filter, j, *at))
            .count() as u64;
        assert_eq!(counts[&state], Count { n, more: false }, "{state}");
    }
    // A budget of 2 rows: a lower bound, flagged, wherever a state has more rows.
    let small = f
        .queue
        .counts_with_budget(&filter, 1000, 2)
        .await
        .expect("counts");
    for state in JobState::ALL {
        assert!(small[&state].n <= counts[&state].n, "{state}");
        assert_eq!(small[&state].more, exact[&state] > 2, "{state}");
    }
}

both!(
    every_state_and_filter_pages_in_order,
    a_tiny_budget_stops_the_scan_and_says_where,
    malformed_and_foreign_cursors_are_refused,
    counts_are_capped_and_say_so,
);
