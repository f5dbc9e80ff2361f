//! Remote disconnects (`reason: "remote"`) across processes sharing one storage directory:
//! a logout on one server kicks the session's socket on another, `trifecta users delete` and
//! `reset-password` kick a running server's sockets, other identities hear nothing, malformed
//! orders are ignored, and no channel can stream the internal order channel.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;
use trifecta::actioncable::{AcceptAll, Channel, Context, INTERNAL_CHANNEL};
use trifecta::server::Extras;
use trifecta::store::{Clock, PoolOptions};
use trifecta::stores::Stores;

use crate::cable_client::{Client, Opts, reject};
use crate::helpers::{
    Browser, ChildServer, TestApp, TestResult, run_cli_env, run_cli_stdin, signed_up, socket_at,
    socket_of, wait_for,
};

const PASSWORD: &str = "correct horse battery";
/// Child servers hash with the minimum bcrypt cost, as the in-process ones do.
const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];

fn kicked(reconnect: bool) -> serde_json::Value {
    json!({"type": "disconnect", "reason": "remote", "reconnect": reconnect})
}

/// A browser signed up as `email` on the server at `addr`. Only unsafe requests are sent, so
/// the Inertia asset version does not matter.
async fn signed_up_at(addr: SocketAddr, email: &str) -> Browser {
    let browser = Browser::new(addr, "");
    let res = browser.sign_up(email, PASSWORD).await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    browser
}

/// The same browser (cookie jar) talking to the server at `addr`; cookies do not depend on
/// the port, as in a browser behind a proxy that balances two servers.
fn same_browser_at(browser: &Browser, addr: SocketAddr) -> Browser {
    Browser {
        client: browser.client.clone(),
        jar: browser.jar.clone(),
        base: format!("http://{addr}"),
        version: browser.version.clone(),
    }
}

/// Appends a row to the cable table of `dir` directly, as any process that can write the
/// storage files could.
async fn write_cable_row(dir: &Path, channel: &str, payload: &str) -> TestResult {
    let stores = Stores::open(dir, "test", &PoolOptions::default())?;
    let (channel, payload) = (channel.to_owned(), payload.to_owned());
    stores
        .cable
        .sqlite()
        .expect("a file")
        .write(move |tx| {
            tx.execute(
                "INSERT INTO solid_cable_messages (channel, payload, created_at, channel_hash)
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    channel.as_bytes(),
                    payload.as_bytes(),
                    Clock::system().now(),
                    trifecta::cable::channel_hash(&channel)
                ],
            )?;
            Ok::<_, trifecta::store::Error>(())
        })
        .await?;
    Ok(())
}

