//! Sessions, as Rails 8's generator has them: one row per sign-in with the IP address and
//! user agent. The browser holds a random token (in a signed cookie); the row is the truth,
//! so deleting it (logout, password reset, user deletion) ends the session everywhere.

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
        self.store
            .insert_session(user_id, token, ip_address, user_agent, now)
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
        let found = self.store.session_with_user(token).await?;
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
        self.store.delete_session(token.to_owned()).await
    }

    /// Ids of the live sessions of user `user_id` (to reach their sockets).
    ///
    /// # Errors
    /// Only database failures.
    pub async fn session_ids_of(&self, user_id: i64) -> Result<Vec<i64>> {
        self.store.session_ids_of(user_id).await
    }
}
