//! Storage: pragmas on every pooled connection, migrations, bad files.

use std::sync::{Arc, Barrier};

use trifecta::store::{self, PoolOptions, run_migrations};
use trifecta::stores::{StoreKind, Stores};

use crate::helpers::{TestResult, run_cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pragmas_hold_on_every_pooled_connection_of_every_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let options = PoolOptions::default();
    let n = options.max_connections as usize;
    let stores = Stores::open(dir.path(), "test", &options)?;
    for kind in StoreKind::ALL {
        let db = stores.get(kind).sqlite().expect("a file").clone();
        // Every call waits at the barrier while holding its connection, so the pool must
        // hand out `n` distinct connections, and each one is checked.
        let barrier = Arc::new(Barrier::new(n));
        let mut calls = Vec::new();
        for _ in 0..n {
            let db = db.clone();
            let barrier = barrier.clone();
            calls.push(tokio::spawn(async move {
                db.call(move |conn| -> Result<_, store::Error> {
                    barrier.wait();
                    let get = |p: &str| -> rusqlite::Result<String> {
                        conn.query_row(&format!("PRAGMA {p}"), [], |r| {
                            r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
                                rusqlite::types::Value::Integer(i) => i.to_string(),
                                rusqlite::types::Value::Text(t) => t,
                                other => format!("{other:?}"),
                            })
                        })
                    };
                    Ok((
                        get("journal_mode")?,
                        get("synchronous")?,
                        get("foreign_keys")?,
                        get("busy_timeout")?,
                    ))
                })
                .await
            }));
        }
        for call in calls {
            let (journal, sync, fk, busy) = call.await??;
            assert_eq!(journal, "wal", "{kind:?} journal_mode");
            assert_eq!(sync, "1", "{kind:?} synchronous");
            assert_eq!(fk, "1", "{kind:?} foreign_keys");
            assert_eq!(busy, "5000", "{kind:?} busy_timeout");
        }
    }
    Ok(())
}

#[test]
fn migrations_apply_to_fresh_files_and_are_idempotent() -> TestResult {
    let dir = tempfile::tempdir()?;
    let first = Stores::open(dir.path(), "test", &PoolOptions::default())?;
    for kind in StoreKind::ALL {
        let path = dir.path().join(kind.file_name("test"));
        assert!(path.exists(), "{} exists", path.display());
        let report = first
            .get(kind)
            .sqlite()
            .expect("a file")
            .migrate_blocking(kind.schema())?;
        assert!(
            report.applied.is_empty(),
            "nothing left to apply: {report:?}"
        );
        assert!(report.version >= 1);
    }
    let tables: i64 =
        first
            .queue
            .sqlite()
            .expect("a file")
            .call_blocking(|c| -> Result<i64, store::Error> {
                Ok(c.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name LIKE 'solid_queue_%'",
            [],
            |r| r.get(0),
        )?)
            })?;
    assert!(tables >= 10, "queue tables created: {tables}");
    drop(first);
    // A restart opens the same files and applies nothing.
    let again = Stores::open(dir.path(), "test", &PoolOptions::default())?;
    for kind in StoreKind::ALL {
        assert!(
            again
                .get(kind)
                .sqlite()
                .expect("a file")
                .migrate_blocking(kind.schema())?
                .applied
                .is_empty()
        );
    }
    Ok(())
}

#[test]
fn a_broken_migration_is_reported_by_name() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("x.sqlite3");
    let mut conn = rusqlite::Connection::open(&path)?;
    let runner = refinery::Runner::new(&[
        refinery::Migration::unapplied("V1__fine", "CREATE TABLE a (x INTEGER);")?,
        refinery::Migration::unapplied("V2__broken", "CREATE TABLEE b (x INTEGER);")?,
    ]);
    let err = run_migrations("app", &path, &mut conn, runner).expect_err("must fail");
    let msg = err.to_string();
    assert!(matches!(err, store::Error::Migration { .. }), "{msg}");
    assert!(msg.contains("app database"), "{msg}");
    assert!(msg.contains("V2__broken"), "{msg}");
    Ok(())
}

#[test]
fn a_file_from_a_newer_schema_is_refused_with_one_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    drop(Stores::open(dir.path(), "test", &PoolOptions::default())?);
    let queue = dir.path().join(StoreKind::Queue.file_name("test"));
    let conn = rusqlite::Connection::open(&queue)?;
    conn.execute(
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (999, 'future', '', '0')",
        [],
    )?;
    drop(conn);
    let err = Stores::open(dir.path(), "test", &PoolOptions::default()).expect_err("refused");
    assert!(
        matches!(
            err,
            store::Error::NewerSchema {
                db: "queue",
                found: 999,
                ..
            }
        ),
        "{err}"
    );

    let (status, _, stderr) = run_cli(dir.path(), &["migrate"]);
    assert!(!status.success());
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("newer"), "{stderr}");
    Ok(())
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_with_one_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("test_cache.sqlite3"),
        b"this is not a database, just text that is long enough to have a header",
    )?;
    let (status, _, stderr) = run_cli(dir.path(), &["migrate"]);
    assert!(!status.success());
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("cache database"), "{stderr}");
    assert!(lines[0].contains("not a database"), "{stderr}");
    Ok(())
}

