//! The operations dashboard's actions over HTTP (each changes just what it names, and says
//! so in a flash) and its live markers on the admin-only streams.

use std::time::Duration;

use serde_json::json;

use crate::cable_client::{data, reject};
use crate::dashboard::{act, enqueue, flash, state_of, wait_state};
use crate::helpers::{TestApp, TestResult, signed_up, socket_of, sync_id, wait_for};
use trifecta::queue::JobState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_changes_just_what_it_names() -> TestResult {
    let schedule = tempfile::NamedTempFile::with_suffix(".toml")?;
    std::fs::write(
        schedule.path(),
        "[nightly]\njob = \"noop\"\nschedule = \"0 3 * * *\"\nqueue = \"night\"\n",
    )?;
    let path = schedule.path().to_path_buf();
    let app = TestApp::spawn_with(|c| c.serve.queue.recurring_schedule = Some(path)).await;
    app.state.queue.pause("night").await?;
    let admin = signed_up(&app, "admin@example.com").await;

    // Retry one: it runs again, and the job page lists both failed attempts.
    let one = enqueue(&app, "fail", json!({"message": "first"}), "mail").await;
    wait_state(&app, one, JobState::Failed).await;
    let res = act(&admin, &format!("/admin/jobs/{one}/retry"), json!({})).await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        flash(&admin).await["notice"],
        format!("Job {one} will run again.")
    );
    wait_for(
        "a second failed attempt",
        Duration::from_secs(20),
        || async {
            let page = admin.page(&format!("/admin/jobs/{one}")).await;
            let attempts = page["props"]["job"]["attempts"].as_array()?.clone();
            (page["props"]["job"]["state"] == "failed" && attempts.len() == 2).then_some(attempts)
        },
    )
    .await;
    // A retry of a job that is not failed says so, and changes nothing.
    app.state.queue.pause("held").await?;
    let ready = enqueue(&app, "noop", json!({}), "held").await;
    let res = act(&admin, &format!("/admin/jobs/{ready}/retry"), json!({})).await;
    assert_eq!(res.status(), 302);
    let alert = flash(&admin).await["alert"].clone();
    assert!(
        alert.as_str().is_some_and(|a| a.contains("Nothing done")),
        "{alert}"
    );
    assert_eq!(state_of(&app, ready).await, Some(JobState::Ready));

    // Discard one.
    let res = act(&admin, &format!("/admin/jobs/{one}/discard"), json!({})).await;
    assert_eq!(res.status(), 302);
    assert_eq!(state_of(&app, one).await, None);
    assert_eq!(
        admin.visit(&format!("/admin/jobs/{one}")).await.status(),
        404
    );

    // Retry all matching: only the sms ones, which wait on their paused queue.
    let mut mail = Vec::new();
    let mut sms = Vec::new();
    for i in 0..3 {
        mail.push(enqueue(&app, "fail", json!({"message": format!("m{i}")}), "mail").await);
    }
    for i in 0..2 {
        sms.push(enqueue(&app, "fail", json!({"message": format!("s{i}")}), "sms").await);
    }
    for id in mail.iter().chain(&sms) {
        wait_state(&app, *id, JobState::Failed).await;
    }
    app.state.queue.pause("sms").await?;
    let res = act(
        &admin,
        "/admin/jobs/failed/retry_all",
        json!({"queue": "sms"}),
    )
    .await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        flash(&admin).await["notice"],
        "2 failed jobs will run again."
    );
    for id in &sms {
        assert_eq!(state_of(&app, *id).await, Some(JobState::Ready));
    }
    for id in &mail {
        assert_eq!(state_of(&app, *id).await, Some(JobState::Failed));
    }

    // Discard all matching, on ready jobs: the sms ones go, the held one stays.
    let res = act(
        &admin,
        "/admin/jobs/ready/discard_all",
        json!({"queue": "sms"}),
    )
    .await;
    assert_eq!(res.status(), 302);
    assert_eq!(flash(&admin).await["notice"], "Discarded 2 ready jobs.");
    for id in &sms {
        assert_eq!(state_of(&app, *id).await, None);
    }
    assert_eq!(state_of(&app, ready).await, Some(JobState::Ready));
    // Discard all failed of a class that has none: nothing.
    let res = act(
        &admin,
        "/admin/jobs/failed/discard_all",
        json!({"class": "noop"}),
    )
    .await;
    assert_eq!(res.status(), 302);
    assert_eq!(flash(&admin).await["notice"], "Discarded 0 failed jobs.");
    for id in &mail {
        assert_eq!(state_of(&app, *id).await, Some(JobState::Failed));
    }
    // Bulk actions only where they apply.
    let res = act(&admin, "/admin/jobs/in_progress/discard_all", json!({})).await;
    assert_eq!(res.status(), 400);
    let res = act(&admin, "/admin/jobs/ready/retry_all", json!({})).await;
    assert_eq!(res.status(), 400);
    let res = act(
        &admin,
        "/admin/jobs/failed/retry_all",
        json!({"from": "soon"}),
    )
    .await;
    assert_eq!(res.status(), 400);

    // Run a scheduled job now: it becomes ready, and runs once its queue is resumed.
    app.state.queue.pause("later").await?;
    let at = app.state.queue.clock().now() + Duration::from_secs(3600);
    let scheduled = app
        .state
        .queue
        .enqueue_named("noop", "{}", Some("later"), None, Some(at))
        .await?
        .0;
    assert_eq!(state_of(&app, scheduled).await, Some(JobState::Scheduled));
    let page = admin.page(&format!("/admin/jobs/{scheduled}")).await;
    assert_eq!(page["props"]["actions"]["run_now"], true);
    let res = act(&admin, &format!("/admin/jobs/{scheduled}/run"), json!({})).await;
    assert_eq!(res.status(), 302);
    assert_eq!(state_of(&app, scheduled).await, Some(JobState::Ready));
    let res = act(&admin, "/admin/jobs/queues/later/resume", json!({})).await;
    assert_eq!(res.status(), 302);
    wait_state(&app, scheduled, JobState::Finished).await;

    // A recurring task run now, and one that does not exist.
    let res = act(&admin, "/admin/jobs/recurring/nightly/run", json!({})).await;
    assert_eq!(res.status(), 302);
    let notice = flash(&admin).await["notice"].clone();
    let id: i64 = notice
        .as_str()
        .and_then(|n| n.strip_prefix("Enqueued job "))
        .and_then(|n| n.split(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("a job id in {notice}"))?;
    assert_eq!(
        state_of(&app, id).await,
        Some(JobState::Ready),
        "waits on its paused queue"
    );
    let page = admin.page("/admin/jobs/recurring").await;
    assert_eq!(page["props"]["tasks"][0]["last_job_id"], id);
    // The server's one process runs the worker, the dispatcher and the scheduler.
    let page = admin.page("/admin/jobs/processes").await;
    let roles = &page["props"]["processes"][0]["roles"];
    assert!(
        roles[0].as_str().is_some_and(|r| r.starts_with("worker: ")),
        "{roles}"
    );
    assert_eq!(roles[1], "dispatcher");
    assert_eq!(roles[2], "scheduler: 1 recurring task");
    let res = act(&admin, "/admin/jobs/recurring/nope/run", json!({})).await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        flash(&admin).await["alert"],
        "There is no recurring task nope."
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_streams_carry_markers_to_admins_only() -> TestResult {
    let app = TestApp::spawn().await;
    let admin = signed_up(&app, "admin@example.com").await;
    let member = signed_up(&app, "member@example.com").await;
    let jobs = sync_id("Admin", "jobs");

    let mut theirs = socket_of(&app, &member).await;
    theirs
        .send(json!({"command": "subscribe", "identifier": jobs}))
        .await;
    assert_eq!(theirs.receive().await, reject(&jobs));
    let mut mine = socket_of(&app, &admin).await;
    let bogus = sync_id("Admin", "secrets");
    mine.send(json!({"command": "subscribe", "identifier": bogus}))
        .await;
    assert_eq!(mine.receive().await, reject(&bogus));
    mine.subscribe(&jobs).await;

    // A job failing in the background is announced to the admin's page.
    enqueue(&app, "fail", json!({"message": "late"}), "default").await;
    assert_eq!(
        mine.receive().await,
        data(&jobs, json!({"action": "refresh"}))
    );

    // The cache page follows the cache.
    let cache = sync_id("Admin", "cache");
    mine.subscribe(&cache).await;
    app.state
        .cache
        .write("k", "v", trifecta::cache::WriteOptions::default())
        .await;
    // Markers of other topics may come first; the cache one must come (each frame within
    // `receive`'s deadline).
    for _ in 0..10 {
        if mine.receive().await == data(&cache, json!({"action": "refresh"})) {
            return app.stop().await;
        }
    }
    panic!("no cache marker among ten frames");
}
