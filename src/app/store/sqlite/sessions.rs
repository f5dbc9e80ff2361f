//! The `sessions` table: one row per sign-in, found by its token.

use rusqlite::{Connection, OptionalExtension, named_params};

use crate::app::error::Result;
use crate::app::sessions::Session;
use crate::app::users::User;
use crate::store::Timestamp;

const INSERT: &str =
    "INSERT INTO sessions (user_id, token, ip_address, user_agent, created_at, updated_at)
                     VALUES (:user, :token, :ip, :ua, :now, :now)";

/// Inserts a session of `user_id` with `token`; returns it.
pub(in crate::app) fn insert(
    conn: &Connection,
    user_id: i64,
    token: String,
    ip_address: Option<String>,
    user_agent: Option<String>,
    now: Timestamp,
) -> Result<Session> {
    conn.execute(
        INSERT,
        named_params! {":user": user_id, ":token": token, ":ip": ip_address, ":ua": user_agent, ":now": now},
    )?;
    Ok(Session {
        id: conn.last_insert_rowid(),
        token,
        user_id,
        ip_address,
        user_agent,
        created_at: now,
    })
}

/// The session and its user in one lookup: this runs on every signed-in request.
const WITH_USER: &str = "SELECT s.id, s.token, s.user_id, s.ip_address, s.user_agent, s.created_at,
                                u.id, u.email_address, u.name, u.site_admin, u.created_at
                         FROM sessions s JOIN users u ON u.id = s.user_id
                         WHERE s.token = ?1";

/// The session with `token` and its user, if any (expired or not).
pub(in crate::app) fn with_user(conn: &Connection, token: &str) -> Result<Option<(Session, User)>> {
    Ok(conn
        .prepare_cached(WITH_USER)?
        .query_row([token], |r| {
            let session = Session {
                id: r.get(0)?,
                token: r.get(1)?,
                user_id: r.get(2)?,
                ip_address: r.get(3)?,
                user_agent: r.get(4)?,
                created_at: r.get(5)?,
            };
            Ok((session, super::users::user_at(r, 6)?))
        })
        .optional()?)
}

const DELETE: &str = "DELETE FROM sessions WHERE token = ?1";

/// Deletes the session with `token`, if there is one.
pub(in crate::app) fn delete(conn: &Connection, token: &str) -> Result<()> {
    conn.execute(DELETE, [token])?;
    Ok(())
}

const IDS_OF: &str = "SELECT id FROM sessions WHERE user_id = ?1";

/// Ids of the sessions of user `user_id`.
pub(in crate::app) fn ids_of(conn: &Connection, user_id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(IDS_OF)?;
    let rows = stmt.query_map([user_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const DELETE_OF: &str = "DELETE FROM sessions WHERE user_id = ?1";

/// Deletes every session of user `user_id`.
pub(in crate::app) fn delete_of(conn: &Connection, user_id: i64) -> Result<()> {
    conn.execute(DELETE_OF, [user_id])?;
    Ok(())
}
