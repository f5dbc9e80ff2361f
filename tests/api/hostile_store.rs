//! Fail closed on store files (issue #16, finding 7): a store file deleted or replaced under
//! a running server retires that store (503, also after `trifecta migrate` makes a new file)
//! until a restart, and `/up` turns 503 on unwritable or full storage through a write probe.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use trifecta::store::Error as StoreError;
use trifecta::stores::StoreKind;

use crate::helpers::{TestApp, TestResult, run_cli, signed_up, wait_for};

fn remove_with_sidecars(file: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = file.to_path_buf().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(path));
    }
}

async fn up(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let res = client.get(url).send().await.expect("GET /up");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_store_file_stays_unavailable_after_migrate_makes_a_new_one() -> TestResult {
    if crate::helpers::sqlite_only("about a deleted store file, which only SQLite has") {
        return Ok(());
    }
    let app = TestApp::spawn().await;
    let cable = app.storage().join(StoreKind::Cable.file_name("test"));
    remove_with_sidecars(&cable);
    // The beat notices without anyone asking `/up`.
    wait_for("cable store retired", Duration::from_secs(10), || async {
        app.state.stores.cable.is_retired().then_some(())
    })
    .await;
    let (status, body) = up(&app.client, &app.url("/up")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failing"], serde_json::json!(["cable"]), "{body}");

    let (code, _, stderr) = run_cli(app.storage(), &["migrate"]);
    assert!(code.success(), "{stderr}");
    assert!(cable.exists(), "migrate made a new cable file");
    let (status, body) = up(&app.client, &app.url("/up")).await;
    assert_eq!(status, 503, "still the deleted file's server: {body}");
    let refused = app
        .state
        .stores
        .cable
        .sqlite()
        .expect("a file")
        .call(|conn| -> Result<i64, StoreError> {
            Ok(conn.query_row("SELECT 1", [], |r| r.get(0))?)
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::Retired { db: "cable", .. })),
        "{refused:?}"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_on_a_replaced_app_file_are_503_not_served_from_another_file() -> TestResult {
    if crate::helpers::sqlite_only("about a replaced store file, which only SQLite has") {
        return Ok(());
    }
    let app = TestApp::spawn().await;
    let browser = signed_up(&app, "ann@example.com").await;
    assert_eq!(browser.visit("/todos").await.status(), 200);
    let db = app.storage().join(StoreKind::App.file_name("test"));
    let copy = app.storage().join("copy.sqlite3");
    std::fs::copy(&db, &copy)?;
    remove_with_sidecars(&db);
    std::fs::rename(&copy, &db)?;
    let res = browser.visit("/todos").await;
    // The next beat retires the store; until then the old file still answers.
    wait_for("app store retired", Duration::from_secs(10), || async {
        app.state.stores.app.is_retired().then_some(())
    })
    .await;
    drop(res);
    let res = browser.visit("/todos").await;
    assert_eq!(res.status(), 503);
    let text = res.text().await?;
    assert!(text.contains("restart"), "{text}");
    app.stop().await
}

/// Runs `cmd ARGS`; false when it is missing or fails.
fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Sets or clears the immutable attribute of every database file in `dir` (and its WAL).
fn immutable(dir: &Path, on: bool) -> bool {
    let flag = if on { "+i" } else { "-i" };
    let files: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.to_string_lossy();
                    name.ends_with(".sqlite3") || name.ends_with(".sqlite3-wal")
                })
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut args = vec![flag];
    args.extend(files.iter().map(String::as_str));
    run("chattr", &args)
}

/// Storage whose files cannot be written. Root ignores permissions, so `chmod` cannot do it;
/// the immutable attribute refuses writes even to files already open (where the filesystem
/// supports it; elsewhere the test says so and passes without checking).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_is_503_while_the_store_files_cannot_be_written_and_recovers() -> TestResult {
    if crate::helpers::sqlite_only(
        "about store files that cannot be written, which only SQLite has",
    ) {
        return Ok(());
    }
    let app = TestApp::spawn().await;
    assert_eq!(up(&app.client, &app.url("/up")).await.0, 200);
    if !immutable(app.storage(), true) {
        eprintln!("skipped: chattr +i is not available here");
        return app.stop().await;
    }
    let (status, body) = up(&app.client, &app.url("/up")).await;
    assert!(immutable(app.storage(), false), "chattr -i");
    assert_eq!(status, 503, "unwritable storage: {body}");
    assert_eq!(
        body["failing"],
        serde_json::json!(["app", "queue", "cache", "cable"]),
        "{body}"
    );
    let (status, body) = up(&app.client, &app.url("/up")).await;
    assert_eq!(status, 200, "recovered without a restart: {body}");
    app.stop().await
}

/// A tmpfs mounted for the test, unmounted (lazily) on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().to_str()?.to_owned();
        let options = format!("size={size}");
        run("mount", &["-t", "tmpfs", "-o", &options, "tmpfs", &path]).then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A full disk needs a filesystem we can fill: a small tmpfs (mounting needs root, which
/// these tests run as; elsewhere the test says so and passes without checking).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_is_503_on_a_full_disk_and_recovers() -> TestResult {
    if crate::helpers::sqlite_only("about a full disk under the store files, which only SQLite has")
    {
        return Ok(());
    }
    let Some(fs) = Tmpfs::mount("16m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return Ok(());
    };
    let dir = fs.path().to_path_buf();
    let app = TestApp::spawn_with(|c| c.storage.storage = dir).await;
    let url = app.url("/up");
    assert_eq!(up(&app.client, &url).await.0, 200);

    // Fill the filesystem to the last byte.
    let filler = fs.path().join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler)?;
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&[0u8; 1]).is_ok() {}
    }
    let (status, body) = up(&app.client, &url).await;
    std::fs::remove_file(&filler)?;
    assert_eq!(status, 503, "full storage: {body}");
    let (status, body) = up(&app.client, &url).await;
    assert_eq!(status, 200, "recovered once space is free: {body}");
    app.stop().await?;
    drop(fs);
    Ok(())
}
