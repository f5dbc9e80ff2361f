//! Users, as Rails 8's authentication generator has them: a unique, lower-cased email
//! address, a bcrypt password digest, a name and a site-admin flag. Every new user gets a
//! personal account they own; the first user ever created becomes site admin.

use rusqlite::{OptionalExtension, Row, Transaction, named_params};
use serde::Serialize;

use super::broadcast::{self, Change};
use super::error::{Error, Result};
use super::{App, accounts, password};
use crate::store::Timestamp;

/// A user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// Database id (never sent to clients; use `App::ids`).
    #[serde(skip)]
    pub id: i64,
    /// Normalized (trimmed, lower-case) email address.
    pub email_address: String,
    /// Display name.
    pub name: String,
    /// Sees and manages everything.
    pub site_admin: bool,
    /// When the user was created.
    #[serde(skip)]
    pub created_at: Timestamp,
}

/// A user whose sessions were all ended (password reset, deletion), with the ids those
/// sessions had, so their sockets can be disconnected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedUser {
    /// The user as they were.
    pub user: User,
    /// Ids of the sessions that ended.
    pub session_ids: Vec<i64>,
}

/// What it takes to create a user.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    /// Email address (normalized before saving).
    pub email_address: String,
    /// Plain password (hashed before saving).
    pub password: String,
    /// Display name; defaults to the part of the email before `@`.
    pub name: Option<String>,
    /// Force site admin (the CLI's `--admin`); the first user is admin regardless.
    pub site_admin: bool,
}

const COLUMNS: &str = "id, email_address, name, site_admin, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    user_at(r, 0)
}

/// The user whose `COLUMNS` start at column `at` of `r`.
pub(super) fn user_at(r: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(at)?,
        email_address: r.get(at + 1)?,
        name: r.get(at + 2)?,
        site_admin: r.get(at + 3)?,
        created_at: r.get(at + 4)?,
    })
}

/// Trims and lower-cases an email address, as Rails' `normalizes :email_address`.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn validate_email(email: &str) -> Result<()> {
    super::text::reject_control("email_address", email)?;
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        });
    if valid {
        Ok(())
    } else {
        Err(Error::invalid("email_address", "is invalid"))
    }
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    super::text::reject_control("name", name)?;
    if name.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "is too long (maximum is 100 characters)",
        ));
    }
    Ok(name.to_owned())
}

/// Whether a user already has `?1` (normalized).
const EMAIL_TAKEN: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE email_address = ?1)";

impl App {
    /// Everything wrong with `new`, every field at once (a sign-up form shows them together):
    /// `(field, message)` pairs, empty when [`App::create_user`] would accept it (barring a
    /// concurrent sign-up with the same email).
    ///
    /// # Errors
    /// Only database failures.
    pub async fn registration_errors(&self, new: &NewUser) -> Result<Vec<(&'static str, String)>> {
        let email = normalize_email(&new.email_address);
        let name = new
            .name
            .clone()
            .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
        let mut errors = Vec::new();
        let checks = [
            validate_name(&name).err(),
            validate_email(&email).err(),
            password::validate(&new.password).err(),
        ];
        for err in checks.into_iter().flatten() {
            if let Error::Invalid { field, message } = err {
                errors.push((field, message));
            }
        }
        if !errors.iter().any(|(f, _)| *f == "email_address") {
            let taken: bool = self
                .db
                .call(move |conn| -> Result<bool> {
                    Ok(conn
                        .prepare_cached(EMAIL_TAKEN)?
                        .query_row([&email], |r| r.get(0))?)
                })
                .await?;
            if taken {
                errors.push(("email_address", "has already been taken".to_owned()));
            }
        }
        Ok(errors)
    }

