//! The transactions of accounts and memberships, and their reads through the
//! `accessible_by` scopes (`admin` is the viewer's site-admin flag, `uid` their id).

use trifecta_store::{Backend, Timestamp};

use super::super::accounts::{Account, AccountUser, Addition as Told, Role};
use super::super::error::Result;
use super::{Addition, Rename, Store, postgres, sqlite};

impl Store {
    /// The accounts user `uid` may see, newest first.
    pub(in crate::app) async fn accounts(&self, admin: bool, uid: i64) -> Result<Vec<Account>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::accounts::scoped(conn, admin, uid))
                    .await
            }
            Backend::Postgres(pg) => postgres::accounts::scoped(pg, admin, uid).await,
        }
    }

    /// Account `id` if user `uid` may see it; `NotFound` otherwise.
    pub(in crate::app) async fn account(&self, admin: bool, uid: i64, id: i64) -> Result<Account> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::accounts::scoped_one(conn, admin, uid, id))
                    .await
            }
            Backend::Postgres(pg) => postgres::accounts::scoped_one(pg, admin, uid, id).await,
        }
    }

    /// The memberships of account `account` user `uid` may see, oldest first.
    pub(in crate::app) async fn members(
        &self,
        admin: bool,
        uid: i64,
        account: i64,
    ) -> Result<Vec<AccountUser>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::accounts::scoped_members(conn, admin, uid, account))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::accounts::scoped_members(pg, admin, uid, account).await
            }
        }
    }

    /// Membership `id` if user `uid` may see it; `NotFound` otherwise.
    pub(in crate::app) async fn member(
        &self,
        admin: bool,
        uid: i64,
        id: i64,
    ) -> Result<AccountUser> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::accounts::scoped_member(conn, admin, uid, id))
                    .await
            }
            Backend::Postgres(pg) => postgres::accounts::scoped_member(pg, admin, uid, id).await,
        }
    }

    /// The role of user `uid` in account `account`, if a member.
    pub(in crate::app) async fn role(&self, account: i64, uid: i64) -> Result<Option<Role>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::accounts::role(conn, account, uid))
                    .await
            }
            Backend::Postgres(pg) => postgres::accounts::role(pg, account, uid).await,
        }
    }

    /// Inserts a team account owned by `owner`, the owner its first member; returns its id.
    pub(in crate::app) async fn create_account(
        &self,
        name: String,
        owner: i64,
        now: Timestamp,
    ) -> Result<i64> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::accounts::insert(tx, &name, "team", owner, now))
                    .await
            }
            Backend::Postgres(pg) => postgres::accounts::create(pg, &name, owner, now).await,
        }
    }

    /// Renames account `id` if it is at `expected` (any version when `None`).
    pub(in crate::app) async fn rename_account(
        &self,
        id: i64,
        name: String,
        expected: Option<i64>,
        now: Timestamp,
    ) -> Result<Rename> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| -> Result<Rename> {
                    if sqlite::accounts::rename(tx, id, &name, expected, now)? {
                        return Ok(Rename::Done);
                    }
                    Ok(match sqlite::accounts::name(tx, id)? {
                        None => Rename::Gone,
                        Some(current) => Rename::Lost(current),
                    })
                })
                .await
            }
            Backend::Postgres(pg) => postgres::accounts::rename(pg, id, &name, expected, now).await,
        }
    }

    /// Deletes account `id`; its memberships go with it.
    pub(in crate::app) async fn delete_account(&self, id: i64) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => db.write(move |tx| sqlite::accounts::delete(tx, id)).await,
            Backend::Postgres(pg) => postgres::accounts::delete(pg, id).await,
        }
    }

    /// Adds the user with the (normalized) `email` to team account `account` with `role`,
    /// added by user `by`. `NotFound` when the account is gone.
    pub(in crate::app) async fn add_member(
        &self,
        account: i64,
        email: String,
        role: Role,
        by: i64,
        now: Timestamp,
    ) -> Result<Addition> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| -> Result<Addition> {
                    if sqlite::accounts::account_type(tx, account)? != "team" {
                        return Ok(Addition::Personal);
                    }
                    let Some(member) = sqlite::users::id_by_email(tx, &email)? else {
                        return Ok(Addition::NoSuchUser);
                    };
                    if sqlite::members::is_member(tx, account, member)? {
                        return Ok(Addition::AlreadyMember);
                    }
                    let id = sqlite::members::insert(tx, account, member, role, by, now)?;
                    Ok(Addition::Added { id, member })
                })
                .await
            }
            Backend::Postgres(pg) => {
                postgres::members::add(pg, account, &email, role, by, now).await
            }
        }
    }

    /// Gives membership `id` the role `role`.
    pub(in crate::app) async fn set_role(&self, id: i64, role: Role, now: Timestamp) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::members::set_role(tx, id, role, now))
                    .await
            }
            Backend::Postgres(pg) => postgres::members::set_role(pg, id, role, now).await,
        }
    }

    /// Removes membership `id` from account `account`.
    pub(in crate::app) async fn remove_member(
        &self,
        id: i64,
        account: i64,
        now: Timestamp,
    ) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::members::delete(tx, id, account, now))
                    .await
            }
            Backend::Postgres(pg) => postgres::members::remove(pg, id, account, now).await,
        }
    }

    /// Whether user `uid` has memberships they have not been told about.
    pub(in crate::app) async fn any_unseen(&self, uid: i64) -> Result<bool> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| sqlite::members::any_unseen(conn, uid))
                    .await
            }
            Backend::Postgres(pg) => postgres::members::any_unseen(pg, uid).await,
        }
    }

    /// The memberships of user `uid` they have not been told about, oldest first, marked as
    /// told at `now`.
    pub(in crate::app) async fn acknowledge(&self, uid: i64, now: Timestamp) -> Result<Vec<Told>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| -> Result<Vec<Told>> {
                    let additions = sqlite::members::unseen(tx, uid)?;
                    if !additions.is_empty() {
                        sqlite::members::mark_seen(tx, uid, now)?;
                    }
                    Ok(additions)
                })
                .await
            }
            Backend::Postgres(pg) => postgres::members::acknowledge(pg, uid, now).await,
        }
    }
}
