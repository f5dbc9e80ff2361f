//! A start-up that fails late stops what it had already spawned: no queue process is left
//! registered (and heartbeating) by a server that never served.

use std::path::Path;
use std::time::Duration;

use trifecta::server::{self, Config};

use crate::helpers::{TestResult, wait_for};

/// Rows of the queue's process registry in the storage directory `dir`.
fn queue_processes(dir: &Path) -> rusqlite::Result<i64> {
    let db = rusqlite::Connection::open(dir.join("test_queue.sqlite3"))?;
    db.query_row("SELECT count(*) FROM solid_queue_processes", [], |r| {
        r.get(0)
    })
}

/// How many queue processes were ever registered in `dir` (the AUTOINCREMENT counter
/// outlives the rows).
fn queue_processes_ever(dir: &Path) -> rusqlite::Result<i64> {
    let db = rusqlite::Connection::open(dir.join("test_queue.sqlite3"))?;
    db.query_row(
        "SELECT seq FROM sqlite_sequence WHERE name = 'solid_queue_processes'",
        [],
        |r| r.get(0),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_failing_after_the_queue_started_deregisters_its_queue_process() -> TestResult {
    let dir = tempfile::tempdir()?;
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem())?;
    std::fs::write(&key, certified.signing_key.serialize_pem())?;
    // The plain-HTTP listener of `--http-bind` is bound last, once every engine runs.
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut config = Config::for_dir(dir.path());
    config.serve.web.tls_cert = Some(cert);
    config.serve.web.tls_key = Some(key);
    config.serve.https.http_bind = Some(taken.local_addr()?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;

    let Err(err) = server::start(config, listener).await else {
        panic!("the start succeeded on a taken --http-bind port");
    };
    assert!(matches!(err, server::Error::HttpBind { .. }), "{err}");
    assert_eq!(
        queue_processes_ever(dir.path())?,
        1,
        "the queue had registered its process before the failure"
    );
    wait_for(
        "the queue process of the failed start to deregister",
        Duration::from_secs(10),
        || async { (queue_processes(dir.path()).ok()? == 0).then_some(()) },
    )
    .await;
    Ok(())
}
