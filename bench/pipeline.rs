//! The end-to-end pipeline against a `trifecta serve` child process: N signed-in
//! ActionCable clients subscribed to `TodosChannel`, M todo creations over HTTP at a fixed
//! open-loop rate, and per change the stages request → job enqueued → broadcast inserted →
//! frame received (the stage times come from the queue and cable databases after the run).
//! Also the idle cost of a server (RSS and CPU from `/proc`).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::process::Child;
use tokio::sync::mpsc;

use crate::support::{Samples, ws};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const IDENTIFIER: &str = r#"{"channel":"TodosChannel"}"#;
/// Source addresses the client sockets are spread over (port exhaustion).
const SOURCES: u8 = 8;

/// A `trifecta serve` child on a temp storage dir.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its storage dir (kept until drop).
    pub dir: tempfile::TempDir,
    /// Where its Prometheus metrics listen, when started with `--metrics-bind`.
    pub metrics: Option<SocketAddr>,
}

impl Server {
    /// Starts `bin serve --wake <wake>` and waits for its `listening addr=` line.
    pub async fn start(bin: &Path, wake: &str) -> Result<Server, BoxError> {
        Self::start_in(bin, wake, false, tempfile::tempdir()?).await
    }

    /// As [`Server::start`], with `--metrics-bind 127.0.0.1:0` when `metrics`.
    pub async fn start_with(bin: &Path, wake: &str, metrics: bool) -> Result<Server, BoxError> {
        Self::start_in(bin, wake, metrics, tempfile::tempdir()?).await
    }

    /// As [`Server::start`], on a board that already holds `todos` todos (written straight
    /// into the migrated app database before the server starts).
    pub async fn start_seeded(bin: &Path, wake: &str, todos: usize) -> Result<Server, BoxError> {
        Self::start_prepared(bin, wake, move |dir| {
            seed_todos(&dir.join("bench.sqlite3"), todos)
        })
        .await
    }

    /// As [`Server::start`], on storage that is migrated and then given to `prepare` (on a
    /// blocking thread) before the server starts.
    pub async fn start_prepared(
        bin: &Path,
        wake: &str,
        prepare: impl FnOnce(&Path) -> Result<(), BoxError> + Send + 'static,
    ) -> Result<Server, BoxError> {
        let dir = tempfile::tempdir()?;
        let status = tokio::process::Command::new(bin)
            .arg("--storage")
            .arg(dir.path())
            .arg("migrate")
            .env("TRIFECTA_ENV", "bench")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await?;
        if !status.success() {
            return Err(format!("trifecta migrate: {status}").into());
        }
        let path = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || prepare(&path)).await??;
        Self::start_in(bin, wake, false, dir).await
    }

    /// As [`Server::start`], with `extra` environment variables (e.g. `DATABASE_URL`).
    pub async fn start_env(
        bin: &Path,
        wake: &str,
        extra: &[(String, String)],
    ) -> Result<Server, BoxError> {
        Self::start_in_env(bin, wake, false, tempfile::tempdir()?, extra).await
    }

    async fn start_in(
        bin: &Path,
        wake: &str,
        metrics: bool,
        dir: tempfile::TempDir,
    ) -> Result<Server, BoxError> {
        Self::start_in_env(bin, wake, metrics, dir, &[]).await
    }

    async fn start_in_env(
        bin: &Path,
        wake: &str,
        metrics: bool,
        dir: tempfile::TempDir,
        extra: &[(String, String)],
    ) -> Result<Server, BoxError> {
        let mut args = vec!["--wake", wake];
        if metrics {
            args.extend(["--metrics-bind", "127.0.0.1:0"]);
        }
        let (child, mut lines) = spawn_serve_env(bin, dir.path(), "bench", &args, extra)?;
        let mut metrics_at = None;
        // Measure a settled server: wait for it to listen and for its one-off start-up work
        // (precompressing the embedded assets, seconds of CPU) to end.
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            let mut addr = None;
            let mut warmed = false;
            while let Some(line) = lines.next_line().await? {
                if let Some(a) = listening_addr(&line) {
                    addr = Some(a);
                }
                if let Some(a) = metrics_addr(&line) {
                    metrics_at = Some(a);
                }
                warmed |= line.contains("precompressed assets");
                if let (Some(a), true) = (addr, warmed) {
                    return Ok::<_, BoxError>(a);
                }
            }
            Err("server exited before listening".into())
        })
        .await??;
        // Keep draining its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        if metrics && metrics_at.is_none() {
            return Err("server started without its `metrics listening` line".into());
        }
        Ok(Server {
            child,
            addr,
            dir,
            metrics: metrics_at,
        })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// A storage file of the `bench` environment, e.g. `queue` → `bench_queue.sqlite3`.
    pub fn db(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("bench_{name}.sqlite3"))
    }

    /// Stops it (SIGKILL is enough: the storage is thrown away).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Spawns `bin --storage dir serve` on 127.0.0.1:0 in environment `env` with `extra`
