//! `queues()`, `process_details()`, `recurring_tasks()` and `run_task_now()`.

use std::time::Duration;

use trifecta_queue::{
    Concurrency, Error, Job, JobState, QueueSelector, RecurringTask, Schedule, Scheduler,
};
use trifecta_store::Clock;

use super::{On, START, Storage, Work, on_both};

/// A job limited to one at a time by `key`, so a second one waits blocked.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Limited;

impl Job for Limited {
    const NAME: &'static str = "limited";

    fn queue(&self) -> &str {
        "d"
    }

    fn concurrency(&self) -> Option<Concurrency> {
        Some(Concurrency::new("one").duration(Duration::from_secs(600)))
    }
}

on_both!(queues_show_counts_oldest_ready_and_pauses);
/// Ready (with the oldest ready time), scheduled, claimed and blocked counts per queue;
/// a paused queue is flagged, and one that is only paused is listed.
async fn queues_show_counts_oldest_ready_and_pauses(on: On) {
    let storage = Storage::new(on).await;
    let clock = Clock::manual(START);
    let q = storage.offline(&clock).await;
    q.enqueue(&Work::on("a")).await.expect("enqueue");
    q.enqueue(&Work::on("a")).await.expect("enqueue");
    clock.advance(Duration::from_secs(10));
    q.enqueue(&Work::on("a")).await.expect("enqueue");
    q.enqueue(&Work::on("b")).await.expect("enqueue");
    q.enqueue_in(&Work::on("c"), Duration::from_secs(3600))
        .await
        .expect("enqueue");
    q.enqueue(&Limited).await.expect("enqueue");
    q.enqueue(&Limited).await.expect("enqueue");
    let claimed = q
        .claim(&QueueSelector::new(&["b"]), None, 5)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert!(q.pause("a").await.expect("pause"));
    assert!(q.pause("p").await.expect("pause"));

    let queues = q.queues().await.expect("queues");
    let names: Vec<&str> = queues.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d", "p"]);
    let by = |n: &str| {
        queues
            .iter()
            .find(|s| s.name == n)
            .expect("queue listed")
            .clone()
    };
    let a = by("a");
    assert_eq!((a.ready, a.scheduled, a.claimed, a.blocked), (3, 0, 0, 0));
    assert_eq!(a.oldest_ready_at, Some(START));
    assert!(a.paused);
    let b = by("b");
    assert_eq!((b.ready, b.claimed, b.oldest_ready_at), (0, 1, None));
    assert!(!b.paused);
    let c = by("c");
    assert_eq!((c.ready, c.scheduled), (0, 1));
    let d = by("d");
    assert_eq!((d.ready, d.blocked), (1, 1));
    assert_eq!(d.oldest_ready_at, Some(START + Duration::from_secs(10)));
    let p = by("p");
    assert_eq!((p.ready, p.scheduled, p.claimed, p.blocked), (0, 0, 0, 0));
    assert!(p.paused);

    assert!(q.resume("p").await.expect("resume"));
    let names: Vec<String> = q
        .queues()
        .await
        .expect("queues")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(!names.contains(&"p".to_owned()), "{names:?}");
}

on_both!(process_details_list_every_process_with_its_running_jobs);
/// Two servers on one storage, each registered: the one that claimed a job shows it
/// running, the other none; the rows carry kind, host and pid.
async fn process_details_list_every_process_with_its_running_jobs(on: On) {
    let storage = Storage::new(on).await;
    let clock = Clock::manual(START);
    let one = storage.offline(&clock).await;
    let two = storage.offline(&clock).await;
    let p1 = one
        .register_process("Worker", serde_json::json!({ "threads": 1 }))
        .await
        .expect("register");
    let p2 = two
        .register_process("Worker", serde_json::json!({ "threads": 1 }))
        .await
        .expect("register");
    let id = two.enqueue(&Work::on("mail")).await.expect("enqueue");
    clock.advance(Duration::from_secs(3));
    let claimed = one
        .claim(&QueueSelector::new(&["*"]), Some(p1.id), 1)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);

    let details = two.process_details().await.expect("process details");
    assert_eq!(details.len(), 2);
    let first = details
        .iter()
        .find(|d| d.row.id == p1.id)
        .expect("first process");
    let second = details
        .iter()
        .find(|d| d.row.id == p2.id)
        .expect("second process");
    for d in [first, second] {
        assert_eq!(d.row.kind, "Worker");
        assert_eq!(d.row.pid, i64::from(std::process::id()));
        assert!(d.row.hostname.as_deref().is_some_and(|h| !h.is_empty()));
    }
    assert_eq!(first.row.name, p1.name);
    assert_eq!(first.running.len(), 1);
    let job = &first.running[0];
    assert_eq!(job.id, id);
    assert_eq!(job.class_name, "work");
    assert_eq!(job.queue_name, "mail");
    assert_eq!(job.claimed_at, START + Duration::from_secs(3));
    assert!(second.running.is_empty());
}

