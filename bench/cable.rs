//! Broadcast → received latency through `/cable` to 1, 100, 1,000 and 10,000 subscribed
//! sockets on loopback, with instant wake and with pure 100 ms polling (and, at 1,000 and
//! 10,000, instant on the extended protocol, whose frames carry offsets); the server's
//! resident memory per idle subscribed socket; and the hostile case of issue #16: 1,000
//! non-reading sockets with 100 subscriptions each while changes flow to 100 honest sockets
//! (server RSS and honest percentiles); and the catch-up of 1,000 clients on the extended
//! protocol that each missed 20 broadcasts while the server was killed and restarted
//! (`resume.rs`).
//!
//! The server runs in a child process (this same binary with `CABLE_BENCH_ROLE=server`) so
//! its RSS is its own; the driver process holds the client sockets, spread over several
//! 127.0.0.x source addresses. A broadcast is ordered over the child's stdin (it calls
//! `Cable::broadcast`, as the app does) and timed from that write until each socket has
//! the frame. Both processes share the machine's cores.
//!
//! `make bench` (or `cargo bench --bench cable`). `CABLE_BENCH_MAX=1000` stops at 1,000
//! sockets; `CABLE_BENCH_ONLY=hostile` runs only the hostile case, `=resume` only the
//! catch-up; `=idle50k` (or `=idle50k-ext`) only the 50,000-socket step (`fanout.rs`), which
//! the full run includes.
//! Without `--bench` (as `cargo test --all-targets` runs it) it is a one-socket smoke run.

mod fanout;
mod pipeline;
mod resume;
mod support;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::mpsc;
use trifecta::actioncable::{Channel, Context};
use trifecta::config::WakeMode;

use support::ws;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const IDENTIFIER: &str = r#"{"channel":"BenchChannel"}"#;
const SOURCES: u8 = 4;

struct BenchChannel;

#[async_trait::async_trait]
impl Channel for BenchChannel {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        ctx.stream_from("bench");
    }
}

fn main() -> Result<(), BoxError> {
    support::mark_checkout();
    fanout::raise_fd_limit(fanout::WANT_FDS);
    if std::env::var("CABLE_BENCH_ROLE").as_deref() == Ok("client") {
        return fanout::client_main();
    }
    // The server runs on the binary's runtime; the driver on a default one.
    let runtime = if std::env::var("CABLE_BENCH_ROLE").as_deref() == Ok("server") {
        trifecta::server::runtime()?
    } else {
        tokio::runtime::Runtime::new()?
    };
    if std::env::var("CABLE_BENCH_ROLE").as_deref() == Ok("server") {
        runtime.block_on(server())
    } else {
        runtime.block_on(driver())
    }
}

/// The child: a real server; commands on stdin (`b SEQ`, `rss`, `sockets`, `saved`, `quit`).
async fn server() -> Result<(), BoxError> {
    // `CABLE_BENCH_DIR` and `CABLE_BENCH_BIND`: a restarted server keeps its storage and port.
    let temp = tempfile::tempdir()?;
    let dir =
        std::env::var_os("CABLE_BENCH_DIR").map_or_else(|| temp.path().to_owned(), Into::into);
    let mut config = trifecta::server::Config::for_dir(&dir);
    config.serve.wake = match std::env::var("CABLE_BENCH_WAKE").as_deref() {
        Ok("poll") => WakeMode::Poll,
        _ => WakeMode::Instant,
    };
    let bind = std::env::var("CABLE_BENCH_BIND").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = trifecta::server::bind(bind.parse()?)?;
    let mut extras = trifecta::server::Extras::default();
    extras.channels.register("BenchChannel", || BenchChannel);
    let running = trifecta::server::start_with(config, listener, extras).await?;
    // The server precompresses its assets once at start-up (tens of MB for a moment);
    // finish that before the memory per socket is measured from a baseline.
    tokio::task::spawn_blocking(trifecta::web::warm_assets).await?;
    let cable = running.state.cable.clone();
    let mut out = std::io::stdout();
    writeln!(out, "listening {}", running.addr)?;
    out.flush()?;
    let pad = "x".repeat(160);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("b"), Some(seq)) => {
                let seq: u64 = seq.parse()?;
                cable
                    .broadcast("bench", &json!({"seq": seq, "pad": pad}))
                    .await?;
            }
            (Some("rss"), _) => {
                writeln!(out, "rss {}", rss_kib()?)?;
                out.flush()?;
            }
            (Some("saved"), _) => {
                let saved = running.state.actioncable.stats().saved_sessions;
                writeln!(out, "saved {saved}")?;
                out.flush()?;
            }
            (Some("sockets"), _) => {
                let open = running.state.actioncable.stats().connections;
                writeln!(out, "sockets {open}")?;
                out.flush()?;
            }
            _ => break,
        }
    }
    running.shutdown();
    running.wait().await?;
    Ok(())
}

