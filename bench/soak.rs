//! `make soak`: mixed traffic against the release binary for 10 minutes (`SOAK_SECS`), with a
//! `kill -9` and a restart on the same storage every 30 s (`SOAK_KILL_EVERY`). Writers add
//! todos, a deleter removes the oldest, readers load the page, honest sockets follow the
//! board and hostile sockets hold 100 subscriptions each without ever reading.
//!
//! It ends with the checks that matter: every acknowledged write is there (and every
//! acknowledged delete gone), `PRAGMA integrity_check` is `ok` on all four files, no broadcast
//! job is left, and the server's RSS at the end of the last cycle is within 20 % of the first.
//! The figures go to `target/bench/soak.json`; a failed check exits non-zero.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it is a seconds-long smoke run.

#![allow(clippy::print_stdout, missing_docs)]

mod pipeline;
mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use pipeline::{BoxError, listening_addr, post_todo, sign_up, spawn_serve, subscribe};
use support::ws::cable_request;

const STORES: [&str; 4] = ["soak", "soak_queue", "soak_cache", "soak_cable"];

/// A `trifecta serve` child on a storage dir that outlives it.
struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Proc {
    async fn start(bin: &Path, dir: &Path) -> Result<Proc, BoxError> {
        let (child, mut lines) = spawn_serve(bin, dir, "soak", &[])?;
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(a) = listening_addr(&line) {
                    return Ok::<_, BoxError>(a);
                }
            }
            Err("server exited before listening".into())
        })
        .await??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Proc { child, addr })
    }

    fn rss_kb(&self) -> u64 {
        let pid = self.child.id().unwrap_or(0);
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }

    /// `kill -9`.
    async fn crash(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, then waits for the exit.
    async fn stop(mut self) -> Result<(), BoxError> {
        if let Some(pid) = self.child.id() {
            std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()?;
        }
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??;
        if status.success() {
            Ok(())
        } else {
            Err(format!("server exited with {status} after SIGTERM").into())
        }
    }
}

/// What the clients were told, per title.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Told {
    /// The write was acknowledged.
    Written,
    /// A delete was sent but not acknowledged (the server may have died after its commit).
    DeleteSent,
    /// The delete was acknowledged.
    Deleted,
}

type Acked = Arc<Mutex<HashMap<String, Told>>>;

#[derive(Default)]
struct Counts {
    writes: u64,
    deletes: u64,
    reads: u64,
    errors: u64,
    frames: u64,
}

