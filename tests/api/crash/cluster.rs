//! The processes of the crash test on one storage directory: `trifecta serve` children
//! (the WebSockets, and the pruning of dead queue processes on their 1 s heartbeat) and
//! worker children (this test binary in the role of [`super::role`]). The chaos kills a
//! random one with `kill -9` whenever the ledger has grown by a random amount, writes its
//! `Dead` line while it is stopped, and starts a replacement of the same kind.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ledger::{Event, Ledger};
use super::role;
use super::subscriber::Addrs;
use crate::helpers::{ChildServer, kill_9_when_stopped, poll_blocking};

/// Each kind runs this many processes; one is killed at a time, so at least two of each
/// are alive at any moment.
pub const PER_KIND: usize = 3;

/// `trifecta serve` on queue `default` only (the `crash` jobs are the workers'), pruning
/// every second (`--on-dead-process` is added).
const SERVE_ARGS: [&str; 4] = ["--queues", "default", "--process-heartbeat-interval", "1s"];
/// Child servers hash with the minimum bcrypt cost, as the in-process ones do.
pub const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];

enum Proc {
    Serve(ChildServer),
    Worker(Child),
}

struct Member {
    name: String,
    proc: Proc,
}

impl Member {
    fn child(&mut self) -> &mut Child {
        match &mut self.proc {
            Proc::Serve(s) => &mut s.child,
            Proc::Worker(c) => c,
        }
    }
}

/// The live processes.
pub struct Cluster {
    root: PathBuf,
    storage: PathBuf,
    ledger_path: PathBuf,
    ledger: Arc<Ledger>,
    members: Vec<Member>,
    started: usize,
    /// Addresses of the live servers, for the subscribers.
    pub addrs: Addrs,
    /// `kill -9`s so far (the final stop not counted).
    pub kills: usize,
}

impl Cluster {
    /// No process yet; storage in `root/storage`, the ledger at `ledger_path`.
    pub fn new(root: &Path, ledger_path: &Path, ledger: Arc<Ledger>) -> Cluster {
        Cluster {
            root: root.to_path_buf(),
            storage: root.join("storage"),
            ledger_path: ledger_path.to_path_buf(),
            ledger,
            members: Vec::new(),
            started: 0,
            addrs: Arc::new(Mutex::new(Vec::new())),
            kills: 0,
        }
    }

    /// The storage directory.
    pub fn storage(&self) -> &Path {
        &self.storage
    }

    /// Starts a `trifecta serve` and waits until it listens.
    pub fn start_serve(&mut self) -> SocketAddr {
        self.started += 1;
        let mode = role::on_dead_process().name();
        let mut args = SERVE_ARGS.to_vec();
        args.extend(["--on-dead-process", mode]);
        let server = ChildServer::spawn_env(&self.storage, &args, &COST);
        let addr = server.addr;
        self.addrs.lock().expect("addrs").push(addr);
        self.members.push(Member {
            name: format!("serve-{}", self.started),
            proc: Proc::Serve(server),
        });
        addr
    }

    /// Starts a worker process (it needs migrated storage: start a server first).
    pub fn start_worker(&mut self) {
        self.started += 1;
        let name = format!("worker-{}", self.started);
        let log = std::fs::File::create(self.root.join(format!("{name}.log"))).expect("log");
        let child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["crash::worker_role", "--exact", "--ignored", "--nocapture"])
            .env(role::STORAGE, &self.storage)
            .env(role::LEDGER, &self.ledger_path)
            .env(role::NAME, &name)
            // The worker exits when this end closes: with the test, whatever ends it.
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn the worker role");
        self.members.push(Member {
            name,
            proc: Proc::Worker(child),
        });
    }

    /// Names of the live workers.
    pub fn workers(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| matches!(m.proc, Proc::Worker(_)))
            .map(|m| m.name.clone())
            .collect()
    }

    /// Pids of the live processes.
    pub fn pids(&mut self) -> Vec<i64> {
        self.members
            .iter_mut()
            .map(|m| i64::from(m.child().id()))
            .collect()
    }

    /// Until `until`: waits for the ledger to grow by 2–12 KB (a few dozen events, so the
    /// kill lands at a random point of the work), kills a random process and starts a
    /// replacement.
    pub fn chaos(&mut self, until: Instant) {
        while Instant::now() < until {
            let base = ledger_len(&self.ledger_path);
            let grow = fastrand::u64(2_000..12_000);
            let left = until.saturating_duration_since(Instant::now());
            let grown = poll_blocking(left, || {
                (ledger_len(&self.ledger_path) >= base + grow).then_some(())
            });
            if grown.is_none() {
                break;
            }
            let victim = fastrand::usize(..self.members.len());
            let serve = matches!(self.members[victim].proc, Proc::Serve(_));
            self.kill(victim);
            self.kills += 1;
            if serve {
                self.start_serve();
            } else {
                self.start_worker();
            }
        }
    }

    /// Kills every process the same way (their `Dead` lines close any open run).
    pub fn kill_all(&mut self) {
        while !self.members.is_empty() {
            self.kill(0);
        }
    }

    fn kill(&mut self, index: usize) {
        let mut member = self.members.remove(index);
        if let Proc::Serve(s) = &member.proc {
            self.addrs.lock().expect("addrs").retain(|a| *a != s.addr);
        }
        let (ledger, proc) = (self.ledger.clone(), member.name.clone());
        kill_9_when_stopped(member.child(), || {
            ledger.append(&Event::Dead { proc }).expect("ledger");
        });
    }
}

impl Drop for Cluster {
    /// A test that failed half-way leaves no process behind (servers also kill themselves
    /// on drop, workers on the end of their stdin).
    fn drop(&mut self) {
        for member in &mut self.members {
            let child = member.child();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn ledger_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// How long the chaos lasts: `CRASH_SECONDS`, 10 s by default.
pub fn chaos_length() -> Duration {
    let seconds = std::env::var("CRASH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(seconds)
}