fn rss_kib() -> Result<u64, BoxError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    addr: SocketAddr,
}

impl Server {
    async fn spawn(wake: &str) -> Result<Server, BoxError> {
        Self::spawn_with(wake, &[]).await
    }

    /// As [`Server::spawn`], with extra environment (`CABLE_BENCH_DIR`, `CABLE_BENCH_BIND`).
    async fn spawn_with(wake: &str, vars: &[(&str, String)]) -> Result<Server, BoxError> {
        // `CABLE_BENCH_WRAP="heaptrack -o /tmp/cable"`: the server runs under that command.
        let wrap = std::env::var("CABLE_BENCH_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut c = tokio::process::Command::new(program);
                c.args(words).arg(std::env::current_exe()?);
                c
            }
            None => tokio::process::Command::new(std::env::current_exe()?),
        };
        let mut child = command
            .env("CABLE_BENCH_ROLE", "server")
            .env("CABLE_BENCH_WAKE", wake)
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or("stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("stdout")?).lines();
        // A wrapper may print lines of its own first.
        let addr = loop {
            let line = stdout.next_line().await?.ok_or("server exited")?;
            if let Some(addr) = line.strip_prefix("listening ") {
                break addr.parse()?;
            }
        };
        Ok(Server {
            child,
            stdin,
            stdout,
            addr,
        })
    }

