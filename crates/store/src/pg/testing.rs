//! A PostgreSQL server for tests (feature `testing`): the server at
//! `TRIFECTA_TEST_DATABASE_URL` when that is set, or else a throwaway cluster this process
//! makes with the machine's `initdb` and runs until it exits. Every [`database`] call creates
//! a fresh, empty database on it, so tests never see each other's rows.
//!
//! The throwaway cluster lives in `$TMPDIR/trifecta-pg-<pid>-<n>` (`/tmp` when the `postgres`
//! user could not reach `$TMPDIR`), owned by the `postgres` user when the tests run as root
//! (PostgreSQL refuses to run as root); it is started with
//! durability off (`fsync`, `synchronous_commit`, `full_page_writes`), which tests do not
//! need, and is killed by the kernel when this process ends (`PR_SET_PDEATHSIG` from a thread
//! that lives as long as the process). Directories of earlier processes that are gone are
//! removed the next time a cluster is made.
//!
//! Benchmarks make their own cluster instead ([`Cluster::start_local`] with `durable`): the
//! same throwaway directory, but with PostgreSQL's durability defaults left alone (`fsync`,
//! `synchronous_commit` and `full_page_writes` on), so that a commit costs what it costs a
//! production server on the same disk.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable naming an existing server to test against.
pub const URL_ENV: &str = "TRIFECTA_TEST_DATABASE_URL";

/// The server every test of this process uses: its base URL (without a database name).
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// Databases created by this process so far.
static CREATED: AtomicU64 = AtomicU64::new(0);

/// Clusters made by this process so far.
static CLUSTERS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
struct Server {
    /// `postgres://user@host:port` (or the given URL), to which a database name is appended.
    base: String,
    /// The maintenance database to run `CREATE DATABASE` in.
    admin_url: String,
}

/// A new empty database on the test server; returns its URL.
///
/// # Errors
/// When no server can be had: `initdb` is missing (`make test` installs Debian's
/// `postgresql`), the server does not start, or the database cannot be created. The message
/// says which.
pub async fn database() -> Result<String, String> {
    let server = SERVER
        .get_or_init(|| {
            // `start` blocks on the server's start-up; a thread of its own keeps that off
            // the caller's runtime.
            std::thread::scope(|s| s.spawn(start).join())
                .unwrap_or_else(|_| Err("starting the test cluster panicked".into()))
        })
        .as_ref()
        .map_err(|e| format!("no PostgreSQL server for the tests: {e}"))?;
    let name = format!(
        "trifecta_test_{}_{}",
        std::process::id(),
        CREATED.fetch_add(1, Ordering::Relaxed)
    );
    create_database(&server.admin_url, &name).await?;
    Ok(format!("{}/{name}", server.base))
}

/// Creates the empty database `name` (a plain identifier) on the server of `admin_url`, a
/// URL of an existing database there (`postgres`).
///
/// # Errors
/// The server cannot be reached or refuses; the message says which.
pub async fn create_database(admin_url: &str, name: &str) -> Result<(), String> {
    admin(admin_url, &format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| format!("cannot create the database {name}: {e}"))
}

/// Drops database `name` on the server of `admin_url`, closing its connections first.
///
/// # Errors
/// As [`create_database`].
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    admin(
        admin_url,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await
    .map_err(|e| format!("cannot drop the database {name}: {e}"))
}

/// Runs `sql` on one connection to `admin_url`.
async fn admin(admin_url: &str, sql: &str) -> Result<(), String> {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot connect to the server: {e}"))?;
    let task = tokio::spawn(conn);
    let done = client.batch_execute(sql).await.map_err(|e| e.to_string());
    drop(client);
    let _ = task.await;
    done
}

/// A pool of `size` connections to `url` for store `name`, migrated with `runner`: what a
/// server's store on that database would be.
///
/// # Errors
/// The pool cannot be made or the migrations fail; the message says which.
pub async fn open(
    name: &'static str,
    url: &str,
    size: usize,
    runner: fn() -> refinery::Runner,
) -> Result<super::Pg, String> {
    open_with(name, url, size, runner, &[]).await
}

/// [`open`] with the store's session `settings` (see [`super::Pg::connect_with`]).
///
/// # Errors
/// The pool cannot be made or the migrations fail; the message says which.
pub async fn open_with(
    name: &'static str,
    url: &str,
    size: usize,
    runner: fn() -> refinery::Runner,
    settings: &[(&str, &str)],
) -> Result<super::Pg, String> {
    let pg = super::Pg::connect_with(name, url, size, settings).map_err(|e| e.to_string())?;
    pg.migrate(runner).await.map_err(|e| e.to_string())?;
    Ok(pg)
}

