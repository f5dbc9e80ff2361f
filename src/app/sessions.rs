//! Sessions, as Rails 8's generator has them: one row per sign-in with the IP address and
//! user agent. The browser holds a random token (in a signed cookie); the row is the truth,
//! so deleting it (logout, password reset, user deletion) ends the session everywhere.

use rusqlite::{OptionalExtension, named_params};

use super::App;
use super::error::Result;
use super::users::User;
use crate::store::Timestamp;

/// A signed-in session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Database id.
    pub id: i64,
    /// The secret the browser presents.
    pub token: String,
    /// The signed-in user's id.
    pub user_id: i64,
    /// Client IP at sign-in.
    pub ip_address: Option<String>,
    /// Client user agent at sign-in.
    pub user_agent: Option<String>,
    /// When the session started.
    pub created_at: Timestamp,
}

/// 32 random bytes, URL-safe hex.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| super::Error::internal("no randomness for a session token", e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl App {
    /// Starts a session for `user`.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn start_session(
        &self,
        user: &User,
        ip_address: Option<String>,
        user_agent: Option<String>,
    ) -> Result<Session> {
        let token = new_token()?;
        let now = self.clock.now();
        let user_id = user.id;
        let user_agent = user_agent.map(|ua| ua.chars().take(500).collect::<String>());
        self.db
            .write(move |tx| -> Result<Session> {
                tx.execute(
                    "INSERT INTO sessions (user_id, token, ip_address, user_agent, created_at, updated_at)
                     VALUES (:user, :token, :ip, :ua, :now, :now)",
                    named_params! {":user": user_id, ":token": token, ":ip": ip_address, ":ua": user_agent, ":now": now},
                )?;
                Ok(Session {
                    id: tx.last_insert_rowid(),
                    token,
                    user_id,
                    ip_address,
                    user_agent,
                    created_at: now,
                })
            })
            .await
    }

    /// The live session with `token` and its user; `None` for unknown, ended or expired
    /// sessions (an expired one is deleted).
    ///
    /// # Errors
    /// Only database failures.
    pub async fn resume_session(&self, token: &str) -> Result<Option<(Session, User)>> {
        if token.len() != 64 {
            return Ok(None);
        }
        let token = token.to_owned();
        let oldest = self.clock.now() - self.settings.session_max_age;
        // One lookup for the session and its user: this runs on every signed-in request.
        let found = self
            .db
            .call(move |conn| -> Result<Option<(Session, User)>> {
                Ok(conn
                    .prepare_cached(
                        "SELECT s.id, s.token, s.user_id, s.ip_address, s.user_agent, s.created_at,
                                u.id, u.email_address, u.name, u.site_admin, u.created_at
                         FROM sessions s JOIN users u ON u.id = s.user_id
                         WHERE s.token = ?1",
                    )?
                    .query_row([&token], |r| {
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
            })
            .await?;
        let Some((session, user)) = found else {
            return Ok(None);
        };
        if session.created_at < oldest {
            self.end_session(&session.token).await?;
            return Ok(None);
        }
        Ok(Some((session, user)))
    }

    /// Ends the session with `token` (logout). Unknown tokens are fine.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn end_session(&self, token: &str) -> Result<()> {
        let token = token.to_owned();
        self.db
            .write(move |tx| -> Result<()> {
                tx.execute("DELETE FROM sessions WHERE token = ?1", [&token])?;
                Ok(())
            })
            .await
    }

    /// Ids of the live sessions of user `user_id` (to reach their sockets).
    ///
    /// # Errors
    /// Only database failures.
    pub async fn session_ids_of(&self, user_id: i64) -> Result<Vec<i64>> {
        self.db
            .call(move |conn| -> Result<Vec<i64>> {
                let mut stmt = conn.prepare_cached("SELECT id FROM sessions WHERE user_id = ?1")?;
                let rows = stmt.query_map([user_id], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }
}
