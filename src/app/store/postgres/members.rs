//! Memberships (`account_users`) on PostgreSQL as they change: added, given another role,
//! removed, and told to the member; `members_count` follows each.

use tokio_postgres::types::ToSql;
use trifecta_store::{Pg, Timestamp};

use super::super::super::accounts::{Addition as Told, Role};
use super::super::super::error::Result;
use super::super::{Addition, found};
use super::{
    OnPg, accounts::role_of, begin, commit, exec, foreign_key_violation, one, row, rows,
    unique_violation,
};

/// Locks the account's row for the addition: additions to one account take turns, so the
/// membership check below is exact (and the account cannot go meanwhile).
const LOCK_ACCOUNT: &str = "SELECT account_type FROM accounts WHERE id = $1 FOR NO KEY UPDATE";
const USER_ID: &str = "SELECT id FROM users WHERE email_address = $1";
const IS_MEMBER: &str =
    "SELECT EXISTS (SELECT 1 FROM account_users WHERE account_id = $1 AND user_id = $2)";
/// Seen at once when members add themselves.
const INSERT: &str = "INSERT INTO account_users
     (account_id, user_id, role, added_by, seen_at, created_at, updated_at)
     VALUES ($1::bigint, $2::bigint, $3::text, $4::bigint,
             CASE WHEN $2::bigint = $4::bigint THEN $5::bigint END, $5::bigint, $5::bigint)
     RETURNING id";
const COUNT_UP: &str =
    "UPDATE accounts SET members_count = members_count + 1, updated_at = $1 WHERE id = $2";
/// The unique index of one membership per user and account.
const MEMBER_INDEX: &str = "index_account_users_on_account_id_and_user_id";

/// Adds the user with `email` to team account `account` with `role`, added by `by`.
pub(in crate::app) async fn add(
    pg: &Pg,
    account: i64,
    email: &str,
    role: Role,
    by: i64,
    now: Timestamp,
) -> Result<Addition> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    let account_type: String = found(row(pg, &tx, LOCK_ACCOUNT, &[&account]).await?)?.get(0);
    if account_type != "team" {
        return Ok(Addition::Personal);
    }
    let Some(member) = row(pg, &tx, USER_ID, &[&email]).await? else {
        return Ok(Addition::NoSuchUser);
    };
    let member: i64 = member.get(0);
    if one(pg, &tx, IS_MEMBER, &[&account, &member]).await?.get(0) {
        return Ok(Addition::AlreadyMember);
    }
    let stmt = tx.prepare_cached(INSERT).await.on(pg)?;
    let params: [&(dyn ToSql + Sync); 5] = [&account, &member, &role.as_str(), &by, &now.0];
    let id: i64 = match tx.query_one(&stmt, &params).await {
        Ok(r) => r.get(0),
        Err(e) if unique_violation(&e) == Some(MEMBER_INDEX) => return Ok(Addition::AlreadyMember),
        // The user was deleted meanwhile.
        Err(e) if foreign_key_violation(&e) => return Ok(Addition::NoSuchUser),
        Err(e) => return Err(pg.error(e).into()),
    };
    exec(pg, &tx, COUNT_UP, &[&now.0, &account]).await?;
    commit(pg, tx).await?;
    Ok(Addition::Added { id, member })
}

const SET_ROLE: &str = "UPDATE account_users SET role = $1, updated_at = $2 WHERE id = $3";

/// Gives membership `id` the role `role`.
pub(in crate::app) async fn set_role(pg: &Pg, id: i64, role: Role, now: Timestamp) -> Result<()> {
    let conn = pg.get().await?;
    exec(pg, &conn, SET_ROLE, &[&role.as_str(), &now.0, &id]).await?;
    Ok(())
}

const DELETE: &str = "DELETE FROM account_users WHERE id = $1";
const COUNT_DOWN: &str =
    "UPDATE accounts SET members_count = members_count - 1, updated_at = $1 WHERE id = $2";

/// Removes membership `id` from account `account` (the count goes down only when it was
/// there to remove).
pub(in crate::app) async fn remove(pg: &Pg, id: i64, account: i64, now: Timestamp) -> Result<()> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    if exec(pg, &tx, DELETE, &[&id]).await? == 1 {
        exec(pg, &tx, COUNT_DOWN, &[&now.0, &account]).await?;
    }
    commit(pg, tx).await
}

const ANY_UNSEEN: &str =
    "SELECT EXISTS (SELECT 1 FROM account_users WHERE user_id = $1 AND seen_at IS NULL)";

/// Whether user `uid` has memberships they have not been told about.
pub(in crate::app) async fn any_unseen(pg: &Pg, uid: i64) -> Result<bool> {
    let conn = pg.get().await?;
    Ok(one(pg, &conn, ANY_UNSEEN, &[&uid]).await?.get(0))
}

/// Unseen memberships of `$1`, oldest first, locked: those listed are those marked.
const UNSEEN: &str = "SELECT au.id, au.account_id, a.name, au.role,
     COALESCE(NULLIF(b.name, ''), b.email_address, '')
     FROM account_users au JOIN accounts a ON a.id = au.account_id
     LEFT JOIN users b ON b.id = au.added_by
     WHERE au.user_id = $1 AND au.seen_at IS NULL ORDER BY au.id FOR UPDATE OF au";
const MARK_SEEN: &str = "UPDATE account_users SET seen_at = $2 WHERE id = ANY($1)";

/// The memberships of user `uid` they have not been told about, oldest first, marked as
/// told at `now`.
pub(in crate::app) async fn acknowledge(pg: &Pg, uid: i64, now: Timestamp) -> Result<Vec<Told>> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn).await?;
    let unseen = rows(pg, &tx, UNSEEN, &[&uid]).await?;
    let ids: Vec<i64> = unseen.iter().map(|r| r.get(0)).collect();
    let additions = unseen
        .iter()
        .map(|r| {
            Ok(Told {
                account_id: r.get(1),
                account_name: r.get(2),
                role: role_of(r.get(3))?,
                added_by: r.get(4),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if !ids.is_empty() {
        exec(pg, &tx, MARK_SEEN, &[&ids, &now.0]).await?;
    }
    commit(pg, tx).await?;
    Ok(additions)
}
