//! Solid Cable engine: cross-process delivery, no backlog, trimming, listener recovery, CLI.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta::cable::{Cable, CableOptions, Message, Sink};
use trifecta::config::WakeMode;
use trifecta::store::{Clock, PoolOptions, Timestamp};
use trifecta::stores::Stores;

use crate::anyt_channels::anyt_app;
use crate::cable_client::{Client, Opts, data, id};
use crate::helpers::{TestResult, insert_as_another_process, run_cli, wait_for};

/// A sink that records what it gets.
#[derive(Default)]
struct Collect(Mutex<Vec<(String, String)>>);

impl Sink for Collect {
    fn deliver(&self, m: &Message) {
        self.0
            .lock()
            .expect("lock")
            .push((m.channel.to_string(), m.payload.to_string()));
    }
}

impl Collect {
    fn payloads(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, p)| p.clone())
            .collect()
    }
}

fn open(dir: &Path, options: &PoolOptions) -> Stores {
    Stores::open(dir, "test", options).expect("stores")
}

fn cable(dir: &Path, clock: Clock, args: CableOptions) -> Cable {
    let stores = open(dir, &PoolOptions::default());
    Cable::new(stores.cable, clock, args, WakeMode::Instant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_from_another_process_reaches_a_socket() -> TestResult {
    let app = anyt_app().await;
    let ident = id("SingleStreamChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    let dir = app.storage().to_path_buf();
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || {
        run_cli(
            &dir,
            &["cable", "broadcast", "a", r#"{"data":"from afar"}"#],
        )
    })
    .await?;
    assert!(status.success(), "{stderr}");
    assert!(stdout.starts_with("broadcast message "), "{stdout}");
    assert_eq!(
        client.receive().await,
        data(&ident, json!({"data": "from afar"}))
    );
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_rejects_invalid_json_and_reports_stats() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (status, _, stderr) = run_cli(dir.path(), &["migrate"]);
    assert!(status.success(), "{stderr}");
    let (status, _, stderr) = run_cli(dir.path(), &["cable", "broadcast", "a", "{not json"]);
    assert!(!status.success());
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    assert!(!stderr.contains("sqlite"), "{stderr}");
    for payload in [r#"{"n":1}"#, r#""text""#] {
        let (status, _, stderr) = run_cli(dir.path(), &["cable", "broadcast", "chat", payload]);
        assert!(status.success(), "{stderr}");
    }
    let (status, _, stderr) = run_cli(dir.path(), &["cable", "broadcast", "", "1"]);
    assert!(!status.success());
    assert!(stderr.contains("channel name"), "{stderr}");

    let (status, stdout, stderr) = run_cli(dir.path(), &["cable", "stats", "--json"]);
    assert!(status.success(), "{stderr}");
    let stats: Value = serde_json::from_str(stdout.trim())?;
    assert_eq!(stats["messages"], 2);
    assert_eq!(stats["channels"], 1);
    assert_eq!(stats["max_id"], 2);
    let (status, stdout, _) = run_cli(dir.path(), &["cable", "stats"]);
    assert!(status.success());
    assert!(stdout.contains("messages       2"), "{stdout}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_subscribers_get_no_backlog_and_each_message_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cable = cable(dir.path(), Clock::system(), CableOptions::default());
    let mut listener = cable.listener();
    cable.broadcast("x", &json!("old")).await?;
    let sink = Arc::new(Collect::default());
    let sub = cable.subscribe("x", sink.clone()).await?;
    listener.run_once().await?;
    assert!(sink.payloads().is_empty(), "backlog delivered");

    cable.broadcast("x", &json!("new")).await?;
    cable.broadcast("y", &json!("elsewhere")).await?;
    listener.run_once().await?;
    listener.run_once().await?;
    assert_eq!(sink.payloads(), vec![r#""new""#]);

    // A second subscriber joining later gets only what follows, and the first no repeats.
    let late = Arc::new(Collect::default());
    cable.subscribe("x", late.clone()).await?;
    cable.broadcast("x", &json!("third")).await?;
    listener.run_once().await?;
    assert_eq!(sink.payloads(), vec![r#""new""#, r#""third""#]);
    assert_eq!(late.payloads(), vec![r#""third""#]);

    cable.unsubscribe(&sub);
    assert_eq!(cable.local_stats().subscriptions, 1);
    Ok(())
}

/// A local broadcast right after the listener's position is handed to local subscribers
/// by the broadcaster itself: no listener poll (none runs here) is needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_broadcast_is_delivered_without_a_listener_poll() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cable = cable(dir.path(), Clock::system(), CableOptions::default());
    let sink = Arc::new(Collect::default());
    cable.subscribe("x", sink.clone()).await?;
    // The first poll fixes the position (and takes the new subscriber's rewind).
    cable.listener().run_once().await?;
    let polls = cable.local_stats().polls;
    for i in 0..5 {
        cable.broadcast("x", &json!(i)).await?;
        cable.broadcast("elsewhere", &json!(i)).await?;
    }
    assert_eq!(sink.payloads(), vec!["0", "1", "2", "3", "4"]);
    assert_eq!(
        cable.local_stats().polls,
        polls,
        "the listener was not needed"
    );
    Ok(())
}

/// A row another process wrote is not yet read when a local broadcast follows it: the
/// local one is not handed out ahead of it, the listener delivers both in id order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_broadcast_after_a_foreign_row_waits_for_the_listener() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cable = cable(dir.path(), Clock::system(), CableOptions::default());
    let sink = Arc::new(Collect::default());
    cable.subscribe("x", sink.clone()).await?;
    let mut listener = cable.listener();
    listener.run_once().await?;
    // Another process: its own connection, no wake-up of ours.
    insert_as_another_process(dir.path(), "x", r#""foreign""#)?;
    cable.broadcast("x", &json!("local")).await?;
    assert!(
        sink.payloads().is_empty(),
        "nothing overtakes the unread row"
    );
    listener.run_once().await?;
    assert_eq!(sink.payloads(), vec![r#""foreign""#, r#""local""#]);
    // Caught up again: the next local broadcast goes straight out.
    cable.broadcast("x", &json!("next")).await?;
    assert_eq!(sink.payloads().len(), 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimming_deletes_messages_older_than_the_retention() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = Clock::manual(Timestamp(1_700_000_000_000_000));
    let args = CableOptions {
        trim_batch_size: 2,
        ..CableOptions::default()
    };
    let cable = cable(dir.path(), clock.clone(), args);
    for i in 0..5 {
        cable.broadcast("old", &json!(i)).await?;
    }
    clock.advance(Duration::from_secs(23 * 3600));
    cable.broadcast("young", &json!("keep")).await?;
    assert_eq!(cable.trim().await?, 0);
    clock.advance(Duration::from_secs(2 * 3600));
    // Five rows past the retention, deleted in batches of two.
    assert_eq!(cable.trim().await?, 5);
    let stats = cable.table_stats().await?;
    assert_eq!(stats.messages, 1);
    assert_eq!(stats.max_id, 6);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trimmer_runs_by_itself() -> TestResult {
    let dir = tempfile::tempdir()?;
    let clock = Clock::manual(Timestamp(1_700_000_000_000_000));
    let args = CableOptions {
        trim_interval: Duration::from_millis(20),
        message_retention: Duration::from_secs(60),
        ..CableOptions::default()
    };
    let cable = cable(dir.path(), clock.clone(), args);
    let (tracker, token) = (TaskTracker::new(), CancellationToken::new());
    cable.spawn_listener(&tracker, token.clone());
    cable.broadcast("a", &json!(1)).await?;
    clock.advance(Duration::from_secs(61));
    wait_for("automatic trim", Duration::from_secs(5), || async {
        (cable.table_stats().await.ok()?.messages == 0).then_some(())
    })
    .await;
    token.cancel();
    tracker.close();
    tracker.wait().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_survives_an_unavailable_database_and_resumes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let options = PoolOptions {
        max_connections: 1,
        acquire_timeout: Duration::from_millis(100),
    };
    let stores = open(dir.path(), &options);
    let args = CableOptions {
        polling_interval: Duration::from_millis(20),
        ..CableOptions::default()
    };
    let cable = Cable::new(
        stores.cable.clone(),
        Clock::system(),
        args,
        WakeMode::Instant,
    );
    let sink = Arc::new(Collect::default());
    cable.subscribe("a", sink.clone()).await?;
    let (tracker, token) = (TaskTracker::new(), CancellationToken::new());
    cable.spawn_listener(&tracker, token.clone());

    // Take the only connection and hold it until the listener has failed twice.
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = stores.cable.sqlite().expect("a file").clone();
    let held = tokio::spawn(async move {
        holder
            .call(move |_conn| {
                let _ = held_tx.send(());
                let _ = release_rx.recv();
                Ok::<_, trifecta::store::Error>(())
            })
            .await
    });
    held_rx.await?;
    // Meanwhile another process writes to the file, so the listener has a reason to read.
    let storage = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        insert_as_another_process(&storage, "a", r#""while down""#)
    })
    .await??;
    wait_for("listener errors", Duration::from_secs(10), || async {
        (cable.local_stats().listener_errors >= 2).then_some(())
    })
    .await;
    release_tx.send(())?;
    held.await??;
    wait_for(
        "delivery after recovery",
        Duration::from_secs(10),
        || async { (sink.payloads() == vec![r#""while down""#.to_owned()]).then_some(()) },
    )
    .await;
    cable.broadcast("a", &json!("after")).await?;
    wait_for("live delivery", Duration::from_secs(5), || async {
        (sink.payloads().len() == 2).then_some(())
    })
    .await;
    token.cancel();
    tracker.close();
    tracker.wait().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_mode_still_delivers_within_the_polling_interval() -> TestResult {
    let app = crate::anyt_channels::anyt_app_with(|c| c.serve.wake = WakeMode::Poll).await;
    let ident = id("SingleStreamChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    app.state
        .cable
        .broadcast("a", &json!({"data": "polled"}))
        .await?;
    assert_eq!(
        client.receive().await,
        data(&ident, json!({"data": "polled"}))
    );
    app.stop().await
}

/// An idle poll does not read the table while nobody has committed to the file; a commit
/// by another process makes the next poll read it and deliver the row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_poll_reads_the_table_only_after_a_commit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cable = cable(dir.path(), Clock::system(), CableOptions::default());
    let sink = Arc::new(Collect::default());
    cable.subscribe("x", sink.clone()).await?;
    let mut listener = cable.listener();
    listener.run_once().await?;
    let polls = cable.local_stats().polls;
    for _ in 0..5 {
        assert_eq!(listener.run_once().await?, 0);
    }
    assert_eq!(
        cable.local_stats().polls,
        polls,
        "idle polls skipped the table"
    );
    insert_as_another_process(dir.path(), "x", r#""foreign""#)?;
    assert_eq!(listener.run_once().await?, 1);
    assert_eq!(cable.local_stats().polls, polls + 1);
    assert_eq!(sink.payloads(), vec![r#""foreign""#]);
    Ok(())
}
