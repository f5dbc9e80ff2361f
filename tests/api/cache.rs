//! Cache API: typed round trips, TTLs, `unless_exist`, atomic counters, multi operations,
//! long keys, namespaces, single-flight `fetch`. The failure policy is in `cache_failures`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tempfile::TempDir;
use trifecta::cache::{Cache, CacheOptions, MAX_KEY_BYTES, WriteOptions};
use trifecta::store::{Clock, PoolOptions, Timestamp};
use trifecta::stores::Stores;

use crate::helpers::{TestResult, wait_for};

/// A cache on a fresh temp storage dir with a manual clock, without a server.
#[allow(dead_code)]
pub struct TestCache {
    pub cache: Cache,
    pub clock: Clock,
    pub stores: Stores,
    /// Kept so the files outlive the test.
    pub dir: TempDir,
}

/// Opens a [`TestCache`] with `tune` applied to the default options.
pub fn open_cache(tune: impl FnOnce(&mut CacheOptions)) -> TestCache {
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = Stores::open(dir.path(), "test", &PoolOptions::default()).expect("open stores");
    let clock = Clock::manual(Timestamp(1_800_000_000_000_000));
    let mut options = CacheOptions::default();
    tune(&mut options);
    let cache = Cache::new(stores.cache.clone(), clock.clone(), options);
    TestCache {
        cache,
        clock,
        stores,
        dir,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    tags: Vec<String>,
    age: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_values_round_trip_and_overwrite() -> TestResult {
    let t = open_cache(|_| {});
    let c = &t.cache;
    let p = Profile {
        name: "Ada".into(),
        tags: vec!["math".into(), "engines".into()],
        age: 36,
    };
    assert!(c.write("profile/1", &p, WriteOptions::new()).await);
    assert_eq!(c.read::<Profile>("profile/1").await, Some(p.clone()));
    assert!(c.write("n", &42_i64, WriteOptions::new()).await);
    assert_eq!(c.read::<i64>("n").await, Some(42));
    assert!(c.write("s", "héllo", WriteOptions::new()).await);
    assert_eq!(c.read::<String>("s").await.as_deref(), Some("héllo"));

    // Overwrite replaces the value.
    assert!(c.write("n", &43_i64, WriteOptions::new()).await);
    assert_eq!(c.read::<i64>("n").await, Some(43));

    // Absent keys and values of another type are misses.
    assert_eq!(c.read::<i64>("absent").await, None);
    assert_eq!(c.read::<Profile>("n").await, None);
    assert!(c.exists("profile/1").await);
    assert!(!c.exists("absent").await);

    assert!(c.delete("profile/1").await);
    assert!(!c.delete("profile/1").await);
    assert_eq!(c.read::<Profile>("profile/1").await, None);

    // Hits: profile, n, s, n. Misses: absent, wrong type, deleted.
    assert_eq!((c.hits(), c.misses()), (4, 3));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_expire_after_their_ttl() -> TestResult {
    let t = open_cache(|_| {});
    let c = &t.cache;
    let ttl = WriteOptions::new().expires_in(Duration::from_secs(60));
    assert!(c.write("short", &1, ttl).await);
    assert!(c.write("forever", &2, WriteOptions::new()).await);

    t.clock.advance(Duration::from_secs(59));
    assert_eq!(c.read::<i32>("short").await, Some(1));
    t.clock.advance(Duration::from_secs(1));
    assert_eq!(
        c.read::<i32>("short").await,
        None,
        "expired at exactly its expiry"
    );
    assert!(!c.exists("short").await);
    assert_eq!(c.read_multi::<i32>(&["short", "forever"]).await.len(), 1);
    assert!(c.inspect("short").await?.is_none());
    assert_eq!(c.read::<i32>("forever").await, Some(2));

    // A rewrite gives the key a fresh TTL.
    assert!(c.write("short", &3, ttl).await);
    assert_eq!(c.read::<i32>("short").await, Some(3));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unless_exist_writes_only_absent_or_expired_keys() -> TestResult {
    let t = open_cache(|_| {});
    let c = &t.cache;
    let once = WriteOptions::new().unless_exist();
    assert!(c.write("lock", "first", once).await);
    assert!(!c.write("lock", "second", once).await);
    assert_eq!(c.read::<String>("lock").await.as_deref(), Some("first"));

    let expiring = once.expires_in(Duration::from_secs(5));
    assert!(c.write("lease", "a", expiring).await);
    assert!(!c.write("lease", "b", expiring).await);
    t.clock.advance(Duration::from_secs(6));
    assert!(
        c.write("lease", "c", expiring).await,
        "an expired entry does not count"
    );
    assert_eq!(c.read::<String>("lease").await.as_deref(), Some("c"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn increments_are_atomic_under_concurrent_tasks_and_keep_the_ttl() -> TestResult {
    let t = open_cache(|_| {});
    let c = t.cache.clone();
    assert_eq!(
        c.increment("hits", 1, Some(Duration::from_secs(3600)))
            .await,
        Some(1)
    );
    let first = c.inspect("hits").await?.expect("entry");
    let expires_at = first.expires_at.expect("ttl set on creation");

    t.clock.advance(Duration::from_secs(10));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    assert!(
                        c.increment("hits", 1, Some(Duration::from_secs(5)))
                            .await
                            .is_some()
                    );
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    assert_eq!(c.read::<i64>("hits").await, Some(201));
    let after = c.inspect("hits").await?.expect("entry");
    assert_eq!(
        after.expires_at,
        Some(expires_at),
        "the original TTL is kept"
    );
    assert_eq!(after.created_at, first.created_at);

    assert_eq!(c.decrement("hits", 1, None).await, Some(200));
    assert_eq!(c.increment("hits", -50, None).await, Some(150));

    // A non-integer or expired entry starts again from zero with the new TTL.
    assert!(c.write("word", "abc", WriteOptions::new()).await);
    assert_eq!(c.increment("word", 5, None).await, Some(5));
    assert!(c.write("numeric", "41", WriteOptions::new()).await);
    assert_eq!(c.increment("numeric", 1, None).await, Some(42));
    t.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        c.increment("hits", 1, Some(Duration::from_secs(9))).await,
        Some(1)
    );
    let fresh = c.inspect("hits").await?.expect("entry");
    assert_eq!(
        fresh.expires_at,
        Some(t.clock.now() + Duration::from_secs(9))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_operations_read_write_and_delete_many_keys() -> TestResult {
    let t = open_cache(|_| {});
    let c = &t.cache;
    let entries: Vec<(&str, i32)> = vec![("a", 1), ("b", 2), ("c", 3)];
    assert!(c.write_multi(&entries, WriteOptions::new()).await);
    let got = c.read_multi::<i32>(&["a", "b", "c", "zz"]).await;
    assert_eq!(got.len(), 3);
    assert_eq!((got["a"], got["b"], got["c"]), (1, 2, 3));

    // unless_exist applies per key.
    let more: Vec<(&str, i32)> = vec![("a", 10), ("d", 4)];
    assert!(
        c.write_multi(&more, WriteOptions::new().unless_exist())
            .await
    );
    assert_eq!(c.read::<i32>("a").await, Some(1));
    assert_eq!(c.read::<i32>("d").await, Some(4));

    assert_eq!(c.delete_multi(&["a", "b", "zz"]).await, 2);
    let left = c.read_multi::<i32>(&["a", "b", "c", "d"]).await;
    assert_eq!(left.keys().count(), 2);
    assert!(left.contains_key("c") && left.contains_key("d"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_keys_are_hashed_to_the_limit_and_stay_distinct() -> TestResult {
    let t = open_cache(|_| {});
    let c = &t.cache;
    let long_a = format!("{}a", "k".repeat(3000));
    let long_b = format!("{}b", "k".repeat(3000));
    assert!(c.write(&long_a, "A", WriteOptions::new()).await);
    assert!(c.write(&long_b, "B", WriteOptions::new()).await);
    assert_eq!(c.read::<String>(&long_a).await.as_deref(), Some("A"));
    assert_eq!(c.read::<String>(&long_b).await.as_deref(), Some("B"));

    let lengths: Vec<i64> = t
        .stores
        .cache
        .sqlite()
        .expect("a file")
        .call(|conn| -> Result<_, trifecta::store::Error> {
            let mut stmt =
                conn.prepare("SELECT length(key) FROM solid_cache_entries ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<i64>, _>>()?)
        })
        .await?;
    assert_eq!(lengths, vec![MAX_KEY_BYTES as i64; 2]);
    assert!(c.delete(&long_a).await);
    assert_eq!(c.read::<String>(&long_b).await.as_deref(), Some("B"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_isolate_keys() -> TestResult {
    let t = open_cache(|o| o.namespace = Some("app".into()));
    let app = &t.cache;
    let other = app.with_namespace("other");
    let bare = app.with_namespace("");
    assert_eq!(app.namespace(), Some("app"));

    assert!(app.write("k", &1, WriteOptions::new()).await);
    assert!(other.write("k", &2, WriteOptions::new()).await);
    assert!(bare.write("k", &3, WriteOptions::new()).await);
    assert_eq!(app.read::<i32>("k").await, Some(1));
    assert_eq!(other.read::<i32>("k").await, Some(2));
    assert_eq!(bare.read::<i32>("k").await, Some(3));
    assert_eq!(
        bare.read::<i32>("app:k").await,
        Some(1),
        "stored as namespace:key"
    );

    assert!(other.delete("k").await);
    assert_eq!(other.read::<i32>("k").await, None);
    assert_eq!(app.read::<i32>("k").await, Some(1));
    assert_eq!(other.increment("k", 1, None).await, Some(1));
    assert_eq!(app.read::<i32>("k").await, Some(1));

    // clear empties the whole file, every namespace (as the gem).
    assert_eq!(app.clear().await?, 3);
    assert_eq!(bare.read::<i32>("k").await, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fetch_computes_once_for_many_concurrent_misses() -> TestResult {
    let t = open_cache(|_| {});
    let c = t.cache.clone();
    let computed = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Notify::new());
    let n = 50;
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (c, computed, gate) = (c.clone(), computed.clone(), gate.clone());
            tokio::spawn(async move {
                c.fetch("report", Some(Duration::from_secs(60)), || async move {
                    computed.fetch_add(1, Ordering::SeqCst);
                    gate.notified().await;
                    vec![1, 2, 3]
                })
                .await
            })
        })
        .collect();
    // Every task has missed and the computation is running: release it.
    wait_for("every task to miss", Duration::from_secs(10), || async {
        (c.misses() == n as u64 && computed.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    gate.notify_one();
    for task in tasks {
        assert_eq!(task.await?, vec![1, 2, 3]);
    }
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    assert_eq!(c.read::<Vec<i32>>("report").await, Some(vec![1, 2, 3]));

    // A hit does not compute.
    let again = c.fetch("report", None, || async { vec![9] }).await;
    assert_eq!(again, vec![1, 2, 3]);
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_try_fetch_is_not_cached() -> TestResult {
    let t = open_cache(|_| {});
    let c = &t.cache;
    let failed: Result<i32, &str> = c
        .try_fetch("k", None, || async { Err("backend down") })
        .await;
    assert_eq!(failed, Err("backend down"));
    assert_eq!(c.read::<i32>("k").await, None);
    let ok: Result<i32, &str> = c.try_fetch("k", None, || async { Ok(7) }).await;
    assert_eq!(ok, Ok(7));
    assert_eq!(c.read::<i32>("k").await, Some(7));
    Ok(())
}
