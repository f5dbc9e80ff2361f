//! The minute statistics: counted by a real worker and flushed by the server's flusher
//! (every interval while it runs, and at shutdown), summed across servers per minute,
//! nothing written when idle, and rows past a day pruned.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta_queue::{FLUSH_INTERVAL, Minute, MinuteFlusher, QueueOptions};
use trifecta_store::{Clock, Timestamp};

use super::{On, START, Storage, Work, eventually, on_both};

/// A worker with two threads that polls often.
fn worker_options() -> QueueOptions {
    QueueOptions {
        threads: 2,
        polling_interval: Duration::from_millis(10),
        ..QueueOptions::default()
    }
}

on_both!(a_worker_counts_its_jobs_and_the_server_flushes_them_at_shutdown);
/// Five jobs (three succeed, two fail for good) run by a started server after waiting two
/// seconds (the clock is manual): once the server stops, the minute holds them all, with
/// their start delays.
async fn a_worker_counts_its_jobs_and_the_server_flushes_them_at_shutdown(on: On) {
    let storage = Storage::new(on).await;
    let clock = Clock::manual(START + Duration::from_secs(10));
    let setup = storage.setup(&clock, worker_options()).await;
    let q = setup.queue().clone();
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    q.pause("default").await.expect("pause");
    let rt = setup.start("test", &token, &tracker).await.expect("start");
    let before = q.activity();
    for fail in [false, true, false, true, false] {
        q.enqueue(&Work {
            fail,
            ..Work::default()
        })
        .await
        .expect("enqueue");
    }
    assert_eq!(q.activity(), before + 5, "each enqueue moves the activity");
    clock.advance(Duration::from_secs(2));
    q.resume("default").await.expect("resume");
    // Five enqueues, the resume (an admin action) and five outcomes.
    eventually(30, "five outcomes", async || q.activity() == before + 11).await;
    token.cancel();
    tracker.close();
    tracker.wait().await;
    assert!(!rt.flusher.run_once().await.expect("flush"), "nothing left");

    let minutes = q.minutes(START).await.expect("minutes");
    assert_eq!(
        minutes,
        [Minute {
            at: START,
            enqueued: 5,
            finished: 3,
            failed: 2,
            retried: 0,
            discarded: 0,
            delay_count: 5,
            delay_sum_us: 10_000_000,
            delay_max_us: 2_000_000,
        }]
    );
}

/// While the server runs, its flusher writes the counts within one interval (tokio's
/// paused time, so the interval passes at once).
#[tokio::test(start_paused = true)]
async fn the_flusher_writes_while_the_server_runs() {
    let storage = Storage::new(On::Sqlite).await;
    let clock = Clock::tokio();
    let setup = storage.setup(&clock, worker_options()).await;
    let q = setup.queue().clone();
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    setup.start("test", &token, &tracker).await.expect("start");
    let since = clock.now();
    q.enqueue(&Work::default()).await.expect("enqueue");
    let secs = 3 * FLUSH_INTERVAL.as_secs();
    eventually(secs, "the flusher's write", async || {
        let minutes = q.minutes(since).await.expect("minutes");
        minutes.iter().map(|m| m.finished).sum::<u64>() == 1
    })
    .await;
    let minutes = q.minutes(since).await.expect("minutes");
    assert_eq!(minutes.iter().map(|m| m.enqueued).sum::<u64>(), 1);
    token.cancel();
    tracker.close();
    tracker.wait().await;
}