/// One cycle of traffic against `addr` until `until`.
async fn traffic(
    addr: SocketAddr,
    client: &reqwest::Client,
    xsrf: &str,
    session: &str,
    acked: &Acked,
    next: &Arc<std::sync::atomic::AtomicU64>,
    until: Instant,
) -> Counts {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let mut tasks = tokio::task::JoinSet::new();
    let base = format!("http://{addr}");
    for _ in 0..4 {
        let (client, xsrf, acked, next, counts) = (
            client.clone(),
            xsrf.to_owned(),
            acked.clone(),
            next.clone(),
            counts.clone(),
        );
        tasks.spawn(async move {
            while Instant::now() < until {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // `bench-<n>`: the honest sockets count frames that carry such titles.
                let title = format!("bench-{n}");
                let res = post_todo(&client, addr, &xsrf, &title).await;
                let ok = matches!(&res, Ok(r) if acknowledged(r));
                if ok {
                    acked.lock().expect("lock").insert(title, Told::Written);
                }
                {
                    let mut c = counts.lock().expect("lock");
                    c.writes += u64::from(ok);
                    c.errors += u64::from(!ok);
                }
                if !ok {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
    }
    // Reader and deleter: load the page as Inertia does and delete its oldest todo.
    {
        let (client, xsrf, base, acked, counts) = (
            client.clone(),
            xsrf.to_owned(),
            base.clone(),
            acked.clone(),
            counts.clone(),
        );
        tasks.spawn(async move {
            let mut version = String::new();
            while Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if version.is_empty() {
                    version = asset_version(&client, &base).await.unwrap_or_default();
                    continue;
                }
                let page = client
                    .get(format!("{base}/todos"))
                    .header("x-inertia", "true")
                    .header("x-inertia-version", &version)
                    .send()
                    .await;
                let Ok(page) = page else { continue };
                let Ok(page) = page.json::<Value>().await else {
                    continue;
                };
                counts.lock().expect("lock").reads += 1;
                let Some(oldest) = page["props"]["todos"].as_array().and_then(|t| t.last()) else {
                    continue;
                };
                let (Some(id), Some(title)) = (oldest["id"].as_str(), oldest["title"].as_str())
                else {
                    continue;
                };
                acked
                    .lock()
                    .expect("lock")
                    .insert(title.to_owned(), Told::DeleteSent);
                let res = client
                    .delete(format!("{base}/todos/{id}"))
                    .header("x-xsrf-token", &xsrf)
                    .send()
                    .await;
                if matches!(&res, Ok(r) if acknowledged(r)) {
                    acked
                        .lock()
                        .expect("lock")
                        .insert(title.to_owned(), Told::Deleted);
                    counts.lock().expect("lock").deletes += 1;
                }
            }
        });
    }
    // Honest subscribers count frames; hostile ones subscribe 100 times and never read.
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..5 {
        let (session, tx) = (session.to_owned(), tx.clone());
        tasks.spawn(async move {
            let _ = subscribe(addr, i, &session, tx).await;
        });
    }
    drop(tx);
    let mut hostile = Vec::new();
    for _ in 0..5 {
        if let Ok(ws) = hostile_socket(addr, session).await {
            hostile.push(ws);
        }
    }
    while let Some(joined) = tasks.join_next().await {
        let _ = joined;
    }
    drop(hostile);
    let mut frames = 0;
    while rx.try_recv().is_ok() {
        frames += 1;
    }
    let mut c = std::mem::take(&mut *counts.lock().expect("lock"));
    c.frames = frames;
    c
}

/// The Inertia asset version, from the page object of a first full-page load.
async fn asset_version(client: &reqwest::Client, base: &str) -> Option<String> {
    let html = client
        .get(format!("{base}/todos"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let at = html.find("\"version\":\"")? + "\"version\":\"".len();
    let len = html[at..].find('"')?;
    Some(html[at..at + len].to_owned())
}

/// A change the server made answers with a redirect back to the board (302, or 303 on
/// Inertia visits); titles here are always valid, so nothing is refused.
fn acknowledged(r: &reqwest::Response) -> bool {
    r.status().is_redirection() && r.headers().get("location").is_some_and(|l| l == "/todos")
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket with 100 board subscriptions under distinct identifiers that never reads.
async fn hostile_socket(addr: SocketAddr, session: &str) -> Result<Ws, BoxError> {
    let (mut ws, _) = tokio_tungstenite::connect_async(cable_request(addr, session)?).await?;
    for n in 0..100 {
        let identifier = json!({"channel": "TodosChannel", "n": n}).to_string();
        let cmd = json!({"command": "subscribe", "identifier": identifier});
        ws.send(Message::Text(cmd.to_string().into())).await?;
    }
    Ok(ws)
}

/// Every broadcast sent and no broadcast job left.
fn drained(dir: &Path) -> Result<bool, BoxError> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let app = rusqlite::Connection::open_with_flags(dir.join("soak.sqlite3"), flags)?;
    let (version, sent): (i64, i64) = app.query_row(
        "SELECT version, broadcast_version FROM todo_board",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let queue = rusqlite::Connection::open_with_flags(dir.join("soak_queue.sqlite3"), flags)?;
    let waiting: i64 = queue.query_row(
        "SELECT (SELECT count(*) FROM solid_queue_ready_executions)
              + (SELECT count(*) FROM solid_queue_blocked_executions)
              + (SELECT count(*) FROM solid_queue_claimed_executions)
              + (SELECT count(*) FROM solid_queue_failed_executions)",
        [],
        |r| r.get(0),
    )?;
    Ok(version == sent && waiting == 0)
}

/// `(lost writes, resurrected deletes)` against what the database holds now.
fn lost(dir: &Path, acked: &HashMap<String, Told>) -> Result<(Vec<String>, Vec<String>), BoxError> {
    let conn = rusqlite::Connection::open(dir.join("soak.sqlite3"))?;
    let mut stmt = conn.prepare("SELECT title FROM todos")?;
    let present: std::collections::HashSet<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut missing = Vec::new();
    let mut back = Vec::new();
    for (title, told) in acked {
        match (told, present.contains(title)) {
            (Told::Written, false) => missing.push(title.clone()),
            (Told::Deleted, true) => back.push(title.clone()),
            _ => {}
        }
    }
    Ok((missing, back))
}

fn integrity(dir: &Path) -> Result<Vec<(String, String)>, BoxError> {
    STORES
        .iter()
        .map(|name| {
            let conn = rusqlite::Connection::open(dir.join(format!("{name}.sqlite3")))?;
            let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            Ok(((*name).to_owned(), ok))
        })
        .collect()
}

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

fn main() -> Result<(), BoxError> {
    let full = std::env::args().any(|a| a == "--bench");
    let (length, every) = if full {
        (env_secs("SOAK_SECS", 600), env_secs("SOAK_KILL_EVERY", 30))
    } else {
        (Duration::from_secs(4), Duration::from_secs(2))
    };
    let _ = rlimit::increase_nofile_limit(65_536);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_trifecta"));
    let rt = tokio::runtime::Runtime::new()?;
    let report = rt.block_on(soak(&bin, length, every))?;
    let out = support::out_dir().join(if full { "soak.json" } else { "soak-smoke.json" });
    std::fs::write(&out, serde_json::to_string_pretty(&report)?)?;
    println!("# trifecta soak\n");
    println!(
        "{} s of mixed traffic, `kill -9` every {} s ({} restarts): {} acknowledged writes, \
         {} acknowledged deletes, {} page reads, {} frames to honest sockets, {} failed \
         requests (while the server was down).\n",
        report["seconds"],
        report["kill_every_s"],
        report["restarts"],
        report["writes"],
        report["deletes"],
        report["reads"],
        report["frames"],
        report["errors"],
    );
    println!(
        "- acknowledged writes lost: {}; deleted todos back: {}\n- integrity_check: {}\n\
         - broadcast backlog drained: {}\n- RSS at the end of the first cycle {} MB, of the \
         last {} MB (within 20 %: {})\n\nJSON: `{}`",
        report["lost"],
        report["resurrected"],
        report["integrity"],
        report["drained"],
        report["rss_first_mb"],
        report["rss_last_mb"],
        report["rss_within_20_percent"],
        out.display()
    );
    if report["passed"] == true {
        println!("\nsoak: passed");
        Ok(())
    } else {
        Err("soak: a check failed (see above)".into())
    }
}

async fn soak(bin: &Path, length: Duration, every: Duration) -> Result<Value, BoxError> {
    let dir = tempfile::tempdir()?;
    let mut server = Proc::start(bin, dir.path()).await?;
    let (client, xsrf, session) = sign_up(server.addr).await?;
    let acked: Acked = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
    let started = Instant::now();
    let mut totals = Counts::default();
    let mut rss = Vec::new();
    let mut restarts = 0;
    loop {
        let until = Instant::now() + every;
        let last = started.elapsed() + every >= length;
        // The kill lands in the middle of the traffic: requests are in flight, jobs run.
        let crash_at = Instant::now() + every.mul_f64(0.8);
        let run = traffic(server.addr, &client, &xsrf, &session, &acked, &next, until);
        tokio::pin!(run);
        let c = if last {
            run.await
        } else {
            tokio::select! {
                c = &mut run => c,
                () = tokio::time::sleep_until(crash_at.into()) => {
                    rss.push(server.rss_kb());
                    server.crash().await;
                    run.await
                }
            }
        };
        totals.writes += c.writes;
        totals.deletes += c.deletes;
        totals.reads += c.reads;
        totals.errors += c.errors;
        totals.frames += c.frames;
        if last {
            rss.push(server.rss_kb());
            break;
        }
        server = Proc::start(bin, dir.path()).await?;
        restarts += 1;
    }
    // Let the last changes go out, then stop cleanly and look at the files.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut is_drained = false;
    while Instant::now() < deadline {
        let d = dir.path().to_owned();
        if tokio::task::spawn_blocking(move || drained(&d)).await?? {
            is_drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await?;
    let acked = acked.lock().expect("lock").clone();
    let (missing, back) = lost(dir.path(), &acked)?;
    let checks = integrity(dir.path())?;
    let integrity_ok = checks.iter().all(|(_, r)| r == "ok");
    let first = rss.first().copied().unwrap_or(0) as f64;
    let last = rss.last().copied().unwrap_or(0) as f64;
    let rss_ok = first > 0.0 && last <= first * 1.2;
    let mb = |kb: f64| (kb / 1024.0 * 10.0).round() / 10.0;
    let passed = missing.is_empty() && back.is_empty() && integrity_ok && is_drained && rss_ok;
    Ok(json!({
        "seconds": started.elapsed().as_secs(),
        "kill_every_s": every.as_secs(),
        "restarts": restarts,
        "writes": totals.writes,
        "deletes": totals.deletes,
        "reads": totals.reads,
        "errors": totals.errors,
        "frames": totals.frames,
        "lost": missing.len(),
        "lost_titles": missing.iter().take(20).collect::<Vec<_>>(),
        "resurrected": back.len(),
        "integrity": checks.iter().map(|(n, r)| format!("{n}: {r}")).collect::<Vec<_>>().join(", "),
        "drained": is_drained,
        "rss_mb_per_cycle": rss.iter().map(|kb| mb(*kb as f64)).collect::<Vec<_>>(),
        "rss_first_mb": mb(first),
        "rss_last_mb": mb(last),
        "rss_within_20_percent": rss_ok,
        "passed": passed,
    }))
}
