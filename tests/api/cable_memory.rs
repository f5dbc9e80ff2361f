//! Issue #16, finding 2, against a real `trifecta serve`: one signed-in user opens sockets
//! that stop reading, each with 100 `TodosChannel` subscriptions under distinct
//! identifiers, while the list changes. The server's resident memory (`VmRSS`) must not grow
//! with sockets × identifiers × broadcasts, an honest socket must get every change, and the
//! memory must come back once the sockets go.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use trifecta::store::{Clock, PoolOptions};
use trifecta::stores::Stores;

use crate::cable_client::{Client, Event, Opts};
use crate::helpers::{Browser, ChildServer, TestResult, insert_as_another_process, wait_for};

const COST: [(&str, &str); 1] = [("TRIFECTA_BCRYPT_COST", "4")];
/// Todos in the list before the test: with 480-character titles the broadcast list is
/// ~330 KB, so 100 copies of it per change would be 33 MB.
const TODOS: usize = 600;
const HOSTILE: usize = 3;
const CHANGES: usize = 5;

fn todos_id(n: Option<usize>) -> String {
    match n {
        Some(n) => json!({"channel": "TodosChannel", "n": n}).to_string(),
        None => json!({"channel": "TodosChannel"}).to_string(),
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// Writes `TODOS` long todos into `dir`'s app database, as a busy board would have.
async fn seed_todos(dir: &Path) -> TestResult {
    let stores = Stores::open(dir, "test", &PoolOptions::default())?;
    let now = Clock::system().now();
    stores
        .app
        .sqlite()
        .expect("a file")
        .write(move |tx| {
            let mut insert = tx.prepare(
                "INSERT INTO todos (title, completed, created_at, updated_at)
                 VALUES (?1, 0, ?2, ?2)",
            )?;
            for i in 0..TODOS {
                insert.execute(rusqlite::params![
                    format!("{i:05} {}", "t".repeat(474)),
                    now
                ])?;
            }
            Ok::<_, trifecta::store::Error>(())
        })
        .await?;
    Ok(())
}

/// Writes a ~330 KB `{"todos": [...]}` message whose first todo is `title` into the
/// `todos` stream, as another process broadcasting the whole list would.
fn broadcast_list(dir: &Path, title: &str) -> rusqlite::Result<()> {
    let mut todos = vec![json!({"id": "new", "title": title, "completed": false})];
    todos.extend((0..TODOS).map(|i| {
        json!({"id": format!("t{i}"), "title": format!("{i:05} {}", "t".repeat(474)), "completed": false})
    }));
    let payload = json!({ "todos": todos }).to_string();
    insert_as_another_process(dir, "todos", &payload)
}

/// A welcomed socket of `browser`'s session.
async fn socket(addr: SocketAddr, browser: &Browser) -> Client {
    let session = browser.cookie("_trifecta_session").expect("signed in");
    let opts = Opts::default()
        .ignore(&["ping", "welcome"])
        .header("cookie", &format!("_trifecta_session={session}"));
    Client::connect(addr, opts).await
}

/// Subscribes and reads up to the confirmation (the list is transmitted before it).
async fn subscribe(client: &mut Client, identifier: &str) {
    client
        .send(json!({"command": "subscribe", "identifier": identifier}))
        .await;
    loop {
        let frame = client.receive().await;
        if frame["type"] == "confirm_subscription" {
            assert_eq!(frame["identifier"], identifier);
            return;
        }
        assert_eq!(frame["identifier"], identifier, "{frame}");
    }
}

/// Whether a `TodosChannel` message shows the todo titled `title`.
fn shows(message: &Value, title: &str) -> bool {
    message["todos"]
        .as_array()
        .is_some_and(|l| l.iter().any(|t| t["title"] == title))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_reading_sockets_with_100_identifiers_each_do_not_grow_the_server() -> TestResult {
    let dir = tempfile::tempdir()?;
    seed_todos(dir.path()).await?;
    let mut server = ChildServer::spawn_env(dir.path(), &[], &COST);
    let addr = server.addr;
    let pid = server.child.id();
    let browser = Browser::new(addr, "");
    let res = browser
        .sign_up("hostile@example.com", "correct horse battery")
        .await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());

    let mut honest = socket(addr, &browser).await;
    subscribe(&mut honest, &todos_id(None)).await;
    let mut hostile: Vec<WebSocketStream<MaybeTlsStream<TcpStream>>> = Vec::new();
    for _ in 0..HOSTILE {
        let mut c = socket(addr, &browser).await;
        for n in 0..100 {
            subscribe(&mut c, &todos_id(Some(n))).await;
        }
        hostile.push(c.into_inner()); // never read again
    }
    let before = rss_kib(pid);

    for k in 0..CHANGES {
        // The board now broadcasts changed todos only, so the large message comes the other
        // way a broadcast can: written to the cable file by another process.
        let title = format!("change {k}");
        broadcast_list(dir.path(), &title)?;
        // The honest socket gets the change while the others sit on theirs.
        loop {
            match honest.next_event(Duration::from_secs(30)).await {
                Event::Frame(f) if shows(&f["message"], &title) => break,
                Event::Frame(_) => {}
                other => panic!("honest socket: {other:?} waiting for {title}"),
            }
        }
    }
    let loaded = rss_kib(pid);
    let growth_mib = loaded.saturating_sub(before) / 1024;
    eprintln!("server VmRSS: {before} KiB before the changes, {loaded} KiB after");
    // Copied per identifier, 5 changes would hold 5 × 100 × 330 KB = 165 MB.
    assert!(
        growth_mib < 40,
        "server RSS grew {growth_mib} MiB ({before} → {loaded} KiB)"
    );

    drop(hostile);
    let after = wait_for(
        "memory returned after the sockets close",
        Duration::from_secs(30),
        || async {
            let now = rss_kib(pid);
            (now <= before + 16 * 1024).then_some(now)
        },
    )
    .await;
    eprintln!("server VmRSS: {after} KiB after the sockets closed");
    honest.close().await;
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).is_some());
    Ok(())
}

