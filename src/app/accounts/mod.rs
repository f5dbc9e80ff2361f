//! Accounts and their members (`account_users`, with roles owner/admin/member), and the one
//! place that decides who may see them: [`App::accounts_accessible_by`] and the
//! `ACCESSIBLE_*` conditions every account query uses. Site admins see everything; other
//! users see the accounts they belong to and those accounts' memberships; nobody anonymous
//! sees anything (there is no anonymous `User`).

use rusqlite::{OptionalExtension, Row, Transaction, named_params};
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

impl rusqlite::types::FromSql for Role {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = v.as_str()?;
        Role::parse(s).map_err(|_| rusqlite::types::FromSqlError::InvalidType)
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

/// The `accessible_by` scope of accounts: `:admin` is the user's site-admin flag, `:uid`
/// their id. Every read of accounts appends this condition.
const ACCESSIBLE_ACCOUNTS: &str = "(:admin OR EXISTS (SELECT 1 FROM account_users s
     WHERE s.account_id = a.id AND s.user_id = :uid))";

/// The `accessible_by` scope of memberships: those of accounts the user may see.
const ACCESSIBLE_ACCOUNT_USERS: &str = "(:admin OR EXISTS (SELECT 1 FROM account_users s
     WHERE s.account_id = au.account_id AND s.user_id = :uid))";

const ACCOUNT_SELECT: &str =
    "SELECT a.id, a.name, a.account_type, a.owner_id, o.name, o.email_address,
     a.members_count, a.lock_version, a.created_at FROM accounts a JOIN users o ON o.id = a.owner_id";

/// Memberships as `:uid` (site admin: `:admin`) may see them: the name of a member who has
/// not been told yet stays hidden from everyone but that member and site admins.
const MEMBER_SELECT: &str = "SELECT au.id, au.account_id, au.user_id,
     CASE WHEN au.seen_at IS NOT NULL OR au.user_id = :uid OR :admin THEN u.name ELSE '' END,
     u.email_address, au.role, au.created_at, au.seen_at IS NOT NULL
     FROM account_users au JOIN users u ON u.id = au.user_id";

fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        name: r.get(1)?,
        account_type: r.get(2)?,
        owner_id: r.get(3)?,
        owner_name: r.get(4)?,
        owner_email: r.get(5)?,
        members_count: r.get(6)?,
        lock_version: r.get(7)?,
        created_at: r.get(8)?,
    })
}

fn member_row(r: &Row<'_>) -> rusqlite::Result<AccountUser> {
    Ok(AccountUser {
        id: r.get(0)?,
        account_id: r.get(1)?,
        user_id: r.get(2)?,
        name: r.get(3)?,
        email_address: r.get(4)?,
        role: r.get(5)?,
        created_at: r.get(6)?,
        seen: r.get(7)?,
    })
}

/// Inserts an account owned by `owner` with the owner as its first member.
pub(super) fn insert_account(
    tx: &Transaction<'_>,
    name: &str,
    account_type: &str,
    owner: i64,
    now: Timestamp,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO accounts (name, account_type, owner_id, members_count, created_at, updated_at)
         VALUES (:name, :type, :owner, 1, :now, :now)",
        named_params! {":name": name, ":type": account_type, ":owner": owner, ":now": now},
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO account_users (account_id, user_id, role, seen_at, created_at, updated_at)
         VALUES (?1, ?2, 'owner', ?3, ?3, ?3)",
        rusqlite::params![id, owner, now],
    )?;
    Ok(id)
}

/// Keeps `members_count` right for the accounts a deleted user belonged to.
pub(super) fn before_user_delete(tx: &Transaction<'_>, user: i64) -> Result<()> {
    tx.execute(
        "UPDATE accounts SET members_count = members_count - 1
         WHERE id IN (SELECT account_id FROM account_users WHERE user_id = ?1) AND owner_id != ?1",
        [user],
    )?;
    Ok(())
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
        self.db
            .call(move |conn| -> Result<Vec<Account>> {
                let sql =
                    format!("{ACCOUNT_SELECT} WHERE {ACCESSIBLE_ACCOUNTS} ORDER BY a.id DESC");
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows =
                    stmt.query_map(named_params! {":admin": admin, ":uid": uid}, account_row)?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    /// The account `id` if `user` may see it.
    ///
    /// # Errors
    /// [`Error::NotFound`] for missing and inaccessible accounts alike.
    pub async fn account_for(&self, user: &User, id: i64) -> Result<Account> {
        let (admin, uid) = (user.site_admin, user.id);
        self.db
            .call(move |conn| -> Result<Account> {
                let sql = format!("{ACCOUNT_SELECT} WHERE a.id = :id AND {ACCESSIBLE_ACCOUNTS}");
                Ok(conn.prepare_cached(&sql)?.query_row(
                    named_params! {":id": id, ":admin": admin, ":uid": uid},
                    account_row,
                )?)
            })
            .await
    }

    /// Members of account `account_id` if `user` may see the account, oldest first.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the account is missing or inaccessible.
    pub async fn members_for(&self, user: &User, account_id: i64) -> Result<Vec<AccountUser>> {
        self.account_for(user, account_id).await?;
        let (admin, uid) = (user.site_admin, user.id);
        self.db
            .call(move |conn| -> Result<Vec<AccountUser>> {
                let sql = format!(
                    "{MEMBER_SELECT} WHERE au.account_id = :account AND {ACCESSIBLE_ACCOUNT_USERS} ORDER BY au.id"
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = stmt.query_map(
                    named_params! {":account": account_id, ":admin": admin, ":uid": uid},
                    member_row,
                )?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    /// The membership `id` if `user` may see it.
    ///
    /// # Errors
    /// [`Error::NotFound`] for missing and inaccessible memberships alike.
    pub async fn account_user_for(&self, user: &User, id: i64) -> Result<AccountUser> {
        let (admin, uid) = (user.site_admin, user.id);
        self.db
            .call(move |conn| -> Result<AccountUser> {
                let sql =
                    format!("{MEMBER_SELECT} WHERE au.id = :id AND {ACCESSIBLE_ACCOUNT_USERS}");
                Ok(conn.prepare_cached(&sql)?.query_row(
                    named_params! {":id": id, ":admin": admin, ":uid": uid},
                    member_row,
                )?)
            })
            .await
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
        let uid = user.id;
        let role: Option<Role> = self
            .db
            .call(move |conn| -> Result<Option<Role>> {
                Ok(conn
                    .prepare_cached(
                        "SELECT role FROM account_users WHERE account_id = ?1 AND user_id = ?2",
                    )?
                    .query_row([account_id, uid], |r| r.get(0))
                    .optional()?)
            })
            .await?;
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
