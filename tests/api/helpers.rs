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
use trifecta::server::{self, Config, Extras, Running};
use trifecta::stores::StoreKind;
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

/// Whether this run puts the in-process apps' stores on PostgreSQL
/// (`TRIFECTA_TEST_BACKEND=postgres`, as `make test-postgres` runs the suite).
pub fn on_postgres() -> bool {
    std::env::var("TRIFECTA_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

/// The PostgreSQL databases of each storage dir whose stores a test put there (an
/// in-process app: all four; a queue fixture: the queue), as the environment variables that
/// say so, so that the other processes a test starts on that dir (the CLI, a second server)
/// use them too.
static DATABASES: std::sync::LazyLock<Mutex<std::collections::HashMap<PathBuf, DatabaseEnv>>> =
    std::sync::LazyLock::new(Mutex::default);

/// Environment variables naming stores' databases, with their URLs.
type DatabaseEnv = Vec<(&'static str, String)>;

/// Records that the stores of storage dir `dir` named by `var` (`DATABASE_URL`,
/// `TRIFECTA_QUEUE_DATABASE_URL`, ...) are at `url`.
pub fn register_database(dir: &Path, var: &'static str, url: &str) {
    DATABASES
        .lock()
        .expect("databases lock")
        .entry(dir.to_path_buf())
        .or_default()
        .push((var, url.to_owned()));
}

/// The `DATABASE_URL` of storage dir `dir`, when an in-process app put its stores there.
pub fn database_of(dir: &Path) -> Option<String> {
    database_env(dir)
        .into_iter()
        .find_map(|(var, url)| (var == "DATABASE_URL").then_some(url))
}

/// The environment that points a process on storage dir `dir` at its stores on PostgreSQL.
fn database_env(dir: &Path) -> Vec<(&'static str, String)> {
    DATABASES
        .lock()
        .expect("databases lock")
        .get(dir)
        .cloned()
        .unwrap_or_default()
}

/// True (after saying why) when the tests run on PostgreSQL and this test is about SQLite
/// files: the caller returns early.
pub fn sqlite_only(reason: &str) -> bool {
    let skip = on_postgres();
    if skip {
        eprintln!("skipped on PostgreSQL: {reason}");
    }
    skip
}

impl TestApp {
    /// Starts the app with default settings and a fresh temp storage dir.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app after `tune` adjusts the config.
    pub async fn spawn_with(tune: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_extended(tune, Extras::default()).await
    }

    /// Starts the app after `tune` adjusts the config, with `extras` (channels, connect hook).
    pub async fn spawn_extended(tune: impl FnOnce(&mut Config), extras: Extras) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_dir(dir.path());
        tune(&mut config);
        if on_postgres() && config.storage.database.database_url.is_none() {
            let storage = config.storage.storage.clone();
            let url = match database_of(&storage) {
                Some(url) => url,
                None => {
                    let url = trifecta::store::pg::testing::database()
                        .await
                        .expect("a test database on PostgreSQL");
                    register_database(&storage, "DATABASE_URL", &url);
                    url
                }
            };
            config.storage.database.database_url = Some(url);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let running = server::start_with(config, listener, extras)
            .await
            .expect("start");
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

/// The blocking twin of [`wait_for`] (for a child process or a port outside the runtime):
/// polls `f` until it yields `Some`, or returns `None` after `deadline`.
pub fn poll_blocking<T>(deadline: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > deadline {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
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
        .envs(database_env(dir))
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

/// The address in a `listening` log line, text (`addr=...`) or JSON (`"addr":"..."`).
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let text = line
        .split("addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next());
    let json = line
        .split("\"addr\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next());
    text.or(json)?.parse().ok()
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
        Self::spawn_full(dir, "info", "127.0.0.1:0", args, env)
    }

    /// As [`ChildServer::spawn_env`], logging with filter `log` (`--log`); the listening
    /// line is found in text and in JSON (`--log-format json`) logs.
    pub fn spawn_logging(
        dir: &Path,
        log: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ChildServer {
        Self::spawn_full(dir, log, "127.0.0.1:0", args, env)
    }

    /// As [`ChildServer::spawn_env`], listening on `bind` (a port the test chose).
    pub fn spawn_at(dir: &Path, bind: &str, args: &[&str], env: &[(&str, &str)]) -> ChildServer {
        Self::spawn_full(dir, "info", bind, args, env)
    }

    fn spawn_full(
        dir: &Path,
        log: &str,
        bind: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ChildServer {
        let mut child = Command::new(bin())
            .arg("--storage")
            .arg(dir)
            .args(["--log", log])
            .arg("serve")
            .args(["--bind", bind])
            .args(args)
            .env("TRIFECTA_ENV", "test")
            .envs(database_env(dir))
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
                if let Some(addr) = listening_addr(&line)
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
        signal(self.child.id(), name);
    }

    /// Waits up to `deadline` for the child to exit.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<ExitStatus> {
        poll_blocking(deadline, || self.child.try_wait().expect("try_wait"))
    }
}

/// Sends signal `name` (`TERM`, `KILL`, `STOP`, ...) to process `pid` with the system `kill`.
pub fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{name} {pid} failed");
}

/// `kill -9` of `child` at an instant the caller can mark: stops it (`SIGSTOP`), waits
/// until every thread of it is stopped, calls `stopped` (the child runs nothing from then
/// on, and still counts as alive), then sends `SIGKILL` and reaps it.
pub fn kill_9_when_stopped(child: &mut Child, stopped: impl FnOnce()) {
    let pid = child.id();
    signal(pid, "STOP");
    poll_blocking(Duration::from_secs(10), || {
        all_threads_stopped(pid).then_some(())
    })
    .unwrap_or_else(|| panic!("process {pid} did not stop"));
    stopped();
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether every thread of `pid` is stopped (`T` in `/proc/<pid>/task/*/stat`).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|stat| {
                let state = stat
                    .rsplit_once(')')?
                    .1
                    .split_whitespace()
                    .next()?
                    .to_owned();
                Some(state == "T" || state == "t")
            })
            // A thread that exited meanwhile runs nothing either.
            .unwrap_or(true)
    })
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
        .envs(database_env(dir))
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

/// A browser-like HTTP client: keeps cookies, does not follow redirects, and echoes the
/// `XSRF-TOKEN` cookie in `X-XSRF-TOKEN` on unsafe requests, as the Inertia client does.
pub struct Browser {
    /// The client.
    pub client: reqwest::Client,
    /// Its cookie store.
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    /// Server base URL, `http://addr`.
    pub base: String,
    /// The server's Inertia asset version, sent on Inertia visits.
    pub version: String,
}

impl Browser {
    /// A fresh browser for the in-process app.
    pub fn of(app: &TestApp) -> Browser {
        Browser::new(app.addr, app.state.site.inertia.version())
    }

    /// A fresh browser for the server at `addr` whose asset version is `version`.
    pub fn new(addr: SocketAddr, version: &str) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .expect("client");
        Browser {
            client,
            jar,
            base: format!("http://{addr}"),
            version: version.to_owned(),
        }
    }

    /// The value of cookie `name`, if the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().expect("url");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    /// GET `path` as a first (non-Inertia) visit.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    /// GET `path` as an Inertia visit (JSON page object).
    pub async fn visit(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("x-inertia", "true")
            .header("x-inertia-version", &self.version)
            .header("x-requested-with", "XMLHttpRequest")
            .send()
            .await
            .expect("visit")
    }

    /// Sends `method path` with a JSON body, as the Inertia client would (XSRF header
    /// included once the browser holds the cookie; fetches `/login` first to get it).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        if self.cookie("XSRF-TOKEN").is_none() {
            self.get("/login").await;
        }
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("x-inertia", "true")
            .header("x-inertia-version", &self.version)
            .header("x-requested-with", "XMLHttpRequest")
            .json(&body);
        if let Some(token) = self.cookie("XSRF-TOKEN") {
            req = req.header("x-xsrf-token", token);
        }
        req.send().await.expect("send")
    }

    /// Sends `method path` form-encoded, with the XSRF header.
    pub async fn send_form(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        if self.cookie("XSRF-TOKEN").is_none() {
            self.get("/login").await;
        }
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .form(form);
        if let Some(token) = self.cookie("XSRF-TOKEN") {
            req = req.header("x-xsrf-token", token);
        }
        req.send().await.expect("send")
    }

    /// Signs up through `POST /registration`; returns the response.
    pub async fn sign_up(&self, email: &str, password: &str) -> reqwest::Response {
        self.send_json(
            reqwest::Method::POST,
            "/registration",
            serde_json::json!({"name": "", "email_address": email, "password": password}),
        )
        .await
    }

    /// Signs in through `POST /session`; returns the response.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.send_json(
            reqwest::Method::POST,
            "/session",
            serde_json::json!({"email_address": email, "password": password}),
        )
        .await
    }

    /// The page object of `path` as a first visit gets it (embedded in the HTML), whatever
    /// this browser's asset version (panics on a non-200 answer or a page without one).
    pub async fn first_page(&self, path: &str) -> serde_json::Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        let html = res.text().await.expect("html");
        let marker = r#"type="application/json">"#;
        let start = html.find(marker).expect("page script") + marker.len();
        let end = start + html[start..].find("</script>").expect("script end");
        serde_json::from_str(&html[start..end]).expect("page JSON")
    }

    /// The Inertia page object of `path` (panics on a non-200 or non-Inertia answer).
    pub async fn page(&self, path: &str) -> serde_json::Value {
        let res = self.visit(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.expect("page JSON")
    }
}

