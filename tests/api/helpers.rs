//! Shared test helpers: an in-process app on `127.0.0.1:0` with a temp storage dir, a
//! `wait_for` poller with a deadline, and the built `trifecta` binary as a child process.

#![allow(dead_code)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use trifecta::server::{self, Config, Running};
use trifecta::web::AppState;

/// Result type of every test.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The app running in this test process.
pub struct TestApp {
    /// Bound address.
    pub addr: SocketAddr,
    /// Shared state: store handles and engines.
    pub state: AppState,
    /// HTTP client (no redirects followed, so tests see them).
    pub client: reqwest::Client,
    running: Option<Running>,
    dir: TempDir,
}

impl TestApp {
    /// Starts the app with default settings and a fresh temp storage dir.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app after `tune` adjusts the config.
    pub async fn spawn_with(tune: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_dir(dir.path());
        tune(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let running = server::start(config, listener).await.expect("start");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            addr: running.addr,
            state: running.state.clone(),
            client,
            running: Some(running),
            dir,
        }
    }

    /// `http://addr` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The storage directory.
    pub fn storage(&self) -> &Path {
        self.dir.path()
    }

    /// Shuts down and waits for every task, returning the result of the shutdown.
    pub async fn stop(mut self) -> TestResult {
        if let Some(running) = self.running.take() {
            running.shutdown();
            running.wait().await?;
        }
        Ok(())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.shutdown();
        }
    }
}

/// Polls `f` until it yields `Some`, or panics with `label` after `deadline`.
pub async fn wait_for<T, F, Fut>(label: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if start.elapsed() > deadline {
            panic!("timed out after {deadline:?} waiting for {label}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Path of the `trifecta` binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_trifecta"))
}

/// Runs `trifecta ARGS` to completion with storage in `dir`; returns status, stdout, stderr.
pub fn run_cli(dir: &Path, args: &[&str]) -> (ExitStatus, String, String) {
    run_cli_env(dir, args, &[])
}

/// As [`run_cli`], with extra environment variables.
pub fn run_cli_env(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (ExitStatus, String, String) {
    let out = Command::new(bin())
        .arg("--storage")
        .arg(dir)
        .args(args)
        .env("TRIFECTA_ENV", "test")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run trifecta");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `trifecta serve` child process on `127.0.0.1:0`.
pub struct ChildServer {
    /// The child.
    pub child: Child,
    /// The address it announced.
    pub addr: SocketAddr,
    /// Every stderr line so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl ChildServer {
    /// Starts `trifecta serve` on storage `dir` with extra `args` and waits until it listens.
    pub fn spawn(dir: &Path, args: &[&str]) -> ChildServer {
        Self::spawn_env(dir, args, &[])
    }

    /// As [`ChildServer::spawn`], with extra environment variables.
    pub fn spawn_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> ChildServer {
        let mut child = Command::new(bin())
            .arg("--storage")
            .arg(dir)
            .args(["--log", "info"])
            .arg("serve")
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .env("TRIFECTA_ENV", "test")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn trifecta serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line
                    .split("addr=")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|a| a.parse::<SocketAddr>().ok())
                    && line.contains("listening")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr);
                }
                sink.lock().expect("log lock").push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "trifecta serve did not start: {:?}",
                    log.lock().expect("log").clone()
                );
            }
        };
        ChildServer { child, addr, log }
    }

    /// `http://addr` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a signal by name (`TERM`, `KILL`, `INT`) with the system `kill`.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits up to `deadline` for the child to exit.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if start.elapsed() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Serves `router` (e.g. test routes wrapped in `trifecta::web::edge`) on `127.0.0.1:0`
/// until the returned handle is dropped or aborted.
pub async fn serve_router(router: axum::Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (addr, task)
}

/// A client that keeps cookies and does not follow redirects, as a browser tab with the
/// Inertia client sees them.
pub fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

/// As [`run_cli_env`], feeding `stdin` to the process.
pub fn run_cli_stdin(
    dir: &Path,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> (ExitStatus, String, String) {
    use std::io::Write;
    let mut child = Command::new(bin())
        .arg("--storage")
        .arg(dir)
        .args(args)
        .env("TRIFECTA_ENV", "test")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trifecta");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
