//! Solid Cable on PostgreSQL, against a real server (`trifecta_store::pg::testing`): the
//! gap-free guarantee under concurrent publishers on two "servers" (two cables, each with its
//! own pool, hub and listener, on one database), trimming, stats and migrations.

#[path = "shared/history.rs"]
mod history;
#[path = "shared/presence.rs"]
mod presence;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trifecta_cable::{Cable, CableOptions, Message, Sink};
use trifecta_store::pg::testing;
use trifecta_store::{Clock, Pg, WakeMode};

/// What a subscriber received: (id, payload) in delivery order.
#[derive(Default)]
struct Inbox(Mutex<Vec<(i64, String)>>);

impl Sink for Inbox {
    fn deliver(&self, m: &Message) {
        self.0
            .lock()
            .expect("inbox lock")
            .push((m.id, m.payload.to_string()));
    }
}

impl Inbox {
    fn len(&self) -> usize {
        self.0.lock().expect("inbox lock").len()
    }

    fn last_id(&self) -> Option<i64> {
        self.0.lock().expect("inbox lock").last().map(|m| m.0)
    }
}

/// A migrated cable store on a fresh database, with a pool of `size` connections.
async fn store(url: &str, size: usize) -> Pg {
    testing::open("cable", url, size, trifecta_cable::postgres_migrations)
        .await
        .expect("cable store")
}

fn cable(pg: Pg) -> Cable {
    Cable::new(
        pg,
        Clock::system(),
        CableOptions::default(),
        WakeMode::Instant,
    )
}

/// Waits until `done` holds, for at most `secs`.
async fn eventually(secs: u64, what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// 4 publishers on 2 servers send 10,000 messages to one channel at once; every subscriber
/// on both servers receives every message exactly once, each publisher's in its order. Ids
/// are handed out at insert and committed in another order unless publishes are serialised:
/// without the publish lock a listener reading `id > last` steps over late commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publishers_on_two_servers_skip_no_message() {
    const PUBLISHERS: usize = 4;
    const EACH: usize = 2_500;
    let url = testing::database().await.expect("test database");
    let servers = [cable(store(&url, 8).await), cable(store(&url, 8).await)];
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    let mut inboxes = Vec::new();
    for server in &servers {
        server.spawn_listener(&tracker, token.clone());
        for _ in 0..2 {
            let inbox = Arc::new(Inbox::default());
            server
                .subscribe("gapless", inbox.clone())
                .await
                .expect("subscribe");
            inboxes.push(inbox);
        }
    }
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let server = servers[p % 2].clone();
            tokio::spawn(async move {
                for seq in 0..EACH {
                    let payload = serde_json::json!({"publisher": p, "seq": seq});
                    server
                        .broadcast("gapless", &payload)
                        .await
                        .expect("broadcast");
                }
            })
        })
        .collect();
    for p in publishers {
        p.await.expect("publisher");
    }
    // Once a subscriber has the last message, whatever it lacks was stepped over.
    let last = servers[0].last_id().await.expect("last id");
    eventually(60, "every subscriber to have the last message", || {
        inboxes.iter().all(|i| i.last_id() == Some(last))
    })
    .await;
    for (n, inbox) in inboxes.iter().enumerate() {
        let got = inbox.0.lock().expect("inbox lock");
        assert_eq!(
            got.len(),
            PUBLISHERS * EACH,
            "subscriber {n} received {} of {} messages",
            got.len(),
            PUBLISHERS * EACH
        );
        let mut next: HashMap<u64, u64> = HashMap::new();
        let mut last_id = 0;
        for (id, payload) in got.iter() {
            assert!(*id > last_id, "subscriber {n}: id {id} after {last_id}");
            last_id = *id;
            let v: serde_json::Value = serde_json::from_str(payload).expect("json");
            let (p, seq) = (
                v["publisher"].as_u64().expect("p"),
                v["seq"].as_u64().expect("seq"),
            );
            let want = next.entry(p).or_insert(0);
            assert_eq!(seq, *want, "subscriber {n}: publisher {p} out of order");
            *want += 1;
        }
    }
    token.cancel();
    tracker.close();
    tracker.wait().await;
}

/// Two servers on `url`: one to publish on, and one subscribed to `news` whose listener
/// polls once an hour, so that only a notification (or a reconnection) makes it read.
async fn publisher_and_deaf_subscriber(
    url: &str,
) -> (Cable, Arc<Inbox>, (CancellationToken, TaskTracker)) {
    let slow = CableOptions {
        polling_interval: Duration::from_secs(3600),
        ..CableOptions::default()
    };
    let a = cable(store(url, 2).await);
    let b = Cable::new(
        store(url, 2).await,
        Clock::system(),
        slow,
        WakeMode::Instant,
    );
    let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
    b.spawn_listener(&tracker, token.clone());
    let inbox = Arc::new(Inbox::default());
    b.subscribe("news", inbox.clone()).await.expect("subscribe");
    (a, inbox, (token, tracker))
}