/// The `Location` header of a response.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A browser signed up as `email` (password `correct horse battery`). The first user of an
/// app is its site admin.
pub async fn signed_up(app: &TestApp, email: &str) -> Browser {
    let browser = Browser::of(app);
    let res = browser.sign_up(email, "correct horse battery").await;
    assert!(
        res.status().is_redirection(),
        "sign up {email}: {}",
        res.status()
    );
    browser
}

/// A welcomed ActionCable socket of `browser`'s session (pings ignored).
pub async fn socket_of(app: &TestApp, browser: &Browser) -> crate::cable_client::Client {
    socket_at(app.addr, browser).await
}

/// A welcomed ActionCable socket of `browser`'s session on the server at `addr` (pings
/// ignored).
pub async fn socket_at(addr: SocketAddr, browser: &Browser) -> crate::cable_client::Client {
    let session = browser.cookie("_trifecta_session").expect("signed in");
    let opts = crate::cable_client::Opts::default()
        .ignore(&["ping"])
        .header("cookie", &format!("_trifecta_session={session}"));
    let mut client = crate::cable_client::Client::connect(addr, opts).await;
    assert_eq!(
        client.receive().await,
        serde_json::json!({"type": "welcome"})
    );
    client
}

/// `trifecta ARGS` on storage `dir` from a blocking thread: (success, stdout, stderr).
pub async fn cli(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, out, err) = run_cli(&dir, &args);
        (status.success(), out, err)
    })
    .await
    .expect("cli task")
}