    async fn broadcast(&mut self, seq: u64) -> Result<(), BoxError> {
        self.stdin
            .write_all(format!("b {seq}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        Ok(())
    }

    async fn rss_kib(&mut self) -> Result<u64, BoxError> {
        self.stdin.write_all(b"rss\n").await?;
        self.stdin.flush().await?;
        let line = self.stdout.next_line().await?.ok_or("server exited")?;
        Ok(line.trim_start_matches("rss ").parse()?)
    }

    /// Sessions the server has saved (extended protocol).
    async fn saved(&mut self) -> Result<u64, BoxError> {
        self.stdin.write_all(b"saved\n").await?;
        self.stdin.flush().await?;
        let line = self.stdout.next_line().await?.ok_or("server exited")?;
        Ok(line.trim_start_matches("saved ").parse()?)
    }

    /// The server's open cable sockets.
    async fn sockets(&mut self) -> Result<usize, BoxError> {
        self.stdin.write_all(b"sockets\n").await?;
        self.stdin.flush().await?;
        let line = self.stdout.next_line().await?.ok_or("server exited")?;
        Ok(line.trim_start_matches("sockets ").parse()?)
    }

    async fn stop(mut self) -> Result<(), BoxError> {
        self.stdin.write_all(b"quit\n").await?;
        self.child.wait().await?;
        Ok(())
    }
}

/// Opens one subscribed socket from `source`; its reader reports `(seq, when)` for each
/// broadcast frame.
async fn connect(
    addr: SocketAddr,
    source: Ipv4Addr,
    session: String,
    ext: bool,
    seen: mpsc::UnboundedSender<(u64, Instant)>,
) -> Result<(), BoxError> {
    let mut ws = if ext {
        ws::open_ext(addr, source, &session, None).await?
    } else {
        ws::open(addr, source, &session).await?
    };
    ws::subscribe(&mut ws, [IDENTIFIER]).await?;
    ws::read_text(ws, move |frame| {
        // A substring scan, not a JSON parse: the client's CPU is the server's too.
        if let Some(seq) = seq_of(frame) {
            let _ = seen.send((seq, Instant::now()));
        }
    });
    Ok(())
}

fn seq_of(frame: &str) -> Option<u64> {
    let at = frame.find(r#""seq":"#)? + 6;
    let digits: &str = &frame[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// A tiny LCG, for jitter between samples (so polling is sampled at every phase).
struct Jitter(u64);

impl Jitter {
    fn next(&mut self, max: Duration) -> Duration {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        max.mul_f64((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }
}

async fn driver() -> Result<(), BoxError> {
    // `cargo test --all-targets` runs this without `--bench`: a one-socket smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let max: usize = std::env::var("CABLE_BENCH_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 1 } else { 10_000 });
    let steps: Vec<usize> = [1, 100, 1_000, 10_000]
        .into_iter()
        .filter(|n| *n <= max)
        .collect();
    let mut out = std::io::stdout();
    writeln!(
        out,
        "| wake | sockets | samples | p50 ms | p95 ms | p99 ms | all-received p50 ms | all-received p95 ms |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    let mut memory = Vec::new();
    let mut figures = serde_json::Map::new();
    // `CABLE_BENCH_ONLY=hostile` (or `resume`) runs that case alone (for profiling it).
    let only = std::env::var("CABLE_BENCH_ONLY").unwrap_or_default();
    // `instant-ext`: the instant fan-out again on the extended protocol (frames with
    // `stream_id`, `epoch`, `offset`), at 1,000 sockets and up.
    let wakes: &[&str] = if only.is_empty() {
        &["instant", "poll", "instant-ext"]
    } else {
        &[]
    };
    for &label in wakes {
        let (wake, ext) = match label {
            "instant-ext" => ("instant", true),
            other => (other, false),
        };
        let mut server = Server::spawn(wake).await?;
        let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
        // `/cable` admits signed-in users only: sign one up and share its session cookie.
        let session = pipeline::sign_up(server.addr).await?.2;
        let base_rss = server.rss_kib().await?;
        let mut open = 0usize;
        let mut seq = 0u64;
        let mut jitter = Jitter(42);
        for &n in steps.iter().filter(|&&n| !ext || n >= 1_000 || smoke) {
            while open < n {
                let batch = (n - open).min(250);
                let mut joins = Vec::with_capacity(batch);
                for i in 0..batch {
                    let source = ws::source(open + i, SOURCES);
                    joins.push(tokio::spawn(connect(
                        server.addr,
                        source,
                        session.clone(),
                        ext,
                        seen_tx.clone(),
                    )));
                }
                for j in joins {
                    j.await??;
                }
                open += batch;
            }
            if label == "instant" {
                let rss = server.rss_kib().await?;
                memory.push((n, rss.saturating_sub(base_rss) * 1024 / n as u64, rss));
            }
            let samples = match (wake, n) {
                _ if smoke => 5,
                (_, 10_000) => 20,
                ("poll", _) => 50,
                (_, 1_000) => 100,
                _ => 300,
            };
            let mut each = Vec::new();
            let mut all = Vec::new();
            for s in 0..samples + 3 {
                tokio::time::sleep(jitter.next(Duration::from_millis(if wake == "poll" {
                    100
                } else {
                    10
                })))
                .await;
                seq += 1;
                let t0 = Instant::now();
                server.broadcast(seq).await?;
                let mut got = 0;
                let mut last = t0;
                while got < n {
                    // Drain without a timer while frames are queued; a timer per receipt
                    // would cost the shared cores 10,000 registrations per broadcast.
                    let (s_seq, at) = match seen_rx.try_recv() {
                        Ok(x) => x,
                        Err(_) => tokio::time::timeout(Duration::from_secs(20), seen_rx.recv())
                            .await?
                            .ok_or("readers gone")?,
                    };
                    if s_seq != seq {
                        continue;
                    }
                    got += 1;
                    last = last.max(at);
                    if s >= 3 {
                        each.push(at.saturating_duration_since(t0));
                    }
                }
                if s >= 3 {
                    all.push(last.saturating_duration_since(t0));
                }
            }
            each.sort();
            all.sort();
            let f = |d: Duration| d.as_secs_f64() * 1000.0;
            figures.insert(
                format!("{label}_{n}"),
                json!({
                    "p50_ms": f(percentile(&each, 0.50)),
                    "p95_ms": f(percentile(&each, 0.95)),
                    "p99_ms": f(percentile(&each, 0.99)),
                    "all_received_p95_ms": f(percentile(&all, 0.95)),
                }),
            );
            writeln!(
                out,
                "| {label} | {n} | {samples} | {} | {} | {} | {} | {} |",
                ms(percentile(&each, 0.50)),
                ms(percentile(&each, 0.95)),
                ms(percentile(&each, 0.99)),
                ms(percentile(&all, 0.50)),
                ms(percentile(&all, 0.95)),
            )?;
            out.flush()?;
        }
        server.stop().await?;
    }
    // What offsets cost: the extended protocol's fan-out p95 as % of the plain one.
    for n in [1_000, 10_000] {
        let p95 = |key: String| figures.get(&key).and_then(|f| f["p95_ms"].as_f64());
        if let (Some(plain), Some(ext)) =
            (p95(format!("instant_{n}")), p95(format!("instant-ext_{n}")))
        {
            figures.insert(
                format!("ext_overhead_{n}"),
                json!({ "pct": ext / plain * 100.0 }),
            );
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "| idle subscribed sockets | server RSS KiB | bytes per socket |"
    )?;
    writeln!(out, "|---|---|---|")?;
    for (n, per, rss) in memory {
        writeln!(out, "| {n} | {rss} | {per} |")?;
        figures.insert(
            format!("idle_socket_{n}"),
            json!({ "bytes": per, "kb": per as f64 / 1000.0 }),
        );
    }
    if only.is_empty() || only == "hostile" {
        let hostile = hostile(smoke, &mut out).await?;
        figures.insert("hostile_1000".to_owned(), hostile);
    }
    if only.is_empty() || only == "resume" {
        let resumed = resume::catch_up(smoke, &mut out).await?;
        figures.insert("resume_1000".to_owned(), resumed);
    }
    // The full run's 50,000 sockets (`CABLE_BENCH_MAX` below 10,000 leaves them out).
    if (only.is_empty() && (smoke || max >= 10_000)) || only == "idle50k" {
        let idle = fanout::idle(smoke, false, &mut out).await?;
        figures.insert("idle_50000".to_owned(), idle);
    }
    if only == "idle50k-ext" {
        let idle = fanout::idle(smoke, true, &mut out).await?;
        figures.insert("idle_50000_ext".to_owned(), idle);
    }
    support::write_figures(&serde_json::Value::Object(figures))?;
    Ok(())
}

/// Issue #16's hostile case: sockets of one signed-in user that subscribe 100 times each
/// (identifiers differing in a param) and never read again, while changes flow to 100
/// honest sockets. Reports the server's peak RSS, its RSS once the hostile sockets closed,
/// and the honest sockets' broadcast → received percentiles.
async fn hostile(smoke: bool, out: &mut std::io::Stdout) -> Result<serde_json::Value, BoxError> {
    let (n_hostile, n_honest, samples) = if smoke { (2, 1, 5) } else { (1_000, 100, 200) };
    let mut server = Server::spawn("instant").await?;
    let session = pipeline::sign_up(server.addr).await?.2;
    let base_rss = server.rss_kib().await?;
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    for i in 0..n_honest {
        let source = ws::source(i, SOURCES);
        connect(server.addr, source, session.clone(), false, seen_tx.clone()).await?;
    }
    let mut sockets = Vec::with_capacity(n_hostile);
    for chunk in (0..n_hostile).collect::<Vec<_>>().chunks(50) {
        let mut joins = Vec::new();
        for &i in chunk {
            let source = ws::source(i, SOURCES);
            joins.push(tokio::spawn(connect_hostile(
                server.addr,
                source,
                session.clone(),
            )));
        }
        for j in joins {
            sockets.push(j.await??);
        }
    }
    let subscribed = server.rss_kib().await?;
    let mut peak = subscribed;
    let mut each = Vec::new();
    let mut jitter = Jitter(7);
    // `CABLE_BENCH_TRACE=1`: each broadcast's slowest honest delivery, on stderr.
    let trace = std::env::var_os("CABLE_BENCH_TRACE").is_some();
    let started = Instant::now();
    for seq in 1..=samples as u64 {
        tokio::time::sleep(Duration::from_millis(10) + jitter.next(Duration::from_millis(20)))
            .await;
        let t0 = Instant::now();
        server.broadcast(seq).await?;
        let mut got = 0;
        let mut worst = Duration::ZERO;
        while got < n_honest {
            let (s_seq, at) = tokio::time::timeout(Duration::from_secs(20), seen_rx.recv())
                .await?
                .ok_or("readers gone")?;
            if s_seq == seq {
                got += 1;
                worst = worst.max(at.saturating_duration_since(t0));
                each.push(at.saturating_duration_since(t0));
            }
        }
        if trace {
            eprintln!(
                "seq {seq} at {:?}: slowest honest {worst:?}",
                started.elapsed()
            );
        }
        if seq % 10 == 0 {
            peak = peak.max(server.rss_kib().await?);
        }
    }
    peak = peak.max(server.rss_kib().await?);
    drop(sockets);
    // Wait until the server has seen every hostile socket go, then for its memory beat
    // (once a second) to give the freed memory back: at once, and again once the threads
    // that served the crowd left the blocking pool (2 s idle).
    let closing = Instant::now();
    while server.sockets().await? > n_honest {
        if closing.elapsed() > Duration::from_secs(60) {
            return Err("the hostile sockets were not closed within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(5_000)).await;
    let after = server.rss_kib().await?;
    if trace {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            eprintln!(
                "after close: rss {} KiB, sockets {}",
                server.rss_kib().await?,
                server.sockets().await?
            );
        }
    }
    server.stop().await?;
    each.sort();
    let mib = |kib: u64| kib as f64 / 1024.0;
    writeln!(out)?;
    writeln!(
        out,
        "| hostile sockets × 100 subscriptions | honest sockets | broadcasts | base RSS MiB | subscribed RSS MiB | peak RSS MiB | RSS after close MiB | honest p50 ms | honest p99 ms |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    writeln!(
        out,
        "| {n_hostile} | {n_honest} | {samples} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
        mib(base_rss),
        mib(subscribed),
        mib(peak),
        mib(after),
        ms(percentile(&each, 0.50)),
        ms(percentile(&each, 0.99)),
    )?;
    out.flush()?;
    Ok(json!({
        "hostile": n_hostile,
        "rss_mb": peak as f64 * 1024.0 / 1e6,
        "rss_after_close_mb": after as f64 * 1024.0 / 1e6,
        "honest_p50_ms": percentile(&each, 0.50).as_secs_f64() * 1000.0,
        "honest_p99_ms": percentile(&each, 0.99).as_secs_f64() * 1000.0,
    }))
}

/// Opens a socket from `source` that subscribes 100 times to the bench stream (identifiers
/// differing in `n`), reads up to the confirmations, and is then never read again.
async fn connect_hostile(
    addr: SocketAddr,
    source: Ipv4Addr,
    session: String,
) -> Result<ws::Socket, BoxError> {
    let mut ws = ws::open(addr, source, &session).await?;
    let identifiers = (0..100).map(|n| json!({"channel": "BenchChannel", "n": n}).to_string());
    ws::subscribe(&mut ws, identifiers).await?;
    Ok(ws)
}
