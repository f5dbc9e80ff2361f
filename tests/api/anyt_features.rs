//! anyt features/ and subscriptions/ scenarios (`docs/protocols.md` §2.4, §2.6).

use serde_json::json;

use crate::anyt_channels::{anyt_app, name};
use crate::cable_client::{Client, Opts, ack, data, id, reject};
use crate::helpers::TestResult;

fn state_id(user: &str, notify: bool) -> String {
    let c = name("ChannelStateChannel");
    if notify {
        format!(r#"{{"channel":"{c}","name":"{user}","notify_disconnect":true}}"#)
    } else {
        format!(r#"{{"channel":"{c}","name":"{user}"}}"#)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_state_is_kept_between_commands() -> TestResult {
    let app = anyt_app().await;
    let ident = state_id("chipolino", false);
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    client.perform(&ident, json!({"action": "tick"})).await;
    assert_eq!(
        client.receive().await,
        data(&ident, json!({"count": 3, "name": "chipolino"}))
    );
    client.perform(&ident, json!({"action": "tick"})).await;
    assert_eq!(
        client.receive().await,
        data(&ident, json!({"count": 5, "name": "chipolino"}))
    );
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_state_is_available_in_unsubscribe_callbacks() -> TestResult {
    let app = anyt_app().await;
    let ident = state_id("chipolino", false);
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    let mut client2 = Client::connect(app.addr, Opts::anyt()).await;
    client2.subscribe(&state_id("chipollone", true)).await;
    client2.close().await;
    assert_eq!(
        client.receive().await,
        data(&ident, json!({"data": "user left: chipollone"}))
    );
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_disconnect_closes_single_connection_by_id() -> TestResult {
    let app = anyt_app().await;
    let opts = Opts::default().ignore(&["ping"]).qs("test=uid&uid=26");
    let mut client = Client::connect(app.addr, opts).await;
    assert_eq!(client.receive().await, json!({"type": "welcome"}));
    let mut bystander = Client::connect(app.addr, Opts::anyt().qs("test=uid&uid=27")).await;
    bystander
        .subscribe(&id("SubscriptionAknowledgementChannel"))
        .await;

    assert_eq!(app.state.actioncable.disconnect("26", true), 1);
    let (frames, _) = client.wait_closed().await;
    assert_eq!(
        frames,
        vec![json!({"type": "disconnect", "reconnect": true, "reason": "remote"})]
    );
    bystander.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_client_receives_disconnect_message() -> TestResult {
    let app = anyt_app().await;
    let opts = Opts::default()
        .ignore(&["ping"])
        .qs("test=reasons&reason=server_restart");
    let mut client = Client::connect(app.addr, opts).await;
    assert_eq!(client.receive().await, json!({"type": "welcome"}));
    let stopping = tokio::spawn(app.stop());
    let (frames, code) = client.wait_closed().await;
    assert_eq!(
        frames,
        vec![json!({"type": "disconnect", "reconnect": true, "reason": "server_restart"})]
    );
    assert_eq!(code, Some(1000));
    stopping.await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_client_receives_subscription_confirmation() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client
        .subscribe(&id("SubscriptionAknowledgementChannel"))
        .await;
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_client_receives_subscription_rejection() -> TestResult {
    let app = anyt_app().await;
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    let ident = id("SubscriptionAknowledgementRejectorChannel");
    client
        .send(json!({"command": "subscribe", "identifier": ident}))
        .await;
    assert_eq!(client.receive().await, reject(&ident));
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_client_subscribes_to_the_same_channel_with_different_params() -> TestResult {
    let app = anyt_app().await;
    let c = name("SubscriptionWithParamsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    let one = format!(r#"{{"channel":"{c}","id":1}}"#);
    let two = format!(r#"{{"channel":"{c}","id":2}}"#);
    client.subscribe(&one).await;
    client.subscribe(&two).await;
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_client_perform_actions_without_arguments() -> TestResult {
    let app = anyt_app().await;
    let ident = id("SubscriptionPerformMethodsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    client.perform(&ident, json!({"action": "tick"})).await;
    assert_eq!(client.receive().await, data(&ident, json!("tock")));
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_client_perform_actions_with_arguments() -> TestResult {
    let app = anyt_app().await;
    let ident = id("SubscriptionPerformMethodsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client.subscribe(&ident).await;
    client
        .perform(&ident, json!({"action": "echo", "text": "hello"}))
        .await;
    assert_eq!(
        client.receive().await,
        data(&ident, json!({"response": "hello"}))
    );
    client.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_client_receives_transmissions_from_subscribed_callback() -> TestResult {
    let app = anyt_app().await;
    let ident = id("SubscriptionTransmissionsChannel");
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    client
        .send(json!({"command": "subscribe", "identifier": ident}))
        .await;
    assert_eq!(client.receive().await, data(&ident, json!("hello")));
    assert_eq!(client.receive().await, data(&ident, json!("world")));
    assert_eq!(client.receive().await, ack(&ident));
    client.assert_silent().await;
    app.stop().await
}
