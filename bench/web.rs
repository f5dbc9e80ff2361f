//! `make bench`: throughput and latency of the web layer, in process on 127.0.0.1 with
//! 16 concurrent HTTP/1.1 clients: the HTML shell, an Inertia JSON visit, a brotli asset.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use trifecta::server::{self, Config};

const CONCURRENCY: usize = 16;

async fn run(
    label: &str,
    requests: usize,
    client: &reqwest::Client,
    url: String,
    headers: &[(&str, &str)],
) {
    let per_task = requests / CONCURRENCY;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let client = client.clone();
        let url = url.clone();
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                let t = Instant::now();
                let mut req = client.get(&url);
                for (k, v) in &headers {
                    req = req.header(k, v);
                }
                let res = req.send().await.unwrap();
                assert!(res.status().is_success());
                res.bytes().await.unwrap();
                times.push(t.elapsed());
            }
            times
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{label:<28} {:>8.0} req/s   p50 {:>7.2?}   p99 {:>7.2?}",
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99)
    );
}

fn main() {
    support::mark_checkout();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this as a quick smoke test.
    let full = std::env::args().any(|a| a == "--bench");
    let requests = if full { 4000 } else { 64 };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = server::start(Config::for_dir(dir.path()), listener)
            .await
            .unwrap();
        let base = format!("http://{}", running.addr);
        let client = reqwest::Client::builder()
            .no_gzip()
            .no_brotli()
            .no_zstd()
            .pool_max_idle_per_host(CONCURRENCY)
            .build()
            .unwrap();
        let html = client
            .get(&base)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let js = html
            .split('"')
            .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
            .unwrap()
            .to_owned();
        let version = running.state.site.inertia.version().to_owned();
        // Finish the startup precompression (idempotent) so assets are measured precompressed.
        if full {
            let _ = tokio::task::spawn_blocking(trifecta::web::warm_assets).await;
        }
        run(
            "GET / (HTML shell)",
            requests,
            &client,
            format!("{base}/"),
            &[],
        )
        .await;
        run(
            "GET /status (Inertia JSON)",
            requests,
            &client,
            format!("{base}/status"),
            &[("X-Inertia", "true"), ("X-Inertia-Version", &version)],
        )
        .await;
        run(
            "GET main.js (br, 93 KB)",
            requests,
            &client,
            format!("{base}{js}"),
            &[("Accept-Encoding", "br")],
        )
        .await;
        running.shutdown();
        running.wait().await.unwrap();
    });
}