/// The server's threads, from `/proc`.
fn threads(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_subscribes_does_not_turn_into_hundreds_of_threads() -> TestResult {
    const SOCKETS: usize = 40;
    const EACH: usize = 100;
    let dir = tempfile::tempdir()?;
    let server = ChildServer::spawn_env(dir.path(), &[], &COST);
    let (addr, pid) = (server.addr, server.child.id());
    let browser = Browser::new(addr, "");
    let res = browser
        .sign_up("burst@example.com", "correct horse battery")
        .await;
    assert!(res.status().is_redirection(), "sign up: {}", res.status());
    let mut clients = Vec::new();
    for _ in 0..SOCKETS {
        clients.push(socket(addr, &browser).await);
    }

    // Every socket sends all of its subscribes at once; each one checks the session and
    // reads the board, so thousands of store calls are in flight together.
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let watching = watching.clone();
        tokio::task::spawn_blocking(move || {
            let mut most = 0;
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                most = most.max(threads(pid));
                // The sampling pace, not a wait for an effect.
                std::thread::sleep(Duration::from_millis(1));
            }
            most
        })
    };
    let mut bursts = Vec::new();
    for mut client in clients {
        bursts.push(tokio::spawn(async move {
            for n in 0..EACH {
                client
                    .send(json!({"command": "subscribe", "identifier": todos_id(Some(n))}))
                    .await;
            }
            let mut confirmed = 0;
            while confirmed < EACH {
                if client.receive().await["type"] == "confirm_subscription" {
                    confirmed += 1;
                }
            }
            client
        }));
    }
    let mut clients = Vec::new();
    for burst in bursts {
        clients.push(burst.await?);
    }
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let most = sampler.await?;
    eprintln!(
        "server threads: at most {most} during {} subscribes",
        SOCKETS * EACH
    );
    // The blocking pool's bound, one worker per core, the main thread and the connection
    // pools' helper threads (three per store).
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let bound = trifecta::server::MAX_BLOCKING_THREADS + workers + 16;
    assert!(
        most <= bound,
        "the server ran {most} threads during the burst (bound {bound})"
    );
    for client in clients {
        client.close().await;
    }
    Ok(())
}
