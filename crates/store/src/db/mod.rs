//! [`Db`]: one SQLite file behind an r2d2 pool, reached from async code only through
//! [`Db::call`] and [`Db::write`], which run their closure as blocking work (and
//! [`Db::data_version`], the one non-blocking check, which runs in place).
//!
//! How the closure runs: on a worker of tokio's multi-threaded runtime (the server's),
//! `block_in_place` first hands this worker's queue of tasks to another thread of the
//! blocking pool, then runs the closure right here; the runtime never loses a worker to
//! SQLite, just as with `spawn_blocking`. What it saves is the two thread hand-offs of
//! `spawn_blocking` (submit, then wake the awaiting task), which cost several times a point
//! query: on the 2-vCPU machine a `spawn_blocking` round trip is 10–18 µs at p50, a keyed
//! read 3 µs. Anywhere else (a current-thread runtime, as in `#[tokio::test]`), the closure
//! goes to `spawn_blocking`.
//!
//! A `Db` fails closed when its file goes away: see [`health`] for the identity check that
//! retires a handle whose file was deleted or replaced, and the write probe of `/up`.

use parking_lot::Mutex;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use r2d2::{CustomizeConnection, Pool};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Semaphore;

use super::error::{Error, Result};

mod health;
mod snapshot;

use health::FileId;

/// How long SQLite waits on another connection's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Page cache of the write connection, in KiB (SQLite's default is 2,000).
const WRITE_CONN_CACHE_KIB: u32 = 65_536;

/// Pool sizing.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Most connections open at once per file.
    pub max_connections: u32,
    /// How long [`Db::call`] waits for a free connection.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// A handle to one SQLite file. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    path: PathBuf,
    pool: Pool<SqliteConnectionManager>,
    /// Serializes this process's write transactions, so they queue here (cheaply, in FIFO
    /// order) instead of spinning in SQLite's busy handler, which sleeps in coarse steps.
    /// Other processes still contend through SQLite's own lock and `busy_timeout`.
    writer: Arc<Semaphore>,
    /// The one connection write transactions run on, opened on first use. In WAL mode a
    /// commit by any other connection empties a connection's page cache, so writes spread
    /// over the pool would each start cold and re-read every page they touch (measured:
    /// ~200 µs for a queue claim after an idle gap, against ~20 µs warm); kept on one
    /// connection, the pages of consecutive writes stay cached.
    write_conn: Mutex<Option<Connection>>,
    /// A read-only connection used only for `PRAGMA data_version`, opened on first use;
    /// it never writes, so every commit to the file (this process's included) changes
    /// its value.
    watch: Mutex<Option<Connection>>,
    /// Device and inode of the file this handle opened; `None` where the platform has none.
    identity: Option<FileId>,
    /// Set for good once the file at the path is no longer the one opened (deleted or
    /// replaced): every call then fails with [`Error::Retired`] until a restart.
    retired: std::sync::atomic::AtomicBool,
    /// `trifecta_sqlite_write_wait_seconds{db}`, looked up once when the handle opens: with
    /// a recorder installed every `histogram!` is a registry lookup, too dear per write.
    write_wait: metrics::Histogram,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("name", &self.inner.name)
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<Connection, rusqlite::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        apply_pragmas(conn)
    }
}

/// The per-connection settings every file gets. `journal_mode` is stored in the file; the
/// others are per connection, which is why they run on every new pooled connection.
fn apply_pragmas(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("journal_mode is {mode}, expected wal")),
        ));
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA temp_store = MEMORY;",
    )
}

impl Db {
    /// Opens (creating if missing) the file at `path` and checks it really is a usable
    /// SQLite database before handing out a pool.
    ///
    /// # Errors
    /// [`Error::Open`] when the file cannot be opened or is not a database.
    pub fn open(name: &'static str, path: &Path, options: &PoolOptions) -> Result<Self> {
        Self::open_with(name, path, options, OpenFlags::default())
    }

    /// As [`Db::open`], for a file that must already exist: a missing file is an error,
    /// never a new empty database.
    ///
    /// # Errors
    /// [`Error::Open`] when the file is missing, cannot be opened or is not a database.
    pub fn open_existing(name: &'static str, path: &Path, options: &PoolOptions) -> Result<Self> {
        let flags = OpenFlags::default().difference(OpenFlags::SQLITE_OPEN_CREATE);
        Self::open_with(name, path, options, flags)
    }

