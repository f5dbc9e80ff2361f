//! The presence SQL on PostgreSQL. Every transaction that may write an event first takes the
//! publish lock, so two processes never both decide an id is new (or gone) on a stream.

use trifecta_store::pg::Transaction;
use trifecta_store::{Pg, Timestamp};

use super::super::postgres::{insert_in, lock};
use super::Join;
use crate::Result;
use crate::presence::{channel, leave_event};

/// Whether `id` has a row on `stream`.
async fn present(pg: &Pg, tx: &Transaction<'_>, stream: &str, id: &str) -> Result<bool> {
    const SQL: &str = "SELECT EXISTS (SELECT 1 FROM trifecta_cable_presence
                                      WHERE stream = $1 AND presence_id = $2)";
    let stmt = tx.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    Ok(tx
        .query_one(&stmt, &[&stream, &id])
        .await
        .map_err(|e| pg.error(e))?
        .get(0))
}

/// Upserts the row; writes the join event when the id was not on the stream.
pub(super) async fn join(pg: &Pg, join: &Join, now: Timestamp) -> Result<Option<i64>> {
    const SQL: &str = "INSERT INTO trifecta_cable_presence
                         (stream, member, presence_id, info, node, expires_at)
                       VALUES ($1, $2, $3, $4, $5, $6)
                       ON CONFLICT (stream, member) DO UPDATE SET
                         presence_id = excluded.presence_id, info = excluded.info,
                         node = excluded.node, expires_at = excluded.expires_at";
    let mut conn = pg.get().await?;
    let tx = conn.transaction().await.map_err(|e| pg.error(e))?;
    lock(pg, &tx).await?;
    let new = !present(pg, &tx, &join.stream, &join.id).await?;
    let stmt = tx.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    tx.execute(
        &stmt,
        &[
            &join.stream,
            &join.member,
            &join.id,
            &join.info,
            &join.node,
            &join.expires_at.0,
        ],
    )
    .await
    .map_err(|e| pg.error(e))?;
    let written = if new {
        Some(insert_in(pg, &tx, &channel(&join.stream), &join.event, now).await?)
    } else {
        None
    };
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(written)
}

/// Deletes the row; writes the leave event when it was its id's last. Returns the event's
/// message id and the presence id.
pub(super) async fn leave(
    pg: &Pg,
    stream: &str,
    member: &str,
    now: Timestamp,
) -> Result<Option<(i64, String)>> {
    const SQL: &str = "DELETE FROM trifecta_cable_presence WHERE stream = $1 AND member = $2
                       RETURNING presence_id";
    let mut conn = pg.get().await?;
    let tx = conn.transaction().await.map_err(|e| pg.error(e))?;
    lock(pg, &tx).await?;
    let stmt = tx.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    let Some(row) = tx
        .query_opt(&stmt, &[&stream, &member])
        .await
        .map_err(|e| pg.error(e))?
    else {
        return Ok(None);
    };
    let id: String = row.get(0);
    let written = if present(pg, &tx, stream, &id).await? {
        None
    } else {
        let msg = insert_in(pg, &tx, &channel(stream), &leave_event(&id), now).await?;
        Some((msg, id))
    };
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(written)
}

/// Detaches a closed session's rows until `expires_at`.
pub(super) async fn detach(pg: &Pg, member: &str, expires_at: Timestamp) -> Result<()> {
    const SQL: &str =
        "UPDATE trifecta_cable_presence SET node = '', expires_at = $2 WHERE member = $1";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    conn.execute(&stmt, &[&member, &expires_at.0])
        .await
        .map_err(|e| pg.error(e))?;
    Ok(())
}

/// Extends the rows `node` keeps alive.
pub(super) async fn refresh(pg: &Pg, node: &str, expires_at: Timestamp) -> Result<()> {
    const SQL: &str = "UPDATE trifecta_cable_presence SET expires_at = $2 WHERE node = $1";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    conn.execute(&stmt, &[&node, &expires_at.0])
        .await
        .map_err(|e| pg.error(e))?;
    Ok(())
}

/// Whether any row expired by `now`.
pub(super) async fn expired(pg: &Pg, now: Timestamp) -> Result<bool> {
    const SQL: &str =
        "SELECT EXISTS (SELECT 1 FROM trifecta_cable_presence WHERE expires_at <= $1)";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    Ok(conn
        .query_one(&stmt, &[&now.0])
        .await
        .map_err(|e| pg.error(e))?
        .get(0))
}

/// Deletes the rows expired by `now`; writes a leave event for each (stream, id) left with
/// no row. Returns (message id, stream, presence id) per event.
pub(super) async fn sweep(pg: &Pg, now: Timestamp) -> Result<Vec<(i64, String, String)>> {
    const SQL: &str = "DELETE FROM trifecta_cable_presence WHERE expires_at <= $1
                       RETURNING stream, presence_id";
    let mut conn = pg.get().await?;
    let tx = conn.transaction().await.map_err(|e| pg.error(e))?;
    lock(pg, &tx).await?;
    let stmt = tx.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    let mut gone: Vec<(String, String)> = tx
        .query(&stmt, &[&now.0])
        .await
        .map_err(|e| pg.error(e))?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    gone.sort();
    gone.dedup();
    let mut out = Vec::new();
    for (stream, id) in gone {
        if !present(pg, &tx, &stream, &id).await? {
            let msg = insert_in(pg, &tx, &channel(&stream), &leave_event(&id), now).await?;
            out.push((msg, stream, id));
        }
    }
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(out)
}

/// `(presence id, info)` of every row on `stream`, by id.
pub(super) async fn list(pg: &Pg, stream: &str) -> Result<Vec<(String, String)>> {
    const SQL: &str = "SELECT presence_id, info FROM trifecta_cable_presence
                       WHERE stream = $1 ORDER BY presence_id";
    let conn = pg.get().await?;
    let stmt = conn.prepare_cached(SQL).await.map_err(|e| pg.error(e))?;
    Ok(conn
        .query(&stmt, &[&stream])
        .await
        .map_err(|e| pg.error(e))?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
