//! The `/cable` edge: limits and back-pressure, malformed input, origins, 404s, identifiers
//! echoed byte for byte, and shutdown of every socket task.

use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::Message;

use crate::anyt_channels::{anyt_app, anyt_app_with};
use crate::cable_client::{Client, Event, Opts, ack, data, id, reject};
use crate::helpers::{TestApp, TestResult, wait_for};

async fn app_with(tune: impl FnOnce(&mut trifecta::server::Config)) -> TestApp {
    anyt_app_with(tune).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_frame_closes_the_socket_with_1009() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    let big = json!({"command": "subscribe", "identifier": "x".repeat(70 * 1024)});
    client.send(big).await;
    match client.next_event(Duration::from_secs(5)).await {
        Event::Closed(code) => assert_eq!(code, Some(1009)),
        other => panic!("expected a close, got {other:?}"),
    }
    assert_eq!(app.state.actioncable.stats().oversize_frames, 1);
    // A frame just under the limit is fine.
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client
        .perform(&id("Nope"), json!({"pad": "y".repeat(60 * 1024)}))
        .await;
    client.subscribe(&id("SingleStreamChannel")).await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_flood_is_rejected_past_the_limit() -> TestResult {
    let app = app_with(|c| c.serve.actioncable.max_subscriptions = 3).await;
    let c = "Anyt::TestChannels::SubscriptionWithParamsChannel";
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    for i in 0..3 {
        client
            .subscribe(&format!(r#"{{"channel":"{c}","id":{i}}}"#))
            .await;
    }
    for i in 3..20 {
        let ident = format!(r#"{{"channel":"{c}","id":{i}}}"#);
        client
            .send(json!({"command": "subscribe", "identifier": ident}))
            .await;
        assert_eq!(client.receive().await, reject(&ident));
    }
    // Freeing a slot allows a new subscription; the socket stayed open all along.
    client
        .unsubscribe(&format!(r#"{{"channel":"{c}","id":0}}"#))
        .await;
    client
        .subscribe(&format!(r#"{{"channel":"{c}","id":99}}"#))
        .await;
    client.assert_silent().await;
    app.stop().await
}

/// Past its burst a socket's frames are ignored (the others' are not), it gets frames
/// again as its rate refills, and one that keeps flooding is closed with `rate_limited`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_flood_is_ignored_past_the_rate_and_closed_when_it_persists() -> TestResult {
    let app = app_with(|c| {
        c.serve.actioncable.max_commands = 2;
        c.serve.actioncable.commands_burst = 5;
    })
    .await;
    let mut flood = Client::connect(app.addr, Opts::anyt()).await;
    let mut calm = Client::connect(app.addr, Opts::anyt()).await;
    for i in 0..20 {
        let ident = id(&format!("Nope{i}"));
        flood
            .send(json!({"command": "subscribe", "identifier": ident}))
            .await;
    }
    // The burst of five is answered, the rest ignored.
    for i in 0..5 {
        assert_eq!(flood.receive().await, reject(&id(&format!("Nope{i}"))));
    }
    flood.assert_silent().await;
    assert_eq!(app.state.actioncable.stats().rate_limited_frames, 15);
    calm.subscribe(&id("SingleStreamChannel")).await;
    // The rate refills (two a second): a frame is answered again.
    let started = std::time::Instant::now();
    let again = loop {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no token came back"
        );
        flood
            .send(json!({"command": "subscribe", "identifier": id("Again")}))
            .await;
        if let Event::Frame(f) = flood.next_event(Duration::from_millis(100)).await {
            break f;
        }
    };
    assert_eq!(again, reject(&id("Again")));
    // Keep flooding: closed after 5 s of it, told not to come back.
    let started = std::time::Instant::now();
    let bye = loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a persistent flood must be closed"
        );
        if flood
            .try_send(json!({"command": "subscribe", "identifier": id("More")}))
            .await
            .is_err()
        {
            break None;
        }
        match flood.next_event(Duration::from_millis(10)).await {
            Event::Frame(f) if f["type"] == "disconnect" => break Some(f),
            Event::Closed(_) => break None,
            _ => {}
        }
    };
    assert_eq!(
        bye,
        Some(json!({"type": "disconnect", "reason": "rate_limited", "reconnect": false}))
    );
    assert_eq!(app.state.actioncable.stats().rate_limited_connections, 1);
    calm.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_disconnected_and_others_keep_receiving() -> TestResult {
    let app = app_with(|c| c.serve.actioncable.send_queue_bytes = 8 * 61 * 1024).await;
    let ident = id("SingleStreamChannel");
    let mut slow = Client::connect(app.addr, Opts::anyt()).await;
    slow.subscribe(&ident).await;
    let mut fast = Client::connect(app.addr, Opts::anyt()).await;
    fast.subscribe(&ident).await;
    // The fast client reads everything until the end marker, acknowledging each frame so
    // the broadcasts go at its pace (it is only "fast" relative to the one never reading).
    let (read_tx, mut read_rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut n = 0u32;
        loop {
            let v = fast.receive().await;
            if v["message"] == json!("end") {
                return (fast, n);
            }
            n += 1;
            let _ = read_tx.send(n);
        }
    });
    let _slow_socket = slow.into_inner(); // never read again
    let payload = json!("z".repeat(60 * 1024));
    let mut sent = 0u32;
    while app.state.actioncable.stats().slow_disconnects == 0 {
        assert!(sent < 5000, "the slow client was never disconnected");
        app.state.cable.broadcast("a", &payload).await?;
        sent += 1;
        let read = tokio::time::timeout(Duration::from_secs(10), read_rx.recv()).await?;
        assert_eq!(read, Some(sent), "the fast client fell behind");
    }
    app.state.cable.broadcast("a", &json!("end")).await?;
    let (mut fast, n) = tokio::time::timeout(Duration::from_secs(30), reader).await??;
    assert_eq!(n, sent, "the fast client lost frames");
    wait_for("slow connection gone", Duration::from_secs(5), || async {
        (app.state.actioncable.stats().connections == 1).then_some(())
    })
    .await;
    fast.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_binary_and_unknown_frames_are_ignored_and_the_socket_stays_open() -> TestResult {
    let app = anyt_app().await;
    let ident = id("SubscriptionPerformMethodsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.send_text("not json").await;
    client.send_text("[1,2]").await;
    client
        .send_message(Message::Binary(vec![1u8, 2, 3].into()))
        .await;
    client
        .send(json!({"command": "dance", "identifier": ident}))
        .await;
    client.send(json!({"command": "subscribe"})).await;
    client
        .send(json!({"command": "message", "identifier": ident, "data": {"action": "tick"}}))
        .await;
    // Not subscribed yet: ignored.
    client.perform(&ident, json!({"action": "tick"})).await;
    client.unsubscribe(&ident).await;
    client.subscribe(&ident).await;
    // Duplicate subscribe: no second confirmation.
    client
        .send(json!({"command": "subscribe", "identifier": ident}))
        .await;
    client
        .perform(&ident, json!({"action": "no_such_action"}))
        .await;
    client.perform(&ident, json!({"action": "tick"})).await;
    assert_eq!(client.receive().await, data(&ident, json!("tock")));
    client.assert_silent().await;
    assert!(app.state.actioncable.stats().ignored_frames >= 6);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_channels_and_bad_identifiers_are_rejected() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    for ident in [
        id("NoSuchChannel"),
        "not json".to_owned(),
        r#"{"id":1}"#.to_owned(),
    ] {
        client
            .send(json!({"command": "subscribe", "identifier": ident}))
            .await;
        assert_eq!(client.receive().await, reject(&ident));
    }
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_are_echoed_byte_for_byte() -> TestResult {
    let app = anyt_app().await;
    // Key order, spacing, number format and escapes a re-serialization would change.
    let ident =
        r#"{ "z":1.50, "channel":"Anyt::TestChannels::SingleStreamChannel","a":"\u00e9\/" }"#;
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client
        .send(json!({"command": "subscribe", "identifier": ident}))
        .await;
    let got = client.receive().await;
    assert_eq!(got["identifier"].as_str(), Some(ident));
    assert_eq!(got, ack(ident));
    app.state.cable.broadcast("a", &json!(1)).await?;
    assert_eq!(client.receive().await["identifier"].as_str(), Some(ident));
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_foreign_origins_and_missing_protocol_get_404() -> TestResult {
    let app = app_with(|c| {
        c.serve.actioncable.allowed_origins = vec!["https://app.example".to_owned()];
    })
    .await;
    let res = app.client.get(app.url("/cable")).send().await?;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(res.text().await?, "Page not found");

    let foreign = Opts::anyt().header("origin", "http://evil.example");
    let err = Client::try_connect(app.addr, foreign)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("404"), "{err}");
    let no_protocol = Opts {
        protocol: Some("something-else"),
        ..Opts::anyt()
    };
    let err = Client::try_connect(app.addr, no_protocol)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("404"), "{err}");

    for origin in [
        format!("http://{}", app.addr),
        "https://app.example".to_owned(),
    ] {
        let mut ok = Client::connect(app.addr, Opts::default().header("origin", &origin)).await;
        assert_eq!(ok.receive().await, json!({"type": "welcome"}));
    }
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_server_restart_to_every_socket_and_waits_for_their_tasks() -> TestResult {
    let app = anyt_app().await;
    let ident = id("SingleStreamChannel");
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut c = Client::connect(app.addr, Opts::anyt()).await;
        c.subscribe(&ident).await;
        clients.push(c);
    }
    let cable = app.state.cable.clone();
    let tracker = app.state.tracker.clone();
    let stopping = tokio::spawn(app.stop());
    for c in &mut clients {
        let (frames, _) = c.wait_closed().await;
        assert_eq!(
            frames,
            vec![json!({"type": "disconnect", "reason": "server_restart", "reconnect": true})]
        );
    }
    stopping.await??;
    assert!(tracker.is_empty(), "socket tasks outlived shutdown");
    assert_eq!(cable.local_stats().subscriptions, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_sent_right_after_the_upgrade_is_served() -> TestResult {
    let app = anyt_app().await;
    let ident = id("SingleStreamChannel");
    let mut client = Client::connect(app.addr, Opts::default().ignore(&["ping"])).await;
    client
        .send(json!({"command": "subscribe", "identifier": ident}))
        .await;
    assert_eq!(client.receive().await, json!({"type": "welcome"}));
    assert_eq!(client.receive().await, ack(&ident));
    client.assert_silent().await;
    app.stop().await
}
