//! Recurring tasks: schedule parsing, exactly-once enqueue with two schedulers, and a clear
//! startup error for an invalid schedule file.

use std::time::Duration;

use trifecta::config::WakeMode;
use trifecta::queue::{JobState, Queue, Schedule, Scheduler, load_schedule};
use trifecta::store::{PoolOptions, Stores};

use crate::helpers::{TestResult, run_cli};
use crate::queue_support::{START, fixture};

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
    let tasks = load_schedule(&file)?;
    assert_eq!(tasks.len(), 2);
    // A second process: its own pool on the same file, the same clock.
    let dir = f.dir.path().to_path_buf();
    let stores =
        tokio::task::spawn_blocking(move || Stores::open(&dir, "test", &PoolOptions::default()))
            .await??;
    let other = Queue::new(
        stores.queue,
        f.clock.clone(),
        f.queue.settings().clone(),
        WakeMode::Poll,
    );
    trifecta::queue::builtin::register(&other);
    let a = Scheduler::new(&f.queue, tasks.clone());
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
