//! Creating, renaming and deleting accounts. A rename is optimistic-locked: it names the
//! `lock_version` its author saw, and a rename since then refuses it (nothing is
//! overwritten) with a message that shows the current name.

use super::super::App;
use super::super::broadcast::{ACCOUNT, Change};
use super::super::error::{Error, Result};
use super::super::store::Rename;
use super::super::users::User;
use super::Account;

fn validate_account_name(name: &str) -> Result<String> {
    let name = name.trim();
    super::super::text::reject_control("name", name)?;
    if name.is_empty() {
        return Err(Error::invalid("name", "can't be blank"));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "is too long (maximum is 100 characters)",
        ));
    }
    Ok(name.to_owned())
}

/// The refusal of a stale rename, on the form's `lock_version` field.
fn stale(current: &str) -> Error {
    Error::invalid(
        "lock_version",
        format!(
            "Someone renamed this account to “{current}” while you were editing. \
             Save again to replace it."
        ),
    )
}

impl App {
    /// Creates a team account owned by `user`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a blank or long name.
    pub async fn create_account(&self, user: &User, name: &str) -> Result<Account> {
        let name = validate_account_name(name)?;
        let id = self
            .store
            .create_account(name, user.id, self.clock.now())
            .await?;
        self.published(&ACCOUNT, Change::Created, id, None).await;
        self.account_for(user, id).await
    }

    /// Renames an account. With `expected`, only if the account is still at that
    /// `lock_version` (what the user saw when they started editing); a rename to the name it
    /// already has succeeds whatever the version.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`], or [`Error::Invalid`]: on `name` for a bad
    /// name, on `lock_version` when someone renamed it since `expected` (the message names
    /// the current name).
    pub async fn rename_account(
        &self,
        user: &User,
        account_id: i64,
        name: &str,
        expected: Option<i64>,
    ) -> Result<Account> {
        self.require_manage(user, account_id).await?;
        let name = validate_account_name(name)?;
        let outcome = self
            .store
            .rename_account(account_id, name.clone(), expected, self.clock.now())
            .await?;
        let renamed = match outcome {
            Rename::Done => true,
            Rename::Gone => return Err(Error::NotFound),
            // The name the refused rename lost to.
            Rename::Lost(current) if current == name => false,
            Rename::Lost(current) => return Err(stale(&current)),
        };
        if renamed {
            self.published(&ACCOUNT, Change::Updated, account_id, None)
                .await;
        }
        self.account_for(user, account_id).await
    }

    /// Deletes an account and its memberships.
    ///
    /// # Errors
    /// [`Error::NotFound`] or [`Error::Forbidden`].
    pub async fn delete_account(&self, user: &User, account_id: i64) -> Result<Account> {
        self.require_manage(user, account_id).await?;
        let account = self.account_for(user, account_id).await?;
        self.store.delete_account(account_id).await?;
        // Its memberships went with it; their parent is gone, so only the account announces.
        self.published(&ACCOUNT, Change::Destroyed, account_id, None)
            .await;
        Ok(account)
    }
}
