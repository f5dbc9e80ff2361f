//! The cache's failure policy: a busy, locked or unreadable file is a miss and a dropped
//! write (logged), never an error and never a wait for the store's 5 s busy timeout; and
//! how far SQLite lets another connection make the cache's reads fail at all.

use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};
use trifecta::cache::WriteOptions;
use trifecta::store::{BUSY_TIMEOUT, Db, PoolOptions};

use crate::cache::open_cache;
use crate::helpers::{TestResult, wait_for};

/// How long the write-lock holder keeps its lock at most. Well under the store's 5 s busy
/// timeout, so a write that waited for the busy timeout would see the lock released and
/// succeed, which the assertions tell apart from a write dropped while the lock was held.
const HOLD_AT_MOST: Duration = Duration::from_secs(3);

/// Log lines written through this process's `tracing` subscriber for the current thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Routes this thread's `warn` and above here until the guard drops.
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (logs, guard)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Another connection on `path` runs `sql` (which takes a lock), reports it on the
/// returned receiver, and holds the lock until `release` fires or `hold_at_most` passes.
/// Joining the thread says which: `true` when it was released by `release`, i.e. while it
/// still held the lock everything before `release` had returned.
fn hold_lock(
    path: std::path::PathBuf,
    sql: &'static str,
    hold_at_most: Duration,
) -> (
    mpsc::Receiver<()>,
    mpsc::Sender<()>,
    std::thread::JoinHandle<rusqlite::Result<bool>>,
) {
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || -> rusqlite::Result<bool> {
        let conn = Connection::open(&path)?;
        conn.execute_batch(sql)?;
        locked_tx.send(()).ok();
        let released = release_rx.recv_timeout(hold_at_most).is_ok();
        conn.execute_batch("ROLLBACK")?;
        Ok(released)
    });
    (locked_rx, release_tx, holder)
}

/// Every write-side call returns its "dropped" value while another connection holds the
/// file's write lock: before the write timeout (100 ms) they were bounded by the store's
/// 5 s busy timeout, long enough to outlast the holder, and would have returned `true`.
/// Current-thread runtime on purpose: the log capture is per thread, and the cache logs on
/// the calling task's thread.
#[tokio::test]
async fn writes_to_a_file_locked_by_another_connection_are_dropped_while_it_is_held() -> TestResult
{
    let (logs, _guard) = Logs::capture();
    let t = open_cache(|_| {});
    let c = t.cache.clone();
    assert_eq!(c.options().write_timeout, Duration::from_millis(100));
    assert!(c.write("k", &1, WriteOptions::new()).await);
    assert_eq!(c.increment("n", 1, None).await, Some(1));

    let (locked, release, holder) = hold_lock(
        t.stores
            .cache
            .sqlite()
            .expect("a file")
            .path()
            .to_path_buf(),
        "BEGIN IMMEDIATE; UPDATE solid_cache_entries SET value = CAST('2' AS BLOB);",
        HOLD_AT_MOST,
    );
    locked.recv_timeout(Duration::from_secs(10))?;

    let wrote = c.write("k", &3, WriteOptions::new()).await;
    let wrote_many = c
        .write_multi(&[("a", 1), ("b", 2)], WriteOptions::new())
        .await;
    let deleted = c.delete("k").await;
    let counted = c.increment("n", 1, None).await;
    let expiry = c.expire_once().await;
    // WAL readers are not blocked by the writer: the last committed value.
    let read = c.read::<i32>("k").await;
    // Fails only when the holder already gave up, which the next assertion reports.
    release.send(()).ok();
    let released_by_us = holder.join().map_err(|_| "holder panicked")??;

    assert!(
        released_by_us,
        "every call returned while the lock was still held (the holder did not time out)"
    );
    assert!(!wrote, "write dropped");
    assert!(!wrote_many, "write_multi dropped");
    assert!(!deleted, "delete dropped");
    assert_eq!(counted, None, "increment dropped");
    let err = expiry.expect_err("the expiry pass reports the busy file");
    assert!(err.is_busy(), "{err}");
    assert_eq!(read, Some(1));
    let text = logs.text();
    assert!(
        text.matches("cache write failed; dropped").count() >= 4 && text.contains("busy=true"),
        "each dropped write is logged as busy: {text}"
    );

    // The lock is gone: nothing of the dropped writes landed, and writing works again.
    assert_eq!(c.read::<i32>("k").await, Some(1));
    assert_eq!(c.read::<i32>("a").await, None);
    assert_eq!(c.increment("n", 1, None).await, Some(2));
    assert!(c.write("k", &4, WriteOptions::new()).await);
    assert_eq!(c.read::<i32>("k").await, Some(4));
    Ok(())
}

