//! Hit/miss counters of running servers, kept in the cache file so that another process
//! (`trifecta cache stats`) can read them.

use rusqlite::{Connection, Transaction, params};

use super::super::ServerStats;
use crate::error::Result;
use trifecta_store::Timestamp;

const UPSERT_STATS: &str = "INSERT INTO solid_cache_stats
       (instance, pid, hits, misses, max_size, max_entries, max_age, started_at, updated_at)
     VALUES (:instance, :pid, :hits, :misses, :max_size, :max_entries, :max_age, :started_at, :updated_at)
     ON CONFLICT (instance) DO UPDATE SET
       hits = excluded.hits, misses = excluded.misses, updated_at = excluded.updated_at";

const PRUNE_STATS: &str = "DELETE FROM solid_cache_stats WHERE updated_at < ?1";

/// Writes `s`, and drops rows of processes silent since `prune_before`.
pub(crate) fn flush(tx: &Transaction<'_>, s: &ServerStats, prune_before: Timestamp) -> Result<()> {
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    tx.prepare_cached(UPSERT_STATS)?
        .execute(rusqlite::named_params! {
            ":instance": s.instance,
            ":pid": s.pid,
            ":hits": clamp(s.hits),
            ":misses": clamp(s.misses),
            ":max_size": clamp(s.max_size),
            ":max_entries": clamp(s.max_entries),
            ":max_age": clamp(s.max_age_micros),
            ":started_at": s.started_at,
            ":updated_at": s.updated_at,
        })?;
    tx.prepare_cached(PRUNE_STATS)?
        .execute(params![prune_before])?;
    Ok(())
}

const DELETE_STATS: &str = "DELETE FROM solid_cache_stats WHERE instance = ?1";

/// Removes the row of `instance` (on graceful shutdown).
pub(crate) fn remove(tx: &Transaction<'_>, instance: &str) -> Result<()> {
    tx.prepare_cached(DELETE_STATS)?
        .execute(params![instance])?;
    Ok(())
}

const SELECT_LIVE: &str =
    "SELECT instance, pid, hits, misses, max_size, max_entries, max_age, started_at, updated_at
     FROM solid_cache_stats WHERE updated_at >= ?1 ORDER BY started_at";

/// Rows flushed at or after `since`.
pub(crate) fn live(conn: &Connection, since: Timestamp) -> Result<Vec<ServerStats>> {
    let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
    let mut stmt = conn.prepare_cached(SELECT_LIVE)?;
    let rows = stmt.query_map(params![since], |r| {
        Ok(ServerStats {
            instance: r.get(0)?,
            pid: r.get(1)?,
            hits: unsigned(r.get(2)?),
            misses: unsigned(r.get(3)?),
            max_size: unsigned(r.get(4)?),
            max_entries: unsigned(r.get(5)?),
            max_age_micros: unsigned(r.get(6)?),
            started_at: r.get(7)?,
            updated_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
