//! Memory of the ActionCable server under clients that subscribe many times and stop
//! reading (issue #16, finding 2): one hub registration and one shared payload per socket
//! and stream however many identifiers stream it, send queues bounded in bytes, and a
//! server-wide budget that drops the slowest clients first while honest ones keep receiving.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::anyt_channels::anyt_app_with;
use crate::cable_client::{Client, Opts};
use crate::helpers::{TestApp, TestResult, wait_for};

async fn app_with(tune: impl FnOnce(&mut trifecta::server::Config)) -> TestApp {
    anyt_app_with(tune).await
}

/// The `n`th identifier of one channel streaming `a` (identifiers differ only in `n`).
fn nth(n: usize) -> String {
    json!({"channel": "Anyt::TestChannels::SingleStreamChannel", "n": n}).to_string()
}

/// Reads `count` data frames; returns their identifiers (asserting each carries `message`).
async fn read_data(client: &mut Client, count: usize, message: &Value) -> HashSet<String> {
    let mut seen = HashSet::new();
    for _ in 0..count {
        let frame = client.receive().await;
        assert_eq!(&frame["message"], message, "{frame}");
        let id = frame["identifier"].as_str().expect("identifier").to_owned();
        assert!(seen.insert(id), "a second frame for one identifier");
    }
    seen
}

