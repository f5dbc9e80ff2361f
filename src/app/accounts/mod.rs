//! Accounts and their members (`account_users`, with roles owner/admin/member), and the one
//! place that decides who may see them: [`App::accounts_accessible_by`] and the other
//! `*_for` reads, which run every account query through the `accessible_by` scopes of
//! `store::accounts`. Site admins see everything; other users see the accounts they belong
//! to and those accounts' memberships; nobody anonymous sees anything (there is no anonymous
//! `User`).

use serde::Serialize;

mod edit;
mod members;

pub use members::Addition;

use super::App;
use super::error::{Error, Result};
use super::users::User;
use crate::store::Timestamp;

/// A member's role in an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created the account; may do everything.
    Owner,
    /// May manage the account and its members.
    Admin,
    /// May see the account.
    Member,
}

impl Role {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Parses the stored and wire form.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `role` for anything else.
    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(Error::invalid("role", "must be owner, admin or member")),
        }
    }

    /// Owners and admins manage the account.
    pub fn manages(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// An account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Database id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// `personal` or `team`.
    pub account_type: String,
    /// The owner's user id.
    pub owner_id: i64,
    /// The owner's name.
    pub owner_name: String,
    /// The owner's email.
    pub owner_email: String,
    /// How many members it has.
    pub members_count: i64,
    /// Bumped by every rename; a rename naming an older version is refused.
    pub lock_version: i64,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountUser {
    /// Database id.
    pub id: i64,
    /// The account.
    pub account_id: i64,
    /// The member.
    pub user_id: i64,
    /// The member's name; empty for a member added by someone else who has not been told
    /// yet, unless the viewer is that member or a site admin (a stranger's name is not the
    /// adder's to learn).
    pub name: String,
    /// The member's email.
    pub email_address: String,
    /// Their role.
    pub role: Role,
    /// When they joined.
    pub created_at: Timestamp,
    /// Whether the member has been told about the membership (always for owners and for
    /// members who added themselves).
    pub seen: bool,
}

impl App {
    /// Accounts `user` may see, newest first.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn accounts_accessible_by(&self, user: &User) -> Result<Vec<Account>> {
        self.scoped_accounts(user.site_admin, user.id).await
    }

    /// Accounts `user` belongs to (even a site admin sees only their own here), newest first.
    ///
    /// # Errors
    /// Only database failures.
    pub async fn accounts_of(&self, user: &User) -> Result<Vec<Account>> {
        self.scoped_accounts(false, user.id).await
    }

    async fn scoped_accounts(&self, admin: bool, uid: i64) -> Result<Vec<Account>> {
        self.store.accounts(admin, uid).await
    }

    /// The account `id` if `user` may see it.
    ///
    /// # Errors
    /// [`Error::NotFound`] for missing and inaccessible accounts alike.
    pub async fn account_for(&self, user: &User, id: i64) -> Result<Account> {
        self.store.account(user.site_admin, user.id, id).await
    }

    /// Members of account `account_id` if `user` may see the account, oldest first.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the account is missing or inaccessible.
    pub async fn members_for(&self, user: &User, account_id: i64) -> Result<Vec<AccountUser>> {
        self.account_for(user, account_id).await?;
        self.store
            .members(user.site_admin, user.id, account_id)
            .await
    }

    /// The membership `id` if `user` may see it.
    ///
    /// # Errors
    /// [`Error::NotFound`] for missing and inaccessible memberships alike.
    pub async fn account_user_for(&self, user: &User, id: i64) -> Result<AccountUser> {
        self.store.member(user.site_admin, user.id, id).await
    }

    /// Whether `user` may change account `account_id`: site admins, and its owner and admins.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the account is missing or inaccessible.
    pub async fn can_manage(&self, user: &User, account_id: i64) -> Result<bool> {
        self.account_for(user, account_id).await?;
        if user.site_admin {
            return Ok(true);
        }
        let role = self.store.role(account_id, user.id).await?;
        Ok(role.is_some_and(Role::manages))
    }

    pub(super) async fn require_manage(&self, user: &User, account_id: i64) -> Result<()> {
        if self.can_manage(user, account_id).await? {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}
