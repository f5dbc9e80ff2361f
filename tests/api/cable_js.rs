//! The real npm client: `node tests/js/cable.mjs` runs the unmodified `@rails/actioncable`
//! (with `ws` as its WebSocket) against a server started here, which is then restarted on
//! the same port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};
use trifecta::actioncable::{Channel, Context};
use trifecta::server::{self, Config, Extras, Running};

use crate::helpers::TestResult;

struct ChatChannel;

#[async_trait]
impl Channel for ChatChannel {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        match ctx.param("room").and_then(Value::as_str) {
            Some(room) => {
                let stream = format!("chat:{room}");
                ctx.stream_from(stream);
            }
            None => ctx.reject(),
        }
    }
}

pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// `make test` runs `npm ci` first; a bare `cargo test` installs here once.
pub fn ensure_node_modules() {
    let dir = js_dir();
    let installed = ["@rails/actioncable", "@anycable/core", "ws"];
    if installed
        .iter()
        .all(|m| dir.join("node_modules").join(m).exists())
    {
        return;
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .status()
        .expect("npm is installed");
    assert!(status.success(), "npm ci --prefix tests/js failed");
}

async fn start(dir: &Path, addr: SocketAddr) -> Running {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    // This test is about the protocol engine; the app's session hook has its own tests.
    let mut extras = Extras {
        connect: Some(std::sync::Arc::new(trifecta::actioncable::AcceptAll)),
        ..Extras::default()
    };
    extras.channels.register("ChatChannel", || ChatChannel);
    server::start_with(Config::for_dir(dir), listener, extras)
        .await
        .expect("start")
}

async fn next_event(lines: &mut Lines<BufReader<ChildStdout>>, within: Duration) -> Value {
    let line = tokio::time::timeout(within, lines.next_line())
        .await
        .expect("node event in time")
        .expect("read node output")
        .expect("node still running");
    serde_json::from_str(&line).unwrap_or_else(|_| panic!("node printed {line:?}"))
}

async fn expect_events(lines: &mut Lines<BufReader<ChildStdout>>, want: &[Value]) {
    let mut missing: Vec<Value> = want.to_vec();
    while !missing.is_empty() {
        let got = next_event(lines, Duration::from_secs(45)).await;
        let at = missing
            .iter()
            .position(|w| w == &got)
            .unwrap_or_else(|| panic!("unexpected node event {got}; waiting for {missing:?}"));
        missing.remove(at);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rails_client_subscribes_receives_and_resubscribes_after_a_restart() -> TestResult {
    ensure_node_modules();
    let dir = tempfile::tempdir()?;
    let first = start(dir.path(), "127.0.0.1:0".parse()?).await;
    let addr = first.addr;
    let mut node = Command::new("node")
        .arg(js_dir().join("cable.mjs"))
        .arg(format!("ws://{addr}/cable"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = node.stdin.take().expect("stdin");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();

    expect_events(
        &mut lines,
        &[
            json!({"event": "connected", "channel": "ChatChannel", "reconnected": false}),
            json!({"event": "rejected", "channel": "NoSuchChannel"}),
        ],
    )
    .await;
    first
        .state
        .cable
        .broadcast("chat:lobby", &json!({"text": "hello"}))
        .await?;
    expect_events(
        &mut lines,
        &[json!({"event": "received", "channel": "ChatChannel", "data": {"text": "hello"}})],
    )
    .await;

    first.shutdown();
    first.wait().await?;
    expect_events(
        &mut lines,
        &[json!({"event": "disconnected", "channel": "ChatChannel", "willAttemptReconnect": true})],
    )
    .await;

    let second = start(dir.path(), addr).await;
    expect_events(
        &mut lines,
        &[json!({"event": "connected", "channel": "ChatChannel", "reconnected": true})],
    )
    .await;
    second
        .state
        .cable
        .broadcast("chat:lobby", &json!({"text": "again"}))
        .await?;
    expect_events(
        &mut lines,
        &[json!({"event": "received", "channel": "ChatChannel", "data": {"text": "again"}})],
    )
    .await;

    // Seconds have passed since the rejection: a retrying client would have re-sent it
    // every 500 ms. One subscribe per connection for the chat, one in all for the unknown.
    stdin.write_all(b"stats\n").await?;
    let stats = next_event(&mut lines, Duration::from_secs(5)).await;
    assert_eq!(
        stats,
        json!({"event": "stats", "subscribes": {"ChatChannel": 2, "NoSuchChannel": 1}})
    );
    stdin.write_all(b"quit\n").await?;
    let status = tokio::time::timeout(Duration::from_secs(10), node.wait()).await??;
    assert!(status.success(), "node exited with {status:?}");
    second.shutdown();
    second.wait().await?;
    Ok(())
}
