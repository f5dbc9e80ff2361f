//! Minute statistics on PostgreSQL: a server adds its counters to its own rows of
//! `trifecta_queue_minutes` (no other server writes them, so the upserts never wait on
//! another's); readers sum every server's rows per minute.

use trifecta_store::{Pg, Timestamp};

use super::super::views::{Minute, MinuteDelta, signed, unsigned};
use super::Tx;
use crate::error::Result;

const ADD: &str = "INSERT INTO trifecta_queue_minutes AS m
   (minute, node, queue_name, enqueued, finished, failed, retried, discarded,
    delay_count, delay_sum_us, delay_max_us)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
 ON CONFLICT (minute, node, queue_name) DO UPDATE SET
   enqueued = m.enqueued + excluded.enqueued, finished = m.finished + excluded.finished,
   failed = m.failed + excluded.failed, retried = m.retried + excluded.retried,
   discarded = m.discarded + excluded.discarded,
   delay_count = m.delay_count + excluded.delay_count,
   delay_sum_us = m.delay_sum_us + excluded.delay_sum_us,
   delay_max_us = GREATEST(m.delay_max_us, excluded.delay_max_us)";
const PRUNE: &str = "DELETE FROM trifecta_queue_minutes WHERE minute < $1";

/// Adds `deltas` to node `node`'s rows of `minute`; then, with `prune_before`, deletes
/// the rows of every node older than that (a range of the primary key).
pub(in super::super) async fn add(
    pg: &Pg,
    minute: Timestamp,
    node: i64,
    deltas: &[MinuteDelta],
    prune_before: Option<Timestamp>,
) -> Result<()> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    for d in deltas {
        tx.exec(
            ADD,
            &[
                &minute.0,
                &node,
                &d.queue_name,
                &signed(d.enqueued),
                &signed(d.finished),
                &signed(d.failed),
                &signed(d.retried),
                &signed(d.discarded),
                &signed(d.delay_count),
                &signed(d.delay_sum_us),
                &signed(d.delay_max_us),
            ],
        )
        .await?;
    }
    if let Some(before) = prune_before {
        tx.exec(PRUNE, &[&before.0]).await?;
    }
    tx.commit().await
}

const READ: &str = "SELECT minute, sum(enqueued)::bigint, sum(finished)::bigint,
   sum(failed)::bigint, sum(retried)::bigint, sum(discarded)::bigint,
   sum(delay_count)::bigint, sum(delay_sum_us)::bigint, max(delay_max_us)
  FROM trifecta_queue_minutes WHERE minute >= $1
  GROUP BY minute ORDER BY minute";

/// Every server's rows from minute `since` on, summed per minute, oldest first.
pub(in super::super) async fn read(pg: &Pg, since: Timestamp) -> Result<Vec<Minute>> {
    let mut conn = pg.get().await?;
    let tx = Tx::begin(pg, &mut conn).await?;
    let rows = tx.rows(READ, &[&since.0]).await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|r| {
            let n = |i| unsigned(r.get::<_, i64>(i));
            Minute {
                at: Timestamp(r.get(0)),
                enqueued: n(1),
                finished: n(2),
                failed: n(3),
                retried: n(4),
                discarded: n(5),
                delay_count: n(6),
                delay_sum_us: n(7),
                delay_max_us: n(8),
            }
        })
        .collect())
}
