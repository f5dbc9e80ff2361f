//! The history and saved sessions of one cable, whatever its backend: replays by offset and by
//! time up to a floor, and every reason a gap is refused whole (another epoch, an offset ahead,
//! a trimmed message, more than the limit, older than the TTL); sessions restored once and
//! never after their TTL.

use std::time::Duration;

use serde_json::json;
use trifecta_cable::{Cable, CableOptions, Gap, History, Start, Timestamp};
use trifecta_store::{Backend, Clock, WakeMode};

/// The options the checks are written for: 5 messages per stream, a 60 s TTL, 1 h
/// retention, sessions kept 30 s.
pub fn options() -> CableOptions {
    CableOptions {
        history_limit: 5,
        history_ttl: Duration::from_secs(60),
        message_retention: Duration::from_secs(3600),
        session_ttl: Duration::from_secs(30),
        ..CableOptions::default()
    }
}

/// A replay's message ids, or the gap.
fn outcome(h: History) -> Result<Vec<i64>, Gap> {
    match h {
        History::Replay(m) => Ok(m.iter().map(|m| m.id).collect()),
        History::Gap(g) => Err(g),
    }
}

/// Runs every check on a fresh cable over `db`.
pub async fn check(db: impl Into<Backend>) {
    let clock = Clock::manual(Timestamp(1_000_000_000_000_000));
    let c = Cable::new(db, clock.clone(), options(), WakeMode::Poll);
    let epoch = c.epoch().await.expect("epoch").to_string();
    assert_eq!(epoch.len(), 16, "{epoch}");
    let at = |offset| Start::Offset {
        epoch: epoch.clone(),
        offset,
    };
    let send = |stream: &'static str, n: i64| {
        let c = c.clone();
        async move {
            c.broadcast(stream, &json!({"n": n}))
                .await
                .expect("broadcast")
        }
    };

    let a1 = send("a", 1).await;
    let b1 = send("b", 1).await;
    let a2 = send("a", 2).await;
    let a3 = send("a", 3).await;
    let floor = c.last_id().await.expect("last id");
    let a4 = send("a", 4).await;
    // After an offset, only the stream's own messages, up to the floor.
    assert_eq!(
        outcome(c.history("a", &at(a1), floor).await.expect("store")),
        Ok(vec![a2, a3])
    );
    assert_eq!(
        outcome(c.history("b", &at(a1), floor).await.expect("store")),
        Ok(vec![b1])
    );
    assert_eq!(
        outcome(c.history("a", &at(a4), a4).await.expect("store")),
        Ok(Vec::<i64>::new())
    );
    // By time: everything created since.
    let since = Start::Since(clock.now());
    assert_eq!(
        outcome(c.history("a", &since, a4).await.expect("store")),
        Ok(vec![a1, a2, a3, a4])
    );
    // Refused whole: another epoch, an offset ahead of the floor.
    let other = Start::Offset {
        epoch: "another".into(),
        offset: a1,
    };
    assert_eq!(
        outcome(c.history("a", &other, a4).await.expect("store")),
        Err(Gap::Epoch)
    );
    assert_eq!(
        outcome(c.history("a", &at(a4), a3).await.expect("store")),
        Err(Gap::Ahead)
    );
    // More than the limit (5) after the offset.
    let mut last = a4;
    for n in 5..=7 {
        last = send("a", n).await;
    }
    assert_eq!(
        outcome(c.history("a", &at(a2), last).await.expect("store")).map(|v| v.len()),
        Ok(5)
    );
    assert_eq!(
        outcome(c.history("a", &at(a1), last).await.expect("store")),
        Err(Gap::TooLong)
    );
    // Older than the TTL: the gap's first message is 61 s old.
    clock.advance(Duration::from_secs(61));
    let fresh = send("a", 8).await;
    assert_eq!(
        outcome(c.history("a", &at(a3), fresh).await.expect("store")),
        Err(Gap::TooOld)
    );
    assert_eq!(
        outcome(c.history("a", &at(last), fresh).await.expect("store")),
        Ok(vec![fresh])
    );
    // Trimmed: past the retention the old messages go, and a gap from before them is
    // refused even though what is left of it is recent.
    clock.advance(Duration::from_secs(3600));
    let newest = send("a", 9).await;
    assert_eq!(c.trim().await.expect("trim"), 8, "all but the last two");
    assert_eq!(
        outcome(c.history("b", &at(a1), newest).await.expect("store")),
        Err(Gap::Trimmed)
    );
    assert_eq!(
        outcome(c.history("a", &at(a3), newest).await.expect("store")),
        Err(Gap::Trimmed)
    );
    assert_eq!(
        outcome(c.history("a", &at(fresh), newest).await.expect("store")),
        Ok(vec![newest])
    );
    let long_ago = Start::Since(Timestamp(clock.now().0 - 7200 * 1_000_000));
    assert_eq!(
        outcome(c.history("a", &long_ago, newest).await.expect("store")),
        Err(Gap::Trimmed)
    );

    // Sessions: renewed under a new id once, not after their TTL, trimmed when expired.
    c.save_session("s1", "one".into()).await.expect("save");
    c.save_session("s1", "two".into())
        .await
        .expect("save again");
    let renew = |old: &'static str, new: &'static str| {
        let c = c.clone();
        async move { c.renew_session(old, new).await.expect("store") }
    };
    assert_eq!(renew("s1", "n1").await.as_deref(), Some("two"));
    assert_eq!(renew("s1", "n2").await, None, "the old id is gone");
    assert_eq!(
        renew("n1", "n3").await.as_deref(),
        Some("two"),
        "the new one lives"
    );
    c.save_session("s2", "x".into()).await.expect("save");
    clock.advance(Duration::from_secs(31));
    assert_eq!(renew("s2", "n4").await, None, "expired");
    assert_eq!(
        c.trim_sessions().await.expect("trim sessions"),
        2,
        "s2 and n3"
    );
    assert_eq!(renew("n3", "n5").await, None);
}
