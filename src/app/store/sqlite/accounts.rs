//! The `accounts` table and the reads of accounts and memberships through their
//! `accessible_by` scopes: every read of an account or a membership appends the scope's
//! condition, so a row the user may not see is never read.

use rusqlite::{Connection, OptionalExtension, Row, named_params, params};

use crate::app::accounts::{Account, AccountUser, Role};
use crate::app::error::Result;
use crate::store::Timestamp;

/// The `accessible_by` scope of accounts: `:admin` is the user's site-admin flag, `:uid`
/// their id.
macro_rules! accessible_accounts {
    () => {
        "(:admin OR EXISTS (SELECT 1 FROM account_users s
     WHERE s.account_id = a.id AND s.user_id = :uid))"
    };
}

/// The `accessible_by` scope of memberships: those of accounts the user may see.
macro_rules! accessible_account_users {
    () => {
        "(:admin OR EXISTS (SELECT 1 FROM account_users s
     WHERE s.account_id = au.account_id AND s.user_id = :uid))"
    };
}

/// Accounts with their owner; [`account_row`] maps its columns.
macro_rules! account_select {
    () => {
        "SELECT a.id, a.name, a.account_type, a.owner_id, o.name, o.email_address,
     a.members_count, a.lock_version, a.created_at FROM accounts a JOIN users o ON o.id = a.owner_id"
    };
}

/// Memberships as `:uid` (site admin: `:admin`) may see them: the name of a member who has
/// not been told yet stays hidden from everyone but that member and site admins.
/// [`member_row`] maps its columns.
macro_rules! member_select {
    () => {
        "SELECT au.id, au.account_id, au.user_id,
     CASE WHEN au.seen_at IS NOT NULL OR au.user_id = :uid OR :admin THEN u.name ELSE '' END,
     u.email_address, au.role, au.created_at, au.seen_at IS NOT NULL
     FROM account_users au JOIN users u ON u.id = au.user_id"
    };
}

/// A role column holds [`Role::as_str`].
impl rusqlite::types::FromSql for Role {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = v.as_str()?;
        Role::parse(s).map_err(|_| rusqlite::types::FromSqlError::InvalidType)
    }
}

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

const SCOPED: &str = concat!(
    account_select!(),
    " WHERE ",
    accessible_accounts!(),
    " ORDER BY a.id DESC"
);

