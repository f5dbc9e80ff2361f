//! Solid Cache on PostgreSQL under concurrency, against a real server
//! (`trifecta_store::pg::testing`): several servers (each its own pool) writing, deleting and
//! incrementing overlapping keys at once lose no write, never deadlock, and leave the exact
//! totals equal to what the table holds.

use std::time::Duration;

use trifecta_cache::{Cache, CacheOptions, WriteOptions};
use trifecta_store::pg::testing;
use trifecta_store::{Clock, Pg};

const KEYS: usize = 12;

async fn store(url: &str) -> Pg {
    testing::open("cache", url, 4, trifecta_cache::postgres_migrations)
        .await
        .expect("cache store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_servers_keep_exact_totals() {
    let url = testing::database().await.expect("test database");
    let options = CacheOptions {
        write_timeout: Duration::from_secs(10),
        read_timeout: Duration::from_secs(10),
        ..CacheOptions::default()
    };
    let servers = [
        Cache::new(store(&url).await, Clock::system(), options.clone()),
        Cache::new(store(&url).await, Clock::system(), options),
    ];
    let tasks: Vec<_> = (0..6)
        .map(|t| {
            let cache = servers[t % 2].clone();
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(t as u64);
                for _ in 0..150 {
                    let name = |rng: &mut fastrand::Rng| format!("k{}", rng.usize(..KEYS));
                    match rng.u8(..4) {
                        0 => {
                            let value = "x".repeat(rng.usize(1..200));
                            assert!(
                                cache
                                    .write(&name(&mut rng), &value, WriteOptions::new())
                                    .await,
                                "write dropped"
                            );
                        }
                        1 => {
                            // Several keys in one transaction, in an order of their own: two
                            // of these at once would deadlock on their rows without the
                            // totals lock taken first.
                            let (x, y) = (name(&mut rng), name(&mut rng));
                            let entries = [(x.as_str(), 1), (y.as_str(), 2)];
                            assert!(
                                cache.write_multi(&entries, WriteOptions::new()).await,
                                "write_multi dropped"
                            );
                        }
                        2 => {
                            let (x, y) = (name(&mut rng), name(&mut rng));
                            cache.try_delete(&x).await.expect("delete");
                            cache.delete_multi(&[y.as_str(), x.as_str()]).await;
                        }
                        _ => {
                            cache
                                .try_increment(&name(&mut rng), 1, None, Duration::from_secs(10))
                                .await
                                .expect("increment");
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer");
    }
    let stats = servers[0].stats().await.expect("stats");
    let pg = store(&url).await;
    let conn = pg.get().await.expect("conn");
    let row = conn
        .query_one(
            "SELECT count(*), coalesce(sum(byte_size), 0)::bigint FROM solid_cache_entries",
            &[],
        )
        .await
        .expect("count");
    let (entries, bytes): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(
        (stats.entries, stats.bytes),
        (entries as u64, bytes as u64),
        "totals against the table"
    );
    assert!(entries as usize <= KEYS);
}
