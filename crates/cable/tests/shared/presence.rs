//! Presence on one store shared by several cables (processes), whatever its backend: one id
//! in several sessions joins and leaves once; events go out on the presence channel in commit
//! order and never into the stream's own history; a closed session stays for the TTL and is
//! taken back by a restore; a process that dies (no detach, no refresh) leaves nobody present
//! past the TTL, while one that refreshes keeps its sessions.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use trifecta_cable::{Cable, CableOptions, Message, Sink, Start, Timestamp, presence_channel};
use trifecta_store::{Backend, Clock, WakeMode};

const TTL: Duration = Duration::from_secs(10);

/// What a watcher received on the presence channel, as JSON.
#[derive(Default)]
struct Events(Mutex<Vec<Value>>);

impl Sink for Events {
    fn deliver(&self, m: &Message) {
        let v = serde_json::from_str(&m.payload).expect("events are JSON");
        self.0.lock().expect("events lock").push(v);
    }
}

impl Events {
    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.0.lock().expect("events lock"))
    }
}

fn join(id: &str, name: &str) -> Value {
    json!({"type": "join", "id": id, "info": {"name": name}})
}

fn leave(id: &str) -> Value {
    json!({"type": "leave", "id": id})
}

/// Runs every check on cables over backends from `open`, all on one store.
pub async fn check<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Backend>,
{
    let clock = Clock::manual(Timestamp(1_000_000_000_000_000));
    let options = CableOptions {
        presence_ttl: TTL,
        ..CableOptions::default()
    };
    let cable = |db: Backend| Cable::new(db, clock.clone(), options.clone(), WakeMode::Poll);
    let a = cable(open().await);
    let b = cable(open().await);
    let watcher = cable(open().await);
    let events = Arc::new(Events::default());
    watcher
        .subscribe(&presence_channel("room"), events.clone())
        .await
        .expect("subscribe");
    let mut listener = watcher.listener();
    let mut seen = async || {
        listener.run_once().await.expect("poll");
        events.take()
    };
    let info = |name: &str| json!({"name": name});
    // Time passing with a and b alive: each refreshes its rows as its presence loop would.
    let live_for = async |d: Duration| {
        let step = TTL / 5;
        let mut passed = Duration::ZERO;
        while passed < d {
            clock.advance(step);
            passed += step;
            a.presence_refresh().await.expect("refresh");
            b.presence_refresh().await.expect("refresh");
        }
    };

    // One id in two sessions on two processes joins once; a second id joins.
    assert!(
        a.presence_join("room", "s1", "u1", &info("Ann"))
            .await
            .expect("join")
    );
    assert!(
        !b.presence_join("room", "s2", "u1", &info("Ann"))
            .await
            .expect("join")
    );
    assert!(
        b.presence_join("room", "s3", "u2", &info("Bob"))
            .await
            .expect("join")
    );
    assert!(
        a.presence_join("other", "s1", "u1", &info("Ann"))
            .await
            .expect("join")
    );
    assert_eq!(seen().await, vec![join("u1", "Ann"), join("u2", "Bob")]);
    let present = a.presence("room").await.expect("list");
    let ids: Vec<(&str, &str)> = present
        .iter()
        .map(|p| (p.id.as_str(), p.info.as_str()))
        .collect();
    assert_eq!(
        ids,
        [("u1", r#"{"name":"Ann"}"#), ("u2", r#"{"name":"Bob"}"#)]
    );

    // It leaves when its last session does, and only then; leaving twice is nothing.
    assert!(!a.presence_leave("room", "s1").await.expect("leave"));
    assert!(b.presence_leave("room", "s2").await.expect("leave"));
    assert!(!b.presence_leave("room", "s2").await.expect("leave"));
    assert_eq!(seen().await, vec![leave("u1")]);
    assert_eq!(ids_on(&a, "room").await, ["u2"]);

    // The stream's own history holds none of it.
    let since = Start::Since(clock.now() - Duration::from_secs(60));
    let history = a.history("room", &since, i64::MAX).await.expect("history");
    assert!(
        matches!(&history, trifecta_cable::History::Replay(m) if m.is_empty()),
        "{history:?}"
    );

    // A closed session stays for the TTL; a restore takes it back, and its new join is no
    // event.
    assert!(
        a.presence_join("room", "s4", "u4", &info("Cy"))
            .await
            .expect("join")
    );
    a.save_session("s4", "{}".into()).await.expect("save");
    a.presence_detach("s4").await.expect("detach");
    live_for(TTL / 2).await;
    assert_eq!(b.presence_sweep().await.expect("sweep"), 0);
    assert!(b.renew_session("s4", "s5").await.expect("renew").is_some());
    assert!(
        !b.presence_join("room", "s5", "u4", &info("Cy"))
            .await
            .expect("join")
    );
    assert_eq!(seen().await, vec![join("u4", "Cy")]);

    // A closed session nobody takes back is gone within the TTL.
    b.presence_detach("s5").await.expect("detach");
    live_for(TTL).await;
    assert_eq!(a.presence_sweep().await.expect("sweep"), 1);
    assert_eq!(seen().await, vec![leave("u4")]);

    // A process that dies leaves nobody behind past the TTL; one that refreshes keeps its
    // sessions (b's u2 joined long ago and is still there).
    let doomed = cable(open().await);
    assert!(
        doomed
            .presence_join("room", "s6", "u6", &info("Di"))
            .await
            .expect("join")
    );
    drop(doomed);
    live_for(TTL).await;
    assert_eq!(a.presence_sweep().await.expect("sweep"), 1);
    assert_eq!(seen().await, vec![join("u6", "Di"), leave("u6")]);
    assert_eq!(ids_on(&a, "room").await, ["u2"]);
    // Without refreshes, b's rows expire too.
    clock.advance(TTL);
    assert_eq!(a.presence_sweep().await.expect("sweep"), 2);
    assert_eq!(seen().await, vec![leave("u2")]);
    assert!(ids_on(&a, "other").await.is_empty());
}

async fn ids_on(cable: &Cable, stream: &str) -> Vec<String> {
    cable
        .presence(stream)
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.id)
        .collect()
}