/// The accounts user `uid` (a site admin when `admin`) may see, newest first.
pub(in crate::app) fn scoped(conn: &Connection, admin: bool, uid: i64) -> Result<Vec<Account>> {
    let mut stmt = conn.prepare_cached(SCOPED)?;
    let rows = stmt.query_map(named_params! {":admin": admin, ":uid": uid}, account_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const SCOPED_ONE: &str = concat!(
    account_select!(),
    " WHERE a.id = :id AND ",
    accessible_accounts!()
);

/// Account `id` if user `uid` (a site admin when `admin`) may see it; `NotFound` otherwise.
pub(in crate::app) fn scoped_one(
    conn: &Connection,
    admin: bool,
    uid: i64,
    id: i64,
) -> Result<Account> {
    Ok(conn.prepare_cached(SCOPED_ONE)?.query_row(
        named_params! {":id": id, ":admin": admin, ":uid": uid},
        account_row,
    )?)
}

const SCOPED_MEMBERS: &str = concat!(
    member_select!(),
    " WHERE au.account_id = :account AND ",
    accessible_account_users!(),
    " ORDER BY au.id"
);

/// The memberships of account `account` user `uid` (a site admin when `admin`) may see,
/// oldest first.
pub(in crate::app) fn scoped_members(
    conn: &Connection,
    admin: bool,
    uid: i64,
    account: i64,
) -> Result<Vec<AccountUser>> {
    let mut stmt = conn.prepare_cached(SCOPED_MEMBERS)?;
    let rows = stmt.query_map(
        named_params! {":account": account, ":admin": admin, ":uid": uid},
        member_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const SCOPED_MEMBER: &str = concat!(
    member_select!(),
    " WHERE au.id = :id AND ",
    accessible_account_users!()
);

/// Membership `id` if user `uid` (a site admin when `admin`) may see it; `NotFound`
/// otherwise.
pub(in crate::app) fn scoped_member(
    conn: &Connection,
    admin: bool,
    uid: i64,
    id: i64,
) -> Result<AccountUser> {
    Ok(conn.prepare_cached(SCOPED_MEMBER)?.query_row(
        named_params! {":id": id, ":admin": admin, ":uid": uid},
        member_row,
    )?)
}

const ROLE: &str = "SELECT role FROM account_users WHERE account_id = ?1 AND user_id = ?2";

/// The role of user `uid` in account `account`, if a member.
pub(in crate::app) fn role(conn: &Connection, account: i64, uid: i64) -> Result<Option<Role>> {
    Ok(conn
        .prepare_cached(ROLE)?
        .query_row([account, uid], |r| r.get(0))
        .optional()?)
}

const INSERT: &str =
    "INSERT INTO accounts (name, account_type, owner_id, members_count, created_at, updated_at)
         VALUES (:name, :type, :owner, 1, :now, :now)";
const INSERT_OWNER: &str =
    "INSERT INTO account_users (account_id, user_id, role, seen_at, created_at, updated_at)
         VALUES (?1, ?2, 'owner', ?3, ?3, ?3)";

/// Inserts an account owned by `owner` with the owner as its first member; returns its id.
pub(in crate::app) fn insert(
    conn: &Connection,
    name: &str,
    account_type: &str,
    owner: i64,
    now: Timestamp,
) -> Result<i64> {
    conn.execute(
        INSERT,
        named_params! {":name": name, ":type": account_type, ":owner": owner, ":now": now},
    )?;
    let id = conn.last_insert_rowid();
    conn.execute(INSERT_OWNER, params![id, owner, now])?;
    Ok(id)
}

const LEAVE_ALL: &str = "UPDATE accounts SET members_count = members_count - 1
         WHERE id IN (SELECT account_id FROM account_users WHERE user_id = ?1) AND owner_id != ?1";

/// Keeps `members_count` right for the accounts user `user`, about to be deleted, belongs
/// to (the accounts they own go with them).
pub(in crate::app) fn before_user_delete(conn: &Connection, user: i64) -> Result<()> {
    conn.execute(LEAVE_ALL, [user])?;
    Ok(())
}

/// Renames when the stored version is `:expected` (or no version was given); bumps it.
const RENAME: &str = "UPDATE accounts SET name = :name, lock_version = lock_version + 1,
     updated_at = :now WHERE id = :id AND (:expected IS NULL OR lock_version = :expected)";

/// Renames account `id` if it is at `expected` (any version when `None`); whether it did.
pub(in crate::app) fn rename(
    conn: &Connection,
    id: i64,
    name: &str,
    expected: Option<i64>,
    now: Timestamp,
) -> Result<bool> {
    let changed = conn.execute(
        RENAME,
        named_params! {":name": name, ":now": now, ":id": id, ":expected": expected},
    )?;
    Ok(changed == 1)
}

const NAME: &str = "SELECT name FROM accounts WHERE id = ?1";

/// The current name of account `id`, if it exists.
pub(in crate::app) fn name(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(conn.query_row(NAME, [id], |r| r.get(0)).optional()?)
}

const ACCOUNT_TYPE: &str = "SELECT account_type FROM accounts WHERE id = ?1";

/// The type (`personal` or `team`) of account `id`; `NotFound` when it is gone.
pub(in crate::app) fn account_type(conn: &Connection, id: i64) -> Result<String> {
    Ok(conn.query_row(ACCOUNT_TYPE, [id], |r| r.get(0))?)
}

const DELETE: &str = "DELETE FROM accounts WHERE id = ?1";

/// Deletes account `id`; its memberships go with it.
pub(in crate::app) fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(DELETE, [id])?;
    Ok(())
}
