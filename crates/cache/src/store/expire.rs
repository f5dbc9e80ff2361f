//! Eviction rounds: the oldest rows (FIFO by `id`) go first, those past `max_age` or their
//! own `expires_at` at any time, and all of them while the totals exceed `max_entries` or
//! `max_size`.

use rusqlite::{Connection, Transaction, params};

use crate::error::Result;
use trifecta_store::Timestamp;

/// Exact entry count and byte total, kept by triggers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Rows in `solid_cache_entries`.
    pub entries: i64,
    /// Sum of their `byte_size`.
    pub bytes: i64,
}

const SELECT_TOTALS: &str = "SELECT entries, bytes FROM solid_cache_totals WHERE id = 1";

/// The current totals.
pub(crate) fn totals(conn: &Connection) -> Result<Totals> {
    let mut stmt = conn.prepare_cached(SELECT_TOTALS)?;
    Ok(stmt.query_row([], |r| {
        Ok(Totals {
            entries: r.get(0)?,
            bytes: r.get(1)?,
        })
    })?)
}

/// What one round may remove.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Rows created before this are stale.
    pub created_before: Option<Timestamp>,
    /// Most rows kept.
    pub max_entries: Option<u64>,
    /// Largest byte total kept.
    pub max_size: Option<u64>,
    /// Most rows removed by one round.
    pub batch: u32,
}

const SELECT_OLDEST: &str = "SELECT id, created_at, expires_at, byte_size FROM solid_cache_entries
     ORDER BY id LIMIT ?1";

const DELETE_ID: &str = "DELETE FROM solid_cache_entries WHERE id = ?1";

/// Removes up to `limits.batch` of the `3 × batch` oldest rows: every one while the cache
/// is over a limit, otherwise only stale ones (past `max_age` or expired). Returns how many
/// rows went.
pub(crate) fn round(tx: &Transaction<'_>, now: Timestamp, limits: Limits) -> Result<usize> {
    let t = totals(tx)?;
    let over = |limit: Option<u64>, have: i64| {
        limit.map_or(0, |m| {
            have.saturating_sub(i64::try_from(m).unwrap_or(i64::MAX))
                .max(0)
        })
    };
    let mut excess_entries = over(limits.max_entries, t.entries);
    let mut excess_bytes = over(limits.max_size, t.bytes);
    let batch = usize::try_from(limits.batch).unwrap_or(usize::MAX);

    let mut victims = Vec::with_capacity(batch);
    {
        let mut stmt = tx.prepare_cached(SELECT_OLDEST)?;
        let mut rows = stmt.query(params![i64::from(limits.batch) * 3])?;
        while let Some(r) = rows.next()? {
            if victims.len() >= batch {
                break;
            }
            let id: i64 = r.get(0)?;
            let created_at: Timestamp = r.get(1)?;
            let expires_at: Option<Timestamp> = r.get(2)?;
            let size: i64 = r.get(3)?;
            let stale = limits.created_before.is_some_and(|b| created_at < b)
                || expires_at.is_some_and(|e| e <= now);
            if excess_entries > 0 || excess_bytes > 0 || stale {
                victims.push(id);
                excess_entries -= 1;
                excess_bytes -= size;
            }
        }
    }
    let mut stmt = tx.prepare_cached(DELETE_ID)?;
    for id in &victims {
        stmt.execute(params![id])?;
    }
    Ok(victims.len())
}
