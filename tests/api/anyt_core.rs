//! anyt core/ and request/ scenarios (`docs/protocols.md` §2.2, §2.3) against the real server.

use std::time::Duration;

use serde_json::{Value, json};

use crate::anyt_channels::{anyt_app, name};
use crate::cable_client::{Client, Opts, data, id};
use crate::helpers::{TestResult, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_client_receives_welcome_message() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(app.addr, Opts::default().ignore(&["ping"])).await;
    assert_eq!(client.receive().await, json!({"type": "welcome"}));
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_client_receives_pings_with_timestamps() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(app.addr, Opts::default().ignore(&["welcome"])).await;
    let first = client.receive().await;
    assert_eq!(first["type"], "ping");
    let a = first["message"].as_i64().expect("integer seconds");
    assert!(a > 0);
    let second = client.receive().await;
    assert_eq!(second["type"], "ping");
    let b = second["message"].as_i64().expect("integer seconds");
    assert!(b > a, "{a} then {b}");
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_url_is_set_during_connection() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(app.addr, Opts::default().qs("test=request_url")).await;
    assert_eq!(client.receive().await, json!({"type": "welcome"}));
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reject_when_required_cookies_are_not_set() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(app.addr, Opts::anyt().qs("test=cookies")).await;
    client.wait_closed().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_accepts_when_required_cookies_are_set() -> TestResult {
    let app = anyt_app().await;
    let opts = Opts::default()
        .qs("test=cookies")
        .header("cookie", "username=john green");
    let mut client = Client::connect(app.addr, opts).await;
    assert_eq!(client.receive().await, json!({"type": "welcome"}));
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reject_when_required_header_is_missing() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(app.addr, Opts::anyt().qs("test=headers")).await;
    client.wait_closed().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_accepts_when_required_header_is_set() -> TestResult {
    let app = anyt_app().await;
    let opts = Opts::default()
        .qs("test=headers")
        .header("x-api-token", "abc");
    let mut client = Client::connect(app.addr, opts).await;
    assert_eq!(client.receive().await, json!({"type": "welcome"}));
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_receives_disconnect_message_when_rejected() -> TestResult {
    let app = anyt_app().await;
    let opts = Opts::default().qs("test=reasons&reason=unauthorized");
    let mut client = Client::connect(app.addr, opts).await;
    let (frames, code) = client.wait_closed().await;
    assert_eq!(
        frames,
        vec![json!({"type": "disconnect", "reconnect": false, "reason": "unauthorized"})],
        "no welcome before the disconnect"
    );
    assert_eq!(code, Some(1000));
    assert_eq!(app.state.actioncable.stats().rejected_connections, 1);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_channel_has_access_to_request() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(
        app.addr,
        Opts::default().ignore(&["ping"]).qs("token=secret"),
    )
    .await;
    assert_eq!(client.receive().await, json!({"type": "welcome"}));
    client.subscribe(&id("RequestChannel")).await;
    client.assert_silent().await;

    // The same channel without the token is rejected.
    let mut other = Client::connect(app.addr, Opts::anyt()).await;
    let ident = id("RequestChannel");
    other
        .send(json!({"command": "subscribe", "identifier": ident}))
        .await;
    assert_eq!(
        other.receive().await,
        json!({"identifier": ident, "type": "reject_subscription"})
    );
    other.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_client_disconnect_invokes_unsubscribe_callbacks_for_different_channels()
-> TestResult {
    let app = anyt_app().await;
    let (a, b) = (id("RequestAChannel"), id("RequestBChannel"));
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&a).await;
    client.subscribe(&b).await;
    let mut client2 = Client::connect(app.addr, Opts::anyt()).await;
    client2.subscribe(&a).await;
    client2.subscribe(&b).await;
    client2.close().await;

    let mut got = vec![client.receive().await, client.receive().await];
    got.sort_by_key(|v| v["identifier"].as_str().map(str::to_owned));
    assert_eq!(
        got,
        vec![
            data(&a, json!({"data": "user left"})),
            data(&b, json!({"data": "user left"})),
        ]
    );
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_client_disconnect_invokes_unsubscribe_callbacks_for_multiple_subscriptions()
-> TestResult {
    let app = anyt_app().await;
    let c = name("RequestCChannel");
    let base = json!({"channel": c}).to_string();
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&base).await;
    let mut client2 = Client::connect(app.addr, Opts::anyt()).await;
    let one = format!(r#"{{"channel":"{c}","id":1}}"#);
    let two = format!(r#"{{"channel":"{c}","id":2}}"#);
    client2.subscribe(&one).await;
    client2.subscribe(&two).await;
    client2.close().await;

    let mut got: Vec<Value> = vec![client.receive().await, client.receive().await];
    got.sort_by_key(|v| v["message"]["data"].as_str().map(str::to_owned));
    assert_eq!(
        got,
        vec![
            data(&base, json!({"data": "user left1"})),
            data(&base, json!({"data": "user left2"})),
        ]
    );
    client.assert_silent().await;
    wait_for(
        "client2's connection to end",
        Duration::from_secs(5),
        || async { (app.state.actioncable.stats().connections == 1).then_some(()) },
    )
    .await;
    app.stop().await
}
