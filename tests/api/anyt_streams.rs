//! anyt streams/ scenarios (`docs/protocols.md` §2.5). Where anyt sleeps after an unsubscribe, we
//! wait until the server has dropped the stream registrations instead.

use std::time::Duration;

use serde_json::{Value, json};

use crate::anyt_channels::{anyt_app, name};
use crate::cable_client::{Client, Opts, data, id};
use crate::helpers::{TestApp, TestResult, wait_for};

async fn broadcast(app: &TestApp, stream: &str, msg: Value) {
    app.state
        .cable
        .broadcast(stream, &msg)
        .await
        .expect("broadcast");
}

/// Waits until `n` channel streams are registered, besides the server's own two: the
/// internal channel of remote orders and the dashboard's watch announcements.
async fn wait_streams(app: &TestApp, n: usize) {
    wait_for("stream registrations", Duration::from_secs(5), || async {
        (app.state.cable.local_stats().subscriptions == n + 2).then_some(())
    })
    .await;
}

async fn broadcast_client(app: &TestApp) -> (Client, String) {
    let ident = id("BroadcastDataToStreamChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    (client, ident)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_object() -> TestResult {
    let app = anyt_app().await;
    let (mut client, ident) = broadcast_client(&app).await;
    let msg = json!({"data": {"user_id": 1, "status": "left", "meta": {"connection_time": "10s"}}});
    broadcast(&app, "a", msg.clone()).await;
    assert_eq!(client.receive().await, data(&ident, msg));
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_custom_string() -> TestResult {
    let app = anyt_app().await;
    let (mut client, ident) = broadcast_client(&app).await;
    let msg = json!("<script>alert('Message!');</script>");
    broadcast(&app, "a", msg.clone()).await;
    assert_eq!(client.receive().await, data(&ident, msg));
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_json_string() -> TestResult {
    let app = anyt_app().await;
    let (mut client, ident) = broadcast_client(&app).await;
    let msg = json!(r#"{"script":{"alert":"Message!"}}"#);
    broadcast(&app, "a", msg.clone()).await;
    let got = client.receive().await;
    assert!(got["message"].is_string(), "{got}");
    assert_eq!(got, data(&ident, msg));
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_stream_client_receives_messages_from_the_stream() -> TestResult {
    let app = anyt_app().await;
    let ident = id("SingleStreamChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    broadcast(&app, "a", json!({"data": "X"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "X"})));
    broadcast(&app, "a", json!({"data": "Y"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "Y"})));
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_stream_client_does_not_receive_messages_after_removing_subscription() -> TestResult
{
    let app = anyt_app().await;
    let ident = id("SingleStreamChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    broadcast(&app, "a", json!({"data": "X"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "X"})));
    client.unsubscribe(&ident).await;
    wait_streams(&app, 0).await;
    broadcast(&app, "a", json!({"data": "Y"})).await;
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_stream_receives_multiple_messages_with_different_params() -> TestResult {
    let app = anyt_app().await;
    let ident = id("SingleStreamChannel");
    let c = name("SingleStreamChannel");
    let other = format!(r#"{{"channel":"{c}","some_param":"test"}}"#);
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    client.subscribe(&other).await;
    broadcast(&app, "a", json!({"data": "XX"})).await;
    let mut got = vec![client.receive().await, client.receive().await];
    got.sort_by_key(|v| v["identifier"].as_str().map(str::to_owned));
    let mut want = vec![
        data(&ident, json!({"data": "XX"})),
        data(&other, json!({"data": "XX"})),
    ];
    want.sort_by_key(|v| v["identifier"].as_str().map(str::to_owned));
    assert_eq!(got, want);
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_streams_client_receives_messages_from_both_streams() -> TestResult {
    let app = anyt_app().await;
    let ident = id("MultipleStreamsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    broadcast(&app, "a", json!({"data": "X"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "X"})));
    broadcast(&app, "b", json!({"data": "Y"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "Y"})));
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_streams_client_does_not_receive_messages_after_removing_subscription()
-> TestResult {
    let app = anyt_app().await;
    let ident = id("MultipleStreamsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    broadcast(&app, "a", json!({"data": "X"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "X"})));
    client.unsubscribe(&ident).await;
    wait_streams(&app, 0).await;
    broadcast(&app, "a", json!({"data": "Y"})).await;
    broadcast(&app, "b", json!({"data": "Z"})).await;
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_clients_receive_messages_from_stream() -> TestResult {
    let app = anyt_app().await;
    let ident = id("StreamsWithManyClientsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    let mut client2 = Client::connect(app.addr, Opts::anyt()).await;
    client2.subscribe(&ident).await;
    broadcast(&app, "a", json!({"data": "X"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "X"})));
    assert_eq!(client2.receive().await, data(&ident, json!({"data": "X"})));
    client.assert_silent().await;
    client2.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_clients_client_receives_messages_when_another_removes_subscription() -> TestResult
{
    let app = anyt_app().await;
    let ident = id("StreamsWithManyClientsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    let mut client2 = Client::connect(app.addr, Opts::anyt()).await;
    client2.subscribe(&ident).await;
    broadcast(&app, "a", json!({"data": "X"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "X"})));
    assert_eq!(client2.receive().await, data(&ident, json!({"data": "X"})));
    client.unsubscribe(&ident).await;
    wait_streams(&app, 1).await;
    broadcast(&app, "a", json!({"data": "Y"})).await;
    assert_eq!(client2.receive().await, data(&ident, json!({"data": "Y"})));
    client.assert_silent().await;
    client2.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_streams_client_unsubscribes_from_the_stream() -> TestResult {
    let app = anyt_app().await;
    let ident = id("StopStreamsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    broadcast(&app, "a", json!({"data": "X"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "X"})));
    client
        .perform(&ident, json!({"action": "unfollow", "name": "a"}))
        .await;
    wait_streams(&app, 1).await;
    broadcast(&app, "a", json!({"data": "Y"})).await;
    broadcast(&app, "b", json!({"data": "Z"})).await;
    assert_eq!(client.receive().await, data(&ident, json!({"data": "Z"})));
    client.assert_silent().await;
    app.stop().await
}
