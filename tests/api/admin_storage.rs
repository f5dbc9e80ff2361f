//! Admin commands on storage they must not touch: a missing or empty directory, or one at
//! an older or newer schema, is refused in one line that says what to run, and nothing is
//! created. Destructive commands need `--yes` off a terminal and ask on one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::helpers::{bin, run_cli, run_cli_env, run_cli_stdin};

const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];

/// Every path under `root`, relative to it (empty when `root` does not exist).
fn tree(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            out.insert(path.strip_prefix(root).expect("under root").to_path_buf());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

fn migrated(dir: &Path) {
    let (status, _, err) = run_cli(dir, &["migrate"]);
    assert!(status.success(), "migrate: {err}");
}

fn sql(db: &Path, statement: &str) {
    rusqlite::Connection::open(db)
        .and_then(|c| c.execute_batch(statement))
        .expect("sql");
}

#[test]
fn admin_commands_refuse_missing_or_mismatched_storage_and_create_nothing() {
    let root = tempfile::tempdir().expect("dir");
    let missing = root.path().join("missing");
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let older = root.path().join("older");
    migrated(&older);
    sql(
        &older.join("test.sqlite3"),
        "DELETE FROM refinery_schema_history WHERE version = (SELECT max(version) FROM refinery_schema_history)",
    );
    let newer = root.path().join("newer");
    migrated(&newer);
    sql(
        &newer.join("test_queue.sqlite3"),
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (9999, 'future', '2099-01-01', '0')",
    );
    let cases = [
        (&missing, "trifecta migrate"),
        (&empty, "trifecta migrate"),
        (&older, "trifecta migrate"),
        (&newer, "newer trifecta"),
    ];
    let dest = root.path().join("backup");
    let commands: [&[&str]; 6] = [
        &["jobs", "stats"],
        &["cache", "stats"],
        &["cable", "stats"],
        &["cable", "broadcast", "chat", "1"],
        &["users", "list"],
        &["backup", dest.to_str().expect("utf-8")],
    ];
    for (dir, hint) in cases {
        let before = tree(root.path());
        for args in commands {
            let (status, out, err) = run_cli(dir, args);
            assert!(!status.success(), "{args:?} on {dir:?} succeeded: {out}");
            let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "{args:?} on {dir:?}: {err}");
            assert!(lines[0].contains(hint), "{args:?} on {dir:?}: {err}");
            assert_eq!(
                tree(root.path()),
                before,
                "{args:?} on {dir:?} created files"
            );
        }
    }
}

#[test]
fn users_need_the_secret_that_migrate_creates() {
    let dir = tempfile::tempdir().expect("dir");
    migrated(dir.path());
    std::fs::remove_file(dir.path().join("secret_key_base")).expect("remove secret");
    let (status, _, err) = run_cli(dir.path(), &["users", "list"]);
    assert!(!status.success());
    assert!(
        err.contains("secret_key_base") && err.contains("trifecta migrate"),
        "{err}"
    );
    assert!(!dir.path().join("secret_key_base").exists(), "not created");
}

/// `trifecta ARGS` on a pseudo-terminal (through `script`), typing `answer`.
fn on_a_terminal(dir: &Path, args: &str, answer: &str) -> (bool, String) {
    let command = format!("{} --storage {} {args}", bin().display(), dir.display());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TRIFECTA_ENV", "test")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), answer.as_bytes())
        .expect("type");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn destructive_commands_need_yes_off_a_terminal_and_ask_on_one() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    migrated(d);
    let (status, _, err) = run_cli_stdin(
        d,
        &["users", "create", "ann@example.com"],
        "long enough pw\n",
        &COST,
    );
    assert!(status.success(), "{err}");
    let users = || run_cli(d, &["users", "list"]).1;

    for args in [
        &["users", "delete", "ann@example.com"][..],
        &["cache", "clear"],
        &["jobs", "discard", "--all"],
    ] {
        let (status, _, err) = run_cli_env(d, args, &COST);
        assert!(!status.success(), "{args:?} without --yes");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("pass --yes"), "{err}");
    }
    assert!(users().contains("ann@example.com"), "nothing deleted");
    let (status, out, err) = run_cli(d, &["cache", "clear", "--yes"]);
    assert!(status.success(), "{err}");
    assert!(out.contains("cleared 0 entries"), "{out}");
    let (status, out, err) = run_cli(d, &["jobs", "discard", "--all", "--yes"]);
    assert!(status.success(), "{err}");
    assert!(out.contains("discarded 0"), "{out}");

    if Command::new("script").arg("--version").output().is_err() {
        return;
    }
    let (ok, out) = on_a_terminal(d, "users delete ann@example.com", "n\n");
    assert!(!ok, "{out}");
    assert!(
        out.contains("Continue? [y/N]") && out.contains("not confirmed"),
        "{out}"
    );
    assert!(users().contains("ann@example.com"), "kept after no");
    let (ok, out) = on_a_terminal(d, "users delete ann@example.com", "y\n");
    assert!(ok, "{out}");
    assert!(out.contains("deleted ann@example.com"), "{out}");
    assert!(!users().contains("ann@example.com"), "deleted after yes");
}
