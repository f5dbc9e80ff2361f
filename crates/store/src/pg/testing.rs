//! A PostgreSQL server for tests (feature `testing`): the server at
//! `TRIFECTA_TEST_DATABASE_URL` when that is set, or else a throwaway cluster this process
//! makes with the machine's `initdb` and runs until it exits. Every [`database`] call creates
//! a fresh, empty database on it, so tests never see each other's rows.
//!
//! The throwaway cluster lives in `$TMPDIR/trifecta-pg-<pid>`, owned by the `postgres` user
//! when the tests run as root (PostgreSQL refuses to run as root); it is started with
//! durability off (`fsync`, `synchronous_commit`, `full_page_writes`), which tests do not
//! need, and is killed by the kernel when this process ends (`PR_SET_PDEATHSIG` from a thread
//! that lives as long as the process). Directories of earlier processes that are gone are
//! removed the next time a cluster is made.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable naming an existing server to test against.
pub const URL_ENV: &str = "TRIFECTA_TEST_DATABASE_URL";

/// The server every test of this process uses: its base URL (without a database name).
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// Databases created by this process so far.
static CREATED: AtomicU64 = AtomicU64::new(0);

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
    let (client, conn) = tokio_postgres::connect(&server.admin_url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot connect to the test server: {e}"))?;
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| format!("cannot create the test database {name}: {e}"))?;
    drop(client);
    let _ = task.await;
    Ok(format!("{}/{name}", server.base))
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
    let bin = bin_dir()?;
    let root = std::env::temp_dir();
    remove_stale(&root);
    let dir = root.join(format!("trifecta-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let owner = owner()?;
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
    let port = free_port()?;
    let postgres = bin.join("postgres");
    let log = std::fs::File::create(dir.join("server.log"))
        .map_err(|e| format!("cannot create the server log: {e}"))?;
    let mut cmd = as_owner(Command::new(&postgres), owner);
    cmd.arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(&dir)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=400",
            "-c",
            "shared_buffers=64MB",
        ])
        .stdout(Stdio::null())
        .stderr(log);
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
                let _ = tx.send(Err(format!("cannot start {}: {e}", postgres.display())));
            }
        })
        .map_err(|e| format!("cannot start the server thread: {e}"))?;
    rx.recv().map_err(|e| e.to_string())??;
    let base = format!("postgres://postgres@127.0.0.1:{port}");
    let admin_url = format!("{base}/postgres");
    wait_ready(&admin_url, &dir)?;
    Ok(Server { base, admin_url })
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
            Err(e) if Instant::now() > deadline => {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                return Err(format!(
                    "the test server did not start: {e}; its log: {log}"
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
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

/// Removes `trifecta-pg-<pid>` directories whose process is gone.
fn remove_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("trifecta-pg-")) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
