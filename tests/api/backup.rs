//! Backups through real processes: `trifecta backup` while a writer posts todos to a real
//! `trifecta serve`, `trifecta restore` and its refusals, and `serve --backup-every` with
//! two servers on one storage.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Browser, ChildServer, TestResult, cli, location, poll_blocking, wait_for};

const PASSWORD: &str = "correct horse battery";
/// Child servers hash with the minimum bcrypt cost, as the in-process ones do.
const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];
const FILES: [&str; 4] = [
    "test.sqlite3",
    "test_queue.sqlite3",
    "test_cache.sqlite3",
    "test_cable.sqlite3",
];

fn one_line(stderr: &str) -> bool {
    stderr.lines().filter(|l| !l.trim().is_empty()).count() == 1
}

fn titles_in(db: &Path) -> rusqlite::Result<HashSet<String>> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare("SELECT title FROM todos")?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

fn integrity(db: &Path) -> rusqlite::Result<String> {
    rusqlite::Connection::open(db)?.query_row("PRAGMA integrity_check", [], |r| r.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_todos_are_posted_restores_them_with_cookies_and_ids() -> TestResult {
    let root = tempfile::tempdir()?;
    let storage = root.path().join("storage");
    let mut server = ChildServer::spawn_env(&storage, &[], &COST);
    let browser = Browser::new(server.addr, "");
    let res = browser.sign_up("ann@example.com", PASSWORD).await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    let res = browser
        .send_json(Method::POST, "/todos", json!({"todo": {"title": "first"}}))
        .await;
    assert_eq!(location(&res), "/todos");
    let page = browser.first_page("/todos").await;
    let first_id = page["props"]["todos"][0]["id"]
        .as_str()
        .expect("public id")
        .to_owned();

    // A writer posts todos without pause; each title is recorded once acknowledged.
    let acked = Arc::new(Mutex::new(vec!["first".to_owned()]));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        let writer = Browser {
            client: browser.client.clone(),
            jar: browser.jar.clone(),
            base: browser.base.clone(),
            version: String::new(),
        };
        tokio::spawn(async move {
            let mut failures = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                let title = format!("todo {i}");
                let res = writer
                    .send_json(Method::POST, "/todos", json!({"todo": {"title": title}}))
                    .await;
                if res.status().is_redirection() && location(&res) == "/todos" {
                    acked.lock().expect("acked").push(title);
                } else {
                    failures.push(format!("{title}: {}", res.status()));
                }
            }
            failures
        })
    };
    wait_for("20 acknowledged todos", Duration::from_secs(20), || async {
        (acked.lock().expect("acked").len() >= 20).then_some(())
    })
    .await;

    let before: Vec<String> = acked.lock().expect("acked").clone();
    let dest = root.path().join("backup");
    let (ok, out, err) = cli(&storage, &["backup", dest.to_str().expect("utf-8")]).await;
    let after_backup = acked.lock().expect("acked").len();
    wait_for(
        "a todo acknowledged after the backup",
        Duration::from_secs(10),
        || async { (acked.lock().expect("acked").len() > after_backup).then_some(()) },
    )
    .await;
    stop.store(true, Ordering::Release);
    let failures = writer.await?;
    assert!(ok, "backup failed: {err}");
    assert!(out.contains("backup written to"), "{out}");
    assert!(
        failures.is_empty(),
        "writes failed during the backup: {failures:?}"
    );
    server.signal("KILL");
    server.wait_exit(Duration::from_secs(10));

    let restored = root.path().join("restored");
    let (ok, out, err) = cli(&restored, &["restore", dest.to_str().expect("utf-8")]).await;
    assert!(ok, "restore failed: {err}");
    assert!(out.contains("restored"), "{out}");
    for file in FILES {
        assert_eq!(integrity(&restored.join(file))?, "ok", "{file}");
    }
    let present = titles_in(&restored.join("test.sqlite3"))?;
    let lost: Vec<&String> = before.iter().filter(|t| !present.contains(*t)).collect();
    assert!(
        lost.is_empty(),
        "acknowledged before the backup but missing: {lost:?}"
    );

    // The old cookie and public id work on a server started on the restored directory.
    let again = ChildServer::spawn_env(&restored, &[], &COST);
    let same = Browser {
        client: browser.client.clone(),
        jar: browser.jar.clone(),
        base: format!("http://{}", again.addr),
        version: String::new(),
    };
    let res = same
        .send_json(
            Method::PATCH,
            &format!("/todos/{first_id}"),
            json!({"todo": {"completed": true}}),
        )
        .await;
    assert_eq!(res.status(), 303, "PATCH with the old cookie and id");
    assert_eq!(location(&res), "/todos");
    let page = same.first_page("/todos?limit=5000").await;
    let todos = page["props"]["todos"].as_array().expect("todos");
    let first = todos
        .iter()
        .find(|t| t["id"] == first_id.as_str())
        .expect("the first todo under its old id");
    assert_eq!(first["title"], "first");
    assert_eq!(first["completed"], true);
    Ok(())
}

