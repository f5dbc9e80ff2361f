//! `trifecta jobs ...` against the storage of a running server.

use std::time::Duration;

use crate::helpers::{ChildServer, TestResult, run_cli, wait_for};

fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    let (status, stdout, stderr) = run_cli(dir, args);
    assert!(status.success(), "trifecta {args:?} failed: {stderr}");
    stdout
}

fn stats(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&cli(dir, &["jobs", "stats", "--json"])).expect("stats JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_commands_work_while_a_server_runs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let _server = ChildServer::spawn(d, &["--queue-polling-interval", "20ms"]);

    assert!(cli(d, &["jobs", "pause", "mail"]).contains("mail paused"));
    let out = cli(
        d,
        &[
            "jobs",
            "enqueue",
            "fail",
            "--args",
            r#"{"message":"smtp down"}"#,
            "--queue",
            "mail",
        ],
    );
    let id: String = out.trim().rsplit(' ').next().expect("id").to_owned();
    cli(d, &["jobs", "enqueue", "noop", "--queue", "mail"]);
    cli(d, &["jobs", "enqueue", "noop", "--in", "1h"]);

    let s = stats(d);
    assert_eq!(s["totals"]["ready"], 2, "{s}");
    assert_eq!(s["totals"]["scheduled"], 1, "{s}");
    assert_eq!(s["queues"]["mail"]["ready"], 2, "{s}");
    assert_eq!(s["paused"][0], "mail");
    assert_eq!(s["processes"], 1);
    let listed = cli(d, &["jobs", "list", "--state", "ready", "--queue", "mail"]);
    assert_eq!(listed.lines().count(), 3, "header and two jobs: {listed}");

    assert!(cli(d, &["jobs", "resume", "mail"]).contains("mail resumed"));
    wait_for(
        "the failing job failed",
        Duration::from_secs(20),
        || async {
            (stats(d)["totals"]["failed"] == 1 && stats(d)["totals"]["finished"] == 1).then_some(())
        },
    )
    .await;
    let failed = cli(d, &["jobs", "failed"]);
    assert!(failed.contains("BuiltinFailure: smtp down"), "{failed}");
    let failed_json: serde_json::Value =
        serde_json::from_str(&cli(d, &["jobs", "failed", "--json"]))?;
    assert_eq!(failed_json[0]["error"]["message"], "smtp down");

    // A retry deletes the failed execution and resets the counter, so the job is listed
    // as failed again only once it ran again, with a fresh count of one.
    assert!(cli(d, &["jobs", "retry", &id]).contains("retried 1"));
    wait_for("it failed again", Duration::from_secs(20), || async {
        let f: serde_json::Value =
            serde_json::from_str(&cli(d, &["jobs", "failed", "--json"])).ok()?;
        (f[0]["executions"] == 1).then_some(())
    })
    .await;
    assert!(cli(d, &["jobs", "retry", "--all"]).contains("retried 1"));
    wait_for("failed a third time", Duration::from_secs(20), || async {
        let f: serde_json::Value =
            serde_json::from_str(&cli(d, &["jobs", "failed", "--json"])).ok()?;
        (f[0]["executions"] == 1).then_some(())
    })
    .await;
    assert!(cli(d, &["jobs", "discard", "--all", "--yes"]).contains("discarded 1"));
    assert_eq!(stats(d)["totals"]["failed"], 0);

    let (status, _, stderr) = run_cli(d, &["jobs", "retry", "424242"]);
    assert!(!status.success());
    assert!(stderr.contains("job 424242 not found"), "{stderr}");
    let (status, _, stderr) = run_cli(d, &["jobs", "discard"]);
    assert!(!status.success(), "an id or --all is required: {stderr}");
    Ok(())
}

#[test]
fn stats_prints_a_table_per_state_and_queue() {
    let dir = tempfile::tempdir().expect("dir");
    cli(dir.path(), &["migrate"]);
    cli(
        dir.path(),
        &["jobs", "enqueue", "noop", "--queue", "reports"],
    );
    let out = cli(dir.path(), &["jobs", "stats"]);
    assert!(out.contains("ready") && out.contains("finished"), "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with("reports"))
        .expect("queue row");
    assert_eq!(row.split_whitespace().nth(1), Some("1"), "{row}");
}