/// arguments (cheap bcrypt, killed on drop); returns it and its log lines.
pub fn spawn_serve(bin: &Path, dir: &Path, env: &str, extra: &[&str]) -> Result<Spawned, BoxError> {
    spawn_serve_env(bin, dir, env, extra, &[])
}

/// A spawned server and its log lines.
pub type Spawned = (
    Child,
    tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
);

/// As [`spawn_serve`], with the environment variables `vars` set too.
pub fn spawn_serve_env(
    bin: &Path,
    dir: &Path,
    env: &str,
    extra: &[&str],
    vars: &[(String, String)],
) -> Result<Spawned, BoxError> {
    let mut child = tokio::process::Command::new(bin)
        .arg("--storage")
        .arg(dir)
        .args(["--log", "info", "serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .env("TRIFECTA_ENV", env)
        .env("TRIFECTA_BCRYPT_COST", "4")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    Ok((child, tokio::io::BufReader::new(stderr).lines()))
}

/// The address of a server's `listening addr=...` log line.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    line.split("listening addr=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The address of a server's `metrics listening metrics=...` log line.
pub fn metrics_addr(line: &str) -> Option<SocketAddr> {
    line.split("metrics listening metrics=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Scrapes `GET /metrics` at `addr` every `every` until dropped, as Prometheus would (its
/// default interval is 15 s; the bench scrapes more often, to count the scrape's cost too).
pub fn scrape_every(addr: SocketAddr, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let scraped = client.get(format!("http://{addr}/metrics")).send().await;
            if let Ok(res) = scraped {
                let _ = res.bytes().await;
            }
        }
    })
}

/// `POST /todos` of a todo titled `title`, as the signed-in `client`.
pub async fn post_todo(
    client: &reqwest::Client,
    addr: SocketAddr,
    xsrf: &str,
    title: &str,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("http://{addr}/todos"))
        .header("x-xsrf-token", xsrf)
        .json(&json!({"todo": {"title": title}}))
        .send()
        .await
}

