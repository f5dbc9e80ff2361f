//! Resuming with the unmodified `@anycable/core` client on the extended protocol: a client
//! whose network is cut while broadcasts go out gets every one of them, in order, once,
//! whether it comes back to the same server, to a second server on the same storage after
//! the first one stopped, or after a restart that told it to start over; a gap longer than
//! the history is refused whole; and a restored session does not get back a subscription
//! its channel now rejects. With `TRIFECTA_TEST_BACKEND=postgres` every server of a test
//! shares one PostgreSQL database.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use trifecta::actioncable::{Channel, Context};
use trifecta::cable::Cable;
use trifecta::server::{self, Config, Extras, Running};

use crate::cable_js::{ensure_node_modules, js_dir};
use crate::helpers::{TestResult, database_of, on_postgres, register_database};

/// Rooms whose subscriptions the channel rejects (changed by a test while a client is away).
pub type Banned = Arc<Mutex<HashSet<String>>>;

struct ChatChannel {
    banned: Banned,
}

#[async_trait]
impl Channel for ChatChannel {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        match ctx.param("room").and_then(Value::as_str) {
            Some(room) if !self.banned.lock().contains(room) => {
                ctx.stream_from(format!("chat:{room}"));
            }
            _ => ctx.reject(),
        }
    }
}

/// A server with `ChatChannel` (rooms in `banned` rejected) and no sign-in.
pub async fn start(dir: &Path, banned: &Banned, tune: impl FnOnce(&mut Config)) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mut extras = Extras {
        connect: Some(Arc::new(trifecta::actioncable::AcceptAll)),
        ..Extras::default()
    };
    let banned = banned.clone();
    extras
        .channels
        .register("ChatChannel", move || ChatChannel {
            banned: banned.clone(),
        });
    let mut config = Config::for_dir(dir);
    tune(&mut config);
    if on_postgres() {
        // Every server of a test on one database, as on one storage dir.
        let url = match database_of(dir) {
            Some(url) => url,
            None => {
                let url = trifecta::store::pg::testing::database()
                    .await
                    .expect("a test database on PostgreSQL");
                register_database(dir, "DATABASE_URL", &url);
                url
            }
        };
        config.storage.database.database_url = Some(url);
    }
    server::start_with(config, listener, extras)
        .await
        .expect("start")
}

/// A TCP relay between the client and a server that the test can cut: every relayed
/// connection is dropped at once and new ones are closed on accept until it is mended,
/// possibly towards another server.
struct CutProxy {
    addr: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl CutProxy {
    async fn start(target: SocketAddr) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let target = Arc::new(Mutex::new(target));
        let down = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let (target, down, links) = (target.clone(), down.clone(), links.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if down.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let to = *target.lock();
                    links.lock().push(tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(to).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    }));
                }
            }
        });
        CutProxy {
            addr,
            target,
            down,
            links,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/cable", self.addr)
    }

    /// Drops every relayed connection and refuses new ones.
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().drain(..) {
            link.abort();
        }
    }

    /// Relays again, to `target` from now on.
    fn mend(&self, target: SocketAddr) {
        *self.target.lock() = target;
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// The node client and the events it printed so far.
struct Node {
    child: Child,
    events: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
}

impl Node {
    fn spawn(url: &str) -> Node {
        ensure_node_modules();
        let mut child = Command::new("node")
            .arg(js_dir().join("anycable.mjs"))
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|_| panic!("node printed {line:?}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Node {
            child,
            events,
            seen: Vec::new(),
        }
    }

    /// Reads events until one matches `want` (every field of `want` equal), within 30 s.
    async fn until(&mut self, want: Value) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let next = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no node event {want} in 30 s; saw {:?}", self.seen))
                .expect("node still running");
            self.seen.push(next.clone());
            let matches = want
                .as_object()
                .expect("an object")
                .iter()
                .all(|(k, v)| next.get(k) == Some(v));
            if matches {
                return next;
            }
        }
    }

    /// The `n` of every message event seen, in arrival order.
    fn received(&self) -> Vec<i64> {
        self.seen
            .iter()
            .filter(|e| e["event"] == "message")
            .map(|e| e["data"]["n"].as_i64().expect("n"))
            .collect()
    }

    /// Reads until the message `n` arrived.
    async fn until_message(&mut self, n: i64) {
        self.until(json!({"event": "message", "data": {"n": n}}))
            .await;
    }

    async fn quit(mut self) -> TestResult {
        if let Some(mut stdin) = self.child.stdin.take() {
            stdin.write_all(b"quit\n").await?;
        }
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await??;
        assert!(status.success(), "node exited with {status:?}");
        Ok(())
    }
}

