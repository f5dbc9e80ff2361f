//! The store seam on both backends: one script of the domain's transactions runs on a
//! migrated SQLite file and on a fresh PostgreSQL database
//! (`trifecta_store::pg::testing`), checks what each step returns, and the two transcripts
//! must be identical, errors included.

use std::error::Error as StdError;

use crate::app::accounts::Role;
use crate::app::error::Error;
use crate::store::pg::testing;
use crate::store::{Db, PoolOptions, Timestamp};

use super::{Addition, NewRow, Rename, Store};

type TestResult<T = ()> = Result<T, Box<dyn StdError>>;

/// A store on a migrated SQLite file in a temporary directory (kept alive by the guard).
pub(in crate::app) fn on_sqlite() -> TestResult<(Store, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let db = Db::open(
        "app",
        &dir.path().join("app.sqlite3"),
        &PoolOptions::default(),
    )?;
    db.migrate_blocking(crate::app::SCHEMA)?;
    Ok((Store::new(db.into()), dir))
}

/// A store on a fresh, migrated PostgreSQL database.
pub(in crate::app) async fn on_postgres() -> TestResult<Store> {
    let url = testing::database().await?;
    let pg = testing::open("app", &url, 4, crate::app::postgres_migrations).await?;
    Ok(Store::new(pg.into()))
}

fn row(email: &str, name: &str) -> NewRow {
    NewRow {
        email: email.to_owned(),
        digest: "digest".to_owned(),
        name: name.to_owned(),
        force_admin: false,
    }
}

/// What an error says, for the transcript (a database error would differ by backend).
fn said<T: std::fmt::Debug>(r: &Result<T, Error>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(Error::Store(_)) => "a database error".to_owned(),
        Err(e) => format!("refused: {e}"),
    }
}

/// Users, sessions, accounts and memberships; returns the transcript.
async fn people(s: &Store) -> TestResult<Vec<String>> {
    let now = Timestamp(1_000);
    let mut out = Vec::new();
    let (alice, personal) = s.insert_user(row("a@x.io", "Alice"), now).await?;
    assert!(alice.site_admin, "the first user is site admin");
    let (bob, _) = s.insert_user(row("b@x.io", "Bob"), now).await?;
    // No name: the personal account is named after the email.
    s.insert_user(row("c@x.io", ""), now).await?;
    assert!(!bob.site_admin);
    let taken = s.insert_user(row("a@x.io", "Again"), now).await;
    assert!(
        matches!(&taken, Err(Error::Invalid { field: "email_address", message }) if message == "has already been taken"),
        "{taken:?}"
    );
    out.push(said(&taken));
    out.push(format!("{alice:?} {bob:?} {personal}"));
    assert!(s.email_taken("a@x.io".into()).await?);
    assert!(!s.email_taken("d@x.io".into()).await?);
    let (user, digest) = s
        .user_with_digest("a@x.io".into())
        .await?
        .ok_or("no alice")?;
    assert_eq!((&user, digest.as_str()), (&alice, "digest"));
    assert_eq!(
        s.user(bob.id).await?,
        s.user_by_email("b@x.io".into()).await?
    );
    out.push(said(&s.user(999).await));
    out.push(format!("{:?}", s.users().await?));

    let session = s
        .insert_session(bob.id, "t".repeat(64), Some("::1".into()), None, now)
        .await?;
    let (found, user) = s
        .session_with_user(session.token.clone())
        .await?
        .ok_or("no session")?;
    assert_eq!((&found, user.id), (&session, bob.id));
    let other = s
        .insert_session(bob.id, "u".repeat(64), None, None, now)
        .await?;
    assert_eq!(s.session_ids_of(bob.id).await?, vec![session.id, other.id]);
    s.delete_session(session.token.clone()).await?;
    assert!(s.session_with_user(session.token).await?.is_none());
    let ended = s.set_password(bob.id, "other".into(), now).await?;
    assert_eq!(ended, vec![other.id]);
    assert!(s.session_ids_of(bob.id).await?.is_empty());

    let team = s.create_account("Team".into(), alice.id, now).await?;
    let added = s
        .add_member(team, "b@x.io".into(), Role::Member, alice.id, now)
        .await?;
    let Addition::Added {
        id: membership,
        member,
    } = added
    else {
        return Err(format!("not added: {added:?}").into());
    };
    assert_eq!(member, bob.id);
    for (account, email) in [
        (team, "b@x.io"),
        (team, "nobody@x.io"),
        (personal, "b@x.io"),
    ] {
        let outcome = s
            .add_member(account, email.into(), Role::Member, alice.id, now)
            .await;
        out.push(said(&outcome));
    }
    out.push(said(
        &s.add_member(999, "b@x.io".into(), Role::Member, alice.id, now)
            .await,
    ));
    out.push(format!("{:?}", s.accounts(false, bob.id).await?));
    // Bob has not been told yet: Alice sees his email, not his name.
    let hidden = s.member(false, alice.id, membership).await?;
    assert_eq!((hidden.name.as_str(), hidden.seen), ("", false));
    out.push(said(&s.member(false, 999, membership).await));
    assert!(s.any_unseen(bob.id).await?);
    let told = s.acknowledge(bob.id, now).await?;
    assert_eq!(told.len(), 1);
    out.push(format!("{told:?}"));
    assert!(!s.any_unseen(bob.id).await?);
    assert!(s.acknowledge(bob.id, now).await?.is_empty());
    out.push(format!("{:?}", s.members(false, alice.id, team).await?));
    s.set_role(membership, Role::Admin, now).await?;
    assert_eq!(s.role(team, bob.id).await?, Some(Role::Admin));
    assert_eq!(s.role(personal, bob.id).await?, None);

    assert_eq!(
        s.rename_account(team, "Crew".into(), Some(0), now).await?,
        Rename::Done
    );
    assert_eq!(
        s.rename_account(team, "Band".into(), Some(0), now).await?,
        Rename::Lost("Crew".into())
    );
    assert_eq!(
        s.rename_account(999, "Band".into(), None, now).await?,
        Rename::Gone
    );
    out.push(format!("{:?}", s.account(false, bob.id, team).await?));
    s.remove_member(membership, team, now).await?;
    assert_eq!(s.role(team, bob.id).await?, None);
    out.push(said(&s.account(false, bob.id, team).await));

    let session = s
        .insert_session(bob.id, "v".repeat(64), None, None, now)
        .await?;
    assert_eq!(s.delete_user(bob.id).await?, vec![session.id]);
    s.delete_account(team).await?;
    out.push(format!("{:?}", s.accounts(true, alice.id).await?));
    Ok(out)
}

