//! Minute statistics on SQLite: a server adds its counters to its own rows of
//! `trifecta_queue_minutes`; readers sum every server's rows per minute.

use rusqlite::{Connection, named_params};

use super::super::views::{Minute, MinuteDelta, signed, unsigned};
use crate::error::Result;
use trifecta_store::Timestamp;

const ADD: &str = "INSERT INTO trifecta_queue_minutes
   (minute, node, queue_name, enqueued, finished, failed, retried, discarded,
    delay_count, delay_sum_us, delay_max_us)
 VALUES (:minute, :node, :queue, :enqueued, :finished, :failed, :retried, :discarded,
    :delay_count, :delay_sum, :delay_max)
 ON CONFLICT (minute, node, queue_name) DO UPDATE SET
   enqueued = enqueued + excluded.enqueued, finished = finished + excluded.finished,
   failed = failed + excluded.failed, retried = retried + excluded.retried,
   discarded = discarded + excluded.discarded,
   delay_count = delay_count + excluded.delay_count,
   delay_sum_us = delay_sum_us + excluded.delay_sum_us,
   delay_max_us = max(delay_max_us, excluded.delay_max_us)";
const PRUNE: &str = "DELETE FROM trifecta_queue_minutes WHERE minute < ?1";

/// Adds `deltas` to node `node`'s rows of `minute`; then, with `prune_before`, deletes
/// the rows of every node older than that (a range of the primary key).
pub(crate) fn add(
    conn: &Connection,
    minute: Timestamp,
    node: i64,
    deltas: &[MinuteDelta],
    prune_before: Option<Timestamp>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(ADD)?;
    for d in deltas {
        stmt.execute(named_params! {
            ":minute": minute, ":node": node, ":queue": d.queue_name,
            ":enqueued": signed(d.enqueued), ":finished": signed(d.finished),
            ":failed": signed(d.failed), ":retried": signed(d.retried),
            ":discarded": signed(d.discarded), ":delay_count": signed(d.delay_count),
            ":delay_sum": signed(d.delay_sum_us), ":delay_max": signed(d.delay_max_us),
        })?;
    }
    if let Some(before) = prune_before {
        conn.prepare_cached(PRUNE)?.execute([before])?;
    }
    Ok(())
}

const READ: &str = "SELECT minute, sum(enqueued), sum(finished), sum(failed), sum(retried),
   sum(discarded), sum(delay_count), sum(delay_sum_us), max(delay_max_us)
  FROM trifecta_queue_minutes WHERE minute >= ?1
  GROUP BY minute ORDER BY minute";

/// Every server's rows from minute `since` on, summed per minute, oldest first.
pub(crate) fn read(conn: &Connection, since: Timestamp) -> Result<Vec<Minute>> {
    let mut stmt = conn.prepare_cached(READ)?;
    let rows = stmt.query_map([since], |r| {
        let n = |i| r.get::<_, i64>(i).map(unsigned);
        Ok(Minute {
            at: r.get(0)?,
            enqueued: n(1)?,
            finished: n(2)?,
            failed: n(3)?,
            retried: n(4)?,
            discarded: n(5)?,
            delay_count: n(6)?,
            delay_sum_us: n(7)?,
            delay_max_us: n(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
