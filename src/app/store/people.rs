//! The transactions of users and sessions: a user inserted with their personal account, a
//! password set with every session ended, a user deleted, sessions started and ended.

use trifecta_store::{Backend, Timestamp};

use super::super::error::Result;
use super::super::sessions::Session;
use super::super::users::User;
use super::{Store, email_taken, personal_account_name, postgres, site_admin, sqlite};

/// A user about to be inserted.
#[derive(Clone, Debug)]
pub(in crate::app) struct NewRow {
    /// Normalized email.
    pub email: String,
    /// bcrypt digest of the password.
    pub digest: String,
    /// Validated display name.
    pub name: String,
    /// Site admin even when not the first user.
    pub force_admin: bool,
}

impl Store {
    /// Whether a user has the (normalized) `email`.
    pub(in crate::app) async fn email_taken(&self, email: String) -> Result<bool> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::users::email_taken(conn, &email))
                    .await
            }
            Backend::Postgres(pg) => postgres::users::email_taken(pg, &email).await,
        }
    }

    /// The user with `email` and their password digest.
    pub(in crate::app) async fn user_with_digest(
        &self,
        email: String,
    ) -> Result<Option<(User, String)>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::users::with_digest(conn, &email))
                    .await
            }
            Backend::Postgres(pg) => postgres::users::with_digest(pg, &email).await,
        }
    }

    /// The user with id `id`; `NotFound` when there is none.
    pub(in crate::app) async fn user(&self, id: i64) -> Result<User> {
        match &self.0 {
            Backend::Sqlite(db) => db.call(move |conn| sqlite::users::find(conn, id)).await,
            Backend::Postgres(pg) => postgres::users::find(pg, id).await,
        }
    }

    /// The user with the (normalized) `email`; `NotFound` when there is none.
    pub(in crate::app) async fn user_by_email(&self, email: String) -> Result<User> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::users::by_email(conn, &email))
                    .await
            }
            Backend::Postgres(pg) => postgres::users::by_email(pg, &email).await,
        }
    }

    /// Every user, oldest first.
    pub(in crate::app) async fn users(&self) -> Result<Vec<User>> {
        match &self.0 {
            Backend::Sqlite(db) => db.call(|conn| sqlite::users::all(conn)).await,
            Backend::Postgres(pg) => postgres::users::all(pg).await,
        }
    }

    /// Inserts a user (site admin when first or forced) and their personal account; returns
    /// the user and the account's id. The email must be free.
    pub(in crate::app) async fn insert_user(
        &self,
        new: NewRow,
        now: Timestamp,
    ) -> Result<(User, i64)> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| -> Result<(User, i64)> {
                    if sqlite::users::id_by_email(tx, &new.email)?.is_some() {
                        return Err(email_taken());
                    }
                    let admin = site_admin(!sqlite::users::none_yet(tx)?, new.force_admin);
                    let id =
                        sqlite::users::insert(tx, &new.email, &new.digest, &new.name, admin, now)?;
                    let account_name = personal_account_name(&new.name, &new.email);
                    let account = sqlite::accounts::insert(tx, &account_name, "personal", id, now)?;
                    Ok((new.into_user(id, admin, now), account))
                })
                .await
            }
            Backend::Postgres(pg) => postgres::users::insert(pg, new, now).await,
        }
    }

    /// Replaces the password digest of user `id` and ends every session of theirs; returns
    /// the ids of the sessions that ended.
    pub(in crate::app) async fn set_password(
        &self,
        id: i64,
        digest: String,
        now: Timestamp,
    ) -> Result<Vec<i64>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| -> Result<Vec<i64>> {
                    sqlite::users::set_digest(tx, id, &digest, now)?;
                    let ended = sqlite::sessions::ids_of(tx, id)?;
                    sqlite::sessions::delete_of(tx, id)?;
                    Ok(ended)
                })
                .await
            }
            Backend::Postgres(pg) => postgres::users::set_password(pg, id, &digest, now).await,
        }
    }

    /// Deletes user `id` with their sessions, memberships and owned accounts; returns the
    /// ids of the sessions that ended.
    pub(in crate::app) async fn delete_user(&self, id: i64) -> Result<Vec<i64>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| -> Result<Vec<i64>> {
                    // Read in the same transaction: a session started meanwhile is listed too.
                    let ended = sqlite::sessions::ids_of(tx, id)?;
                    sqlite::accounts::before_user_delete(tx, id)?;
                    sqlite::users::delete(tx, id)?;
                    Ok(ended)
                })
                .await
            }
            Backend::Postgres(pg) => postgres::users::delete(pg, id).await,
        }
    }

    /// Inserts a session of `user_id` with `token`; returns it.
    pub(in crate::app) async fn insert_session(
        &self,
        user_id: i64,
        token: String,
        ip_address: Option<String>,
        user_agent: Option<String>,
        now: Timestamp,
    ) -> Result<Session> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| {
                    sqlite::sessions::insert(tx, user_id, token, ip_address, user_agent, now)
                })
                .await
            }
            Backend::Postgres(pg) => {
                postgres::sessions::insert(pg, user_id, token, ip_address, user_agent, now).await
            }
        }
    }

    /// The session with `token` and its user, if any (expired or not).
    pub(in crate::app) async fn session_with_user(
        &self,
        token: String,
    ) -> Result<Option<(Session, User)>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::sessions::with_user(conn, &token))
                    .await
            }
            Backend::Postgres(pg) => postgres::sessions::with_user(pg, &token).await,
        }
    }

    /// Deletes the session with `token`, if there is one.
    pub(in crate::app) async fn delete_session(&self, token: String) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::sessions::delete(tx, &token))
                    .await
            }
            Backend::Postgres(pg) => postgres::sessions::delete(pg, &token).await,
        }
    }

    /// Ids of the sessions of user `user_id`.
    pub(in crate::app) async fn session_ids_of(&self, user_id: i64) -> Result<Vec<i64>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::sessions::ids_of(conn, user_id))
                    .await
            }
            Backend::Postgres(pg) => postgres::sessions::ids_of(pg, user_id).await,
        }
    }
}

impl NewRow {
    /// The user this row became: id `id`, site admin when `admin`.
    pub(in crate::app) fn into_user(self, id: i64, site_admin: bool, now: Timestamp) -> User {
        User {
            id,
            email_address: self.email,
            name: self.name,
            site_admin,
            created_at: now,
        }
    }
}
