//! Recurring tasks: schedule parsing, exactly-once enqueue with two schedulers, Solid
//! Queue's YAML schedule (the same jobs as its TOML twin, environment blocks), and a clear
//! one-line startup error for an invalid schedule file in either format.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trifecta::config::WakeMode;
use trifecta::queue::{Job, JobOptions, JobState, Schedule, Scheduler, load_schedule};

use crate::helpers::{TestResult, run_cli};
use crate::queue_support::{Fixture, START, fixture};

#[test]
fn schedules_parse_cron_and_every() -> TestResult {
    // START is 22:13:20 UTC: multiples of 15 s since the epoch fall on :30, :45, ...
    let every = Schedule::parse("every 15 seconds")?;
    assert_eq!(
        every.next_after(START),
        Some(START + Duration::from_secs(10))
    );
    assert_eq!(
        every.next_after(START + Duration::from_secs(10)),
        Some(START + Duration::from_secs(25))
    );
    let minute = Schedule::parse("every minute")?;
    assert_eq!(
        minute.next_after(START),
        Some(START + Duration::from_secs(40)),
        "aligned to the minute"
    );
    let cron = Schedule::parse("*/15 * * * * *")?;
    assert_eq!(
        cron.next_after(START + Duration::from_millis(500)),
        Some(START + Duration::from_secs(10))
    );
    let daily = Schedule::parse("0 3 * * *")?;
    // The next 03:00 is 4h46m40s later.
    assert_eq!(
        daily.next_after(START),
        Some(START + Duration::from_secs(4 * 3600 + 46 * 60 + 40))
    );
    for bad in [
        "every",
        "every 0 seconds",
        "every 5 fortnights",
        "61 * * * *",
        "hello",
    ] {
        assert!(Schedule::parse(bad).is_err(), "{bad} should be rejected");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_enqueue_each_run_exactly_once() -> TestResult {
    let f = fixture().await;
    let file = f.dir.path().join("recurring.toml");
    std::fs::write(
        &file,
        r#"
[heartbeat]
job = "noop"
schedule = "every 10 seconds"
args = { tag = "beat" }
queue = "recurring"

[report]
class = "sleep"
schedule = "*/30 * * * * *"
args = { ms = 1 }
"#,
    )?;
    let tasks = load_schedule(&file, "test")?;
    assert_eq!(tasks.len(), 2);
    // A second process: its own pool on the same store, the same clock.
    let other = f.other_process(WakeMode::Poll).await;
    let a = Scheduler::new(f.ready(), tasks.clone());
    let b = Scheduler::new(&other, tasks);
    a.sync().await?;
    b.sync().await?;

    assert!(a.run_once().await?.is_empty(), "nothing due yet");
    let mut created = 0;
    for _ in 0..6 {
        f.advance(Duration::from_secs(10));
        let (x, y) = tokio::join!(a.run_once(), b.run_once());
        created += x?.len() + y?.len();
    }
    // 60 s: six heartbeats (every 10 s) and two reports (at :30 and :00 of the minute).
    assert_eq!(created, 8);
    let jobs = f.queue.jobs(None, None, 100).await?;
    assert_eq!(jobs.len(), 8);
    let beats: Vec<_> = jobs.iter().filter(|j| j.class_name == "noop").collect();
    assert_eq!(beats.len(), 6);
    assert!(
        beats
            .iter()
            .all(|j| j.queue_name == "recurring" && j.arguments.contains("beat"))
    );
    assert!(jobs.iter().all(|j| j.state == JobState::Ready));
    Ok(())
}

#[test]
fn an_invalid_schedule_stops_startup_with_one_clear_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("recurring.toml");
    std::fs::write(
        &file,
        "[broken]\njob = \"noop\"\nschedule = \"every blue moon\"\n",
    )?;
    let path = file.to_string_lossy().into_owned();
    let (status, _, stderr) = run_cli(
        dir.path(),
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--recurring-schedule",
            &path,
        ],
    );
    assert!(!status.success());
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("error line");
    assert!(
        line.contains("recurring schedule")
            && line.contains("task broken")
            && line.contains("every blue moon"),
        "{line}"
    );

    std::fs::write(
        &file,
        "[bad_args]\njob = \"sleep\"\nschedule = \"every 5 seconds\"\nargs = { wrong = 1 }\n",
    )?;
    let (status, _, stderr) = run_cli(
        dir.path(),
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--recurring-schedule",
            &path,
        ],
    );
    assert!(!status.success());
    assert!(stderr.contains("task bad_args"), "{stderr}");
    Ok(())
}

