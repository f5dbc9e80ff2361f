//! The `users` table: look-ups, the insert of a new user, password changes and deletion.

use rusqlite::{Connection, OptionalExtension, Row, named_params, params};

use crate::app::error::Result;
use crate::app::users::User;
use crate::store::Timestamp;

/// The columns [`user_at`] reads, in order.
macro_rules! columns {
    () => {
        "id, email_address, name, site_admin, created_at"
    };
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    user_at(r, 0)
}

/// The user whose `columns!()` start at column `at` of `r`.
pub(in crate::app) fn user_at(r: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(at)?,
        email_address: r.get(at + 1)?,
        name: r.get(at + 2)?,
        site_admin: r.get(at + 3)?,
        created_at: r.get(at + 4)?,
    })
}

/// Whether a user already has `?1` (normalized).
const EMAIL_TAKEN: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE email_address = ?1)";

/// Whether a user has the (normalized) `email`.
pub(in crate::app) fn email_taken(conn: &Connection, email: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(EMAIL_TAKEN)?
        .query_row([email], |r| r.get(0))?)
}

const WITH_DIGEST: &str = concat!(
    "SELECT ",
    columns!(),
    ", password_digest FROM users WHERE email_address = ?1"
);

/// The user with `email` and their password digest.
pub(in crate::app) fn with_digest(
    conn: &Connection,
    email: &str,
) -> Result<Option<(User, String)>> {
    Ok(conn
        .prepare_cached(WITH_DIGEST)?
        .query_row([email], |r| Ok((from_row(r)?, r.get::<_, String>(5)?)))
        .optional()?)
}

const BY_ID: &str = concat!("SELECT ", columns!(), " FROM users WHERE id = ?1");

/// The user with database id `id`; `NotFound` when there is none.
pub(in crate::app) fn find(conn: &Connection, id: i64) -> Result<User> {
    Ok(conn.prepare_cached(BY_ID)?.query_row([id], from_row)?)
}

const BY_EMAIL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE email_address = ?1"
);

/// The user with the (normalized) `email`; `NotFound` when there is none.
pub(in crate::app) fn by_email(conn: &Connection, email: &str) -> Result<User> {
    Ok(conn
        .prepare_cached(BY_EMAIL)?
        .query_row([email], from_row)?)
}

const ALL: &str = concat!("SELECT ", columns!(), " FROM users ORDER BY id");

/// Every user, oldest first.
pub(in crate::app) fn all(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare_cached(ALL)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const ID_BY_EMAIL: &str = "SELECT id FROM users WHERE email_address = ?1";

/// The id of the user with the (normalized) `email`, if any.
pub(in crate::app) fn id_by_email(conn: &Connection, email: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(ID_BY_EMAIL, [email], |r| r.get(0))
        .optional()?)
}

const NONE_YET: &str = "SELECT NOT EXISTS (SELECT 1 FROM users)";

/// Whether there are no users at all (the next one becomes site admin).
pub(in crate::app) fn none_yet(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(NONE_YET, [], |r| r.get(0))?)
}

const INSERT: &str =
    "INSERT INTO users (email_address, password_digest, name, site_admin, created_at, updated_at)
         VALUES (:email, :digest, :name, :admin, :now, :now)";

/// Inserts a user; returns their id.
pub(in crate::app) fn insert(
    conn: &Connection,
    email: &str,
    digest: &str,
    name: &str,
    site_admin: bool,
    now: Timestamp,
) -> Result<i64> {
    conn.execute(
        INSERT,
        named_params! {":email": email, ":digest": digest, ":name": name, ":admin": site_admin, ":now": now},
    )?;
    Ok(conn.last_insert_rowid())
}

const SET_DIGEST: &str = "UPDATE users SET password_digest = ?1, updated_at = ?2 WHERE id = ?3";

/// Replaces the password digest of user `id`.
pub(in crate::app) fn set_digest(
    conn: &Connection,
    id: i64,
    digest: &str,
    now: Timestamp,
) -> Result<()> {
    conn.execute(SET_DIGEST, params![digest, now, id])?;
    Ok(())
}

const DELETE: &str = "DELETE FROM users WHERE id = ?1";

/// Deletes user `id`; the schema's cascades take their sessions, memberships and accounts.
pub(in crate::app) fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(DELETE, [id])?;
    Ok(())
}
