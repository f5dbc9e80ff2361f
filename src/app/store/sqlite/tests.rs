//! Every SQLite statement of the store, run once against a database migrated with
//! `sql/app/sqlite/`:
//! rusqlite checks no SQL at compile time, so a typo or a renamed column fails here.

use std::error::Error;

use rusqlite::Connection;

use super::{accounts, members, sessions, todos, users, versions};
use crate::app::accounts::Role;
use crate::store::Timestamp;

type TestResult = Result<(), Box<dyn Error>>;

fn migrated() -> Result<Connection, Box<dyn Error>> {
    let mut conn = Connection::open_in_memory()?;
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    (crate::app::SCHEMA.runner)().run(&mut conn)?;
    Ok(conn)
}

#[test]
fn users_sessions_and_accounts() -> TestResult {
    let conn = migrated()?;
    let now = Timestamp(1_000);
    assert!(users::none_yet(&conn)?);
    let alice = users::insert(&conn, "a@x.io", "digest", "Alice", true, now)?;
    assert!(!users::none_yet(&conn)?);
    assert!(users::email_taken(&conn, "a@x.io")?);
    assert_eq!(users::id_by_email(&conn, "a@x.io")?, Some(alice));
    users::set_digest(&conn, alice, "other", now)?;
    let (user, digest) = users::with_digest(&conn, "a@x.io")?.ok_or("no alice")?;
    assert_eq!((user.name.as_str(), digest.as_str()), ("Alice", "other"));
    assert_eq!(
        users::find(&conn, alice)?,
        users::by_email(&conn, "a@x.io")?
    );
    let bob = users::insert(&conn, "b@x.io", "digest", "Bob", false, now)?;
    assert_eq!(users::all(&conn)?.len(), 2);

    let session = sessions::insert(&conn, bob, "t".repeat(64), None, None, now)?;
    let (found, user) = sessions::with_user(&conn, &session.token)?.ok_or("no session")?;
    assert_eq!((found, user.id), (session.clone(), bob));
    assert_eq!(sessions::ids_of(&conn, bob)?, vec![session.id]);
    sessions::delete(&conn, &session.token)?;
    sessions::insert(&conn, bob, "u".repeat(64), None, None, now)?;
    sessions::delete_of(&conn, bob)?;
    assert!(sessions::ids_of(&conn, bob)?.is_empty());

    accounts::insert(&conn, "Bob's account", "personal", bob, now)?;
    let team = accounts::insert(&conn, "Team", "team", alice, now)?;
    assert_eq!(accounts::account_type(&conn, team)?, "team");
    assert!(!members::is_member(&conn, team, bob)?);
    let membership = members::insert(&conn, team, bob, Role::Member, alice, now)?;
    assert!(members::is_member(&conn, team, bob)?);
    assert_eq!(accounts::scoped(&conn, false, bob)?.len(), 2);
    assert_eq!(
        accounts::scoped_one(&conn, false, bob, team)?.members_count,
        2
    );
    // Bob has not been told yet: Alice sees his email, not his name.
    let hidden = accounts::scoped_member(&conn, false, alice, membership)?;
    assert_eq!((hidden.name.as_str(), hidden.seen), ("", false));
    assert!(members::any_unseen(&conn, bob)?);
    assert_eq!(members::unseen(&conn, bob)?[0].added_by, "Alice");
    members::mark_seen(&conn, bob, now)?;
    assert!(!members::any_unseen(&conn, bob)?);
    assert_eq!(
        accounts::scoped_members(&conn, false, alice, team)?[1].name,
        "Bob"
    );
    members::set_role(&conn, membership, Role::Admin, now)?;
    assert_eq!(accounts::role(&conn, team, bob)?, Some(Role::Admin));

    assert!(accounts::rename(&conn, team, "Crew", Some(0), now)?);
    assert!(!accounts::rename(&conn, team, "Band", Some(0), now)?);
    assert_eq!(accounts::name(&conn, team)?.as_deref(), Some("Crew"));
    members::delete(&conn, membership, team, now)?;
    assert_eq!(accounts::role(&conn, team, bob)?, None);

    accounts::before_user_delete(&conn, bob)?;
    users::delete(&conn, bob)?;
    accounts::delete(&conn, team)?;
    assert!(accounts::scoped(&conn, true, alice)?.is_empty());
    Ok(())
}

#[test]
fn todos_and_versions() -> TestResult {
    let conn = migrated()?;
    let now = Timestamp(1_000);
    let v1 = todos::next_version(&conn)?;
    let first = todos::insert(&conn, "one".to_owned(), now, v1)?;
    let v2 = todos::next_version(&conn)?;
    todos::insert(&conn, "two".to_owned(), now, v2)?;
    let v3 = todos::next_version(&conn)?;
    assert!(todos::update(&conn, first.id, None, Some(true), now, v3)?);
    assert!(!todos::update(&conn, 999, Some("x"), None, now, v3)?);
    assert!(todos::find(&conn, first.id)?.ok_or("no todo")?.completed);
    assert_eq!(todos::all(&conn)?.len(), 2);

    let board = versions::board(&conn)?;
    assert_eq!(
        (board.version, board.counts.total, board.counts.done),
        (3, 2, 1)
    );
    assert_eq!(versions::newest(&conn, 1)?.len(), 1);
    versions::mark_sent(&conn, board.version)?;
    let v4 = todos::next_version(&conn)?;
    todos::delete(&conn, first.id, v4)?;
    let changed = versions::changed_since(&conn, board.version, 10)?;
    assert_eq!(changed, vec![(first.id, true)]);
    assert_eq!(versions::latest(&conn, changed)?, vec![(first.id, None)]);
    versions::mark_sent(&conn, v4)?;
    assert!(versions::changed_since(&conn, v4, 10)?.is_empty());
    Ok(())
}