/// A damaged copy of the backup at `src`: `mutate` edits its files in `dest`.
fn copy_backup(src: &Path, dest: &Path, mutate: impl FnOnce(&Path)) -> std::io::Result<()> {
    std::fs::create_dir(dest)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        std::fs::copy(entry.path(), dest.join(entry.file_name()))?;
    }
    mutate(dest);
    Ok(())
}

fn db_files(dir: &Path) -> Vec<PathBuf> {
    FILES
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_damage_a_running_server_and_existing_data() -> TestResult {
    let root = tempfile::tempdir()?;
    let path = |name: &str| root.path().join(name);
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let storage = path("storage");
    let mut server = ChildServer::spawn_env(&storage, &[], &COST);
    let browser = Browser::new(server.addr, "");
    browser.sign_up("ann@example.com", PASSWORD).await;
    let backup = path("backup");
    let (ok, _, err) = cli(&storage, &["backup", &s(&backup)]).await;
    assert!(ok, "{err}");

    // A flipped byte: the checksum no longer matches; nothing is created.
    let flipped = path("flipped");
    copy_backup(&backup, &flipped, |d| {
        let file = d.join("test.sqlite3");
        let mut bytes = std::fs::read(&file).expect("read");
        bytes[5000] ^= 0xff;
        std::fs::write(&file, bytes).expect("write");
    })?;
    let target = path("target-flipped");
    let (ok, _, err) = cli(&target, &["restore", &s(&flipped), "--force"]).await;
    assert!(!ok);
    assert!(one_line(&err), "{err}");
    assert!(err.contains("does not match manifest.json"), "{err}");
    assert!(!target.exists(), "nothing created for a damaged backup");

    // A page overwritten and the manifest made to match: integrity_check refuses it.
    let garbled = path("garbled");
    copy_backup(&backup, &garbled, |d| {
        let file = d.join("test.sqlite3");
        let mut bytes = std::fs::read(&file).expect("read");
        for b in &mut bytes[4096..8192] {
            *b = 0xab;
        }
        std::fs::write(&file, &bytes).expect("write");
        let manifest = d.join("manifest.json");
        let mut m: Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest).expect("manifest"))
                .expect("json");
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        m["files"][0]["sha256"] = json!(sha);
        std::fs::write(&manifest, m.to_string()).expect("write manifest");
    })?;
    let target = path("target-garbled");
    let (ok, _, err) = cli(&target, &["restore", &s(&garbled)]).await;
    assert!(!ok, "a corrupt database is refused");
    assert!(one_line(&err), "{err}");
    assert!(
        err.contains("integrity_check") || err.contains("malformed"),
        "{err}"
    );
    assert!(db_files(&target).is_empty(), "{:?}", db_files(&target));

    // A running server: refused even with --force, and it keeps serving.
    let (ok, _, err) = cli(&storage, &["restore", &s(&backup), "--force"]).await;
    assert!(!ok);
    assert!(one_line(&err), "{err}");
    assert!(err.contains("server") && err.contains("running"), "{err}");
    assert_eq!(browser.get("/up").await.status(), 200);

    // A new directory, then the same one again: refused without --force.
    let target = path("target");
    let (ok, _, err) = cli(&target, &["restore", &s(&backup)]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&target, &["restore", &s(&backup)]).await;
    assert!(!ok);
    assert!(one_line(&err), "{err}");
    assert!(err.contains("--force"), "{err}");
    let (ok, _, err) = cli(&target, &["restore", &s(&backup), "--force"]).await;
    assert!(ok, "{err}");

    // kill -9 releases the server's lock.
    server.signal("KILL");
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    let (ok, _, err) = cli(&storage, &["restore", &s(&backup), "--force"]).await;
    assert!(ok, "{err}");
    for file in FILES {
        assert_eq!(integrity(&storage.join(file))?, "ok", "{file}");
    }
    Ok(())
}

