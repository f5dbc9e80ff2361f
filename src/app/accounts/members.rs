//! Membership changes: add a user by email, change a role, remove a member. Each announces
//! itself to its account (`broadcasts_to parent: account`) once committed.

use rusqlite::OptionalExtension;

use super::super::App;
use super::super::broadcast::{ACCOUNT, ACCOUNT_USER, Change};
use super::super::error::{Error, Result};
use super::super::users::{User, normalize_email};
use super::{AccountUser, Role};

impl App {
    /// Adds the user with `email` to an account with `role`.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`], or [`Error::Invalid`] on `email_address`
    /// for unknown users and existing members.
    pub async fn add_member(
        &self,
        user: &User,
        account_id: i64,
        email: &str,
        role: Role,
    ) -> Result<AccountUser> {
        self.require_manage(user, account_id).await?;
        if role == Role::Owner {
            return Err(Error::invalid(
                "role",
                "can't be owner; an account has one owner",
            ));
        }
        let email = normalize_email(email);
        let now = self.clock.now();
        let id = self
            .db
            .write(move |tx| -> Result<i64> {
                let member: Option<i64> = tx
                    .query_row("SELECT id FROM users WHERE email_address = ?1", [&email], |r| r.get(0))
                    .optional()?;
                let Some(member) = member else {
                    return Err(Error::invalid("email_address", "does not belong to any user"));
                };
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM account_users WHERE account_id = ?1 AND user_id = ?2)",
                    [account_id, member],
                    |r| r.get(0),
                )?;
                if exists {
                    return Err(Error::invalid("email_address", "is already a member"));
                }
                tx.execute(
                    "INSERT INTO account_users (account_id, user_id, role, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    rusqlite::params![account_id, member, role.as_str(), now],
                )?;
                let id = tx.last_insert_rowid();
                tx.execute(
                    "UPDATE accounts SET members_count = members_count + 1, updated_at = ?1 WHERE id = ?2",
                    rusqlite::params![now, account_id],
                )?;
                Ok(id)
            })
            .await?;
        self.member_changed(Change::Created, id, account_id).await;
        self.account_user_for(user, id).await
    }

    /// Changes a member's role (the owner's role cannot change).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`] or [`Error::Invalid`].
    pub async fn change_role(
        &self,
        user: &User,
        account_user_id: i64,
        role: Role,
    ) -> Result<AccountUser> {
        let membership = self.account_user_for(user, account_user_id).await?;
        self.require_manage(user, membership.account_id).await?;
        if membership.role == Role::Owner || role == Role::Owner {
            return Err(Error::invalid("role", "the owner's role cannot change"));
        }
        let now = self.clock.now();
        self.db
            .write(move |tx| -> Result<()> {
                tx.execute(
                    "UPDATE account_users SET role = ?1, updated_at = ?2 WHERE id = ?3",
                    rusqlite::params![role.as_str(), now, account_user_id],
                )?;
                Ok(())
            })
            .await?;
        self.published(
            &ACCOUNT_USER,
            Change::Updated,
            account_user_id,
            Some(("Account", membership.account_id)),
        )
        .await;
        self.account_user_for(user, account_user_id).await
    }

    /// Removes a member (not the owner).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`] or [`Error::Invalid`].
    pub async fn remove_member(&self, user: &User, account_user_id: i64) -> Result<AccountUser> {
        let membership = self.account_user_for(user, account_user_id).await?;
        self.require_manage(user, membership.account_id).await?;
        if membership.role == Role::Owner {
            return Err(Error::invalid("role", "the owner cannot be removed"));
        }
        let now = self.clock.now();
        let account_id = membership.account_id;
        self.db
            .write(move |tx| -> Result<()> {
                tx.execute("DELETE FROM account_users WHERE id = ?1", [account_user_id])?;
                tx.execute(
                    "UPDATE accounts SET members_count = members_count - 1, updated_at = ?1 WHERE id = ?2",
                    rusqlite::params![now, account_id],
                )?;
                Ok(())
            })
            .await?;
        self.member_changed(Change::Destroyed, account_user_id, account_id)
            .await;
        Ok(membership)
    }

    /// A membership was added or removed: it announces itself to its account, and the
    /// account, whose `members_count` changed with it, announces its own update.
    async fn member_changed(&self, change: Change, account_user_id: i64, account_id: i64) {
        self.published(
            &ACCOUNT_USER,
            change,
            account_user_id,
            Some(("Account", account_id)),
        )
        .await;
        self.published(&ACCOUNT, Change::Updated, account_id, None)
            .await;
    }
}