/// A job with two positional arguments, as `perform(limit, options)` in ActiveJob.
#[derive(Serialize, Deserialize)]
struct Cleanup {
    limit: u32,
    options: CleanupOptions,
}

#[derive(Serialize, Deserialize)]
struct CleanupOptions {
    batch_size: u32,
}

impl Job for Cleanup {
    const NAME: &'static str = "cleanup";
}

/// Loads `file` for environment `production`, runs its tasks for one minute of the manual
/// clock, and returns every enqueued job as (class, queue, priority, arguments, created_at).
async fn enqueued_in_a_minute(f: &Fixture, file: &Path) -> Vec<(String, String, i32, String, i64)> {
    f.register(JobOptions::default(), |_: Cleanup, _| async { Ok(()) });
    let tasks = load_schedule(file, "production").expect("schedule loads");
    let scheduler = Scheduler::new(f.ready(), tasks);
    scheduler.sync().await.expect("sync");
    for _ in 0..6 {
        f.advance(Duration::from_secs(10));
        scheduler.run_once().await.expect("run");
    }
    f.queue
        .jobs(None, None, 100)
        .await
        .expect("jobs")
        .into_iter()
        .map(|j| {
            (
                j.class_name,
                j.queue_name,
                j.priority,
                j.arguments,
                j.created_at.0,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yaml_schedule_enqueues_like_its_toml_twin() -> TestResult {
    let (toml, yaml) = (fixture().await, fixture().await);
    let toml_file = toml.dir.path().join("recurring.toml");
    std::fs::write(
        &toml_file,
        r#"
[heartbeat]
job = "noop"
schedule = "every 10 seconds"
args = { tag = "beat" }
queue = "recurring"
priority = 3
description = "keeps time"

[report]
class = "sleep"
schedule = "*/30 * * * * *"
args = { ms = 1 }

[cleanup]
class = "cleanup"
schedule = "every 20 seconds"
args = { limit = 1000, options = { batch_size = 500 } }
"#,
    )?;
    // Solid Queue's config/recurring.yml: environment blocks, ActiveJob positional args.
    let yaml_file = yaml.dir.path().join("recurring.yml");
    std::fs::write(
        &yaml_file,
        r#"
production:
  heartbeat:
    class: noop
    schedule: every 10 seconds
    args: [ { tag: beat } ]
    queue: recurring
    priority: 3
    description: keeps time
  report:
    class: sleep
    schedule: "*/30 * * * * *"
    args: { ms: 1 }
  cleanup:
    class: cleanup
    schedule: every 20 seconds
    args: [ 1000, { batch_size: 500 } ]

development:
  heartbeat:
    class: noop
    schedule: every second
"#,
    )?;
    let from_toml = enqueued_in_a_minute(&toml, &toml_file).await;
    let from_yaml = enqueued_in_a_minute(&yaml, &yaml_file).await;
    // 60 s: six heartbeats, two reports, three cleanups.
    assert_eq!(from_toml.len(), 11, "{from_toml:?}");
    assert_eq!(from_yaml, from_toml);
    let cleanup = from_yaml
        .iter()
        .find(|j| j.0 == "cleanup")
        .expect("cleanup job");
    assert_eq!(cleanup.3, r#"{"limit":1000,"options":{"batch_size":500}}"#);
    let beat = from_yaml.iter().find(|j| j.0 == "noop").expect("heartbeat");
    assert_eq!((beat.1.as_str(), beat.2), ("recurring", 3));

    let tasks = load_schedule(&yaml_file, "production")?;
    let heartbeat = tasks.iter().find(|t| t.key == "heartbeat").expect("task");
    assert_eq!(heartbeat.description.as_deref(), Some("keeps time"));
    Ok(())
}

#[test]
fn the_running_environment_picks_its_block() -> TestResult {
    let dir = tempfile::tempdir()?;
    let yaml = dir.path().join("recurring.yaml");
    std::fs::write(
        &yaml,
        "production:\n  nightly:\n    class: noop\n    schedule: 0 3 * * *\n\
         development:\n  often:\n    class: noop\n    schedule: every 5 seconds\n  \
         sometimes:\n    class: sleep\n    args: { ms: 1 }\n    schedule: every hour\n",
    )?;
    let keys = |env: &str| -> Vec<String> {
        load_schedule(&yaml, env)
            .expect("loads")
            .into_iter()
            .map(|t| t.key)
            .collect()
    };
    assert_eq!(keys("production"), ["nightly"]);
    assert_eq!(keys("development"), ["often", "sometimes"]);
    assert!(
        keys("staging").is_empty(),
        "other environments' blocks are skipped, as in Solid Queue"
    );

    // A file without environment blocks applies to every environment; TOML nests the same way.
    let flat = dir.path().join("flat.yml");
    std::fs::write(&flat, "beat:\n  class: noop\n  schedule: every minute\n")?;
    assert_eq!(load_schedule(&flat, "staging")?.len(), 1);
    let toml = dir.path().join("recurring.toml");
    std::fs::write(
        &toml,
        "[test.beat]\njob = \"noop\"\nschedule = \"every minute\"\n\n\
         [production.nightly]\njob = \"noop\"\nschedule = \"0 3 * * *\"\n",
    )?;
    let tasks = load_schedule(&toml, "test")?;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].key, "beat");
    Ok(())
}

/// Runs `trifecta serve` (environment `test`) with `schedule` as the file `name`; returns its
/// single `error:` line, checking that it failed and printed exactly one.
fn startup_error(name: &str, schedule: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(name);
    std::fs::write(&file, schedule).expect("write schedule");
    let path = file.to_string_lossy().into_owned();
    let (status, _, stderr) = run_cli(
        dir.path(),
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--recurring-schedule",
            &path,
        ],
    );
    assert!(!status.success(), "{schedule:?} should stop startup");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("recurring schedule"), "{}", errors[0]);
    errors[0].to_owned()
}

#[test]
fn invalid_yaml_schedules_stop_startup_with_one_clear_line() {
    let line = startup_error("recurring.yml", "test:\n  broken: [unclosed\n");
    assert!(line.contains("invalid YAML"), "{line}");

    let line = startup_error(
        "recurring.yml",
        "test:\n  report:\n    class: NoSuchJob\n    schedule: every minute\n",
    );
    assert!(
        line.contains("task report")
            && line.contains("unknown job class \"NoSuchJob\"")
            && line.contains("noop"),
        "names the task, the class and the registered jobs: {line}"
    );

    let line = startup_error(
        "recurring.yml",
        "test:\n  morning:\n    class: noop\n    schedule: at 5am every day\n",
    );
    assert!(
        line.contains("task morning")
            && line.contains("invalid schedule")
            && line.contains("at 5am every day"),
        "{line}"
    );

    let line = startup_error(
        "recurring.yml",
        "test:\n  purge:\n    command: \"Job.clear_finished_in_batches\"\n    schedule: every hour\n",
    );
    assert!(
        line.contains("task purge") && line.contains("`command`"),
        "{line}"
    );

    let line = startup_error(
        "recurring.yml",
        "test:\n  nap:\n    class: sleep\n    args: [ { seconds: 1 } ]\n    schedule: every hour\n",
    );
    assert!(
        line.contains("task nap") && line.contains("arguments do not fit job sleep"),
        "{line}"
    );

    // Only the running environment's block is checked: `production` is broken, `test` is not
    // (its unknown class is what fails).
    let line = startup_error("recurring.yml", "production:\n  junk: [1, 2\n");
    assert!(
        line.contains("invalid YAML"),
        "a file must still parse: {line}"
    );
    let line = startup_error(
        "recurring.yml",
        "production:\n  nightly:\n    class: noop\n    schedule: never\n\
         test:\n  beat:\n    class: gone\n    schedule: every minute\n",
    );
    assert!(
        line.contains("task beat") && !line.contains("nightly"),
        "{line}"
    );
}
