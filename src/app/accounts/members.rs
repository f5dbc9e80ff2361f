//! Membership changes: add a user by email, change a role, remove a member or leave. Each
//! announces itself to its account (`broadcasts_to parent: account`) once committed, and an
//! addition or removal also to the member's own stream (`User:<sqid>`), so their accounts
//! list follows.
//!
//! Consent: members are added only to team accounts (a personal account is its owner's
//! alone), only by the account's owner and admins (and site admins). The added user is told
//! on their accounts page ([`App::acknowledge_additions`]) and may leave at any time; until
//! they have been told, the account's other members see only the email address the adder
//! typed, never the user's name.

use serde_json::json;

use super::super::App;
use super::super::broadcast::{ACCOUNT, ACCOUNT_USER, Change, USER_MODEL, stream};
use super::super::error::{Error, Result};
use super::super::store::Addition as Outcome;
use super::super::users::{User, normalize_email};
use super::{AccountUser, Role};
use crate::store::Timestamp;

/// A membership someone else made for a user, not yet shown to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addition {
    /// The account.
    pub account_id: i64,
    /// Its name.
    pub account_name: String,
    /// The role given.
    pub role: Role,
    /// Who added them: name, or email when they have none (empty if that user is gone).
    pub added_by: String,
}

impl App {
    /// Adds the user with `email` to a team account with `role`; they are told on their
    /// accounts page.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`], or [`Error::Invalid`]: on `member` for a
    /// personal account, on `role` for owner, on `email_address` for unknown users and
    /// existing members.
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
        let (now, by) = (self.clock.now(), user.id);
        let (id, member) = match self
            .store
            .add_member(account_id, email, role, by, now)
            .await?
        {
            Outcome::Added { id, member } => (id, member),
            Outcome::Personal => {
                return Err(Error::invalid(
                    "member",
                    "A personal account has only its owner. Create a team account to work with others.",
                ));
            }
            Outcome::NoSuchUser => {
                return Err(Error::invalid(
                    "email_address",
                    "does not belong to any user",
                ));
            }
            Outcome::AlreadyMember => {
                return Err(Error::invalid("email_address", "is already a member"));
            }
        };
        self.member_changed(Change::Created, id, account_id, member)
            .await;
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
        self.store
            .set_role(account_user_id, role, self.clock.now())
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

    /// Removes a member (not the owner): the account's owner and admins may remove anyone,
    /// every member may remove themselves (leave).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`] or [`Error::Invalid`].
    pub async fn remove_member(&self, user: &User, account_user_id: i64) -> Result<AccountUser> {
        let membership = self.account_user_for(user, account_user_id).await?;
        if membership.user_id != user.id {
            self.require_manage(user, membership.account_id).await?;
        }
        if membership.role == Role::Owner {
            return Err(Error::invalid("role", "the owner cannot be removed"));
        }
        let account_id = membership.account_id;
        self.store
            .remove_member(account_user_id, account_id, self.clock.now())
            .await?;
        self.member_changed(
            Change::Destroyed,
            account_user_id,
            account_id,
            membership.user_id,
        )
        .await;
        Ok(membership)
    }

    /// The memberships others made for `user` that they have not been told about, oldest
    /// first; they count as told from now on (their names become visible to the accounts'
    /// members).
    ///
    /// # Errors
    /// Only database failures.
    pub async fn acknowledge_additions(&self, user: &User) -> Result<Vec<Addition>> {
        let (uid, now): (i64, Timestamp) = (user.id, self.clock.now());
        // Most visits have nothing to tell: a read, not a write transaction, answers them.
        if !self.store.any_unseen(uid).await? {
            return Ok(Vec::new());
        }
        let additions = self.store.acknowledge(uid, now).await?;
        // The accounts' member lists now show the name: their pages refresh.
        for addition in &additions {
            self.published(&ACCOUNT, Change::Updated, addition.account_id, None)
                .await;
        }
        Ok(additions)
    }

    /// A membership was added or removed: it announces itself to its account, the account,
    /// whose `members_count` changed with it, announces its own update, and the member's
    /// own stream tells their accounts list.
    async fn member_changed(
        &self,
        change: Change,
        account_user_id: i64,
        account_id: i64,
        member: i64,
    ) {
        self.published(
            &ACCOUNT_USER,
            change,
            account_user_id,
            Some(("Account", account_id)),
        )
        .await;
        self.published(&ACCOUNT, Change::Updated, account_id, None)
            .await;
        let own = stream(USER_MODEL, &self.ids.encode(member));
        self.marker(&own, &json!({"action": "refresh", "prop": "accounts"}))
            .await;
    }
}
