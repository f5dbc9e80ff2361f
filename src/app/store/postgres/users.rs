//! The `users` table on PostgreSQL: look-ups, a new user with their personal account,
//! password changes and deletion.

use tokio_postgres::Row;
use trifecta_store::{Pg, Timestamp};

use super::super::super::error::Result;
use super::super::super::users::User;
use super::super::people::NewRow;
use super::super::{email_taken as taken, found, personal_account_name, site_admin};
use super::{OnPg, accounts, begin, commit, exec, one, row, rows, unique_violation};

/// The columns [`user_at`] reads, in order.
macro_rules! columns {
    () => {
        "id, email_address, name, site_admin, created_at"
    };
}

/// The user whose `columns!()` start at column `at` of `r`.
pub(super) fn user_at(r: &Row, at: usize) -> User {
    User {
        id: r.get(at),
        email_address: r.get(at + 1),
        name: r.get(at + 2),
        site_admin: r.get(at + 3),
        created_at: Timestamp(r.get(at + 4)),
    }
}

const EMAIL_TAKEN: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE email_address = $1)";

/// Whether a user has the (normalized) `email`.
pub(in crate::app) async fn email_taken(pg: &Pg, email: &str) -> Result<bool> {
    let conn = pg.get().await?;
    Ok(one(pg, &conn, EMAIL_TAKEN, &[&email]).await?.get(0))
}

const WITH_DIGEST: &str = concat!(
    "SELECT ",
    columns!(),
    ", password_digest FROM users WHERE email_address = $1"
);

/// The user with `email` and their password digest.
pub(in crate::app) async fn with_digest(pg: &Pg, email: &str) -> Result<Option<(User, String)>> {
    let conn = pg.get().await?;
    let found = row(pg, &conn, WITH_DIGEST, &[&email]).await?;
    Ok(found.map(|r| (user_at(&r, 0), r.get(5))))
}

const BY_ID: &str = concat!("SELECT ", columns!(), " FROM users WHERE id = $1");

/// The user with id `id`; `NotFound` when there is none.
pub(in crate::app) async fn find(pg: &Pg, id: i64) -> Result<User> {
    let conn = pg.get().await?;
    Ok(user_at(&found(row(pg, &conn, BY_ID, &[&id]).await?)?, 0))
}

const BY_EMAIL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE email_address = $1"
);

/// The user with the (normalized) `email`; `NotFound` when there is none.
pub(in crate::app) async fn by_email(pg: &Pg, email: &str) -> Result<User> {
    let conn = pg.get().await?;
    Ok(user_at(
        &found(row(pg, &conn, BY_EMAIL, &[&email]).await?)?,
        0,
    ))
}

const ALL: &str = concat!("SELECT ", columns!(), " FROM users ORDER BY id");

/// Every user, oldest first.
pub(in crate::app) async fn all(pg: &Pg) -> Result<Vec<User>> {
    let conn = pg.get().await?;
    Ok(rows(pg, &conn, ALL, &[])
        .await?
        .iter()
        .map(|r| user_at(r, 0))
        .collect())
}

/// The unique index on `users.email_address`.
const EMAIL_INDEX: &str = "index_users_on_email_address";
/// The advisory lock under which a new user checks whether they are the first ("users").
const FIRST_USER_LOCK: i64 = 0x75_73_65_72_73;

const INSERT: &str =
    "INSERT INTO users (email_address, password_digest, name, site_admin, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id";
const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
const OTHERS: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id <> $1)";
const MAKE_ADMIN: &str = "UPDATE users SET site_admin = TRUE WHERE id = $1";

/// Inserts a user and their personal account; returns the user and the account's id.
///
/// The unique index refuses a taken email (also one taken by a transaction still in
/// flight, once it commits), with the same error as SQLite. Whether the user is the first
/// is read after the insert under [`FIRST_USER_LOCK`]: the lock's previous holder has
/// committed, so of two first sign-ups at once exactly one sees no other user.
pub(in crate::app) async fn insert(pg: &Pg, new: NewRow, now: Timestamp) -> Result<(User, i64)> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    let stmt = tx.prepare_cached(INSERT).await.on(pg)?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
        [&new.email, &new.digest, &new.name, &new.force_admin, &now.0];
    let id: i64 = match tx.query_one(&stmt, &params).await {
        Ok(r) => r.get(0),
        Err(e) if unique_violation(&e) == Some(EMAIL_INDEX) => return Err(taken()),
        Err(e) => return Err(pg.error(e).into()),
    };
    exec(pg, &tx, LOCK, &[&FIRST_USER_LOCK]).await?;
    let others: bool = one(pg, &tx, OTHERS, &[&id]).await?.get(0);
    let admin = site_admin(others, new.force_admin);
    if admin != new.force_admin {
        exec(pg, &tx, MAKE_ADMIN, &[&id]).await?;
    }
    let account_name = personal_account_name(&new.name, &new.email);
    let account = accounts::insert(pg, &tx, &account_name, "personal", id, now).await?;
    commit(pg, tx).await?;
    Ok((new.into_user(id, admin, now), account))
}

const SET_DIGEST: &str = "UPDATE users SET password_digest = $1, updated_at = $2 WHERE id = $3";
const END_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1 RETURNING id";

/// Replaces the digest of user `id` and deletes their sessions; returns the sessions' ids
/// (every one deleted, in one statement: none started meanwhile is missed).
pub(in crate::app) async fn set_password(
    pg: &Pg,
    id: i64,
    digest: &str,
    now: Timestamp,
) -> Result<Vec<i64>> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    exec(pg, &tx, SET_DIGEST, &[&digest, &now.0, &id]).await?;
    let mut ended: Vec<i64> = rows(pg, &tx, END_SESSIONS, &[&id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    ended.sort_unstable();
    commit(pg, tx).await?;
    Ok(ended)
}

/// Locks the user's row: a session or membership started for them meanwhile waits (its
/// foreign key check needs the row) and then fails, so the sessions listed are all there are.
const LOCK_USER: &str = "SELECT 1 FROM users WHERE id = $1 FOR UPDATE";
const SESSION_IDS: &str = "SELECT id FROM sessions WHERE user_id = $1 ORDER BY id";
const LEAVE_ALL: &str = "UPDATE accounts SET members_count = members_count - 1
     WHERE id IN (SELECT account_id FROM account_users WHERE user_id = $1) AND owner_id <> $1";
const DELETE: &str = "DELETE FROM users WHERE id = $1";

/// Deletes user `id` (the cascades take their sessions, memberships and accounts) and keeps
/// `members_count` right for the accounts they belonged to; returns their sessions' ids.
pub(in crate::app) async fn delete(pg: &Pg, id: i64) -> Result<Vec<i64>> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    exec(pg, &tx, LOCK_USER, &[&id]).await?;
    let ended = rows(pg, &tx, SESSION_IDS, &[&id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    exec(pg, &tx, LEAVE_ALL, &[&id]).await?;
    exec(pg, &tx, DELETE, &[&id]).await?;
    commit(pg, tx).await?;
    Ok(ended)
}
