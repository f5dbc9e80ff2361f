//! The `sessions` table on PostgreSQL: one row per sign-in, found by its token.

use trifecta_store::{Pg, Timestamp};

use super::super::super::error::Result;
use super::super::super::sessions::Session;
use super::super::super::users::User;
use super::users::user_at;
use super::{exec, one, row, rows};

const INSERT: &str =
    "INSERT INTO sessions (user_id, token, ip_address, user_agent, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id";

/// Inserts a session of `user_id` with `token`; returns it.
pub(in crate::app) async fn insert(
    pg: &Pg,
    user_id: i64,
    token: String,
    ip_address: Option<String>,
    user_agent: Option<String>,
    now: Timestamp,
) -> Result<Session> {
    let conn = pg.get().await?;
    let id = one(
        pg,
        &conn,
        INSERT,
        &[&user_id, &token, &ip_address, &user_agent, &now.0],
    )
    .await?
    .get(0);
    Ok(Session {
        id,
        token,
        user_id,
        ip_address,
        user_agent,
        created_at: now,
    })
}

/// The session and its user (the columns `users::user_at` reads) in one lookup: this runs
/// on every signed-in request.
const WITH_USER: &str = concat!(
    "SELECT s.id, s.token, s.user_id, s.ip_address, s.user_agent, s.created_at, ",
    "u.id, u.email_address, u.name, u.site_admin, u.created_at
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token = $1"
);

/// The session with `token` and its user, if any (expired or not).
pub(in crate::app) async fn with_user(pg: &Pg, token: &str) -> Result<Option<(Session, User)>> {
    let conn = pg.get().await?;
    Ok(row(pg, &conn, WITH_USER, &[&token]).await?.map(|r| {
        let session = Session {
            id: r.get(0),
            token: r.get(1),
            user_id: r.get(2),
            ip_address: r.get(3),
            user_agent: r.get(4),
            created_at: trifecta_store::Timestamp(r.get(5)),
        };
        (session, user_at(&r, 6))
    }))
}

const DELETE: &str = "DELETE FROM sessions WHERE token = $1";

/// Deletes the session with `token`, if there is one.
pub(in crate::app) async fn delete(pg: &Pg, token: &str) -> Result<()> {
    let conn = pg.get().await?;
    exec(pg, &conn, DELETE, &[&token]).await?;
    Ok(())
}

const IDS_OF: &str = "SELECT id FROM sessions WHERE user_id = $1 ORDER BY id";

/// Ids of the sessions of user `user_id`.
pub(in crate::app) async fn ids_of(pg: &Pg, user_id: i64) -> Result<Vec<i64>> {
    let conn = pg.get().await?;
    Ok(rows(pg, &conn, IDS_OF, &[&user_id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
