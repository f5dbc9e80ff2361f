//! Eviction rounds on SQLite, with the totals the triggers keep.

use rusqlite::{Connection, Transaction, params};

use super::super::{Limits, Oldest, Totals, victims};
use crate::error::Result;
use trifecta_store::Timestamp;

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

const SELECT_OLDEST: &str = "SELECT id, created_at, expires_at, byte_size FROM solid_cache_entries
     ORDER BY id LIMIT ?1";

const DELETE_ID: &str = "DELETE FROM solid_cache_entries WHERE id = ?1";

/// Removes the rows [`victims`] picks among the `3 × batch` oldest; returns how many went.
pub(crate) fn round(tx: &Transaction<'_>, now: Timestamp, limits: Limits) -> Result<usize> {
    let t = totals(tx)?;
    let oldest = {
        let mut stmt = tx.prepare_cached(SELECT_OLDEST)?;
        let rows = stmt.query_map(params![i64::from(limits.batch) * 3], |r| {
            Ok(Oldest {
                id: r.get(0)?,
                created_at: r.get(1)?,
                expires_at: r.get(2)?,
                byte_size: r.get(3)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let victims = victims(t, &oldest, now, limits);
    let mut stmt = tx.prepare_cached(DELETE_ID)?;
    for id in &victims {
        stmt.execute(params![id])?;
    }
    Ok(victims.len())
}
