//! Hostile load against a `trifecta serve` child (issue 16): a burst of simultaneous wrong
//! passwords from one address, and slowloris connections that send half a request head
//! while an honest client keeps asking `/up`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::pipeline::{BoxError, Server};
use crate::support::Samples;

/// `burst` simultaneous wrong-password sign-ins from one address: how many reached a
/// password check (every answer that was not a 429) and how long the burst took.
pub async fn sign_in_burst(bin: &Path, burst: usize) -> Result<Value, BoxError> {
    let server = Server::start(bin, "instant").await?;
    let base = format!("http://{}", server.addr);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", "XSRF-TOKEN=bench".parse()?);
    headers.insert("x-xsrf-token", "bench".parse()?);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()?;
    let started = Instant::now();
    let attempts = (0..burst).map(|i| {
        let (client, base) = (client.clone(), base.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/session"))
                .form(&[
                    ("email_address", format!("user{i}@example.com")),
                    ("password", "not the password".to_owned()),
                ])
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    });
    let mut refused = 0;
    let mut checked = 0;
    let mut errors = 0;
    for a in futures_util::future::join_all(attempts).await {
        match a? {
            Ok(429) => refused += 1,
            Ok(_) => checked += 1,
            Err(_) => errors += 1,
        }
    }
    let took = started.elapsed();
    server.stop().await;
    Ok(json!({
        "burst": burst,
        "password_checks": checked,
        "refused": refused,
        "errors": errors,
        "took_ms": took.as_millis() as u64,
    }))
}

/// `n` connections that send half a request head and stall, then 50 `GET /up` from a
/// well-behaved client: their latency, and how many stalled connections the server had
/// closed after its header timeout.
pub async fn slowloris(bin: &Path, n: usize) -> Result<Value, BoxError> {
    let server = Server::start(bin, "instant").await?;
    let addr = server.addr;
    let mut stalled = Vec::with_capacity(n);
    let mut open_failed = 0;
    for i in 0..n {
        let source = std::net::Ipv4Addr::new(127, 0, 1, 1 + (i % 200) as u8);
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind((source, 0).into())?;
        match socket.connect(addr).await {
            Ok(mut s) => {
                let _ = s
                    .write_all(b"GET /todos HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .await;
                stalled.push(s);
            }
            Err(_) => open_failed += 1,
        }
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut up = Samples::default();
    let mut failed = 0;
    for _ in 0..50 {
        let t = Instant::now();
        match client.get(format!("http://{addr}/up")).send().await {
            Ok(r) if r.status().is_success() => up.push(t.elapsed()),
            _ => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
    drop(stalled);
    Ok(json!({
        "connections": n,
        "could_not_open": open_failed,
        "up": up.summary_ms(),
        "up_failed": failed,
    }))
}