/// A message published on one server wakes the other's listener through `NOTIFY` long before
/// its 100 ms poll would find it... and with the listener's poll interval set to an hour,
/// only the notification can deliver it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_on_one_server_wakes_the_other_through_notify() {
    let url = testing::database().await.expect("test database");
    let (a, inbox, (token, tracker)) = publisher_and_deaf_subscriber(&url).await;
    // The listener's first poll sets its position; the LISTEN connection wakes it once
    // connected. Publish until one arrives (the first may precede the LISTEN).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while inbox.len() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notification woke the listener"
        );
        a.broadcast("news", &serde_json::json!({"n": 1}))
            .await
            .expect("broadcast");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    token.cancel();
    tracker.close();
    tracker.wait().await;
}

/// Trimming deletes what is older than the retention, and the stats count what is left and
/// remember the highest id handed out.
#[tokio::test]
async fn trim_and_stats_on_postgres() {
    let url = testing::database().await.expect("test database");
    let clock = Clock::manual(trifecta_store::Timestamp(1_000_000_000_000));
    let c = Cable::new(
        store(&url, 2).await,
        clock.clone(),
        CableOptions::default(),
        WakeMode::Poll,
    );
    for n in 0..5 {
        c.broadcast("old", &serde_json::json!({"n": n}))
            .await
            .expect("broadcast");
    }
    clock.advance(Duration::from_secs(2 * 24 * 3600));
    let last = c
        .broadcast("new", &serde_json::json!({"n": 5}))
        .await
        .expect("broadcast");
    assert_eq!(c.trim().await.expect("trim"), 5);
    let stats = c.table_stats().await.expect("stats");
    assert_eq!((stats.messages, stats.channels, stats.max_id), (1, 1, last));
    assert_eq!(c.last_id().await.expect("last id"), last);
}

/// Migrating twice applies nothing the second time; a history ahead of this binary is
/// refused with a message saying so. Checking without migrating (as admin commands do)
/// refuses a store behind or ahead of this binary.
#[tokio::test]
async fn migrations_run_once_and_refuse_a_newer_history() {
    let url = testing::database().await.expect("test database");
    let pg = Pg::connect("cable", &url, 2).expect("pool");
    let before = pg
        .check_schema(trifecta_cable::postgres_migrations)
        .await
        .expect_err("an admin command refuses an unmigrated store");
    assert!(
        before.to_string().contains("older than this binary"),
        "{before}"
    );
    let first = pg
        .migrate(trifecta_cable::postgres_migrations)
        .await
        .expect("migrate");
    assert_eq!(
        pg.check_schema(trifecta_cable::postgres_migrations)
            .await
            .expect("at this binary's schema"),
        3
    );
    assert_eq!(
        first.applied,
        vec![
            "V1__messages".to_owned(),
            "V2__history".to_owned(),
            "V3__presence".to_owned()
        ]
    );
    let again = pg
        .migrate(trifecta_cable::postgres_migrations)
        .await
        .expect("again");
    assert!(again.applied.is_empty());
    assert_eq!(again.version, 3);
    let conn = pg.get().await.expect("conn");
    conn.batch_execute(
        "INSERT INTO cable_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', 'now', '0')",
    )
    .await
    .expect("forge a newer history");
    let err = pg
        .migrate(trifecta_cable::postgres_migrations)
        .await
        .expect_err("a newer history must be refused");
    assert!(
        err.to_string().contains("newer than this binary knows"),
        "{err}"
    );
    let err = pg
        .check_schema(trifecta_cable::postgres_migrations)
        .await
        .expect_err("an admin command refuses a newer store too");
    assert!(
        err.to_string().contains("newer than this binary knows"),
        "{err}"
    );
}

/// The `LISTEN` connection is a hint only: when the server drops it, the listener connects
/// again and polls once, so a message published while it was away still arrives (here the
/// poll interval is an hour, so only the reconnection can deliver it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_listen_connection_comes_back_and_catches_up() {
    let url = testing::database().await.expect("test database");
    let (a, inbox, (token, tracker)) = publisher_and_deaf_subscriber(&url).await;
    let admin = store(&url, 1).await;
    let conn = admin.get().await.expect("conn");
    let listening = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let pid: i32 = loop {
        if let Some(row) = conn
            .query_opt(listening, &[])
            .await
            .expect("pg_stat_activity")
        {
            break row.get(0);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no LISTEN connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let killed: bool = conn
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .expect("terminate")
        .get(0);
    assert!(killed);
    // Published while the listener's connection is gone: no notification reaches it.
    let id = a
        .broadcast("news", &serde_json::json!({"n": 1}))
        .await
        .expect("broadcast");
    eventually(20, "the message published while disconnected", || {
        inbox.last_id() == Some(id)
    })
    .await;
    let back = conn
        .query_opt(listening, &[])
        .await
        .expect("pg_stat_activity");
    let new_pid: Option<i32> = back.map(|r| r.get(0));
    assert!(
        new_pid.is_some_and(|p| p != pid),
        "listening again on a new connection"
    );
    token.cancel();
    tracker.close();
    tracker.wait().await;
}

#[tokio::test]
async fn history_and_sessions_on_postgres() {
    let url = testing::database().await.expect("test database");
    history::check(store(&url, 2).await).await;
}

#[tokio::test]
async fn presence_on_postgres() {
    let url = testing::database().await.expect("test database");
    presence::check(|| {
        let url = url.clone();
        async move { trifecta_store::Backend::from(store(&url, 2).await) }
    })
    .await;
}
