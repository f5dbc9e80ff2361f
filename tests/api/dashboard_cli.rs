//! What the dashboard does, from the command line and in the log, against a running server:
//! `jobs show` with every failed attempt, `jobs processes`, `jobs recurring [run NAME]`,
//! retry and discard by `--queue`/`--class`; and the admin id on the log line of a
//! dashboard action.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Browser, ChildServer, TestResult, run_cli, wait_for};

const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];

fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    let (status, stdout, stderr) = run_cli(dir, args);
    assert!(status.success(), "trifecta {args:?} failed: {stderr}");
    stdout
}

fn json(dir: &std::path::Path, args: &[&str]) -> Value {
    serde_json::from_str(&cli(dir, args)).expect("JSON")
}

fn failed(dir: &std::path::Path) -> i64 {
    json(dir, &["jobs", "stats", "--json"])["totals"]["failed"]
        .as_i64()
        .unwrap_or(-1)
}

fn enqueue_fail(dir: &std::path::Path, queue: &str) -> String {
    let out = cli(
        dir,
        &[
            "jobs",
            "enqueue",
            "fail",
            "--args",
            r#"{"message":"gateway timeout"}"#,
            "--queue",
            queue,
        ],
    );
    out.trim().rsplit(' ').next().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_shows_and_changes_what_the_dashboard_does() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let schedule = d.join("recurring.toml");
    std::fs::write(
        &schedule,
        "[nightly]\njob = \"noop\"\nschedule = \"0 3 * * *\"\nqueue = \"night\"\n",
    )?;
    let schedule = schedule.to_str().ok_or("path")?.to_owned();
    let _server = ChildServer::spawn_env(
        d,
        &[
            "--queue-polling-interval",
            "20ms",
            "--recurring-schedule",
            &schedule,
        ],
        &COST,
    );
    let mail: Vec<String> = (0..3).map(|_| enqueue_fail(d, "mail")).collect();
    for _ in 0..2 {
        enqueue_fail(d, "sms");
    }
    wait_for("five failed", Duration::from_secs(20), || async {
        (failed(d) == 5).then_some(())
    })
    .await;

    // One job, with its attempt and the process that ran it.
    let shown = cli(d, &["jobs", "show", &mail[0]]);
    assert!(shown.contains("(failed)"), "{shown}");
    assert!(
        shown.contains("attempt 1 failed at") && shown.contains("BuiltinFailure: gateway timeout"),
        "{shown}"
    );
    assert!(shown.contains("process      Worker"), "{shown}");
    let detail = json(d, &["jobs", "show", &mail[0], "--json"]);
    assert_eq!(detail["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(detail["process"]["registered"], true, "{detail}");
    let (status, _, stderr) = run_cli(d, &["jobs", "show", "424242"]);
    assert!(!status.success());
    assert!(stderr.contains("job 424242"), "{stderr}");

    // The server's processes, and its recurring task.
    let processes = json(d, &["jobs", "processes", "--json"]);
    let kinds: Vec<&str> = processes
        .as_array()
        .ok_or("processes")?
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"Worker"), "{processes}");
    assert!(cli(d, &["jobs", "processes"]).contains("Worker"));
    let tasks = json(d, &["jobs", "recurring", "--json"]);
    assert_eq!(tasks[0]["key"], "nightly", "{tasks}");
    assert!(tasks[0]["next_run_at"].is_string(), "{tasks}");
    cli(d, &["jobs", "pause", "night"]);
    let ran = cli(d, &["jobs", "recurring", "run", "nightly"]);
    assert!(ran.contains("for nightly"), "{ran}");
    let stats = json(d, &["jobs", "stats", "--json"]);
    assert_eq!(stats["queues"]["night"]["ready"], 1, "{stats}");
    let (status, _, stderr) = run_cli(d, &["jobs", "recurring", "run", "nope"]);
    assert!(!status.success() && stderr.contains("nope"), "{stderr}");

    // Retry by queue: only the sms jobs, which wait on their paused queue.
    cli(d, &["jobs", "pause", "sms"]);
    assert!(cli(d, &["jobs", "retry", "--queue", "sms"]).contains("retried 2 job(s)"));
    let stats = json(d, &["jobs", "stats", "--json"]);
    assert_eq!(stats["queues"]["sms"]["ready"], 2, "{stats}");
    assert_eq!(stats["totals"]["failed"], 3, "{stats}");
    // Discard by filter asks first; without a terminal it needs --yes.
    let (status, _, stderr) = run_cli(d, &["jobs", "discard", "--queue", "mail"]);
    assert!(!status.success() && stderr.contains("--yes"), "{stderr}");
    assert_eq!(failed(d), 3);
    let out = cli(
        d,
        &[
            "jobs", "discard", "--state", "ready", "--queue", "sms", "--yes",
        ],
    );
    assert!(out.contains("discarded 2 job(s)"), "{out}");
    let out = cli(d, &["jobs", "discard", "--class", "fail", "--yes"]);
    assert!(out.contains("discarded 3 job(s)"), "{out}");
    assert_eq!(failed(d), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_action_is_logged_with_the_admins_id() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = ChildServer::spawn_logging(dir.path(), "info", &[], &COST);
    let admin = Browser::new(server.addr, "");
    let res = admin
        .send_form(
            reqwest::Method::POST,
            "/registration",
            &[
                ("email_address", "root@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    let res = admin
        .send_form(reqwest::Method::POST, "/admin/jobs/queues/mail/pause", &[])
        .await;
    assert!(res.status().is_redirection(), "pause: {}", res.status());
    let line = wait_for("the admin action's line", Duration::from_secs(10), || {
        let found = server
            .log
            .lock()
            .expect("log")
            .iter()
            .find(|l| l.contains("admin action"))
            .cloned();
        async move { found }
    })
    .await;
    for part in [
        "admin_id=1",
        "root@example.com",
        "pause",
        "mail",
        "trifecta::admin",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_enqueued_by_the_cli_count_in_the_charts() -> TestResult {
    let app = crate::helpers::TestApp::spawn().await;
    let since = app.state.queue.clock().now();
    for _ in 0..2 {
        cli(
            app.storage(),
            &["jobs", "enqueue", "noop", "--queue", "from-cli"],
        );
    }
    // The server enqueues nothing itself: every enqueued job in the minutes is the CLI's.
    let minutes = app.state.queue.minutes(since).await?;
    let enqueued: u64 = minutes.iter().map(|m| m.enqueued).sum();
    assert_eq!(enqueued, 2, "{minutes:?}");
    app.stop().await
}