/// Complete scheduled backups (with a manifest) in `dir`.
fn scheduled_backups(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("manifest.json").is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The `dest` of every "backup written" line of a server's log.
fn log_written(log: &Mutex<Vec<String>>) -> Vec<String> {
    log.lock()
        .expect("log")
        .iter()
        .filter(|l| l.contains("backup written"))
        .filter_map(|l| l.split("dest=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_run_once_per_period_with_two_servers_and_keep_n() -> TestResult {
    let root = tempfile::tempdir()?;
    let storage = root.path().join("storage");
    let backups = root.path().join("backups");
    let args = [
        "--backup-every",
        "1s",
        "--backup-dir",
        backups.to_str().expect("utf-8"),
        "--backup-keep",
        "2",
        "--queue-polling-interval",
        "20ms",
    ];
    let one = ChildServer::spawn_env(&storage, &args, &COST);
    let two = ChildServer::spawn_env(&storage, &args, &COST);
    let (one_log, two_log) = (one.log.clone(), two.log.clone());
    let queue_db = storage.join("test_queue.sqlite3");
    let finished = || -> rusqlite::Result<i64> {
        rusqlite::Connection::open(&queue_db)?.query_row(
            "SELECT count(*) FROM solid_queue_jobs WHERE class_name = 'backup' AND finished_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
    };
    wait_for(
        "four scheduled backups",
        Duration::from_secs(30),
        || async { (finished().ok()? >= 4).then_some(()) },
    )
    .await;
    wait_for("two backups kept", Duration::from_secs(10), || async {
        (scheduled_backups(&backups).len() == 2).then_some(())
    })
    .await;
    // A graceful stop lets a backup in progress finish, so what follows is final.
    for mut server in [one, two] {
        server.signal("TERM");
        assert!(
            server.wait_exit(Duration::from_secs(20)).is_some(),
            "stopped"
        );
    }
    let mut written = [&one_log, &two_log]
        .iter()
        .flat_map(|log| log_written(log))
        .collect::<Vec<_>>();
    written.sort();

    let conn = rusqlite::Connection::open(&queue_db)?;
    let runs: i64 = conn.query_row(
        "SELECT count(*) FROM solid_queue_recurring_executions WHERE task_key = 'trifecta_backup'",
        [],
        |r| r.get(0),
    )?;
    let enqueued: i64 = conn.query_row(
        "SELECT count(*) FROM solid_queue_jobs WHERE class_name = 'backup'",
        [],
        |r| r.get(0),
    )?;
    let (jobs, ran_once): (i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(executions = 1), 0) FROM solid_queue_jobs WHERE class_name = 'backup' AND finished_at IS NOT NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let failed: i64 = conn.query_row(
        "SELECT count(*) FROM solid_queue_failed_executions",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(enqueued, runs, "one job per run time, not one per server");
    assert!(jobs >= 4 && jobs <= runs, "{jobs} finished of {runs} runs");
    assert_eq!(ran_once, jobs, "every backup job ran once");
    assert_eq!(failed, 0);

    // Across both servers, each run wrote its own directory once; the newest two remain.
    let unique: HashSet<&String> = written.iter().collect();
    assert_eq!(
        unique.len(),
        written.len(),
        "a directory written twice: {written:?}"
    );
    assert_eq!(i64::try_from(written.len())?, jobs, "{written:?}");
    let newest: Vec<String> = written[written.len() - 2..]
        .iter()
        .filter_map(|p| Path::new(p).file_name()?.to_str().map(str::to_owned))
        .collect();
    assert_eq!(scheduled_backups(&backups), newest);

    // A kept backup restores.
    let kept = backups.join(&newest[1]);
    let target = root.path().join("restored");
    let (ok, _, err) = cli(&target, &["restore", kept.to_str().expect("utf-8")]).await;
    assert!(ok, "{err}");
    Ok(())
}

#[test]
fn a_server_does_not_start_while_a_restore_holds_the_storage() -> TestResult {
    let dir = tempfile::tempdir()?;
    let lock = trifecta::store::StorageLock::exclusive(dir.path())?;
    let mut child = std::process::Command::new(crate::helpers::bin())
        .arg("--storage")
        .arg(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("TRIFECTA_ENV", "test")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let Some(status) = poll_blocking(Duration::from_secs(20), || {
        child.try_wait().expect("try_wait")
    }) else {
        child.kill()?;
        panic!("serve started while the storage was locked");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)?;
    assert!(!status.success());
    assert!(stderr.contains("is being restored"), "{stderr}");
    assert!(db_files(dir.path()).is_empty(), "no database opened");
    drop(lock);
    Ok(())
}
