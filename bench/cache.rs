//! Cache latency and throughput, in-process, through the public async API (every operation
//! is one `Db::call`/`Db::write`, run in place on the runtime's worker). Prints p50/p99/max and ops/s for
//! get and set, hot and cold, one client and eight.
//!
//! `cargo bench --bench cache` (release profile). `CACHE_BENCH_SCALE=0.1` shortens it;
//! under `cargo test` it runs as a quick smoke test.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use trifecta::cache::{Cache, CacheOptions, WriteOptions};
use trifecta::store::{self, Clock, PoolOptions};
use trifecta::stores::Stores;

/// Value size of the diskcache benchmark shape (100-byte values).
const VALUE_BYTES: usize = 100;

struct Report {
    name: &'static str,
    samples: Vec<Duration>,
    wall: Duration,
    /// Keys per call: figures are per key (latency of a call divided by this).
    items: usize,
}

/// Every printed row's figures, by row name, for the report's goal checks.
static FIGURES: std::sync::Mutex<Vec<(&'static str, serde_json::Value)>> =
    std::sync::Mutex::new(Vec::new());

impl Report {
    fn print(mut self) {
        self.samples.sort();
        let n = self.samples.len();
        let per = self.items as u32;
        let at = |q: f64| self.samples[((n as f64 * q) as usize).min(n - 1)] / per;
        let ops = (n * self.items) as f64 / self.wall.as_secs_f64();
        println!(
            "{:<34} {:>8} ops  p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs  {:>9.0} ops/s",
            self.name,
            n * self.items,
            at(0.50).as_secs_f64() * 1e6,
            at(0.99).as_secs_f64() * 1e6,
            (self.samples[n - 1] / per).as_secs_f64() * 1e6,
            ops
        );
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        FIGURES.lock().unwrap().push((
            self.name,
            serde_json::json!({"p50_us": us(at(0.50)), "p99_us": us(at(0.99)), "ops_per_s": ops}),
        ));
    }
}

/// Runs `op(i)` for i in 0..n on `clients` concurrent tasks; per-op latencies and wall time.
async fn measure<F, Fut>(name: &'static str, n: usize, clients: usize, op: F) -> Report
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let per = n / clients;
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(per);
                for i in 0..per {
                    let t = Instant::now();
                    op(c * per + i).await;
                    samples.push(t.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(n);
    for t in tasks {
        samples.extend(t.await.unwrap());
    }
    Report {
        name,
        samples,
        wall: start.elapsed(),
        items: 1,
    }
}

fn scaled(n: usize) -> usize {
    // `cargo test --all-targets` runs this binary without `--bench`: a quick smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    let scale: f64 = std::env::var("CACHE_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 1.0 } else { 0.001 });
    ((n as f64 * scale) as usize).max(80)
}

fn main() {
    support::mark_checkout();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::open(dir.path(), "bench", &PoolOptions::default()).unwrap();
    let options = CacheOptions {
        max_size: Some(1 << 30),
        ..CacheOptions::default()
    };
    let cache = Cache::new(stores.cache.clone(), Clock::system(), options);
    let token = tokio_util::sync::CancellationToken::new();
    let background = tokio::spawn(cache.clone().run(token.clone()));
    let value = Arc::new("v".repeat(VALUE_BYTES - 2));
    let db = stores.cache.sqlite().expect("a file").clone();

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "trifecta cache bench: {} B values, WAL + synchronous=NORMAL, 2 runtime workers, {} CPUs, loadavg {}",
        VALUE_BYTES,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    // The floor every operation pays: one Db::call that does nothing.
    let d = db.clone();
    measure("Db::call (empty closure)", scaled(50_000), 1, move |_| {
        let d = d.clone();
        async move {
            d.call(|_| Ok::<_, store::Error>(())).await.unwrap();
        }
    })
    .await
    .print();

    let hot_keys = 1_000;
    let cold_keys = scaled(100_000);

    // set, cold: every key new (an INSERT, growing the file).
    let (c, v) = (cache.clone(), value.clone());
    measure("set cold (new keys)", cold_keys, 1, move |i| {
        let (c, v) = (c.clone(), v.clone());
        async move {
            assert!(
                c.write(&format!("cold:{i}"), v.as_str(), WriteOptions::new())
                    .await
            );
        }
    })
    .await
    .print();

    // The hot working set exists before it is overwritten or read.
    let hot: Vec<String> = (0..hot_keys).map(|i| format!("hot:{i}")).collect();
    let rows: Vec<(&str, &str)> = hot.iter().map(|k| (k.as_str(), value.as_str())).collect();
    assert!(cache.write_multi(&rows, WriteOptions::new()).await);

    // set, hot: overwrite a small working set.
    let (c, v) = (cache.clone(), value.clone());
    measure("set hot (overwrite 1k keys)", scaled(50_000), 1, move |i| {
        let (c, v) = (c.clone(), v.clone());
        async move {
            assert!(
                c.write(
                    &format!("hot:{}", i % hot_keys),
                    v.as_str(),
                    WriteOptions::new()
                )
                .await
            );
        }
    })
    .await
    .print();

    // get, hot: the same 1k keys, pages in SQLite's cache. Then as a request handler sees
    // it: other tasks ran since its last call (a yield before each read, included in the
    // time), so the read starts on a worker that must hand its queue over before running
    // the closure in place.
    for (name, n, switch) in [
        ("get hot (1k keys)", scaled(100_000), false),
        ("get hot, after a task switch", scaled(50_000), true),
    ] {
        let c = cache.clone();
        measure(name, n, 1, move |i| {
            let c = c.clone();
            async move {
                if switch {
                    tokio::task::yield_now().await;
                }
                assert!(
                    c.read::<String>(&format!("hot:{}", i % hot_keys))
                        .await
                        .is_some()
                );
            }
        })
        .await
        .print();
    }

    // get, cold: random keys over the whole file (larger than SQLite's page cache).
    let c = cache.clone();
    measure(
        "get cold (random of all keys)",
        scaled(100_000),
        1,
        move |_| {
            let c = c.clone();
            let k = fastrand::usize(..cold_keys);
            async move {
                assert!(c.read::<String>(&format!("cold:{k}")).await.is_some());
            }
        },
    )
    .await
    .print();

    let c = cache.clone();
    measure("get miss", scaled(50_000), 1, move |i| {
        let c = c.clone();
        async move {
            assert!(c.read::<String>(&format!("absent:{i}")).await.is_none());
        }
    })
    .await
    .print();

    // The engine's own cost, with the hop spread over 100 keys per call (figures per key).
    let c = cache.clone();
    let mut r = measure(
        "get hot via read_multi(100), per key",
        scaled(2_000),
        1,
        move |i| {
            let c = c.clone();
            async move {
                let keys: Vec<String> = (0..100)
                    .map(|j| format!("hot:{}", (i * 100 + j) % hot_keys))
                    .collect();
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                assert_eq!(c.read_multi::<String>(&refs).await.len(), 100);
            }
        },
    )
    .await;
    r.items = 100;
    r.print();

    let (c, v) = (cache.clone(), value.clone());
    let mut r = measure(
        "set hot via write_multi(100), per key",
        scaled(1_000),
        1,
        move |i| {
            let (c, v) = (c.clone(), v.clone());
            async move {
                let keys: Vec<String> = (0..100)
                    .map(|j| format!("hot:{}", (i * 100 + j) % hot_keys))
                    .collect();
                let rows: Vec<(&str, &str)> =
                    keys.iter().map(|k| (k.as_str(), v.as_str())).collect();
                assert!(c.write_multi(&rows, WriteOptions::new()).await);
            }
        },
    )
    .await;
    r.items = 100;
    r.print();

    // Eight concurrent clients.
    let c = cache.clone();
    measure("get hot, 8 clients", scaled(200_000), 8, move |i| {
        let c = c.clone();
        async move {
            assert!(
                c.read::<String>(&format!("hot:{}", i % hot_keys))
                    .await
                    .is_some()
            );
        }
    })
    .await
    .print();

    let (c, v) = (cache.clone(), value.clone());
    measure("set hot, 8 clients", scaled(50_000), 8, move |i| {
        let (c, v) = (c.clone(), v.clone());
        async move {
            assert!(
                c.write(
                    &format!("hot:{}", i % hot_keys),
                    v.as_str(),
                    WriteOptions::new()
                )
                .await
            );
        }
    })
    .await
    .print();

    // The diskcache shape: 10 gets per set, 1 % deletes, one client.
    let (c, v) = (cache.clone(), value.clone());
    measure(
        "mixed 90/9/1 get/set/delete",
        scaled(100_000),
        1,
        move |i| {
            let (c, v) = (c.clone(), v.clone());
            let k = format!("hot:{}", fastrand::usize(..hot_keys));
            async move {
                match i % 100 {
                    0 => {
                        c.delete(&k).await;
                    }
                    1..=9 => {
                        c.write(&k, v.as_str(), WriteOptions::new()).await;
                    }
                    _ => {
                        c.read::<String>(&k).await;
                    }
                }
            }
        },
    )
    .await
    .print();

    let stats = cache.stats().await.unwrap();
    println!(
        "entries {}  bytes {}  hits {}  misses {}",
        stats.entries, stats.bytes, stats.hits, stats.misses
    );
    token.cancel();
    background.await.unwrap();
    let figures: serde_json::Map<_, _> = FIGURES
        .lock()
        .unwrap()
        .drain(..)
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    support::write_figures(&serde_json::Value::Object(figures)).unwrap();
}
