//! A socket whose session expires (`--session-max-age`) is closed with
//! `{"type":"disconnect","reason":"unauthorized","reconnect":false}`: on the revalidation
//! beat, and at its next subscribe (issue #16, finding 6).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cable_client::{Event, ack};
use crate::helpers::{TestApp, TestResult, signed_up, socket_of, wait_for};

const TODOS: &str = r#"{"channel":"TodosChannel"}"#;

fn unauthorized() -> Value {
    json!({"type": "disconnect", "reason": "unauthorized", "reconnect": false})
}

async fn app(revalidate: Duration) -> TestApp {
    TestApp::spawn_with(|c| {
        c.app.session_max_age = Duration::from_secs(3);
        c.serve.actioncable.revalidate_interval = revalidate;
    })
    .await
}

/// Waits until the session of `browser` no longer signs a page request in.
async fn until_expired(browser: &crate::helpers::Browser) {
    wait_for("the session expired", Duration::from_secs(15), || async {
        let res = browser.get("/todos").await;
        res.status().is_redirection().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_disconnected_on_the_revalidation_beat() -> TestResult {
    let app = app(Duration::from_millis(200)).await;
    let browser = signed_up(&app, "expiring@example.com").await;
    let mut socket = socket_of(&app, &browser).await;
    socket
        .send(json!({"command": "subscribe", "identifier": TODOS}))
        .await;
    // The list as it is on subscribe, then the confirmation.
    assert!(socket.receive().await["message"]["todos"].is_array());
    assert_eq!(socket.receive().await, ack(TODOS));
    // Broadcasts flow while the session lives.
    app.state
        .cable
        .broadcast("todos", &json!({"todos": []}))
        .await?;
    assert_eq!(socket.receive().await["message"], json!({"todos": []}));
    // Then the session ages past its limit: the server closes the socket by itself, and no
    // broadcast reaches it after the disconnect frame.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut frames = Vec::new();
    loop {
        match socket.next_event(Duration::from_millis(500)).await {
            Event::Frame(f) => frames.push(f),
            Event::Closed(_) => break,
            Event::Timeout => assert!(Instant::now() < deadline, "socket still open"),
        }
    }
    assert_eq!(frames.last(), Some(&unauthorized()), "{frames:?}");
    assert_eq!(app.state.actioncable.stats().revoked_connections, 1);
    wait_for("the connection gone", Duration::from_secs(5), || async {
        (app.state.actioncable.stats().connections == 0).then_some(())
    })
    .await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_after_the_session_expired_closes_the_socket() -> TestResult {
    // No beat within the test: only the subscribe checks.
    let app = app(Duration::from_secs(3600)).await;
    let browser = signed_up(&app, "late@example.com").await;
    // The server's own registration (remote orders).
    let base = app.state.cable.local_stats().subscriptions;
    let mut socket = socket_of(&app, &browser).await;
    until_expired(&browser).await;
    socket
        .send(json!({"command": "subscribe", "identifier": TODOS}))
        .await;
    let (frames, _) = socket.wait_closed().await;
    assert_eq!(frames, vec![unauthorized()]);
    assert_eq!(app.state.cable.local_stats().subscriptions, base);
    assert_eq!(app.state.actioncable.stats().revoked_connections, 1);
    app.stop().await
}