on_both!(two_servers_flushes_sum_into_one_minute_and_an_idle_flush_writes_nothing);
/// Two servers' counts of the same minute are summed; a flush with nothing counted
/// writes no row (a row of zeros would show as a minute).
async fn two_servers_flushes_sum_into_one_minute_and_an_idle_flush_writes_nothing(on: On) {
    let storage = Storage::new(on).await;
    let clock = Clock::manual(START + Duration::from_secs(30));
    let one = storage.offline(&clock).await;
    let two = storage.offline(&clock).await;
    let (f1, f2) = (MinuteFlusher::new(&one, 1), MinuteFlusher::new(&two, 2));
    assert!(!f1.run_once().await.expect("idle flush"));
    assert!(!f2.run_once().await.expect("idle flush"));
    assert_eq!(one.minutes(START).await.expect("minutes"), []);

    let before = one.activity();
    for _ in 0..2 {
        one.enqueue(&Work::on("a")).await.expect("enqueue");
    }
    assert_eq!(one.activity(), before + 2);
    for _ in 0..3 {
        two.enqueue(&Work::on("b")).await.expect("enqueue");
    }
    assert!(f1.run_once().await.expect("flush"));
    assert!(f2.run_once().await.expect("flush"));
    assert!(!f1.run_once().await.expect("idle again"));
    one.enqueue(&Work::on("a")).await.expect("enqueue");
    assert!(f1.run_once().await.expect("flush again"));

    let minutes = two.minutes(START).await.expect("minutes");
    assert_eq!(minutes.len(), 1, "{minutes:?}");
    assert_eq!((minutes[0].at, minutes[0].enqueued), (START, 6));
}

on_both!(a_queue_counted_in_the_last_hour_is_listed_once_its_jobs_are_gone);
/// A queue whose jobs were all discarded is still listed (with zero counts) while the
/// minute statistics of the last hour count it, and no longer after that.
async fn a_queue_counted_in_the_last_hour_is_listed_once_its_jobs_are_gone(on: On) {
    let storage = Storage::new(on).await;
    let clock = Clock::manual(START);
    let q = storage.offline(&clock).await;
    let id = q.enqueue(&Work::on("gone")).await.expect("enqueue");
    assert!(MinuteFlusher::new(&q, 1).run_once().await.expect("flush"));
    q.discard(id).await.expect("discard");
    let queues = q.queues().await.expect("queues");
    assert_eq!(queues.len(), 1, "{queues:?}");
    assert_eq!((queues[0].name.as_str(), queues[0].ready), ("gone", 0));
    clock.advance(Duration::from_secs(3600 + 60));
    assert_eq!(q.queues().await.expect("queues"), []);
}

on_both!(rows_older_than_a_day_are_pruned_by_a_later_flush);
/// A flush a day and more after a minute deletes that minute's rows (of every node) and
/// keeps the newer ones.
async fn rows_older_than_a_day_are_pruned_by_a_later_flush(on: On) {
    let storage = Storage::new(on).await;
    let clock = Clock::manual(START);
    let one = storage.offline(&clock).await;
    let two = storage.offline(&clock).await;
    let (f1, f2) = (MinuteFlusher::new(&one, 1), MinuteFlusher::new(&two, 2));
    one.enqueue(&Work::default()).await.expect("enqueue");
    two.enqueue(&Work::default()).await.expect("enqueue");
    assert!(f1.run_once().await.expect("flush"));
    assert!(f2.run_once().await.expect("flush"));
    clock.advance(Duration::from_secs(23 * 3600));
    let within = clock.now();
    one.enqueue(&Work::default()).await.expect("enqueue");
    assert!(f1.run_once().await.expect("flush"));
    let early = Timestamp(0);
    assert_eq!(
        one.minutes(early).await.expect("minutes").len(),
        2,
        "a day is kept"
    );

    clock.advance(Duration::from_secs(2 * 3600));
    one.enqueue(&Work::default()).await.expect("enqueue");
    assert!(f1.run_once().await.expect("flush"));
    let at: Vec<Timestamp> = one
        .minutes(early)
        .await
        .expect("minutes")
        .iter()
        .map(|m| m.at)
        .collect();
    let minute = |t: Timestamp| Timestamp(t.0 - t.0.rem_euclid(60_000_000));
    assert_eq!(at, [minute(within), minute(clock.now())]);
}