async fn broadcast(cable: &Cable, range: std::ops::RangeInclusive<i64>) -> TestResult {
    for n in range {
        cable.broadcast("chat:lobby", &json!({"n": n})).await?;
    }
    Ok(())
}

/// Broadcasts `range` spread over `span` (the network stays cut that long).
async fn broadcast_over(
    cable: &Cable,
    range: std::ops::RangeInclusive<i64>,
    span: Duration,
) -> TestResult {
    let count = u32::try_from(range.clone().count())?;
    let every = span / count.max(1);
    let mut tick = tokio::time::interval(every);
    for n in range {
        tick.tick().await;
        broadcast(cable, n..=n).await?;
    }
    Ok(())
}

/// A server, a relay to it and a node client through the relay, subscribed and sent the
/// messages 1..=`first`.
async fn connected(
    dir: &Path,
    banned: &Banned,
    tune: impl FnOnce(&mut Config),
    first: i64,
) -> TestResult<(Running, CutProxy, Node)> {
    let server = start(dir, banned, tune).await;
    let proxy = CutProxy::start(server.addr).await;
    let mut node = Node::spawn(&proxy.url());
    node.until(json!({"event": "subscribed", "restored": false}))
        .await;
    broadcast(&server.state.cable, 1..=first).await?;
    node.until_message(first).await;
    Ok((server, proxy, node))
}

/// Cuts the relay and waits for the client to notice.
async fn cut_off(proxy: &CutProxy, node: &mut Node) {
    proxy.cut();
    node.until(json!({"event": "disconnect"})).await;
}

/// Ends the client, the relay and the servers.
async fn finish<const N: usize>(node: Node, proxy: CutProxy, servers: [Running; N]) -> TestResult {
    node.quit().await?;
    drop(proxy);
    for server in servers {
        server.shutdown();
        server.wait().await?;
    }
    Ok(())
}