/// Uses [`URL_ENV`] or makes and starts a cluster.
fn start() -> Result<Server, String> {
    if let Ok(url) = std::env::var(URL_ENV) {
        url.parse::<tokio_postgres::Config>()
            .map_err(|e| format!("{URL_ENV} is not a PostgreSQL URL: {e}"))?;
        // postgres://user:password@host:port/dbname?options: new databases replace dbname.
        let authority = url.find("://").map_or(0, |i| i + 3);
        let base = match url[authority..].find(['/', '?']) {
            Some(end) => url[..authority + end].to_owned(),
            None => url.clone(),
        };
        return Ok(Server {
            base,
            admin_url: url,
        });
    }
    let (dir, mut cmd, base) = prepare(None, IpAddr::V4(Ipv4Addr::LOCALHOST), false)?;
    kill_with_parent(&mut cmd);
    // The death signal follows the thread that forks the server, so that thread must live as
    // long as the process: it waits on the server forever.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("test-postgres".into())
        .spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(()));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(format!("cannot start the test server: {e}")));
            }
        })
        .map_err(|e| format!("cannot start the server thread: {e}"))?;
    rx.recv().map_err(|e| e.to_string())??;
    let admin_url = format!("{base}/postgres");
    wait_ready(&admin_url, &dir)?;
    Ok(Server { base, admin_url })
}

/// A cluster of its own for one test, in a network namespace (a host of a multi-host test):
/// stopped and removed when dropped, and killed by the kernel if the thread that started it
/// ends first.
#[derive(Debug)]
pub struct Cluster {
    child: Child,
    dir: PathBuf,
    base: String,
}

impl Cluster {
    /// Makes a cluster and starts it inside network namespace `netns` (`ip netns exec`),
    /// listening on `addr`, which must be reachable from this process; waits until it
    /// accepts connections.
    ///
    /// # Errors
    /// As [`database`]: no `initdb`, or a server that does not start.
    pub fn start_in(netns: &str, addr: IpAddr) -> Result<Cluster, String> {
        let (dir, mut cmd, base) = prepare(Some(netns), addr, false)?;
        kill_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the test server in {netns}: {e}"))?;
        Self::ready(Cluster { child, dir, base })
    }

    /// Makes a cluster and starts it on 127.0.0.1 (a free port), as for the tests but of
    /// its own; with `durable` PostgreSQL's durability settings stay at their defaults
    /// (`fsync`, `synchronous_commit`, `full_page_writes` on), which benchmarks need for
    /// honest figures. Waits until it accepts connections.
    ///
    /// # Errors
    /// As [`database`]: no `initdb`, or a server that does not start.
    pub fn start_local(durable: bool) -> Result<Cluster, String> {
        let (dir, mut cmd, base) = prepare(None, IpAddr::V4(Ipv4Addr::LOCALHOST), durable)?;
        kill_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the cluster: {e}"))?;
        Self::ready(Cluster { child, dir, base })
    }