/// The "locked file is a miss" half of the policy cannot be produced by another
/// connection's lock, and this test pins down why, as far as SQLite goes:
///
/// 1. In WAL mode readers never wait for a writer (`BEGIN IMMEDIATE` or `EXCLUSIVE` in the
///    normal locking mode): they read the last committed snapshot (asserted in the test
///    above).
/// 2. The one lock that blocks WAL readers is held by a connection in
///    `PRAGMA locking_mode=EXCLUSIVE` that has used the file: it keeps its WAL index in
///    heap memory and holds an EXCLUSIVE lock on the database file. It can only take that
///    lock when no other connection holds the file's SHARED lock, and every WAL connection
///    that has read the file holds it (plus a read lock on the `-shm` file) for as long as
///    it is open. The cache's pool keeps at least one such connection from `Db::open` on
///    (`min_idle(1)`, no maximum lifetime), so while a cache exists the exclusive holder
///    is refused with `SQLITE_BUSY`, and the cache keeps reading and writing (asserted).
/// 3. The other order, the exclusive holder first, means the cache cannot be opened at
///    all: `Db::open`'s probe fails with "database is locked" after the busy timeout, a
///    startup error before any request runs (asserted; this waits the 5 s busy timeout).
/// 4. What remains are transient states that cannot be produced on demand (WAL recovery
///    after a crash, the last connection's cleanup on close) and unreadable data, which is
///    exercised by `an_unreadable_cache_is_a_miss_and_writes_are_dropped`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusive_lock_is_refused_while_the_cache_is_open_and_stops_it_opening_otherwise()
-> TestResult {
    let t = open_cache(|_| {});
    let c = t.cache.clone();
    assert!(c.write("k", &1, WriteOptions::new()).await);
    let path = t
        .stores
        .cache
        .sqlite()
        .expect("a file")
        .path()
        .to_path_buf();

    let exclusive = |path: std::path::PathBuf| {
        std::thread::spawn(move || -> rusqlite::Result<()> {
            let conn = Connection::open(&path)?;
            conn.busy_timeout(Duration::ZERO)?;
            conn.execute_batch(
                "PRAGMA locking_mode = EXCLUSIVE;
                 BEGIN IMMEDIATE; UPDATE solid_cache_entries SET value = CAST('2' AS BLOB); COMMIT;",
            )?;
            Ok(())
        })
    };
    let refused = exclusive(path.clone())
        .join()
        .map_err(|_| "holder panicked")?
        .expect_err("no exclusive lock while the cache's pool is open");
    assert_eq!(refused.sqlite_error_code(), Some(ErrorCode::DatabaseBusy));
    assert_eq!(c.read::<i32>("k").await, Some(1), "the cache reads on");
    assert!(c.write("k", &5, WriteOptions::new()).await, "and writes on");

    // Close every cache connection; now an exclusive holder gets the file first and keeps
    // it while open, and the cache does not open.
    let dir = t.dir;
    drop((c, t.cache, t.stores));
    let (locked, release, holder) = hold_lock(
        path.clone(),
        "PRAGMA locking_mode = EXCLUSIVE;
         BEGIN IMMEDIATE; UPDATE solid_cache_entries SET value = CAST('6' AS BLOB); COMMIT;
         BEGIN;",
        // Longer than the probe's busy timeout, so the open fails rather than outwaits it.
        BUSY_TIMEOUT * 3,
    );
    locked.recv_timeout(Duration::from_secs(10))?;
    let opened = tokio::task::spawn_blocking({
        let path = path.clone();
        move || Db::open("cache", &path, &PoolOptions::default())
    })
    .await?;
    release.send(()).ok();
    assert!(
        holder.join().map_err(|_| "holder panicked")??,
        "open returned while the holder held the file"
    );
    let err = opened.expect_err("an exclusively held file does not open");
    let text = err.to_string();
    assert!(
        text.contains("cache database") && text.contains("locked"),
        "{text}"
    );
    drop(dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_cache_is_a_miss_and_writes_are_dropped() -> TestResult {
    let t = open_cache(|_| {});
    let c = &t.cache;
    assert!(c.write("k", &1, WriteOptions::new()).await);
    let rename = |from: &'static str, to: &'static str| {
        t.stores.cache.sqlite().expect("a file").write(
            move |tx| -> Result<(), trifecta::store::Error> {
                tx.execute_batch(&format!("ALTER TABLE {from} RENAME TO {to}"))?;
                Ok(())
            },
        )
    };
    rename("solid_cache_entries", "moved_away").await?;
    assert_eq!(c.read::<i32>("k").await, None);
    assert!(
        !c.write("k", &2, WriteOptions::new()).await,
        "write dropped"
    );
    assert_eq!(c.increment("n", 1, None).await, None);
    assert_eq!(c.delete_multi(&["k"]).await, 0);
    assert!(c.clear().await.is_err(), "admin calls report the failure");
    assert!(c.try_delete("k").await.is_err());
    let computed = c.fetch("other", None, || async { 5 }).await;
    assert_eq!(computed, 5, "fetch still answers from compute");
    rename("moved_away", "solid_cache_entries").await?;
    assert_eq!(
        c.read::<i32>("k").await,
        Some(1),
        "the dropped write changed nothing"
    );
    Ok(())
}

/// An expiry pass that fails (the file is write-locked by another connection) is tried
/// again by the background task on its own: the writes that asked for it may have been the
/// last ones, so waiting for another write would leave the cache over its bounds.
/// Current-thread runtime: the log capture is per thread.
#[tokio::test]
async fn a_failed_expiry_pass_is_retried_without_further_writes() -> TestResult {
    let (logs, _guard) = Logs::capture();
    let t = open_cache(|o| {
        o.max_entries = Some(10);
        o.expiry_batch_size = 2;
    });
    let c = t.cache.clone();
    for i in 0..30 {
        assert!(c.write(&format!("k{i}"), &i, WriteOptions::new()).await);
    }
    // No background task yet: the passes these writes asked for are still pending.
    assert_eq!(c.stats().await?.entries, 30);

    let (locked, release, holder) = hold_lock(
        t.stores
            .cache
            .sqlite()
            .expect("a file")
            .path()
            .to_path_buf(),
        "BEGIN IMMEDIATE; UPDATE solid_cache_entries SET value = CAST('0' AS BLOB);",
        Duration::from_secs(30),
    );
    locked.recv_timeout(Duration::from_secs(10))?;
    let token = tokio_util::sync::CancellationToken::new();
    let background = tokio::spawn(c.clone().run(token.clone()));
    wait_for("the pass to fail", Duration::from_secs(10), || async {
        logs.text()
            .contains("cache expiry pass failed")
            .then_some(())
    })
    .await;
    release.send(()).ok();
    assert!(
        holder.join().map_err(|_| "holder panicked")??,
        "released by us"
    );

    wait_for(
        "the cache back within max_entries",
        Duration::from_secs(10),
        || async { (c.stats().await.ok()?.entries <= 10).then_some(()) },
    )
    .await;
    token.cancel();
    background.await?;
    Ok(())
}