/// Inserts `n` todos (a third of them done) the way the board counts them.
fn seed_todos(db: &Path, n: usize) -> Result<(), BoxError> {
    let mut conn = rusqlite::Connection::open(db)?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO todos (title, completed, created_at, updated_at, version)
             VALUES (?1, ?2, ?3, ?3, 0)",
        )?;
        let start = now_us() - n as i64;
        for k in 0..n {
            insert.execute(rusqlite::params![
                format!("seeded todo {k}"),
                k % 3 == 0,
                start + k as i64
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Signs one user up; returns the HTTP client (with its cookies), the XSRF token and the
/// session cookie value.
pub async fn sign_up(addr: SocketAddr) -> Result<(reqwest::Client, String, String), BoxError> {
    use reqwest::cookie::CookieStore;
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()?;
    let base = format!("http://{addr}");
    client.get(format!("{base}/login")).send().await?;
    let cookie = |name: &str| -> Option<String> {
        let header = jar.cookies(&base.parse().ok()?)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
    };
    let xsrf = cookie("XSRF-TOKEN").ok_or("no XSRF-TOKEN cookie from /login")?;
    let res = client
        .post(format!("{base}/registration"))
        .header("x-xsrf-token", &xsrf)
        .json(&json!({"name": "", "email_address": "bench@example.com", "password": "bench-password-1"}))
        .send()
        .await?;
    let session = cookie("_trifecta_session")
        .ok_or_else(|| format!("sign-up gave no session ({})", res.status()))?;
    let xsrf = cookie("XSRF-TOKEN").unwrap_or(xsrf);
    Ok((client, xsrf, session))
}

/// Opens one subscribed socket; frames go to `seen` as `(client, highest seq, unix µs)`.
pub async fn subscribe(
    addr: SocketAddr,
    index: usize,
    session: &str,
    seen: mpsc::UnboundedSender<(usize, u64, i64)>,
) -> Result<(), BoxError> {
    let mut ws = ws::open(addr, ws::source(index, SOURCES), session).await?;
    ws::subscribe(&mut ws, [IDENTIFIER]).await?;
    ws::read_text(ws, move |frame| {
        if let Some(seq) = max_seq(frame) {
            let _ = seen.send((index, seq, now_us()));
        }
    });
    Ok(())
}

/// The highest `bench-<seq>` title in a frame (a substring scan: the client's CPU is the
/// server's too).
fn max_seq(frame: &str) -> Option<u64> {
    frame
        .match_indices("\"title\":\"bench-")
        .filter_map(|(at, m)| {
            let rest = &frame[at + m.len()..];
            let end = rest.find(|c: char| !c.is_ascii_digit())?;
            rest[..end].parse().ok()
        })
        .max()
}

/// One pipeline run's parameters.
pub struct Run {
    /// `poll` or `instant`.
    pub wake: &'static str,
    /// Subscribed clients.
    pub clients: usize,
    /// Todo creations.
    pub changes: usize,
    /// Gap between creations (open loop).
    pub gap: Duration,
    /// Todos on the board before the run.
    pub seed: usize,
    /// Serve with `--metrics-bind` and scrape `/metrics` every second.
    pub metrics: bool,
}

/// What one run measured.
pub struct Outcome {
    /// Stage name → samples.
    pub stages: Vec<(&'static str, Samples)>,
    /// Frames expected but never received.
    pub missing: usize,
}

impl Outcome {
    /// The end-to-end samples.
    pub fn end_to_end(&self) -> Samples {
        self.stages
            .iter()
            .find(|(n, _)| *n == "end_to_end")
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }

    /// `{stage: {count, p50, ...}, missing}`.
    pub fn json(&self) -> Value {
        let mut m = serde_json::Map::new();
        for (name, s) in &self.stages {
            m.insert((*name).to_owned(), s.summary_ms());
        }
        m.insert("missing_frames".to_owned(), json!(self.missing));
        Value::Object(m)
    }
}

/// Subscribes `clients` sockets to `TodosChannel`, socket `i` at `at(i)` (an address and
/// a session cookie), at most 64 connecting at once; their frames arrive on the receiver.
pub async fn subscribe_all(
    clients: usize,
    at: impl Fn(usize) -> (SocketAddr, String),
) -> Result<mpsc::UnboundedReceiver<(usize, u64, i64)>, BoxError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let connects: Vec<_> = (0..clients)
        .map(|i| {
            let tx = tx.clone();
            let (addr, session) = at(i);
            async move { subscribe(addr, i, &session, tx).await }
        })
        .collect();
    let results: Vec<_> = futures_util::stream::iter(connects)
        .buffer_unordered(64)
        .collect()
        .await;
    drop(tx);
    for r in results {
        r?;
    }
    Ok(rx)
}

/// Posts `changes` todos to `addr` open-loop, one every `gap` (change `k` titled
/// `bench-(k+1)`, so frame `k` carries it), recording the frames that arrive meanwhile and
/// for up to 5 s after the last; `tick` is called after each send. Returns each request's
/// (sent, answered) times in Unix microseconds.
#[allow(clippy::too_many_arguments)]
pub async fn post_open_loop(
    client: &reqwest::Client,
    addr: SocketAddr,
    xsrf: &str,
    changes: usize,
    gap: Duration,
    rx: &mut mpsc::UnboundedReceiver<(usize, u64, i64)>,
    got: &mut Received,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<(i64, i64)>, BoxError> {
    let start = Instant::now();
    let mut sends = Vec::with_capacity(changes);
    for k in 0..changes {
        tokio::time::sleep_until((start + gap * k as u32).into()).await;
        while let Ok(ev) = rx.try_recv() {
            got.record(ev);
        }
        let (client, xsrf) = (client.clone(), xsrf.to_owned());
        let title = format!("bench-{}", k + 1);
        sends.push(tokio::spawn(async move {
            let sent = now_us();
            let res = post_todo(&client, addr, &xsrf, &title).await;
            let done = now_us();
            match res {
                Ok(r) if r.status().is_success() || r.status().is_redirection() => Ok((sent, done)),
                Ok(r) => Err(format!("POST /todos: {}", r.status())),
                Err(e) => Err(format!("POST /todos: {e}")),
            }
        }));
        tick();
    }
    let mut sent = Vec::with_capacity(changes);
    for s in sends {
        sent.push(s.await??);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !got.complete() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => got.record(ev),
            _ => break,
        }
    }
    Ok(sent)
}

/// Runs one pipeline measurement; `tick` is called after each change is sent.
pub async fn pipeline(
    bin: &Path,
    run: &Run,
    tick: &(dyn Fn() + Sync),
) -> Result<Outcome, BoxError> {
    let server = if run.seed > 0 {
        Server::start_seeded(bin, run.wake, run.seed).await?
    } else {
        Server::start_with(bin, run.wake, run.metrics).await?
    };
    let addr = server.addr;
    let scraper = server
        .metrics
        .map(|at| scrape_every(at, Duration::from_secs(1)));
    let (client, xsrf, session) = sign_up(addr).await?;
    let mut rx = subscribe_all(run.clients, |_| (addr, session.clone())).await?;
    let mut got = Received::new(run.clients, run.changes);

    let sent = post_open_loop(
        &client,
        addr,
        &xsrf,
        run.changes,
        run.gap,
        &mut rx,
        &mut got,
        tick,
    )
    .await?;

    let queue_db = server.db("queue");
    let cable_db = server.db("cable");
    let (jobs, broadcasts) =
        tokio::task::spawn_blocking(move || read_stage_times(&queue_db, &cable_db)).await??;
    if let Some(scraper) = scraper {
        scraper.abort();
    }
    server.stop().await;

    Ok(outcome(&sent, &jobs, &broadcasts, &got))
}

/// The per-stage samples of a run: `sent` is `(request sent, response received)` of each
/// change, `jobs` and `broadcasts` as [`read_stage_times`] returns them, `got` the frames.
pub fn outcome(
    sent: &[(i64, i64)],
    jobs: &[(i64, Option<i64>)],
    broadcasts: &[i64],
    got: &Received,
) -> Outcome {
    let us = |d: i64| Duration::from_micros(d.max(0) as u64);
    let mut http = Samples::default();
    let mut to_enqueued = Samples::default();
    let mut to_finished = Samples::default();
    let mut to_broadcast = Samples::default();
    let mut to_received = Samples::default();
    let mut end_to_end = Samples::default();
    let mut missing = 0;
    // Jobs coalesce: a change made while a broadcast job waits adds none, so the per-stage
    // split (change k ↔ job k ↔ broadcast k) holds only when every change had its own.
    let one_each = jobs.len() == sent.len() && broadcasts.len() == sent.len();
    for (k, (req, resp)) in sent.iter().enumerate() {
        http.push(us(resp - req));
        let job = jobs.get(k).copied().filter(|_| one_each);
        let bcast = broadcasts.get(k).copied().filter(|_| one_each);
        if let Some((enq, fin)) = job {
            to_enqueued.push(us(enq - req));
            if let Some(fin) = fin {
                to_finished.push(us(fin - enq));
            }
            if let Some(b) = bcast {
                to_broadcast.push(us(b - enq));
            }
        }
        for c in &got.at {
            match c[k] {
                Some(t) => {
                    end_to_end.push(us(t - req));
                    if let Some(b) = bcast {
                        to_received.push(us(t - b));
                    }
                }
                None => missing += 1,
            }
        }
    }
    Outcome {
        stages: vec![
            ("http_response", http),
            ("request_to_enqueued", to_enqueued),
            ("enqueued_to_broadcast", to_broadcast),
            ("enqueued_to_finished", to_finished),
            ("broadcast_to_received", to_received),
            ("end_to_end", end_to_end),
        ],
        missing,
    }
}

/// `at[client][k]` = unix µs of the first frame that contained change `k`.
pub struct Received {
    /// `at[client][k]`.
    pub at: Vec<Vec<Option<i64>>>,
    highest: Vec<usize>,
}

impl Received {
    /// Nothing received yet by `clients` clients of `changes` changes.
    pub fn new(clients: usize, changes: usize) -> Self {
        Self {
            at: vec![vec![None; changes]; clients],
            highest: vec![0; clients],
        }
    }

    /// A frame to `client` whose highest title is `bench-<seq>` arrived at `t`.
    pub fn record(&mut self, (client, seq, t): (usize, u64, i64)) {
        let top = (seq as usize).min(self.at[client].len());
        for k in self.highest[client]..top {
            self.at[client][k] = Some(t);
        }
        self.highest[client] = self.highest[client].max(top);
    }

    /// Whether every client has every change.
    pub fn complete(&self) -> bool {
        self.at
            .iter()
            .zip(&self.highest)
            .all(|(a, h)| *h >= a.len())
    }
}

pub type StageTimes = (Vec<(i64, Option<i64>)>, Vec<i64>);

/// `(created_at, finished_at)` of every `BroadcastTodos` job and `created_at` of every
/// broadcast on `todos`, both in insertion order.
fn read_stage_times(queue: &Path, cable: &Path) -> Result<StageTimes, BoxError> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let q = rusqlite::Connection::open_with_flags(queue, flags)?;
    let mut stmt = q.prepare(
        "SELECT created_at, finished_at FROM solid_queue_jobs \
         WHERE class_name LIKE '%BroadcastTodos%' ORDER BY id",
    )?;
    let jobs = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let c = rusqlite::Connection::open_with_flags(cable, flags)?;
    // Only the board's stream: signing up also broadcasts sync markers on other channels.
    let mut stmt = c.prepare(
        "SELECT created_at FROM solid_cable_messages WHERE channel_hash = ?1 ORDER BY id",
    )?;
    let broadcasts = stmt
        .query_map([trifecta::cable::channel_hash("todos")], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((jobs, broadcasts))
}

/// RSS (MB) and CPU (% of one core) of an idle server over `window`.
pub async fn idle(bin: &Path, window: Duration) -> Result<Value, BoxError> {
    let server = Server::start(bin, "instant").await?;
    let pid = server.pid();
    // Let start-up work settle before sampling.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = cpu_ticks(pid)?;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let ticks = cpu_ticks(pid)? - before;
    let wall = started.elapsed().as_secs_f64();
    let rss_kb = rss_kb(pid)?;
    server.stop().await;
    // USER_HZ is 100 on every Linux this runs on.
    let cpu_pct = ticks as f64 / 100.0 / wall * 100.0;
    Ok(json!({
        "window_s": window.as_secs(),
        "rss_mb": (rss_kb as f64 / 1024.0 * 10.0).round() / 10.0,
        "cpu_percent": (cpu_pct * 100.0).round() / 100.0,
    }))
}

fn cpu_ticks(pid: u32) -> Result<u64, BoxError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the `(comm)`: state is field 3; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').ok_or("bad stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Ok(f.get(11).ok_or("bad stat")?.parse::<u64>()?
        + f.get(12).ok_or("bad stat")?.parse::<u64>()?)
}

fn rss_kb(pid: u32) -> Result<u64, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}