/// A client reading everything on stream `a` until `{"end":true}`, in its own task, counting
/// into `read`; returns how many frames it read before the end.
fn honest_reader(
    mut client: Client,
    read: Arc<AtomicU32>,
) -> tokio::task::JoinHandle<(Client, u32)> {
    tokio::spawn(async move {
        let mut n = 0u32;
        loop {
            let v = client.receive().await;
            if v["message"] == json!({"end": true}) {
                return (client, n);
            }
            n += 1;
            read.store(n, Ordering::Relaxed);
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_identifiers_on_one_socket_share_one_stream_and_one_payload() -> TestResult {
    let app = app_with(|_| {}).await;
    let cable = &app.state.cable;
    // The server's own registration (remote orders).
    let base = cable.local_stats().subscriptions;
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut c = Client::connect(app.addr, Opts::anyt()).await;
        for i in 0..100 {
            c.subscribe(&nth(i)).await;
        }
        clients.push(c);
    }
    // One registration per socket and stream, not one per identifier.
    assert_eq!(cable.local_stats().subscriptions, base + 2);

    let before = (cable.local_stats().delivered, app.state.actioncable.stats());
    let message = json!({"todos": "x".repeat(10_000)});
    cable.broadcast("a", &message).await?;
    let all: HashSet<String> = (0..100).map(nth).collect();
    for c in &mut clients {
        assert_eq!(read_data(c, 100, &message).await, all);
        c.assert_silent().await;
    }
    let after = (cable.local_stats().delivered, app.state.actioncable.stats());
    // Each socket got the message once from the hub, and both queued the same payload.
    assert_eq!(after.0 - before.0, 2);
    assert_eq!(after.1.payloads - before.1.payloads, 1);
    wait_for(
        "the queues released the payload",
        Duration::from_secs(5),
        || async { (app.state.actioncable.stats().queued_bytes == 0).then_some(()) },
    )
    .await;

    // Leaving one by one: the stream stays until its last identifier leaves.
    let c = &mut clients[0];
    for i in 1..100 {
        c.unsubscribe(&nth(i)).await;
    }
    // Commands run in order: once this answers, the unsubscribes are done.
    c.perform(&nth(0), json!({"action": "tick"})).await;
    assert_eq!(c.receive().await["message"], json!("tock"));
    assert_eq!(cable.local_stats().subscriptions, base + 2);
    let last = json!("only n=0");
    cable.broadcast("a", &last).await?;
    assert_eq!(read_data(c, 1, &last).await, HashSet::from([nth(0)]));
    c.assert_silent().await;
    c.unsubscribe(&nth(0)).await;
    wait_for(
        "the socket's stream unregistered",
        Duration::from_secs(5),
        || async { (cable.local_stats().subscriptions == base + 1).then_some(()) },
    )
    .await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_queue_bounded_in_bytes_disconnects_the_non_reader() -> TestResult {
    let app = app_with(|c| {
        c.serve.actioncable.send_queue_bytes = 1024 * 1024;
        // Only the queue's bound may drop the slow client here, not a write timeout.
        c.serve.actioncable.write_timeout = Duration::from_secs(3600);
    })
    .await;
    let ident = nth(0);
    let mut slow = Client::connect(app.addr, Opts::anyt()).await;
    slow.subscribe(&ident).await;
    let mut fast = Client::connect(app.addr, Opts::anyt()).await;
    fast.subscribe(&ident).await;
    let read = Arc::new(AtomicU32::new(0));
    let reader = honest_reader(fast, read.clone());
    let _slow_socket = slow.into_inner(); // never read again
    let payload = json!("z".repeat(200 * 1024));
    let mut sent = 0u32;
    // The kernel's socket buffers take ~10 MB; past them, 1 MB of queue is 5 broadcasts.
    // A queue bounded in frames (512 of them) would hold 100 MB here.
    while app.state.actioncable.stats().slow_disconnects == 0 {
        assert!(
            sent < 150,
            "the non-reader was not disconnected after {sent} broadcasts"
        );
        app.state.cable.broadcast("a", &payload).await?;
        sent += 1;
        wait_for("the reader keeps up", Duration::from_secs(10), || async {
            (read.load(Ordering::Relaxed) == sent).then_some(())
        })
        .await;
        let queued = app.state.actioncable.stats().queued_bytes;
        assert!(queued <= 2 * 1024 * 1024, "{queued} bytes queued");
    }
    app.state
        .cable
        .broadcast("a", &json!({"end": true}))
        .await?;
    let (mut fast, n) = tokio::time::timeout(Duration::from_secs(30), reader).await??;
    assert_eq!(n, sent, "the reading client lost frames");
    wait_for("the non-reader gone", Duration::from_secs(5), || async {
        (app.state.actioncable.stats().connections == 1).then_some(())
    })
    .await;
    assert_eq!(app.state.actioncable.stats().budget_disconnects, 0);
    fast.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_memory_budget_the_slowest_clients_go_first_and_honest_ones_keep_receiving()
-> TestResult {
    let app = app_with(|c| {
        // Queues may grow large; only the server-wide budget holds them.
        c.serve.actioncable.send_queue_bytes = 256 * 1024 * 1024;
        c.serve.actioncable.memory_budget = 2 * 1024 * 1024;
        c.serve.actioncable.write_timeout = Duration::from_secs(3600);
    })
    .await;
    let mut hostile = Vec::new();
    for _ in 0..3 {
        let mut c = Client::connect(app.addr, Opts::anyt()).await;
        for i in 0..100 {
            c.subscribe(&nth(i)).await;
        }
        hostile.push(c.into_inner()); // never read again
    }
    let mut honest = Client::connect(app.addr, Opts::anyt()).await;
    honest.subscribe(&nth(0)).await;
    let read = Arc::new(AtomicU32::new(0));
    let reader = honest_reader(honest, read.clone());
    let mut sent = 0u32;
    while app.state.actioncable.stats().budget_disconnects < 3 {
        assert!(sent < 200, "hostile clients kept after {sent} broadcasts");
        // Distinct payloads: nothing is shared between broadcasts.
        let payload = json!({"n": sent, "pad": "p".repeat(100 * 1024)});
        app.state.cable.broadcast("a", &payload).await?;
        sent += 1;
        wait_for(
            "the honest client keeps up",
            Duration::from_secs(10),
            || async { (read.load(Ordering::Relaxed) == sent).then_some(()) },
        )
        .await;
    }
    wait_for(
        "the hostile clients gone",
        Duration::from_secs(5),
        || async { (app.state.actioncable.stats().connections == 1).then_some(()) },
    )
    .await;
    let stats = app.state.actioncable.stats();
    assert_eq!(
        (stats.budget_disconnects, stats.slow_disconnects),
        (3, 3),
        "{stats:?}"
    );
    app.state
        .cable
        .broadcast("a", &json!({"end": true}))
        .await?;
    let (mut honest, n) = tokio::time::timeout(Duration::from_secs(30), reader).await??;
    assert_eq!(n, sent, "the honest client lost frames");
    honest.assert_silent().await;
    wait_for("queues released", Duration::from_secs(5), || async {
        (app.state.actioncable.stats().queued_bytes == 0).then_some(())
    })
    .await;
    drop(hostile);
    app.stop().await
}