/// Todos and the board's versions; returns the transcript.
async fn board(s: &Store) -> TestResult<Vec<String>> {
    let now = Timestamp(1_000);
    let mut out = Vec::new();
    let first = s.create_todo("one".into(), now).await?;
    s.create_todo("two".into(), Timestamp(2_000)).await?;
    let done = s.update_todo(first.id, None, Some(true), now).await?;
    assert!(done.completed && done.version == 3);
    out.push(said(&s.update_todo(999, Some("x".into()), None, now).await));
    out.push(said(&s.delete_todo(999).await));
    let board = s.board().await?;
    assert_eq!(
        (board.version, board.counts.total, board.counts.done),
        (3, 2, 1),
        "a refused change takes no version"
    );
    out.push(format!("{:?}", s.todos().await?));
    out.push(format!("{:?}", s.page(1).await?));
    out.push(format!("{:?}", s.pending(10).await?));
    let pending = s.pending(1).await?.ok_or("nothing pending")?;
    assert!(pending.changes.is_none(), "more than the limit");
    s.mark_sent(board.version).await?;
    assert!(s.pending(10).await?.is_none());
    let gone = s.delete_todo(first.id).await?;
    assert_eq!(gone.title, "one");
    let pending = s.pending(10).await?.ok_or("nothing pending")?;
    assert_eq!(pending.changes, Some(vec![(first.id, None)]));
    out.push(format!("{pending:?}"));
    s.mark_sent(pending.board.version).await?;
    assert!(s.pending(10).await?.is_none());
    // A stale mark never moves the broadcast version back.
    s.mark_sent(1).await?;
    assert_eq!(s.board().await?.broadcast_version, 4);
    out.push(format!("{:?}", s.board().await?));
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_on_both_backends_give_the_same_results() -> TestResult {
    let (sqlite, _dir) = on_sqlite()?;
    let postgres = on_postgres().await?;
    let on_sqlite = people(&sqlite).await?;
    assert_eq!(on_sqlite, people(&postgres).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_on_both_backends_gives_the_same_results() -> TestResult {
    let (sqlite, _dir) = on_sqlite()?;
    let postgres = on_postgres().await?;
    let on_sqlite = board(&sqlite).await?;
    assert_eq!(on_sqlite, board(&postgres).await?);
    Ok(())
}