/// Asserts `got` is exactly 1..=n.
fn assert_all_in_order(got: &[i64], n: i64) {
    let want: Vec<i64> = (1..=n).collect();
    assert_eq!(got, want, "every message once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cut_off_for_5_s_gets_all_50_broadcasts_and_the_live_ones_in_order_once()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let banned = Banned::default();
    let (server, proxy, mut node) = connected(dir.path(), &banned, |_| {}, 5).await?;

    cut_off(&proxy, &mut node).await;
    broadcast_over(&server.state.cable, 6..=55, Duration::from_secs(5)).await?;
    // Broadcasts go on while the client comes back: live ones must wait for the replay.
    let live = tokio::spawn({
        let cable = server.state.cable.clone();
        async move { broadcast_over(&cable, 56..=105, Duration::from_millis(250)).await }
    });
    proxy.mend(server.addr);
    node.until(json!({"event": "connect", "restored": true}))
        .await;
    node.until(json!({"event": "info", "type": "history_received"}))
        .await;
    live.await??;
    node.until_message(105).await;
    // One more, live: nothing of the gap arrives twice before it.
    broadcast(&server.state.cable, 106..=106).await?;
    node.until_message(106).await;
    assert_all_in_order(&node.received(), 106);
    let offsets: Vec<i64> = node
        .seen
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| {
            e["offset"]
                .as_i64()
                .expect("every message carries its offset")
        })
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
    let stats = server.state.actioncable.stats();
    assert_eq!(stats.restored_sessions, 1);
    assert!(stats.replayed_messages >= 50, "{stats:?}");
    finish(node, proxy, [server]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_restored_on_a_second_server_after_the_first_stopped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let banned = Banned::default();
    let (first, proxy, mut node) = connected(dir.path(), &banned, |_| {}, 5).await?;

    cut_off(&proxy, &mut node).await;
    first.shutdown();
    first.wait().await?;
    let second = start(dir.path(), &banned, |_| {}).await;
    broadcast(&second.state.cable, 6..=55).await?;
    proxy.mend(second.addr);
    node.until(json!({"event": "connect", "restored": true}))
        .await;
    node.until_message(55).await;
    broadcast(&second.state.cable, 56..=56).await?;
    node.until_message(56).await;
    assert_all_in_order(&node.received(), 56);
    assert_eq!(second.state.actioncable.stats().restored_sessions, 1);
    finish(node, proxy, [second]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_client_resubscribes_with_its_offsets_and_misses_nothing() -> TestResult
{
    let dir = tempfile::tempdir()?;
    let banned = Banned::default();
    let (first, proxy, mut node) = connected(dir.path(), &banned, |_| {}, 5).await?;

    // A graceful stop says `server_restart`: the client forgets its session and will
    // subscribe again, with the offsets it has, instead of restoring. (Until the restart
    // its attempts reach the relay, whose server is gone.)
    first.shutdown();
    node.until(json!({"event": "disconnect"})).await;
    first.wait().await?;
    let writer = start(dir.path(), &banned, |_| {}).await;
    broadcast(&writer.state.cable, 6..=55).await?;
    let restarted = start(dir.path(), &banned, |_| {}).await;
    proxy.mend(restarted.addr);
    node.until(json!({"event": "connect", "restored": false}))
        .await;
    node.until_message(55).await;
    broadcast(&restarted.state.cable, 56..=56).await?;
    node.until_message(56).await;
    assert_all_in_order(&node.received(), 56);
    finish(node, proxy, [writer, restarted]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_longer_than_the_history_is_refused_whole() -> TestResult {
    let dir = tempfile::tempdir()?;
    let banned = Banned::default();
    let (server, proxy, mut node) =
        connected(dir.path(), &banned, |c| c.serve.cable.history_limit = 10, 5).await?;

    cut_off(&proxy, &mut node).await;
    broadcast(&server.state.cable, 6..=25).await?;
    proxy.mend(server.addr);
    node.until(json!({"event": "info", "type": "history_not_found"}))
        .await;
    broadcast(&server.state.cable, 26..=26).await?;
    node.until_message(26).await;
    // Nothing of the 20-message gap: a partial replay would be worse than none.
    assert_eq!(node.received(), vec![1, 2, 3, 4, 5, 26]);
    assert_eq!(server.state.actioncable.stats().rejected_histories, 1);
    finish(node, proxy, [server]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_session_loses_a_subscription_its_channel_now_rejects() -> TestResult {
    let dir = tempfile::tempdir()?;
    let banned = Banned::default();
    let (server, proxy, mut node) = connected(dir.path(), &banned, |_| {}, 3).await?;

    cut_off(&proxy, &mut node).await;
    banned.lock().insert("lobby".to_owned());
    broadcast(&server.state.cable, 4..=13).await?;
    proxy.mend(server.addr);
    node.until(json!({"event": "connect", "restored": true}))
        .await;
    // Not among the restored ids, the client subscribes again and is rejected.
    node.until(json!({"event": "closed"})).await;
    assert_eq!(node.received(), vec![1, 2, 3]);
    assert_eq!(server.state.actioncable.stats().replayed_messages, 0);
    finish(node, proxy, [server]).await
}
