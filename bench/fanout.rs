//! Fan-out at scale (`CABLE_BENCH_ONLY=idle50k`, or `idle50k-ext` on the extended
//! protocol): 50,000 idle sockets, each subscribed to one stream; the server's resident
//! memory per socket (its RSS growth over the idle baseline, divided by the sockets), then
//! broadcasts to all of them, timed from the order to each socket's receipt.
//!
//! The clients are child processes of their own (`CABLE_BENCH_ROLE=client`): each a
//! single-threaded runtime holding its share of the sockets with a few hundred bytes of
//! state apiece, speaking just enough WebSocket to upgrade, subscribe (one masked frame) and
//! find `"seq":` in the frames the server sends (unmasked, so a byte scan suffices). Their
//! sources are 127.0.0.10 and up, clear of the other steps' ports.
//!
//! One process may hold only `RLIMIT_NOFILE` descriptors. The bench raises the hard limit
//! when it may (root with `CAP_SYS_RESOURCE`), then the soft one to the hard one; when that
//! is still below the sockets, the sockets are spread over as many server processes as the
//! limit needs, sharing one storage directory (as servers behind a load balancer do). The
//! broadcast is ordered on the first; the others take it from the cable file within their
//! polling interval, as they would in production. The memory figure is then the growth of
//! all of them together.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::{Semaphore, mpsc};

use super::{BoxError, IDENTIFIER, Server, pipeline};

/// Sockets of the full step.
pub const SOCKETS: usize = 50_000;
/// Descriptors the bench asks for when it may raise the hard limit: the client processes
/// and the server(s) each need one per socket.
pub const WANT_FDS: u64 = 2 * SOCKETS as u64 + 10_000;
/// Descriptors a process keeps for other things (database files, pipes, the listener).
const FD_MARGIN: u64 = 1_000;
/// Broadcasts timed; the figures are the worst of them.
const BROADCASTS: u64 = 3;
/// Upgrades one client process has in flight at once (the listen backlog is 4,096).
const IN_FLIGHT: usize = 256;
/// Source addresses per client process (127.0.0.10 + 4 × its index + 0..4).
const SOURCES_PER_CLIENT: usize = 4;
/// First source address's last byte.
const FIRST_SOURCE: usize = 10;
/// Longest wait for every socket to receive one broadcast.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes kept between two reads of a socket, so a pattern split across them is found.
const CARRY: usize = 32;

