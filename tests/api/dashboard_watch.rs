//! The dashboard's markers go out only while a page of their topic is open on some server:
//! a server nobody watches writes nothing to the cable for the dashboard, a page opened later
//! still hears what changed before, and a page on another server hears this one.

use std::time::Duration;

use serde_json::json;
use trifecta::cable::{History, Start};
use trifecta::queue::JobState;
use trifecta::store::Timestamp;

use crate::cable_client::data;
use crate::dashboard::{enqueue, wait_state};
use crate::helpers::{
    ChildServer, TestApp, TestResult, signed_up, socket_at, socket_of, sync_id, wait_for,
};

/// Where servers say which dashboard topics they watch.
const WATCHING: &str = "trifecta:dashboard:watching";

/// How many messages went to `stream` since `since`.
async fn written(app: &TestApp, stream: &str, since: Timestamp) -> usize {
    let upto = app.state.cable.last_id().await.expect("last id");
    match app
        .state
        .cable
        .history(stream, &Start::Since(since), upto)
        .await
        .expect("history")
    {
        History::Replay(messages) => messages.len(),
        History::Gap(gap) => panic!("no history of {stream}: {gap:?}"),
    }
}

/// Waits until the pulse has looked at everything done before the call.
async fn pulsed(app: &TestApp) {
    let from = app.state.dashboard.pulses();
    wait_for("two pulses", Duration::from_secs(10), || async {
        (app.state.dashboard.pulses() >= from + 2).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_watching_costs_no_write_and_a_page_opened_later_hears_what_it_missed() -> TestResult
{
    let app = TestApp::spawn().await;
    let since = app.state.cable.clock().now();
    let admin = signed_up(&app, "admin@example.com").await;
    let id = enqueue(&app, "fail", json!({"message": "unwatched"}), "default").await;
    wait_state(&app, id, JobState::Failed).await;
    app.state
        .cache
        .write("k", "v", trifecta::cache::WriteOptions::default())
        .await;
    pulsed(&app).await;
    for stream in ["Admin:jobs", "Admin:cache", "Admin:cable", WATCHING] {
        assert_eq!(
            written(&app, stream, since).await,
            0,
            "{stream} while nobody watches"
        );
    }

    // The page opens: the server says it watches, and the change made before goes out once.
    let jobs = sync_id("Admin", "jobs");
    let mut mine = socket_of(&app, &admin).await;
    mine.subscribe(&jobs).await;
    assert_eq!(
        mine.receive().await,
        data(&jobs, json!({"action": "refresh"}))
    );
    assert!(written(&app, WATCHING, since).await >= 1);
    assert_eq!(
        written(&app, "Admin:cache", since).await,
        0,
        "the cache page is not open"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_server_hears_this_ones_jobs() -> TestResult {
    let app = TestApp::spawn().await;
    let admin = signed_up(&app, "admin@example.com").await;
    // The other server runs no worker: every job change below is this server's.
    let other = ChildServer::spawn_env(
        app.storage(),
        &["--queue-threads", "0"],
        &[("TRIFECTA_BCRYPT_COST", "4")],
    );
    let since = app.state.cable.clock().now();
    let jobs = sync_id("Admin", "jobs");
    let mut there = socket_at(other.addr, &admin).await;
    there.subscribe(&jobs).await;
    wait_for(
        "the other server's announcement",
        Duration::from_secs(10),
        || async { (written(&app, WATCHING, since).await > 0).then_some(()) },
    )
    .await;

    let id = enqueue(
        &app,
        "fail",
        json!({"message": "seen elsewhere"}),
        "default",
    )
    .await;
    wait_state(&app, id, JobState::Failed).await;
    assert_eq!(
        there.receive().await,
        data(&jobs, json!({"action": "refresh"}))
    );
    app.stop().await
}
