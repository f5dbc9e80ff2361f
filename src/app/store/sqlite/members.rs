//! Memberships (`account_users`) as they change: added, given another role, removed, and
//! told to the member they were added by someone else; `members_count` follows each.

use rusqlite::{Connection, named_params, params};

use crate::app::accounts::{Addition, Role};
use crate::app::error::Result;
use crate::store::Timestamp;

const IS_MEMBER: &str =
    "SELECT EXISTS (SELECT 1 FROM account_users WHERE account_id = ?1 AND user_id = ?2)";

/// Whether user `user` is a member of account `account`.
pub(in crate::app) fn is_member(conn: &Connection, account: i64, user: i64) -> Result<bool> {
    Ok(conn.query_row(IS_MEMBER, [account, user], |r| r.get(0))?)
}

/// Seen at once when members add themselves.
const INSERT: &str = "INSERT INTO account_users
     (account_id, user_id, role, added_by, seen_at, created_at, updated_at)
     VALUES (:account, :user, :role, :by, CASE WHEN :user = :by THEN :now END, :now, :now)";
const COUNT_UP: &str =
    "UPDATE accounts SET members_count = members_count + 1, updated_at = ?1 WHERE id = ?2";

/// Adds user `user` to account `account` with `role`, added by user `by`; returns the
/// membership's id.
pub(in crate::app) fn insert(
    conn: &Connection,
    account: i64,
    user: i64,
    role: Role,
    by: i64,
    now: Timestamp,
) -> Result<i64> {
    conn.execute(
        INSERT,
        named_params! {":account": account, ":user": user, ":role": role.as_str(), ":by": by, ":now": now},
    )?;
    let id = conn.last_insert_rowid();
    conn.execute(COUNT_UP, params![now, account])?;
    Ok(id)
}

const SET_ROLE: &str = "UPDATE account_users SET role = ?1, updated_at = ?2 WHERE id = ?3";

/// Gives membership `id` the role `role`.
pub(in crate::app) fn set_role(
    conn: &Connection,
    id: i64,
    role: Role,
    now: Timestamp,
) -> Result<()> {
    conn.execute(SET_ROLE, params![role.as_str(), now, id])?;
    Ok(())
}

const DELETE: &str = "DELETE FROM account_users WHERE id = ?1";
const COUNT_DOWN: &str =
    "UPDATE accounts SET members_count = members_count - 1, updated_at = ?1 WHERE id = ?2";

/// Removes membership `id` from account `account`.
pub(in crate::app) fn delete(
    conn: &Connection,
    id: i64,
    account: i64,
    now: Timestamp,
) -> Result<()> {
    conn.execute(DELETE, [id])?;
    conn.execute(COUNT_DOWN, params![now, account])?;
    Ok(())
}

const ANY_UNSEEN: &str =
    "SELECT EXISTS (SELECT 1 FROM account_users WHERE user_id = ?1 AND seen_at IS NULL)";

/// Whether user `uid` has memberships they have not been told about.
pub(in crate::app) fn any_unseen(conn: &Connection, uid: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(ANY_UNSEEN)?
        .query_row([uid], |r| r.get(0))?)
}

/// Unseen memberships of `?1`, oldest first.
const UNSEEN: &str = "SELECT au.account_id, a.name, au.role,
     COALESCE(NULLIF(b.name, ''), b.email_address, '')
     FROM account_users au JOIN accounts a ON a.id = au.account_id
     LEFT JOIN users b ON b.id = au.added_by
     WHERE au.user_id = ?1 AND au.seen_at IS NULL ORDER BY au.id";

/// The memberships of user `uid` they have not been told about, oldest first.
pub(in crate::app) fn unseen(conn: &Connection, uid: i64) -> Result<Vec<Addition>> {
    let mut stmt = conn.prepare_cached(UNSEEN)?;
    let rows = stmt.query_map([uid], |r| {
        Ok(Addition {
            account_id: r.get(0)?,
            account_name: r.get(1)?,
            role: r.get(2)?,
            added_by: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const MARK_SEEN: &str =
    "UPDATE account_users SET seen_at = ?2 WHERE user_id = ?1 AND seen_at IS NULL";

/// Marks every membership of user `uid` as told, at `now`.
pub(in crate::app) fn mark_seen(conn: &Connection, uid: i64, now: Timestamp) -> Result<()> {
    conn.execute(MARK_SEEN, params![uid, now])?;
    Ok(())
}