/// The task of the recurring tests: every minute, on queue `cron`, priority 3.
fn every_minute() -> RecurringTask {
    RecurringTask {
        key: "tick".to_owned(),
        schedule_text: "every minute".to_owned(),
        schedule: Schedule::parse("every minute").expect("schedule"),
        job: "work".to_owned(),
        args: r#"{"queue":"","fail":false}"#.to_owned(),
        queue: Some("cron".to_owned()),
        priority: Some(3),
        description: Some("ticks".to_owned()),
    }
}

on_both!(recurring_tasks_show_last_and_next_runs_and_run_now);
/// After a scheduler's run the task shows it as its last run (time and job) and the next
/// run from its schedule; running it by hand enqueues its job on its queue now and
/// becomes the last run; an unknown key is refused.
async fn recurring_tasks_show_last_and_next_runs_and_run_now(on: On) {
    let storage = Storage::new(on).await;
    let clock = Clock::manual(START + Duration::from_secs(5));
    let q = storage.offline(&clock).await;
    let scheduler = Scheduler::new(&q, vec![every_minute()]);
    scheduler.sync().await.expect("sync");

    let tasks = q.recurring_tasks().await.expect("tasks");
    assert_eq!(tasks.len(), 1);
    let t = &tasks[0];
    assert_eq!(t.key, "tick");
    assert_eq!(t.schedule, "every minute");
    assert_eq!(t.class_name.as_deref(), Some("work"));
    assert_eq!(t.queue_name.as_deref(), Some("cron"));
    assert_eq!(t.priority, 3);
    assert_eq!(t.description.as_deref(), Some("ticks"));
    assert_eq!((t.last_run_at, t.last_job_id), (None, None));
    let first_run = START + Duration::from_secs(60);
    assert_eq!(t.next_run_at, Some(first_run));

    clock.set(first_run + Duration::from_secs(1));
    let created = scheduler.run_once().await.expect("run");
    assert_eq!(created.len(), 1);
    let t = q.recurring_tasks().await.expect("tasks").remove(0);
    assert_eq!(t.last_run_at, Some(first_run));
    assert_eq!(t.last_job_id, Some(created[0]));
    assert_eq!(t.next_run_at, Some(first_run + Duration::from_secs(60)));

    clock.advance(Duration::from_secs(7));
    let now = clock.now();
    let id = q.run_task_now("tick").await.expect("run now");
    let job = q.job(id).await.expect("job").expect("the job exists");
    assert_eq!(job.class_name, "work");
    assert_eq!(job.queue_name, "cron");
    assert_eq!(job.priority, 3);
    assert_eq!(job.state, JobState::Ready);
    let t = q.recurring_tasks().await.expect("tasks").remove(0);
    assert_eq!(t.last_run_at, Some(now));
    assert_eq!(t.last_job_id, Some(id));

    // The same microsecond again: already recorded, so enqueued without a record.
    let again = q.run_task_now("tick").await.expect("run now again");
    assert_ne!(again, id);
    let t = q.recurring_tasks().await.expect("tasks").remove(0);
    assert_eq!(t.last_job_id, Some(id));

    let unknown = q.run_task_now("nope").await;
    assert!(
        matches!(&unknown, Err(Error::UnknownTask(key)) if key == "nope"),
        "{unknown:?}"
    );
}
