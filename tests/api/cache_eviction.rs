//! Cache eviction: `max_entries`, `max_size` and `max_age` remove the oldest rows first,
//! expired rows go too, and sustained writes through a running server stay within bounds.

use std::time::Duration;

use trifecta::cache::{Cache, WriteOptions};

use crate::cache::open_cache;
use crate::helpers::{TestApp, TestResult, wait_for};

async fn present(c: &Cache, keys: &[String]) -> Vec<String> {
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let found = c.read_multi::<u32>(&refs).await;
    keys.iter()
        .filter(|k| found.contains_key(*k))
        .cloned()
        .collect()
}

fn names(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("k{i:03}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_entries_evicts_the_oldest_first_and_overwrites_keep_their_place() -> TestResult {
    let t = open_cache(|o| o.max_entries = Some(10));
    let c = &t.cache;
    for (i, k) in names(0..15).iter().enumerate() {
        assert!(c.write(k, &(i as u32), WriteOptions::new()).await);
    }
    // Overwriting k005 does not move it to the back of the FIFO (as the gem).
    assert!(c.write("k005", &99u32, WriteOptions::new()).await);
    let out = c.expire_once().await?;
    assert_eq!(out.deleted, 5);
    assert_eq!(present(c, &names(0..15)).await, names(5..15));
    assert_eq!(c.stats().await?.entries, 10);

    // Within bounds, a pass removes nothing.
    assert_eq!(c.expire_once().await?.deleted, 0);
    assert!(c.write("k100", &1u32, WriteOptions::new()).await);
    assert_eq!(c.expire_once().await?.deleted, 1);
    assert_eq!(
        present(c, &names(5..7)).await,
        names(6..7),
        "k005 was next in line"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_size_evicts_the_oldest_until_the_total_fits() -> TestResult {
    // Each entry: key "k000" (4) + value "\"xxxx...\"" (102) + 140 = 246 bytes.
    let value = "x".repeat(100);
    let t = open_cache(|o| o.max_size = Some(246 * 6));
    let c = &t.cache;
    for k in names(0..10) {
        assert!(c.write(&k, &value, WriteOptions::new()).await);
    }
    assert_eq!(c.stats().await?.bytes, 246 * 10);
    let out = c.expire_once().await?;
    assert_eq!(out.deleted, 4);
    let stats = c.stats().await?;
    assert_eq!((stats.entries, stats.bytes), (6, 246 * 6));
    let refs: Vec<String> = names(0..10);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let left = c.read_multi::<String>(&refs).await;
    let mut keys: Vec<_> = left.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, names(4..10));

    // A bigger value for an old key grows the total; the oldest rows make room.
    assert!(c.write("k004", &"y".repeat(400), WriteOptions::new()).await);
    c.expire_once().await?;
    let stats = c.stats().await?;
    assert!(stats.bytes <= 246 * 6, "{stats:?}");
    assert_eq!(
        c.read::<String>("k004").await,
        None,
        "the oldest row went first"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_and_expiry_remove_old_rows_only() -> TestResult {
    let t = open_cache(|o| o.max_age = Some(Duration::from_secs(7 * 24 * 3600)));
    let c = &t.cache;
    assert!(c.write("old-1", &1u32, WriteOptions::new()).await);
    assert!(c.write("old-2", &2u32, WriteOptions::new()).await);
    let short = WriteOptions::new().expires_in(Duration::from_secs(60));
    assert!(c.write("ttl", &3u32, short).await);
    t.clock.advance(Duration::from_secs(8 * 24 * 3600));
    assert!(c.write("new", &4u32, WriteOptions::new()).await);
    // An overwrite keeps created_at, so old-2 is still past max_age.
    assert!(c.write("old-2", &5u32, WriteOptions::new()).await);

    let out = c.expire_once().await?;
    assert_eq!(out.deleted, 3, "old-1, old-2 (too old) and ttl (expired)");
    let left = c.read_multi::<u32>(&["old-1", "old-2", "ttl", "new"]).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left.get("new"), Some(&4));
    assert_eq!(c.stats().await?.entries, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_keeps_going_in_batches_until_the_cache_fits() -> TestResult {
    let t = open_cache(|o| {
        o.max_entries = Some(5);
        o.expiry_batch_size = 4;
    });
    let c = &t.cache;
    let rows: Vec<(String, u32)> = (0..50).map(|i| (format!("k{i:03}"), i)).collect();
    let rows: Vec<(&str, u32)> = rows.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert!(c.write_multi(&rows, WriteOptions::new()).await);
    let out = c.expire_once().await?;
    assert_eq!(out.deleted, 45);
    assert!(out.rounds > 1, "{out:?}");
    assert_eq!(present(c, &names(0..50)).await, names(45..50));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sustained_writes_through_a_server_stay_within_bounds() -> TestResult {
    let app = TestApp::spawn_with(|config| {
        config.serve.cache.max_entries = 50;
        config.serve.cache.max_size = 50 * 1024;
        // Every write asks for a pass (probability 2 / batch = 1).
        config.serve.cache.expiry_batch_size = 2;
    })
    .await;
    let c = app.state.cache.clone();
    let value = "v".repeat(200);
    let mut peak = 0;
    for i in 0..1000 {
        assert!(
            c.write(&format!("key-{i}"), &value, WriteOptions::new())
                .await
        );
        if i % 100 == 99 {
            peak = peak.max(c.stats().await?.entries);
        }
    }
    // The background task catches up with the last writes.
    let stats = wait_for(
        "the cache to shrink back within max_entries",
        Duration::from_secs(20),
        || {
            let c = c.clone();
            async move { c.stats().await.ok().filter(|s| s.entries <= 50) }
        },
    )
    .await;
    assert!(stats.bytes <= 50 * 1024, "{stats:?}");
    assert!(peak < 1000, "expiry ran during the writes (peak {peak})");
    assert_eq!(
        c.read::<String>("key-999").await.as_deref(),
        Some(value.as_str())
    );
    assert_eq!(c.read::<String>("key-0").await, None);
    app.stop().await
}