    fn open_with(
        name: &'static str,
        path: &Path,
        options: &PoolOptions,
        flags: OpenFlags,
    ) -> Result<Self> {
        let open_err = |e: &dyn fmt::Display| Error::Open {
            db: name,
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        // A direct first connection turns "not a database" into one clear error at once;
        // r2d2's own build would retry for its whole connection timeout.
        let probe = Connection::open_with_flags(path, flags).map_err(|e| open_err(&e))?;
        apply_pragmas(&probe).map_err(|e| open_err(&e))?;
        probe
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| open_err(&e))?;
        drop(probe);
        let identity = FileId::of(path).map_err(|e| open_err(&e))?;

        let manager = SqliteConnectionManager::file(path).with_flags(flags);
        let pool = Pool::builder()
            .max_size(options.max_connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.acquire_timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            // Never recycle the last connection (r2d2's default closes each after 30 min):
            // an open WAL connection holds the file's shared lock, so no other process can
            // take it in `locking_mode=EXCLUSIVE` and lock our reads out.
            .max_lifetime(None)
            // A local file's connection does not go stale; the per-checkout probe would
            // cost a statement on every call.
            .test_on_check_out(false)
            .connection_customizer(Box::new(Pragmas))
            .build_unchecked(manager);
        Ok(Self {
            inner: Arc::new(Inner {
                name,
                path: path.to_path_buf(),
                pool,
                writer: Arc::new(Semaphore::new(1)),
                write_conn: Mutex::new(None),
                watch: Mutex::new(None),
                identity,
                retired: std::sync::atomic::AtomicBool::new(false),
                write_wait: metrics::histogram!("trifecta_sqlite_write_wait_seconds", "db" => name),
            }),
        })
    }

    /// Store name (`app`, `queue`, `cache`, `cable`).
    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with a pooled connection as blocking work (see the module docs). The
    /// connection is taken and returned inside the blocking section, never held across an
    /// `.await`.
    ///
    /// Use it for reads and for statements that manage their own transaction; use
    /// [`Db::write`] for write transactions.
    ///
    /// # Errors
    /// Whatever `f` returns, or a pool or join error converted into `E`.
    pub async fn call<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        self.ensure_current()?;
        let inner = self.inner.clone();
        blocking(move || {
            // The write connection when it is free: its page cache survives this process's
            // commits, which empty the cache of every pooled connection (WAL mode).
            if let Some(mut slot) = inner.write_conn.try_lock()
                && let Some(conn) = slot.as_mut()
            {
                return f(conn);
            }
            let mut conn = inner.pool.get().map_err(Error::from)?;
            f(&mut conn)
        })
        .await?
    }

    /// `PRAGMA data_version` of the file: a value that changes whenever anyone, in this
    /// process or another, has committed to it since the last call. It is an idle
    /// poller's "anything new?".
    ///
    /// Unlike every other call, it runs on the calling thread: an idle server makes twenty
    /// of these checks a second, and the hand-off to a blocking thread costs more CPU than
    /// the check (measured: the idle server's CPU falls from about 0.5 % to 0.4 % of a
    /// core). It cannot stall the runtime: the connection is read-only and dedicated, it
    /// never waits for a lock (busy timeout 0, so a lock it cannot get at once is an
    /// error, which a poller treats as "maybe changed"), and the WAL recovery after a
    /// crash is done by [`Db::open`]'s probe. The check reads the WAL index in shared
    /// memory: a few microseconds. (The one longer case: a writer killed in the middle
    /// of updating that index makes the next reader rebuild it from the WAL, once.)
    ///
    /// # Errors
    /// The watch connection cannot be opened or read, or the file is locked right now.
    pub fn data_version(&self) -> Result<i64> {
        self.ensure_current()?;
        let mut slot = self.inner.watch.lock();
        let conn = match slot.as_mut() {
            Some(conn) => conn,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&self.inner.path, flags)?;
                conn.busy_timeout(Duration::ZERO)?;
                slot.insert(conn)
            }
        };
        let mut stmt = conn.prepare_cached("PRAGMA data_version")?;
        Ok(stmt.query_row([], |r| r.get(0))?)
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction and commits it when `f` returns
    /// `Ok`; rolls back otherwise. Writes of this process run one at a time.
    ///
    /// # Errors
    /// Whatever `f` returns, or a pool, SQLite or join error converted into `E`.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        self.ensure_current()?;
        let started = Instant::now();
        let permit = self
            .inner
            .writer
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Sqlite(rusqlite::Error::InvalidQuery))?;
        let inner = self.inner.clone();
        blocking(move || {
            let _permit = permit;
            inner.write_tx(started, None, f)
        })
        .await?
    }

    /// [`Db::write`] with a deadline, for best-effort writes that must not stall their caller
    /// (the cache): waiting for this process's writer queue and for another connection's
    /// write lock together take about `timeout` at most, instead of up to [`BUSY_TIMEOUT`].
    /// SQLite's busy timeout is lowered to what is left of `timeout` for this transaction
    /// only and restored before the connection goes back to the pool.
    ///
    /// # Errors
    /// As [`Db::write`]; SQLite's busy error when another connection held the write lock
    /// past the deadline, or [`Error::WriteQueueTimeout`] when this process's own writes
    /// did. Both are [`Error::is_busy`].
    pub async fn write_within<T, E, F>(&self, timeout: Duration, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        self.ensure_current()?;
        let started = Instant::now();
        let queue_timeout = || Error::WriteQueueTimeout {
            db: self.inner.name,
            waited: started.elapsed(),
        };
        let permit = tokio::time::timeout(timeout, self.inner.writer.clone().acquire_owned())
            .await
            .map_err(|_| queue_timeout())?
            .map_err(|_| Error::Sqlite(rusqlite::Error::InvalidQuery))?;
        let inner = self.inner.clone();
        blocking(move || {
            let _permit = permit;
            // Zero left means one attempt without waiting: the lock may well be free.
            inner.write_tx(started, Some(timeout.saturating_sub(started.elapsed())), f)
        })
        .await?
    }

    /// Blocking form of [`Db::write`], for code already on a blocking thread (migrations,
    /// tests). It does not take the in-process writer queue, only the write connection.
    ///
    /// # Errors
    /// As [`Db::write`].
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E>,
        E: From<Error>,
    {
        self.ensure_current()?;
        self.inner.write_tx(Instant::now(), None, f)
    }

    /// Blocking form of [`Db::call`], for code already on a blocking thread.
    ///
    /// # Errors
    /// Whatever `f` returns, or a pool error converted into `E`.
    pub fn call_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Connection) -> Result<T, E>,
        E: From<Error>,
    {
        self.ensure_current()?;
        let mut conn = self.inner.pool.get().map_err(Error::from)?;
        f(&mut conn)
    }
}