    /// Waits until `cluster` accepts connections.
    fn ready(cluster: Cluster) -> Result<Cluster, String> {
        // wait_ready blocks on a runtime of its own, which cannot run inside the caller's.
        let url = cluster.url("postgres");
        std::thread::scope(|s| s.spawn(|| wait_ready(&url, &cluster.dir)).join())
            .unwrap_or_else(|_| Err("waiting for the test server panicked".into()))?;
        Ok(cluster)
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// Creates the empty database `name` on this cluster; returns its URL.
    ///
    /// # Errors
    /// As [`create_database`].
    pub async fn database(&self, name: &str) -> Result<String, String> {
        create_database(&self.url("postgres"), name).await?;
        Ok(self.url(name))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Makes and initialises a cluster directory; returns it, the command that runs its server
/// (inside `netns` when given) listening on `addr`, and the server's base URL. Durability is
/// off unless `durable`.
fn prepare(
    netns: Option<&str>,
    addr: IpAddr,
    durable: bool,
) -> Result<(PathBuf, Command, String), String> {
    let bin = bin_dir()?;
    let owner = owner()?;
    let root = cluster_root(owner.is_some());
    remove_stale(&root);
    let n = CLUSTERS.fetch_add(1, Ordering::Relaxed);
    let dir = root.join(format!("trifecta-pg-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if let Some((uid, gid)) = owner {
        chown(&dir, uid, gid)?;
    }
    let data = dir.join("data");
    let status = as_owner(Command::new(bin.join("initdb")), owner)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C",
            "-D",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.join("initdb").display()))?;
    if !status.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&status.stderr).trim()
        ));
    }
    // Hosts of a multi-host test connect from their own addresses; initdb trusts only
    // local ones. Nothing but the test reaches these clusters.
    let hba = data.join("pg_hba.conf");
    let mut rules =
        std::fs::read_to_string(&hba).map_err(|e| format!("cannot read {}: {e}", hba.display()))?;
    rules.push_str("host all all 0.0.0.0/0 trust\nhost all all ::/0 trust\n");
    std::fs::write(&hba, rules).map_err(|e| format!("cannot write {}: {e}", hba.display()))?;
    let port = if netns.is_some() { 5432 } else { free_port()? };
    let postgres = bin.join("postgres");
    let log = std::fs::File::create(dir.join("server.log"))
        .map_err(|e| format!("cannot create the server log: {e}"))?;
    let mut cmd = match netns {
        // `ip netns exec` must run as root to enter the namespace; the server drops to the
        // cluster's owner after it, through setpriv.
        Some(ns) => {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", ns]);
            if let Some((uid, gid)) = owner {
                cmd.arg("setpriv")
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .args(["--clear-groups", "--"]);
            }
            cmd.arg(&postgres);
            cmd
        }
        None => as_owner(Command::new(&postgres), owner),
    };
    cmd.arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(&dir)
        .arg("-c")
        .arg(format!("listen_addresses={addr}"))
        .args(["-c", "max_connections=400"]);
    if !durable {
        cmd.args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "shared_buffers=64MB",
        ]);
    }
    cmd.stdout(Stdio::null()).stderr(log);
    let host = match addr {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    Ok((dir, cmd, format!("postgres://postgres@{host}:{port}")))
}

/// Waits until the server accepts a connection (at most 60 s).
fn wait_ready(url: &str, dir: &Path) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let attempt = rt.block_on(tokio_postgres::connect(url, tokio_postgres::NoTls));
        match attempt {
            Ok(_) => return Ok(()),
            // A refusal from the server other than "starting up" will not change by waiting.
            Err(e) if refused(&e) || Instant::now() > deadline => {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(10)..].join("\n");
                return Err(format!(
                    "the test server did not start: {e}; the end of its log:\n{tail}"
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Whether the server answered and refused for good (not "the database system is starting
/// up", which it says while it recovers).
fn refused(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| *db.code() != tokio_postgres::error::SqlState::CANNOT_CONNECT_NOW)
}

/// Where cluster directories go: the temp dir, unless the cluster runs as another user who
/// could not reach it (a `TMPDIR` only root may enter), then `/tmp`.
fn cluster_root(other_user: bool) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let root = std::env::temp_dir();
    let reachable = root
        .ancestors()
        .all(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if other_user && !reachable {
        PathBuf::from("/tmp")
    } else {
        root
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`.
fn bin_dir() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL is not installed (no /usr/lib/postgresql; `make test` installs Debian's postgresql)".to_owned())?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_owned())
}

/// Has the kernel kill the child when the thread that spawns it ends.
#[expect(
    unsafe_code,
    reason = "Command::pre_exec is unsafe; the hook only calls prctl"
)]
fn kill_with_parent(cmd: &mut Command) {
    // SAFETY: the hook runs between fork and exec and only makes one system call
    // (prctl(PR_SET_PDEATHSIG)), which is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                .map_err(std::io::Error::from)
        });
    }
}

/// `(uid, gid)` of the `postgres` user when running as root (PostgreSQL will not run as
/// root); `None` otherwise.
fn owner() -> Result<Option<(u32, u32)>, String> {
    if !rustix::process::geteuid().is_root() {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| format!("cannot read /etc/passwd: {e}"))?;
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            if fields.next()? != "postgres" {
                return None;
            }
            let uid = fields.nth(1)?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            Some(Some((uid, gid)))
        })
        .ok_or_else(|| "running as root and there is no `postgres` user to run the test server as (Debian's postgresql package makes it)".to_owned())
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|e| format!("cannot chown {}: {e}", path.display()))
}

/// `cmd`, run as `owner` when given.
fn as_owner(mut cmd: Command, owner: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = owner {
        // std drops the supplementary groups itself when it changes the uid as root.
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Removes `trifecta-pg-<pid>-<n>` directories whose process is gone.
fn remove_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("trifecta-pg-"))
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