    /// Creates a user and their personal account in one transaction.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad or taken email, a short password or a long name.
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        let email = normalize_email(&new.email_address);
        validate_email(&email)?;
        password::validate(&new.password)?;
        let name = validate_name(
            new.name
                .as_deref()
                .unwrap_or_else(|| email.split('@').next().unwrap_or_default()),
        )?;
        let digest = self
            .hasher
            .digest(new.password, self.settings.bcrypt_cost)
            .await?;
        let now = self.clock.now();
        let force_admin = new.site_admin;
        let (user, account) = self
            .db
            .write(move |tx| insert_user(tx, &email, &digest, &name, force_admin, now))
            .await?;
        self.published(&broadcast::ACCOUNT, Change::Created, account, None)
            .await;
        Ok(user)
    }

    /// The user with `email` and `password`, or `None` when either is wrong. Takes the same
    /// time whether or not the email exists, so it does not reveal which accounts exist.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn authenticate(&self, email: &str, password: &str) -> Result<Option<User>> {
        let email = normalize_email(email);
        let found = self
            .db
            .call(move |conn| -> Result<Option<(User, String)>> {
                Ok(conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS}, password_digest FROM users WHERE email_address = ?1"
                    ))?
                    .query_row([&email], |r| Ok((from_row(r)?, r.get::<_, String>(5)?)))
                    .optional()?)
            })
            .await?;
        match found {
            Some((user, digest)) => Ok(self
                .hasher
                .verify(password.to_owned(), digest)
                .await?
                .then_some(user)),
            None => {
                self.hasher
                    .verify_nothing(password.to_owned(), self.settings.bcrypt_cost)
                    .await;
                Ok(None)
            }
        }
    }

    /// The user with database id `id`.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn user(&self, id: i64) -> Result<User> {
        self.db
            .call(move |conn| -> Result<User> {
                Ok(conn
                    .prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?
                    .query_row([id], from_row)?)
            })
            .await
    }

    /// The user with `email` (normalized).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        let email = normalize_email(email);
        self.db
            .call(move |conn| -> Result<User> {
                Ok(conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM users WHERE email_address = ?1"
                    ))?
                    .query_row([&email], from_row)?)
            })
            .await
    }

    /// Every user, oldest first.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn users(&self) -> Result<Vec<User>> {
        self.db
            .call(|conn| -> Result<Vec<User>> {
                let mut stmt =
                    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users ORDER BY id"))?;
                let rows = stmt.query_map([], from_row)?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    /// Sets a new password and ends every session of the user.
    ///
    /// # Errors
    /// [`Error::NotFound`] or a password that fails validation.
    pub async fn reset_password(&self, email: &str, new_password: String) -> Result<EndedUser> {
        password::validate(&new_password)?;
        let user = self.user_by_email(email).await?;
        let digest = self
            .hasher
            .digest(new_password, self.settings.bcrypt_cost)
            .await?;
        let now = self.clock.now();
        let id = user.id;
        let session_ids = self
            .db
            .write(move |tx| -> Result<Vec<i64>> {
                tx.execute(
                    "UPDATE users SET password_digest = ?1, updated_at = ?2 WHERE id = ?3",
                    rusqlite::params![digest, now, id],
                )?;
                let ended = session_ids_in(tx, id)?;
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
                Ok(ended)
            })
            .await?;
        Ok(EndedUser { user, session_ids })
    }

    /// Deletes a user; their sessions, memberships and owned accounts go with them.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_user(&self, email: &str) -> Result<EndedUser> {
        let user = self.user_by_email(email).await?;
        let id = user.id;
        let session_ids = self
            .db
            .write(move |tx| -> Result<Vec<i64>> {
                // Read in the same transaction: a session started meanwhile is listed too.
                let ended = session_ids_in(tx, id)?;
                accounts::before_user_delete(tx, id)?;
                tx.execute("DELETE FROM users WHERE id = ?1", [id])?;
                Ok(ended)
            })
            .await?;
        Ok(EndedUser { user, session_ids })
    }
}

/// Ids of the sessions of user `user_id`, inside a write transaction about to end them.
fn session_ids_in(tx: &Transaction<'_>, user_id: i64) -> Result<Vec<i64>> {
    let mut stmt = tx.prepare_cached("SELECT id FROM sessions WHERE user_id = ?1")?;
    let rows = stmt.query_map([user_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn insert_user(
    tx: &Transaction<'_>,
    email: &str,
    digest: &str,
    name: &str,
    force_admin: bool,
    now: Timestamp,
) -> Result<(User, i64)> {
    let taken: Option<i64> = tx
        .query_row(
            "SELECT id FROM users WHERE email_address = ?1",
            [email],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some() {
        return Err(Error::invalid("email_address", "has already been taken"));
    }
    let first: bool = tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
    let site_admin = first || force_admin;
    tx.execute(
        "INSERT INTO users (email_address, password_digest, name, site_admin, created_at, updated_at)
         VALUES (:email, :digest, :name, :admin, :now, :now)",
        named_params! {":email": email, ":digest": digest, ":name": name, ":admin": site_admin, ":now": now},
    )?;
    let id = tx.last_insert_rowid();
    let display = if name.is_empty() { email } else { name };
    let account =
        accounts::insert_account(tx, &format!("{display}'s account"), "personal", id, now)?;
    let user = User {
        id,
        email_address: email.to_owned(),
        name: name.to_owned(),
        site_admin,
        created_at: now,
    };
    Ok((user, account))
}