/// Runs blocking `f` without taking a worker from the runtime: in place after handing the
/// worker's tasks to another thread on a multi-threaded runtime, else on the blocking pool.
/// A panic in `f` becomes [`Error::Panic`] either way, never an unwinding request task.
async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let multi_thread = Handle::try_current()
        .is_ok_and(|h| matches!(h.runtime_flavor(), RuntimeFlavor::MultiThread));
    if multi_thread {
        tokio::task::block_in_place(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
                Error::Panic(
                    p.downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_default(),
                )
            })
        })
    } else {
        Ok(tokio::task::spawn_blocking(f).await?)
    }
}

/// Runs `f` in one `BEGIN IMMEDIATE` transaction; the wait from `started` until SQLite granted
/// the write lock goes to `trifecta_sqlite_write_wait_seconds{db}`.
fn run_tx<T, E, F>(
    conn: &mut Connection,
    write_wait: &metrics::Histogram,
    started: Instant,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&Transaction<'_>) -> Result<T, E>,
    E: From<Error>,
{
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(Error::from)?;
    write_wait.record(started.elapsed());
    let out = f(&tx)?;
    tx.commit().map_err(Error::from)?;
    Ok(out)
}

impl Inner {
    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the write connection (blocking),
    /// waiting at most `busy` (instead of [`BUSY_TIMEOUT`]) for another process's lock; the
    /// write was asked for at `started`.
    fn write_tx<T, E, F>(&self, started: Instant, busy: Option<Duration>, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E>,
        E: From<Error>,
    {
        // A panic inside a transaction rolls it back (the `Transaction` drops) before the
        // lock is released, so the connection is clean for the next writer.
        let mut slot = self.write_conn.lock();
        let conn = match &mut *slot {
            Some(conn) => conn,
            None => slot.insert(self.open_write_conn()?),
        };
        let Some(busy) = busy else {
            return run_tx(conn, &self.write_wait, started, f);
        };
        conn.busy_timeout(busy).map_err(Error::from)?;
        let out = run_tx(conn, &self.write_wait, started, f);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(Error::from)?;
        out
    }

    fn open_write_conn(&self) -> Result<Connection> {
        let conn = Connection::open(&self.path)?;
        apply_pragmas(&conn)?;
        // This connection's pages stay valid across the process's own commits and it
        // serves reads whenever no write holds it, so it alone gets a page cache the size
        // of a working set (64 MiB, allocated only as pages are read): a random read of a
        // 25 MB cache file then finds its b-tree pages here (p50 4.3 µs) instead of going
        // back to the OS through the default 2 MiB cache (5.3 µs). Pooled connections keep
        // the default, so the most this adds per file is one cache of 64 MiB.
        conn.execute_batch(&format!("PRAGMA cache_size = -{WRITE_CONN_CACHE_KIB};"))?;
        Ok(conn)
    }
}
