//! The extended protocol (`actioncable-v1-ext-json`) frame by frame: the `sid` in the
//! welcome, each broadcast's place in its stream, a restored session whose live messages
//! wait for its replay, sessions restored once, and history by offset, by time and from
//! another epoch. The plain protocol's frames stay Rails' own (the anyt scenarios).

use std::time::Duration;

use serde_json::{Value, json};
use trifecta::server::Running;

use crate::cable_client::{Client, Opts, ack};
use crate::cable_resume::{Banned, start};
use crate::helpers::{TestResult, wait_for};

const EXT: &str = "actioncable-v1-ext-json";

fn ext() -> Opts {
    Opts::default().ignore(&["ping"]).protocol(EXT)
}

fn lobby() -> String {
    id_with("ChatChannel", "lobby")
}

fn id_with(channel: &str, room: &str) -> String {
    json!({"channel": channel, "room": room}).to_string()
}

async fn welcome(client: &mut Client) -> Value {
    let w = client.receive().await;
    assert_eq!(w["type"], "welcome", "{w}");
    w
}

async fn send_n(server: &Running, n: i64) -> i64 {
    server
        .state
        .cable
        .broadcast("chat:lobby", &json!({"n": n}))
        .await
        .expect("broadcast")
}

/// An extended-protocol client subscribed to the lobby, and its sid.
async fn in_lobby(server: &Running) -> (Client, String) {
    let mut c = Client::connect(server.addr, ext()).await;
    let sid = welcome(&mut c).await["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    c.subscribe(&lobby()).await;
    (c, sid)
}

/// Waits until the server has no connection left (a closed socket's session is saved
/// before its connection is gone).
async fn until_closed(server: &Running) {
    wait_for("the socket to close", Duration::from_secs(5), || async {
        (server.state.actioncable.stats().connections == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_welcome_carries_a_sid_and_each_broadcast_its_stream_epoch_and_offset() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = start(dir.path(), &Banned::default(), |_| {}).await;
    let mut c = Client::connect(server.addr, ext()).await;
    let w = welcome(&mut c).await;
    let sid = w["sid"].as_str().expect("a sid");
    assert_eq!(sid.len(), 32);
    assert!(sid.bytes().all(|b| b.is_ascii_hexdigit()), "{sid}");
    assert_eq!(w.get("restored"), None);
    c.subscribe(&lobby()).await;
    let offset = send_n(&server, 1).await;
    let epoch = server.state.cable.epoch().await?;
    assert_eq!(
        c.receive().await,
        json!({"identifier": lobby(), "message": {"n": 1}, "stream_id": "chat:lobby",
               "epoch": &*epoch, "offset": offset})
    );
    // Another connection gets another sid.
    let mut d = Client::connect(server.addr, ext()).await;
    assert_ne!(welcome(&mut d).await["sid"], w["sid"]);
    server.shutdown();
    server.wait().await?;
    Ok(())
}

#[tokio::test]
async fn a_restored_subscription_gets_its_replay_before_any_live_message() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = start(dir.path(), &Banned::default(), |_| {}).await;
    let (mut c, sid) = in_lobby(&server).await;
    let first = send_n(&server, 1).await;
    assert_eq!(c.receive().await["offset"], first);
    c.close().await;
    until_closed(&server).await;

    send_n(&server, 2).await;
    send_n(&server, 3).await;
    let mut c = Client::connect(server.addr, ext().qs(&format!("sid={sid}"))).await;
    let w = welcome(&mut c).await;
    assert_eq!(w["restored"], true);
    assert_eq!(w["restored_ids"], json!([lobby()]));
    assert_ne!(
        w["sid"],
        sid.as_str(),
        "a restored connection gets a new sid"
    );
    // Broadcast before the client asks for its history: the streams start with the
    // history, so it comes in the replay, in order, and not before it.
    send_n(&server, 4).await;
    let epoch = server.state.cable.epoch().await?;
    c.send(json!({"command": "history", "identifier": lobby(),
                  "history": {"streams": {"chat:lobby": {"epoch": &*epoch, "offset": first}}}}))
        .await;
    let mut got = Vec::new();
    for _ in 0..4 {
        let f = c.receive().await;
        got.push(f["message"]["n"].as_i64().map_or_else(
            || f["type"].as_str().expect("a typed frame").to_owned(),
            |n| n.to_string(),
        ));
    }
    assert_eq!(got, ["2", "3", "4", "confirm_history"]);
    send_n(&server, 5).await;
    assert_eq!(c.receive().await["message"], json!({"n": 5}));
    c.assert_silent().await;
    server.shutdown();
    server.wait().await?;
    Ok(())
}

#[tokio::test]
async fn a_session_is_restored_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = start(dir.path(), &Banned::default(), |_| {}).await;
    let (c, sid) = in_lobby(&server).await;
    c.close().await;
    until_closed(&server).await;
    let restore = ext().header("X-AnyCable-Restore-Sid", &sid);
    let mut again = Client::connect(server.addr, restore.clone()).await;
    assert_eq!(welcome(&mut again).await["restored"], true);
    let mut thief = Client::connect(server.addr, restore).await;
    assert_eq!(welcome(&mut thief).await.get("restored"), None);
    // The plain protocol never restores or numbers anything.
    let mut plain = Client::connect(server.addr, Opts::default().ignore(&["ping"])).await;
    assert_eq!(plain.receive().await, json!({"type": "welcome"}));
    plain.subscribe(&lobby()).await;
    send_n(&server, 1).await;
    assert_eq!(
        plain.receive().await,
        json!({"identifier": lobby(), "message": {"n": 1}})
    );
    server.shutdown();
    server.wait().await?;
    Ok(())
}

#[tokio::test]
async fn history_by_time_replays_a_subscribe_and_another_epoch_is_rejected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = start(dir.path(), &Banned::default(), |_| {}).await;
    let since = server.state.cable.clock().now().secs();
    let first = send_n(&server, 1).await;
    send_n(&server, 2).await;
    let mut c = Client::connect(server.addr, ext()).await;
    welcome(&mut c).await;
    c.send(json!({"command": "subscribe", "identifier": lobby(), "history": {"since": since}}))
        .await;
    assert_eq!(c.receive().await, ack(&lobby()));
    assert_eq!(c.receive().await["message"], json!({"n": 1}));
    assert_eq!(c.receive().await["message"], json!({"n": 2}));
    assert_eq!(
        c.receive().await,
        json!({"identifier": lobby(), "type": "confirm_history"})
    );
    c.send(json!({"command": "history", "identifier": lobby(),
                  "history": {"streams": {"chat:lobby": {"epoch": "another", "offset": first}}}}))
        .await;
    assert_eq!(
        c.receive().await,
        json!({"identifier": lobby(), "type": "reject_history"})
    );
    // A malformed history is a logged and ignored frame.
    c.send(json!({"command": "history", "identifier": lobby(), "history": {"streams": 5}}))
        .await;
    c.assert_silent().await;
    assert_eq!(server.state.actioncable.stats().ignored_frames, 1);
    server.shutdown();
    server.wait().await?;
    Ok(())
}

#[tokio::test]
async fn a_dropped_connection_saves_its_session_and_one_closed_by_the_server_does_not() -> TestResult
{
    let dir = tempfile::tempdir()?;
    let server = start(dir.path(), &Banned::default(), |_| {}).await;
    let actioncable = server.state.actioncable.clone();
    let saved = |n: u64| {
        let actioncable = actioncable.clone();
        wait_for("the sessions saved", Duration::from_secs(5), move || {
            let actioncable = actioncable.clone();
            async move { (actioncable.stats().saved_sessions == n).then_some(()) }
        })
    };
    let (dropped, _) = in_lobby(&server).await;
    saved(1).await; // at subscribe
    dropped.close().await;
    until_closed(&server).await;
    saved(2).await; // again when the connection dropped
    // Closed by the server with a `disconnect` frame: the client forgets its sid.
    let (mut kicked, _) = in_lobby(&server).await;
    saved(3).await;
    server.shutdown();
    let (frames, _) = kicked.wait_closed().await;
    assert_eq!(
        frames.last(),
        Some(&json!({"type": "disconnect", "reason": "server_restart", "reconnect": true}))
    );
    server.wait().await?;
    assert_eq!(
        actioncable.stats().saved_sessions,
        3,
        "nothing saved for a client told to start afresh"
    );
    Ok(())
}