#[test]
fn bad_storage_paths_exit_non_zero_with_one_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x")?;
    let under_file = file.join("storage");
    for path in [under_file.as_path(), file.as_path()] {
        let (status, stdout, stderr) = run_cli(path, &["serve", "--bind", "127.0.0.1:0"]);
        assert!(!status.success(), "{}: {stdout}", path.display());
        let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].starts_with("error: storage directory"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (status, _, stderr) = run_cli(dir.path(), &["--env", "../evil", "migrate"]);
    assert!(!status.success());
    assert!(stderr.contains("invalid environment name"), "{stderr}");
    Ok(())
}

#[test]
fn migrate_subcommand_reports_versions() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (status, stdout, stderr) = run_cli(dir.path(), &["migrate"]);
    assert!(status.success(), "{stderr}");
    for name in ["app", "queue", "cache", "cable"] {
        assert!(stdout.contains(name), "{stdout}");
    }
    for kind in StoreKind::ALL {
        assert!(dir.path().join(kind.file_name("test")).exists());
    }
    Ok(())
}

/// A `Db::call` whose closure blocks must not take the runtime's only worker with it:
/// another task, spawned while the closure is blocked, still runs (and unblocks it). Run
/// inline on the worker without handing its tasks off first, the closure would wait forever.
#[test]
fn a_blocked_db_call_leaves_the_runtime_free_for_other_tasks() -> TestResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        let stores = Stores::open(dir.path(), "test", &PoolOptions::default())?;
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let db = stores.app.sqlite().expect("a file").clone();
        let call = tokio::spawn(async move {
            db.call(move |conn| -> Result<i64, store::Error> {
                let _ = started_tx.send(());
                release_rx
                    .recv_timeout(std::time::Duration::from_secs(20))
                    .map_err(|_| store::Error::Panic("nobody released the call".into()))?;
                Ok(conn.query_row("SELECT 41 + 1", [], |r| r.get(0))?)
            })
            .await
        });
        started_rx.await?;
        // Spawned now, while the call blocks: it needs a worker to run on.
        tokio::spawn(async move { release_tx.send(()) }).await??;
        assert_eq!(call.await??, 42);
        Ok(())
    })
}

/// A panic inside a database closure is an error for the caller, on either runtime flavour;
/// the pool and the handle keep working afterwards.
#[test]
fn a_panicking_db_call_is_an_error_and_the_handle_keeps_working() -> TestResult {
    for multi in [true, false] {
        let runtime = if multi {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        };
        runtime.block_on(async {
            let dir = tempfile::tempdir()?;
            let stores = Stores::open(dir.path(), "test", &PoolOptions::default())?;
            let db = stores.cache.sqlite().expect("a file").clone();
            // Through a spawned task, so on the multi-threaded runtime it runs on a worker.
            let failed = tokio::spawn(async move {
                db.call(|_| -> Result<(), store::Error> { panic!("boom in a closure") })
                    .await
            })
            .await?;
            let err = failed.expect_err("a panic is an error");
            assert!(
                matches!(err, store::Error::Panic(_) | store::Error::Join(_)),
                "{err}"
            );
            if multi {
                assert!(err.to_string().contains("boom in a closure"), "{err}");
            }
            let one: i64 = stores
                .cache
                .sqlite()
                .expect("a file")
                .call(|c| -> Result<i64, store::Error> {
                    Ok(c.query_row("SELECT 1", [], |r| r.get(0))?)
                })
                .await?;
            assert_eq!(one, 1);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_version_changes_on_every_commit_and_only_then() -> TestResult {
    let dir = tempfile::tempdir()?;
    let stores = Stores::open(dir.path(), "test", &PoolOptions::default())?;
    let db = stores
        .get(StoreKind::Cache)
        .sqlite()
        .expect("a file")
        .clone();
    let first = db.data_version()?;
    // A read is not a commit.
    db.call(|conn| -> Result<i64, store::Error> {
        Ok(conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?)
    })
    .await?;
    assert_eq!(db.data_version()?, first, "unchanged without commits");
    // This process's own write transaction.
    db.write(|tx| -> Result<(), store::Error> {
        tx.execute("CREATE TABLE t (x)", [])?;
        Ok(())
    })
    .await?;
    let second = db.data_version()?;
    assert_ne!(second, first, "own commit seen");
    assert_eq!(db.data_version()?, second);
    // Another process's commit (a plain connection of its own).
    let other = rusqlite::Connection::open(db.path())?;
    other.execute("INSERT INTO t VALUES (1)", [])?;
    assert_ne!(db.data_version()?, second, "other connection's commit seen");
    Ok(())
}
