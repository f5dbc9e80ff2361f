//! Strict queue order, priority within a queue, wildcards, pause and resume.

use trifecta::queue::QueueSelector;

use crate::helpers::TestResult;
use crate::queue_support::{Tagged, fixture, tags};

async fn enqueue(f: &crate::queue_support::Fixture, jobs: &[(&str, &str, i32)]) -> TestResult {
    for (tag, queue, priority) in jobs {
        f.queue.enqueue(&Tagged::new(tag, queue, *priority)).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_are_polled_in_strict_order_then_by_priority() -> TestResult {
    let f = fixture().await;
    enqueue(
        &f,
        &[
            ("low-a", "low", 0),
            ("high-b", "high", 5),
            ("high-a", "high", 1),
            ("low-b", "low", -1),
        ],
    )
    .await?;
    let sel = QueueSelector::new(&["high", "low"]);
    let first = f.queue.claim(&sel, None, 3).await?;
    assert_eq!(tags(&first), ["high-a", "high-b", "low-b"]);
    let rest = f.queue.claim(&sel, None, 3).await?;
    assert_eq!(tags(&rest), ["low-a"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn star_takes_every_queue_by_priority_then_age() -> TestResult {
    let f = fixture().await;
    enqueue(
        &f,
        &[
            ("a", "q1", 3),
            ("b", "q2", 1),
            ("c", "q3", 1),
            ("d", "q1", 0),
        ],
    )
    .await?;
    let all = f.queue.claim(&QueueSelector::all(), None, 10).await?;
    assert_eq!(tags(&all), ["d", "b", "c", "a"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_wildcards_match_only_their_queues() -> TestResult {
    let f = fixture().await;
    enqueue(
        &f,
        &[
            ("mail-1", "mail_low", 0),
            ("other", "reports", 0),
            ("mail-2", "mail_high", 0),
            ("x", "xmail", 0),
        ],
    )
    .await?;
    let sel = QueueSelector::new(&["mail*"]);
    let got = f.queue.claim(&sel, None, 10).await?;
    // Matching queues in name order: mail_high before mail_low.
    assert_eq!(tags(&got), ["mail-2", "mail-1"]);
    let sel = QueueSelector::new(&["nothing", "*"]);
    let rest = f.queue.claim(&sel, None, 10).await?;
    assert_eq!(tags(&rest), ["other", "x"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_queues_are_skipped_until_resumed() -> TestResult {
    let f = fixture().await;
    enqueue(&f, &[("p1", "paused", 0), ("o1", "open", 0)]).await?;
    assert!(f.queue.pause("paused").await?);
    assert!(!f.queue.pause("paused").await?, "second pause is a no-op");
    assert!(f.queue.is_paused("paused").await?);
    let got = f.queue.claim(&QueueSelector::all(), None, 10).await?;
    assert_eq!(tags(&got), ["o1"]);
    let none = f
        .queue
        .claim(&QueueSelector::new(&["paused"]), None, 10)
        .await?;
    assert!(none.is_empty());
    assert_eq!(f.queue.stats().await?.paused, ["paused"]);
    assert!(f.queue.resume("paused").await?);
    let got = f.queue.claim(&QueueSelector::all(), None, 10).await?;
    assert_eq!(tags(&got), ["p1"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_takes_at_most_the_limit_and_each_job_once() -> TestResult {
    let f = fixture().await;
    for i in 0..10 {
        f.queue
            .enqueue(&Tagged::new(&i.to_string(), "default", 0))
            .await?;
    }
    let sel = QueueSelector::all();
    let a = f.queue.claim(&sel, None, 4).await?;
    let b = f.queue.claim(&sel, None, 4).await?;
    let c = f.queue.claim(&sel, None, 4).await?;
    assert_eq!((a.len(), b.len(), c.len()), (4, 4, 2));
    let mut ids: Vec<i64> = a.iter().chain(&b).chain(&c).map(|j| j.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 10);
    Ok(())
}
