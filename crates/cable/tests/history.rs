//! The cable's history and saved sessions on SQLite (the same checks run on PostgreSQL in
//! `tests/postgres.rs`). The epoch survives reopening the file.

#[path = "shared/history.rs"]
mod shared;

use trifecta_cable::{Cable, CableOptions};
use trifecta_store::{Clock, Db, PoolOptions, WakeMode};

fn migrated(dir: &std::path::Path) -> Db {
    let db = Db::open("cable", &dir.join("cable.sqlite3"), &PoolOptions::default())
        .expect("open the store");
    db.migrate_blocking(trifecta_cable::SCHEMA)
        .expect("migrate");
    db
}

#[tokio::test]
async fn history_and_sessions_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    shared::check(migrated(dir.path())).await;
}

#[tokio::test]
async fn the_epoch_is_the_files_and_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = |dir: &std::path::Path| {
        Cable::new(
            migrated(dir),
            Clock::system(),
            CableOptions::default(),
            WakeMode::Poll,
        )
    };
    let first = open(dir.path()).epoch().await.expect("epoch");
    let again = open(dir.path()).epoch().await.expect("epoch");
    assert_eq!(first, again);
    let other = tempfile::tempdir().expect("tempdir");
    assert_ne!(open(other.path()).epoch().await.expect("epoch"), first);
}

#[path = "shared/presence.rs"]
mod presence;

#[tokio::test]
async fn presence_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    drop(migrated(&path));
    presence::check(|| {
        let path = path.clone();
        async move {
            let db = Db::open(
                "cable",
                &path.join("cable.sqlite3"),
                &PoolOptions::default(),
            )
            .expect("open the store");
            trifecta_store::Backend::from(db)
        }
    })
    .await;
}

/// A sink that drops what it gets.
struct Ignore;

impl trifecta_cable::Sink for Ignore {
    fn deliver(&self, _: &trifecta_cable::Message) {}
}

#[tokio::test]
async fn local_subscribers_counts_each_registration_of_a_channel_until_it_leaves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cable = Cable::new(
        migrated(dir.path()),
        Clock::system(),
        CableOptions::default(),
        WakeMode::Poll,
    );
    assert_eq!(cable.local_subscribers("a"), 0);
    let first = cable
        .subscribe("a", std::sync::Arc::new(Ignore))
        .await
        .expect("subscribe");
    let second = cable
        .subscribe("a", std::sync::Arc::new(Ignore))
        .await
        .expect("subscribe");
    let other = cable
        .subscribe("b", std::sync::Arc::new(Ignore))
        .await
        .expect("subscribe");
    assert_eq!(
        (cable.local_subscribers("a"), cable.local_subscribers("b")),
        (2, 1)
    );
    cable.unsubscribe(&first);
    cable.unsubscribe(&first);
    assert_eq!(
        cable.local_subscribers("a"),
        1,
        "a second unsubscribe is a no-op"
    );
    cable.unsubscribe(&second);
    cable.unsubscribe(&other);
    assert_eq!(
        (cable.local_subscribers("a"), cable.local_subscribers("b")),
        (0, 0)
    );
}