/// How many lines of `server`'s log contain `needle`.
fn logged(server: &ChildServer, needle: &str) -> usize {
    server
        .log
        .lock()
        .expect("log")
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

/// Id of the only session in `dir`'s app database.
async fn only_session_id(dir: &Path) -> TestResult<i64> {
    let stores = Stores::open(dir, "test", &PoolOptions::default())?;
    let id = stores
        .app
        .sqlite()
        .expect("a file")
        .call(|conn| {
            conn.query_row("SELECT id FROM sessions", [], |r| r.get(0))
                .map_err(trifecta::store::Error::from)
        })
        .await?;
    Ok(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_on_one_server_kicks_the_socket_on_another() -> TestResult {
    let dir = tempfile::tempdir()?;
    let one = ChildServer::spawn_env(dir.path(), &[], &COST);
    let two = ChildServer::spawn_env(dir.path(), &[], &COST);
    let ann = signed_up_at(one.addr, "ann@example.com").await;
    let bob = signed_up_at(one.addr, "bob@example.com").await;
    let mut ann_socket = socket_at(one.addr, &ann).await;
    let mut bob_on_one = socket_at(one.addr, &bob).await;
    let mut bob_on_two = socket_at(two.addr, &bob).await;
    let ann_cookie = ann.cookie("_trifecta_session").expect("signed in");

    let res = same_browser_at(&ann, two.addr)
        .send_json(Method::DELETE, "/session", json!({}))
        .await;
    assert!(res.status().is_redirection(), "logout: {}", res.status());

    let (frames, code) = ann_socket.wait_closed().await;
    assert_eq!(frames, vec![kicked(false)], "server 1 kicked Ann's socket");
    assert_eq!(code, Some(1000));
    bob_on_one.assert_silent().await;
    bob_on_two.assert_silent().await;
    // Ann's old cookie opens no socket any more on server 1.
    let opts = Opts::default()
        .ignore(&["ping"])
        .header("cookie", &format!("_trifecta_session={ann_cookie}"));
    let mut again = Client::connect(one.addr, opts).await;
    let (frames, _) = again.wait_closed().await;
    assert_eq!(frames[0]["reason"], "unauthorized");
    drop((one, two));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_cli_kicks_sockets_of_a_running_server() -> TestResult {
    let app = TestApp::spawn().await;
    let ann = signed_up(&app, "ann@example.com").await;
    let bob = signed_up(&app, "bob@example.com").await;
    let cy = signed_up(&app, "cy@example.com").await;
    let mut ann_sockets = vec![socket_of(&app, &ann).await, socket_of(&app, &ann).await];
    let mut bob_socket = socket_of(&app, &bob).await;
    let mut cy_socket = socket_of(&app, &cy).await;
    let dir = app.storage().to_path_buf();

    let d = dir.clone();
    let (status, out, err) = tokio::task::spawn_blocking(move || {
        run_cli_env(&d, &["users", "delete", "ann@example.com", "--yes"], &COST)
    })
    .await?;
    assert!(status.success(), "{err}");
    assert!(out.contains("deleted ann@example.com"), "{out}");
    for socket in &mut ann_sockets {
        let (frames, _) = socket.wait_closed().await;
        assert_eq!(frames, vec![kicked(false)]);
    }

    let d = dir.clone();
    let (status, _, err) = tokio::task::spawn_blocking(move || {
        run_cli_stdin(
            &d,
            &["users", "reset-password", "bob@example.com"],
            "a brand new password\n",
            &COST,
        )
    })
    .await?;
    assert!(status.success(), "{err}");
    let (frames, _) = bob_socket.wait_closed().await;
    assert_eq!(frames, vec![kicked(false)]);

    cy_socket.assert_silent().await;
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_orders_are_ignored_and_the_server_keeps_serving() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = ChildServer::spawn_env(dir.path(), &[], &COST);
    let ann = signed_up_at(server.addr, "ann@example.com").await;
    let mut socket = socket_at(server.addr, &ann).await;
    let session = only_session_id(dir.path()).await?;
    let identity = format!("session:{session}");
    let malformed = [
        json!("disconnect everyone").to_string(),
        json!({"type": "disconnect"}).to_string(),
        json!({"type": "disconnect", "identities": identity, "reconnect": false}).to_string(),
        json!({"type": "disconnect", "identities": [identity], "reconnect": "yes"}).to_string(),
        json!({"type": "disconnect", "identities": [], "reconnect": false}).to_string(),
        json!({"type": "explode", "identities": [identity], "reconnect": false}).to_string(),
    ];
    for payload in &malformed {
        write_cable_row(dir.path(), INTERNAL_CHANNEL, payload).await?;
    }
    write_cable_row(dir.path(), INTERNAL_CHANNEL, "{not json").await?;
    wait_for(
        "every malformed order logged",
        Duration::from_secs(5),
        || async {
            (logged(&server, "ignoring a malformed remote order") == malformed.len()
                && logged(&server, "payload is not JSON") == 1)
                .then_some(())
        },
    )
    .await;
    socket.assert_silent().await;

    // Still serving: HTTP answers, and a well-formed order written the same way kicks.
    let res = reqwest::get(server.url("/up")).await?;
    assert_eq!(res.status(), 200);
    let order = json!({"type": "disconnect", "identities": [identity], "reconnect": true});
    write_cable_row(dir.path(), INTERNAL_CHANNEL, &order.to_string()).await?;
    let (frames, _) = socket.wait_closed().await;
    assert_eq!(frames, vec![kicked(true)]);
    Ok(())
}

/// Streams from whatever the identifier's `stream` names (a careless app channel).
struct AnyStream;

#[async_trait]
impl Channel for AnyStream {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        let stream = ctx
            .param("stream")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        match stream {
            Some(s) => ctx.stream_from(s),
            None => ctx.reject(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_channel_can_stream_the_internal_order_channel() -> TestResult {
    let mut extras = Extras {
        connect: Some(Arc::new(AcceptAll)),
        ..Extras::default()
    };
    extras.channels.register("AnyStream", || AnyStream);
    let app = TestApp::spawn_extended(|_| {}, extras).await;
    let mut client = Client::connect(app.addr, Opts::anyt()).await;
    for stream in [INTERNAL_CHANNEL, "action_cable/anything"] {
        let ident = json!({"channel": "AnyStream", "stream": stream}).to_string();
        client
            .send(json!({"command": "subscribe", "identifier": ident}))
            .await;
        assert_eq!(client.receive().await, reject(&ident), "{stream}");
    }
    let chat = json!({"channel": "AnyStream", "stream": "chat"}).to_string();
    // Ordinary streams still work.
    client.subscribe(&chat).await;

    let kicked_here = app
        .state
        .actioncable
        .disconnect_everywhere(&["session:nobody"], false)
        .await?;
    assert_eq!(kicked_here, 0);
    client.assert_silent().await;
    app.stop().await
}
