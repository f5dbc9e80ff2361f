//! Users, as Rails 8's authentication generator has them: a unique, lower-cased email
//! address, a bcrypt password digest, a name and a site-admin flag. Every new user gets a
//! personal account they own; the first user ever created becomes site admin.

use serde::Serialize;

use super::broadcast::{self, Change};
use super::error::{Error, Result};
use super::store::NewRow;
use super::{App, password};
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
        if !errors.iter().any(|(f, _)| *f == "email_address")
            && self.store.email_taken(email).await?
        {
            errors.push(("email_address", "has already been taken".to_owned()));
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
        let row = NewRow {
            email,
            digest,
            name,
            force_admin: new.site_admin,
        };
        let (user, account) = self.store.insert_user(row, now).await?;
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
        let found = self.store.user_with_digest(email).await?;
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
        self.store.user(id).await
    }

    /// The user with `email` (normalized).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        self.store.user_by_email(normalize_email(email)).await
    }

    /// Every user, oldest first.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn users(&self) -> Result<Vec<User>> {
        self.store.users().await
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
        let session_ids = self
            .store
            .set_password(user.id, digest, self.clock.now())
            .await?;
        Ok(EndedUser { user, session_ids })
    }

    /// Deletes a user; their sessions, memberships and owned accounts go with them.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete_user(&self, email: &str) -> Result<EndedUser> {
        let user = self.user_by_email(email).await?;
        let session_ids = self.store.delete_user(user.id).await?;
        Ok(EndedUser { user, session_ids })
    }
}
