//! The `accounts` table on PostgreSQL and the reads of accounts and memberships through
//! their `accessible_by` scopes: every such read appends the scope's condition, with the
//! viewer's site-admin flag as `$1` and their id as `$2`, so a row the user may not see is
//! never read.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use trifecta_store::{Pg, Timestamp};

use super::super::super::accounts::{Account, AccountUser, Role};
use super::super::super::error::{Error, Result};
use super::super::{Rename, found};
use super::{begin, commit, exec, one, row, rows};

/// The `accessible_by` scope of accounts.
macro_rules! accessible_accounts {
    () => {
        "($1::boolean OR EXISTS (SELECT 1 FROM account_users s
     WHERE s.account_id = a.id AND s.user_id = $2::bigint))"
    };
}

/// The `accessible_by` scope of memberships: those of accounts the user may see.
macro_rules! accessible_account_users {
    () => {
        "($1::boolean OR EXISTS (SELECT 1 FROM account_users s
     WHERE s.account_id = au.account_id AND s.user_id = $2::bigint))"
    };
}

/// Accounts with their owner; [`account_row`] maps its columns.
macro_rules! account_select {
    () => {
        "SELECT a.id, a.name, a.account_type, a.owner_id, o.name, o.email_address,
     a.members_count, a.lock_version, a.created_at FROM accounts a JOIN users o ON o.id = a.owner_id"
    };
}

/// Memberships as `$2` (site admin: `$1`) may see them: the name of a member who has not
/// been told yet stays hidden from everyone but that member and site admins.
macro_rules! member_select {
    () => {
        "SELECT au.id, au.account_id, au.user_id,
     CASE WHEN au.seen_at IS NOT NULL OR au.user_id = $2::bigint OR $1::boolean
       THEN u.name ELSE '' END,
     u.email_address, au.role, au.created_at, au.seen_at IS NOT NULL
     FROM account_users au JOIN users u ON u.id = au.user_id"
    };
}

/// The role stored as [`Role::as_str`] (the table's check allows no other).
pub(super) fn role_of(stored: &str) -> Result<Role> {
    Role::parse(stored).map_err(|_| Error::internal("a stored role is unknown", stored.to_owned()))
}

fn account_row(r: &Row) -> Account {
    Account {
        id: r.get(0),
        name: r.get(1),
        account_type: r.get(2),
        owner_id: r.get(3),
        owner_name: r.get(4),
        owner_email: r.get(5),
        members_count: r.get(6),
        lock_version: r.get(7),
        created_at: Timestamp(r.get(8)),
    }
}

fn member_row(r: &Row) -> Result<AccountUser> {
    Ok(AccountUser {
        id: r.get(0),
        account_id: r.get(1),
        user_id: r.get(2),
        name: r.get(3),
        email_address: r.get(4),
        role: role_of(r.get(5))?,
        created_at: Timestamp(r.get(6)),
        seen: r.get(7),
    })
}

const SCOPED: &str = concat!(
    account_select!(),
    " WHERE ",
    accessible_accounts!(),
    " ORDER BY a.id DESC"
);

/// The accounts user `uid` (a site admin when `admin`) may see, newest first.
pub(in crate::app) async fn scoped(pg: &Pg, admin: bool, uid: i64) -> Result<Vec<Account>> {
    let conn = pg.get().await?;
    Ok(rows(pg, &conn, SCOPED, &[&admin, &uid])
        .await?
        .iter()
        .map(account_row)
        .collect())
}

const SCOPED_ONE: &str = concat!(
    account_select!(),
    " WHERE a.id = $3 AND ",
    accessible_accounts!()
);

/// Account `id` if user `uid` may see it; `NotFound` otherwise.
pub(in crate::app) async fn scoped_one(pg: &Pg, admin: bool, uid: i64, id: i64) -> Result<Account> {
    let conn = pg.get().await?;
    let found = found(row(pg, &conn, SCOPED_ONE, &[&admin, &uid, &id]).await?)?;
    Ok(account_row(&found))
}

const SCOPED_MEMBERS: &str = concat!(
    member_select!(),
    " WHERE au.account_id = $3 AND ",
    accessible_account_users!(),
    " ORDER BY au.id"
);