/// Raises `RLIMIT_NOFILE`: the hard limit to `want` when this process may (it needs
/// `CAP_SYS_RESOURCE`), then the soft limit to the hard one. Child processes inherit it.
/// Returns the soft limit now in force.
pub fn raise_fd_limit(want: u64) -> u64 {
    use rlimit::Resource;
    if let Ok((_, hard)) = rlimit::getrlimit(Resource::NOFILE)
        && hard < want
    {
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(want);
        let to = want.min(nr_open).max(hard);
        // Refused without CAP_SYS_RESOURCE: the limit stays as it was.
        let _ = rlimit::setrlimit(Resource::NOFILE, to, to);
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    rlimit::getrlimit(Resource::NOFILE).map_or(1024, |(soft, _)| soft)
}

/// Runs the step: `smoke` with 2 sockets; `ext` on `actioncable-v1-ext-json`.
pub async fn idle(smoke: bool, ext: bool, out: &mut std::io::Stdout) -> Result<Value, BoxError> {
    let n = if smoke {
        2
    } else {
        std::env::var("CABLE_BENCH_IDLE_SOCKETS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(SOCKETS)
    };
    let fd_limit = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
    let per_process = usize::try_from(fd_limit.saturating_sub(FD_MARGIN).max(100))?;
    let processes = n.div_ceil(per_process);
    let dir = tempfile::tempdir()?;
    let vars = [("CABLE_BENCH_DIR", dir.path().display().to_string())];
    let mut servers = Vec::with_capacity(processes);
    // One after the other: the first creates the storage (databases, secret key).
    for _ in 0..processes {
        servers.push(Server::spawn_with("instant", &vars).await?);
    }
    let session = pipeline::sign_up(servers[0].addr).await?.2;
    let mut base = 0;
    for server in &mut servers {
        base += server.rss_kib().await?;
    }
    let addrs: Vec<String> = servers.iter().map(|s| s.addr.to_string()).collect();
    let started = std::time::Instant::now();
    let mut clients = Vec::with_capacity(processes);
    for c in 0..processes {
        let count = n / processes + usize::from(c < n % processes);
        clients.push(Client::spawn(&addrs, &session, count, c, ext)?);
    }
    for client in &mut clients {
        client.ready().await?;
    }
    // On the extended protocol each subscribe is confirmed before its session is saved:
    // wait for the saves, or the broadcasts would queue behind 50,000 writes.
    if ext {
        let quiet = std::time::Instant::now();
        loop {
            let mut saved = 0;
            for server in &mut servers {
                saved += server.saved().await?;
            }
            if saved >= n as u64 {
                break;
            }
            if quiet.elapsed() > Duration::from_secs(120) {
                return Err(format!("{saved} of {n} sessions saved after 120 s").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let connect_s = started.elapsed().as_secs_f64();
    let mut rss = 0;
    for server in &mut servers {
        rss += server.rss_kib().await?;
    }
    let per_socket = rss.saturating_sub(base) * 1024 / n as u64;
    let mut worst = [0.0_f64; 3];
    for seq in 1..=BROADCASTS {
        tokio::time::sleep(Duration::from_millis(if smoke { 10 } else { 1_000 })).await;
        let t0 = now_ns()?;
        servers[0].broadcast(seq).await?;
        let mut took = Vec::with_capacity(n);
        for client in &mut clients {
            client.collect(seq, t0, &mut took).await?;
        }
        took.sort_unstable();
        for (w, q) in worst.iter_mut().zip([0.50, 0.95, 1.0]) {
            *w = w.max(super::percentile(&took, q).as_secs_f64() * 1000.0);
        }
    }
    for client in clients {
        client.stop().await?;
    }
    for server in servers {
        server.stop().await?;
    }
    let [p50, p95, max] = worst;
    let protocol = if ext { "ext" } else { "plain" };
    writeln!(out)?;
    writeln!(
        out,
        "| idle subscribed sockets | protocol | server processes | connected in s | server RSS growth MiB | bytes per socket | broadcast p50 ms | p95 ms | max ms |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    writeln!(
        out,
        "| {n} | {protocol} | {processes} | {connect_s:.1} | {:.1} | {per_socket} | {p50:.1} | {p95:.1} | {max:.1} |",
        rss.saturating_sub(base) as f64 / 1024.0,
    )?;
    if processes > 1 {
        writeln!(
            out,
            "\n_RLIMIT_NOFILE is {fd_limit} here and could not be raised: the sockets were spread over {processes} server processes sharing one storage directory; broadcasts reach the others through the cable file._"
        )?;
    }
    out.flush()?;
    Ok(json!({
        "sockets": n,
        "protocol": protocol,
        "server_processes": processes,
        "fd_limit": fd_limit,
        "connect_s": connect_s,
        "bytes": per_socket,
        "kb": per_socket as f64 / 1000.0,
        "broadcasts": BROADCASTS,
        "p50_ms": p50,
        "p95_ms": p95,
        "max_ms": max,
    }))
}

/// Wall-clock nanoseconds: the clients are other processes, and they stamp receipts on the
/// same clock.
fn now_ns() -> Result<u64, BoxError> {
    Ok(u64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos(),
    )?)
}

/// A client process, driven over stdin (`collect SEQ`, `quit`).
struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    count: usize,
}

impl Client {
    fn spawn(
        addrs: &[String],
        session: &str,
        count: usize,
        index: usize,
        ext: bool,
    ) -> Result<Client, BoxError> {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .env("CABLE_BENCH_ROLE", "client")
            .env("CABLE_BENCH_ADDRS", addrs.join(","))
            .env("CABLE_BENCH_SESSION", session)
            .env("CABLE_BENCH_COUNT", count.to_string())
            .env(
                "CABLE_BENCH_SOURCE",
                (FIRST_SOURCE + index * SOURCES_PER_CLIENT).to_string(),
            )
            .env("CABLE_BENCH_EXT", if ext { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or("stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("stdout")?).lines();
        Ok(Client {
            child,
            stdin,
            stdout,
            count,
        })
    }

    /// Waits until every socket of this client is subscribed.
    async fn ready(&mut self) -> Result<(), BoxError> {
        let line = self.stdout.next_line().await?.ok_or("client exited")?;
        let mut words = line.splitn(4, ' ');
        let (Some("ready"), Some(ok), Some(failed)) = (words.next(), words.next(), words.next())
        else {
            return Err(format!("client said {line:?}").into());
        };
        if ok.parse::<usize>()? != self.count || failed != "0" {
            let why = words.next().unwrap_or("");
            return Err(format!("{failed} of {} sockets failed: {why}", self.count).into());
        }
        Ok(())
    }

    /// Adds the time from `t0` to each socket's receipt of broadcast `seq` to `took`.
    async fn collect(
        &mut self,
        seq: u64,
        t0: u64,
        took: &mut Vec<Duration>,
    ) -> Result<(), BoxError> {
        self.stdin
            .write_all(format!("collect {seq}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        let line = self.stdout.next_line().await?.ok_or("client exited")?;
        let mut words = line.split(' ');
        if words.next() != Some("got") {
            return Err(format!("client said {line:?}").into());
        }
        let before = took.len();
        for w in words {
            took.push(Duration::from_nanos(w.parse::<u64>()?.saturating_sub(t0)));
        }
        let got = took.len() - before;
        if got < self.count {
            return Err(format!(
                "{} of {} sockets did not receive broadcast {seq} within {RECEIPT_TIMEOUT:?}",
                self.count - got,
                self.count
            )
            .into());
        }
        Ok(())
    }

    async fn stop(mut self) -> Result<(), BoxError> {
        self.stdin.write_all(b"quit\n").await?;
        self.child.wait().await?;
        Ok(())
    }
}

/// The client process: its sockets on one thread, then `collect SEQ` / `quit` on stdin.
pub fn client_main() -> Result<(), BoxError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(client())
}

fn env(name: &str) -> Result<String, BoxError> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

async fn client() -> Result<(), BoxError> {
    let addrs = env("CABLE_BENCH_ADDRS")?
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<SocketAddr>, _>>()?;
    let session = env("CABLE_BENCH_SESSION")?;
    let count: usize = env("CABLE_BENCH_COUNT")?.parse()?;
    let first_source: usize = env("CABLE_BENCH_SOURCE")?.parse()?;
    let protocol = if env("CABLE_BENCH_EXT")? == "1" {
        "actioncable-v1-ext-json"
    } else {
        "actioncable-v1-json"
    };
    let requests: Vec<Arc<[u8]>> = addrs
        .iter()
        .map(|addr| upgrade_request(*addr, &session, protocol))
        .collect();
    let subscribe: Arc<[u8]> = masked_text(
        json!({"command": "subscribe", "identifier": IDENTIFIER})
            .to_string()
            .as_bytes(),
    )
    .into();
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    for i in 0..count {
        let source = Ipv4Addr::new(
            127,
            0,
            0,
            u8::try_from(first_source + i % SOURCES_PER_CLIENT)?,
        );
        let target = i % addrs.len();
        tokio::spawn(socket(
            addrs[target],
            source,
            requests[target].clone(),
            subscribe.clone(),
            gate.clone(),
            ready_tx.clone(),
            seen_tx.clone(),
        ));
    }
    drop((ready_tx, seen_tx));
    let (mut ok, mut failed, mut why) = (0usize, 0usize, String::new());
    while let Some(result) = ready_rx.recv().await {
        match result {
            Ok(()) => ok += 1,
            Err(e) => {
                failed += 1;
                if why.is_empty() {
                    why = e;
                }
            }
        }
    }
    let mut out = std::io::stdout();
    writeln!(out, "ready {ok} {failed} {why}")?;
    out.flush()?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let Some(seq) = line.strip_prefix("collect ") else {
            break;
        };
        let seq: u64 = seq.parse()?;
        let mut got = Vec::with_capacity(ok);
        let deadline = tokio::time::Instant::now() + RECEIPT_TIMEOUT;
        while got.len() < ok {
            match tokio::time::timeout_at(deadline, seen_rx.recv()).await {
                Ok(Some((s, at))) if s == seq => got.push(at),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let mut reply = String::with_capacity(4 + got.len() * 20);
        reply.push_str("got");
        for at in got {
            reply.push(' ');
            reply.push_str(&at.to_string());
        }
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
    Ok(())
}

/// The upgrade request of a `/cable` socket on `protocol`, signed in with `session`.
fn upgrade_request(addr: SocketAddr, session: &str, protocol: &str) -> Arc<[u8]> {
    format!(
        "GET /cable HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: {protocol}\r\nOrigin: http://{addr}\r\n\
         Cookie: _trifecta_session={session}\r\n\r\n"
    )
    .into_bytes()
    .into()
}

/// A client text frame: masked, as a client's must be, with the all-zero key (which leaves
/// the payload as it is).
fn masked_text(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(payload);
    frame
}

/// One socket: upgrade and subscribe (holding a `gate` permit), report on `ready`, then
/// report each broadcast's `seq` on `seen` with the time it arrived.
async fn socket(
    addr: SocketAddr,
    source: Ipv4Addr,
    request: Arc<[u8]>,
    subscribe: Arc<[u8]>,
    gate: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<Result<(), String>>,
    seen: mpsc::UnboundedSender<(u64, u64)>,
) {
    let mut scan = Scan::default();
    let opened = {
        let _permit = gate.acquire().await;
        open(addr, source, &request, &subscribe, &mut scan).await
    };
    let stream = match opened {
        Ok(stream) => {
            let _ = ready.send(Ok(()));
            stream
        }
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    drop(ready);
    let _ = read_broadcasts(stream, scan, seen).await;
}

async fn open(
    addr: SocketAddr,
    source: Ipv4Addr,
    request: &[u8],
    subscribe: &[u8],
    scan: &mut Scan,
) -> Result<TcpStream, BoxError> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let mut stream = tokio::time::timeout(Duration::from_secs(30), socket.connect(addr)).await??;
    stream.set_nodelay(true)?;
    stream.write_all(request).await?;
    // The response head, then whatever frames came with it (on the heap: a buffer in the
    // future would stay with the socket's task for its life).
    let mut head = vec![0u8; 4096];
    let mut len = 0;
    let body_at = loop {
        let n = stream.read(&mut head[len..]).await?;
        if n == 0 {
            return Err("closed during the upgrade".into());
        }
        len += n;
        if let Some(at) = find(&head[..len], b"\r\n\r\n") {
            break at + 4;
        }
        if len == head.len() {
            return Err("upgrade response head too long".into());
        }
    };
    if !head.starts_with(b"HTTP/1.1 101") {
        let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
        return Err(format!("upgrade refused: {}", String::from_utf8_lossy(line)).into());
    }
    stream.write_all(subscribe).await?;
    let mut pending = &head[body_at..len];
    loop {
        let window = scan.push(pending);
        if find(window, b"confirm_subscription").is_some() {
            return Ok(stream);
        }
        if find(window, b"reject_subscription").is_some()
            || find(window, b"\"disconnect\"").is_some()
        {
            return Err(format!("refused: {}", String::from_utf8_lossy(window)).into());
        }
        let n = scan.read(&mut stream).await?;
        if n == 0 {
            return Err("closed before the confirmation".into());
        }
        pending = &[];
    }
}

async fn read_broadcasts(
    mut stream: TcpStream,
    mut scan: Scan,
    seen: mpsc::UnboundedSender<(u64, u64)>,
) -> Result<(), BoxError> {
    // The confirmation's window may hold no seq; later windows carry over what is new.
    let mut last = 0u64;
    loop {
        if scan.read(&mut stream).await? == 0 {
            return Ok(());
        }
        let at = now_ns()?;
        for seq in scan.seqs() {
            if seq > last {
                last = seq;
                seen.send((seq, at))?;
            }
        }
    }
}

/// A small read buffer whose last [`CARRY`] bytes stay for the next read, so a pattern cut
/// between two reads is still found (the server's frames are unmasked JSON).
struct Scan {
    buf: [u8; 512],
    /// Bytes in `buf` from the previous window.
    kept: usize,
    /// The end of the current window.
    len: usize,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            buf: [0; 512],
            kept: 0,
            len: 0,
        }
    }
}

impl Scan {
    /// Starts a new window after the current one's carried tail.
    fn carry(&mut self) {
        let from = self.len.saturating_sub(CARRY);
        self.buf.copy_within(from..self.len, 0);
        self.kept = self.len - from;
        self.len = self.kept;
    }

    /// Adds `bytes` (at most a buffer's worth) to a new window and returns it.
    fn push(&mut self, bytes: &[u8]) -> &[u8] {
        self.carry();
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        &self.buf[..self.len]
    }

    /// Reads into a new window; returns the bytes read (0: closed).
    async fn read(&mut self, stream: &mut TcpStream) -> std::io::Result<usize> {
        self.carry();
        let n = stream.read(&mut self.buf[self.len..]).await?;
        self.len += n;
        Ok(n)
    }

    /// The `"seq":N` values whose digits end inside the window.
    fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        let window = &self.buf[..self.len];
        let mut at = 0;
        std::iter::from_fn(move || {
            loop {
                let start = at + find(&window[at..], b"\"seq\":")? + 6;
                at = start;
                let digits = window[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits > 0 && start + digits < window.len() {
                    let text = std::str::from_utf8(&window[start..start + digits]).ok()?;
                    return text.parse().ok();
                }
            }
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