/// Creates a team account named `name` as `browser`; returns its sqid.
pub async fn team_of(browser: &Browser, name: &str) -> String {
    let res = browser
        .send_json(
            reqwest::Method::POST,
            "/accounts",
            serde_json::json!({"account": {"name": name}}),
        )
        .await;
    let to = location(&res);
    to.strip_prefix("/accounts/")
        .unwrap_or_else(|| panic!("team {name} created: {} to {to:?}", res.status()))
        .to_owned()
}

/// The identifier of a `SyncChannel` subscription.
pub fn sync_id(model: &str, id: &str) -> String {
    serde_json::json!({"channel": "SyncChannel", "model": model, "id": id}).to_string()
}

/// An Inertia partial reload of `path` asking `component` for just `only`.
pub async fn partial_reload(
    browser: &Browser,
    path: &str,
    component: &str,
    only: &str,
) -> reqwest::Response {
    browser
        .client
        .get(format!("{}{path}", browser.base))
        .header("x-inertia", "true")
        .header("x-inertia-version", &browser.version)
        .header("x-requested-with", "XMLHttpRequest")
        .header("x-inertia-partial-component", component)
        .header("x-inertia-partial-data", only)
        .send()
        .await
        .expect("partial reload")
}

/// Appends a message to the cable file in `dir` as another process would: on a connection of
/// its own, so no wake-up of this process's listener.
pub fn insert_as_another_process(dir: &Path, channel: &str, payload: &str) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(dir.join(StoreKind::Cable.file_name("test")))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute(
        "INSERT INTO solid_cable_messages (channel, payload, created_at, channel_hash)
         VALUES (?1, ?2, 0, ?3)",
        rusqlite::params![
            channel.as_bytes(),
            payload.as_bytes(),
            trifecta::cable::channel_hash(channel)
        ],
    )?;
    Ok(())
}