/// The memberships of account `account` user `uid` may see, oldest first.
pub(in crate::app) async fn scoped_members(
    pg: &Pg,
    admin: bool,
    uid: i64,
    account: i64,
) -> Result<Vec<AccountUser>> {
    let conn = pg.get().await?;
    rows(pg, &conn, SCOPED_MEMBERS, &[&admin, &uid, &account])
        .await?
        .iter()
        .map(member_row)
        .collect()
}

const SCOPED_MEMBER: &str = concat!(
    member_select!(),
    " WHERE au.id = $3 AND ",
    accessible_account_users!()
);

/// Membership `id` if user `uid` may see it; `NotFound` otherwise.
pub(in crate::app) async fn scoped_member(
    pg: &Pg,
    admin: bool,
    uid: i64,
    id: i64,
) -> Result<AccountUser> {
    let conn = pg.get().await?;
    member_row(&found(
        row(pg, &conn, SCOPED_MEMBER, &[&admin, &uid, &id]).await?,
    )?)
}

const ROLE: &str = "SELECT role FROM account_users WHERE account_id = $1 AND user_id = $2";

/// The role of user `uid` in account `account`, if a member.
pub(in crate::app) async fn role(pg: &Pg, account: i64, uid: i64) -> Result<Option<Role>> {
    let conn = pg.get().await?;
    row(pg, &conn, ROLE, &[&account, &uid])
        .await?
        .map(|r| role_of(r.get(0)))
        .transpose()
}

const INSERT: &str =
    "INSERT INTO accounts (name, account_type, owner_id, members_count, created_at, updated_at)
     VALUES ($1, $2, $3, 1, $4, $4) RETURNING id";
const INSERT_OWNER: &str =
    "INSERT INTO account_users (account_id, user_id, role, seen_at, created_at, updated_at)
     VALUES ($1, $2, 'owner', $3, $3, $3)";

/// Inserts an account owned by `owner` with the owner as its first member, inside `tx`;
/// returns its id.
pub(super) async fn insert(
    pg: &Pg,
    tx: &impl GenericClient,
    name: &str,
    account_type: &str,
    owner: i64,
    now: Timestamp,
) -> Result<i64> {
    let id: i64 = one(pg, tx, INSERT, &[&name, &account_type, &owner, &now.0])
        .await?
        .get(0);
    exec(pg, tx, INSERT_OWNER, &[&id, &owner, &now.0]).await?;
    Ok(id)
}

/// Inserts a team account owned by `owner`; returns its id.
pub(in crate::app) async fn create(pg: &Pg, name: &str, owner: i64, now: Timestamp) -> Result<i64> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    let id = insert(pg, &tx, name, "team", owner, now).await?;
    commit(pg, tx).await?;
    Ok(id)
}

/// Renames when the stored version is `$4` (or no version was given); bumps it.
const RENAME: &str = "UPDATE accounts SET name = $1, lock_version = lock_version + 1,
     updated_at = $2 WHERE id = $3 AND ($4::bigint IS NULL OR lock_version = $4::bigint)";
const NAME: &str = "SELECT name FROM accounts WHERE id = $1";

/// Renames account `id` if it is at `expected` (any version when `None`).
pub(in crate::app) async fn rename(
    pg: &Pg,
    id: i64,
    name: &str,
    expected: Option<i64>,
    now: Timestamp,
) -> Result<Rename> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    let outcome = if exec(pg, &tx, RENAME, &[&name, &now.0, &id, &expected]).await? == 1 {
        Rename::Done
    } else {
        match row(pg, &tx, NAME, &[&id]).await? {
            None => Rename::Gone,
            Some(r) => Rename::Lost(r.get(0)),
        }
    };
    commit(pg, tx).await?;
    Ok(outcome)
}

const DELETE: &str = "DELETE FROM accounts WHERE id = $1";

/// Deletes account `id`; its memberships go with it.
pub(in crate::app) async fn delete(pg: &Pg, id: i64) -> Result<()> {
    let conn = pg.get().await?;
    exec(pg, &conn, DELETE, &[&id]).await?;
    Ok(())
}
