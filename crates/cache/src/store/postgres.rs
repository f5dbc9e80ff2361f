//! The cache's SQL on PostgreSQL: every statement, each next to the one function that runs
//! it. Each function is one transaction on a pooled connection.
//!
//! Every write transaction first locks the one row of `solid_cache_totals` (which the
//! trigger updates anyway): cache writes then run one at a time across every server, as on
//! SQLite, and two multi-key writes cannot deadlock on that row. `lock_timeout` bounds the
//! wait for it by the caller's timeout.

use std::future::Future;
use std::time::Duration;

use trifecta_store::pg::Transaction;
use trifecta_store::{Pg, Timestamp};

use super::{EntryInfo, Limits, Oldest, ServerStats, Totals, byte_size, incremented, victims};
use crate::error::{Error, Result};
use crate::key::Key;

/// Runs `op`, failing when it takes longer than `timeout` (a busy server or no free
/// connection); an abandoned transaction is rolled back by the driver.
pub(super) async fn within<T>(
    pg: &Pg,
    timeout: Duration,
    op: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, op).await {
        Ok(done) => done,
        Err(_) => Err(Error::Store(trifecta_store::Error::Postgres {
            db: pg.name(),
            cause: format!("no answer within {timeout:?}").into(),
        })),
    }
}

const SELECT_VALUES: &str = "SELECT key_hash, key, value FROM solid_cache_entries
     WHERE key_hash = ANY($1) AND (expires_at IS NULL OR expires_at > $2)";

/// The live values of `keys`, in order (`None` for a miss, or for a row whose stored key
/// differs: a `key_hash` collision).
pub(super) async fn values(pg: &Pg, keys: &[Key], now: Timestamp) -> Result<Vec<Option<Vec<u8>>>> {
    let conn = pg.get().await?;
    let stmt = conn
        .prepare_cached(SELECT_VALUES)
        .await
        .map_err(|e| pg.error(e))?;
    let hashes: Vec<i64> = keys.iter().map(|k| k.hash).collect();
    let rows = conn
        .query(&stmt, &[&hashes, &now.0])
        .await
        .map_err(|e| pg.error(e))?;
    let found: Vec<(i64, Vec<u8>, Vec<u8>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    Ok(keys
        .iter()
        .map(|k| {
            found
                .iter()
                .find(|(hash, stored, _)| *hash == k.hash && *stored == k.bytes)
                .map(|(_, _, value)| value.clone())
        })
        .collect())
}

const SELECT_ENTRY: &str =
    "SELECT value, created_at, expires_at, byte_size FROM solid_cache_entries
     WHERE key_hash = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)";

/// The live entry of `key` with its metadata.
pub(super) async fn entry(pg: &Pg, key: &Key, now: Timestamp) -> Result<Option<EntryInfo>> {
    let conn = pg.get().await?;
    let stmt = conn
        .prepare_cached(SELECT_ENTRY)
        .await
        .map_err(|e| pg.error(e))?;
    let row = conn
        .query_opt(&stmt, &[&key.hash, &key.bytes, &now.0])
        .await
        .map_err(|e| pg.error(e))?;
    Ok(row.map(|r| EntryInfo {
        value: r.get(0),
        created_at: Timestamp(r.get(1)),
        expires_at: r.get::<_, Option<i64>>(2).map(Timestamp),
        byte_size: r.get(3),
    }))
}

/// Opens a write transaction: `lock_timeout` from `timeout`, then the totals row locked.
async fn begin<'a>(
    pg: &Pg,
    conn: &'a mut trifecta_store::pg::Connection,
    timeout: Duration,
) -> Result<Transaction<'a>> {
    let tx = conn.transaction().await.map_err(|e| pg.error(e))?;
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
    tx.batch_execute(&format!(
        "SET LOCAL lock_timeout = {ms}; SELECT 1 FROM solid_cache_totals WHERE id = 1 FOR UPDATE"
    ))
    .await
    .map_err(|e| pg.error(e))?;
    Ok(tx)
}

const UPSERT: &str =
    "INSERT INTO solid_cache_entries (key, value, created_at, expires_at, key_hash, byte_size)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (key_hash) DO UPDATE SET
       key = excluded.key, value = excluded.value,
       expires_at = excluded.expires_at, byte_size = excluded.byte_size";

const SELECT_CURRENT: &str =
    "SELECT key, value, expires_at FROM solid_cache_entries WHERE key_hash = $1";

/// The live value of `key` as seen inside the write transaction.
async fn current(
    pg: &Pg,
    tx: &Transaction<'_>,
    key: &Key,
    now: Timestamp,
) -> Result<Option<(Vec<u8>, Option<Timestamp>)>> {
    let stmt = tx
        .prepare_cached(SELECT_CURRENT)
        .await
        .map_err(|e| pg.error(e))?;
    let row = tx
        .query_opt(&stmt, &[&key.hash])
        .await
        .map_err(|e| pg.error(e))?;
    Ok(row.and_then(|r| {
        let stored: Vec<u8> = r.get(0);
        let expires_at = r.get::<_, Option<i64>>(2).map(Timestamp);
        let live = stored == key.bytes && expires_at.is_none_or(|e| e > now);
        live.then(|| (r.get(1), expires_at))
    }))
}

async fn upsert(
    pg: &Pg,
    tx: &Transaction<'_>,
    key: &Key,
    value: &[u8],
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> Result<()> {
    let stmt = tx.prepare_cached(UPSERT).await.map_err(|e| pg.error(e))?;
    tx.execute(
        &stmt,
        &[
            &key.bytes,
            &value,
            &now.0,
            &expires_at.map(|t| t.0),
            &key.hash,
            &byte_size(&key.bytes, value),
        ],
    )
    .await
    .map_err(|e| pg.error(e))?;
    Ok(())
}

/// Writes `rows` in one transaction (with `unless_exist`, only keys without a live entry);
/// returns how many were written.
pub(super) async fn write(
    pg: &Pg,
    rows: &[(Key, Vec<u8>)],
    now: Timestamp,
    expires_at: Option<Timestamp>,
    unless_exist: bool,
    timeout: Duration,
) -> Result<usize> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn, timeout).await?;
    let mut written = 0;
    for (key, value) in rows {
        if unless_exist && current(pg, &tx, key, now).await?.is_some() {
            continue;
        }
        upsert(pg, &tx, key, value, now, expires_at).await?;
        written += 1;
    }
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(written)
}

/// Adds `amount` to the integer under `key` ([`incremented`]) and returns the result.
pub(super) async fn increment(
    pg: &Pg,
    key: &Key,
    amount: i64,
    now: Timestamp,
    expires_at: Option<Timestamp>,
    timeout: Duration,
) -> Result<i64> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn, timeout).await?;
    let (next, expiry) = incremented(current(pg, &tx, key, now).await?, amount, expires_at);
    upsert(pg, &tx, key, next.to_string().as_bytes(), now, expiry).await?;
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(next)
}

const DELETE_KEY: &str = "DELETE FROM solid_cache_entries WHERE key_hash = $1 AND key = $2";

/// Deletes `keys`; returns how many rows went.
pub(super) async fn delete(pg: &Pg, keys: &[Key], timeout: Duration) -> Result<usize> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn, timeout).await?;
    let stmt = tx
        .prepare_cached(DELETE_KEY)
        .await
        .map_err(|e| pg.error(e))?;
    let mut n = 0;
    for k in keys {
        n += tx
            .execute(&stmt, &[&k.hash, &k.bytes])
            .await
            .map_err(|e| pg.error(e))?;
    }
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Deletes every entry; returns how many.
pub(super) async fn clear(pg: &Pg) -> Result<usize> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn, trifecta_store::BUSY_TIMEOUT).await?;
    let n = tx
        .execute("DELETE FROM solid_cache_entries", &[])
        .await
        .map_err(|e| pg.error(e))?;
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

const SELECT_TOTALS: &str = "SELECT entries, bytes FROM solid_cache_totals WHERE id = 1";

const SELECT_OLDEST: &str = "SELECT id, created_at, expires_at, byte_size FROM solid_cache_entries
     ORDER BY id LIMIT $1";

const DELETE_IDS: &str = "DELETE FROM solid_cache_entries WHERE id = ANY($1)";

/// One eviction round ([`victims`] among the `3 × batch` oldest rows); returns how many went.
pub(super) async fn expire_round(
    pg: &Pg,
    now: Timestamp,
    limits: Limits,
    timeout: Duration,
) -> Result<usize> {
    let mut conn = pg.get().await?;
    let tx = begin(pg, &mut conn, timeout).await?;
    let t = tx
        .query_one(SELECT_TOTALS, &[])
        .await
        .map_err(|e| pg.error(e))?;
    let totals = Totals {
        entries: t.get(0),
        bytes: t.get(1),
    };
    let stmt = tx
        .prepare_cached(SELECT_OLDEST)
        .await
        .map_err(|e| pg.error(e))?;
    let oldest: Vec<Oldest> = tx
        .query(&stmt, &[&(i64::from(limits.batch) * 3)])
        .await
        .map_err(|e| pg.error(e))?
        .iter()
        .map(|r| Oldest {
            id: r.get(0),
            created_at: Timestamp(r.get(1)),
            expires_at: r.get::<_, Option<i64>>(2).map(Timestamp),
            byte_size: r.get(3),
        })
        .collect();
    let ids = victims(totals, &oldest, now, limits);
    if !ids.is_empty() {
        let stmt = tx
            .prepare_cached(DELETE_IDS)
            .await
            .map_err(|e| pg.error(e))?;
        tx.execute(&stmt, &[&ids]).await.map_err(|e| pg.error(e))?;
    }
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(ids.len())
}

const SELECT_LIVE: &str =
    "SELECT instance, pid, hits, misses, max_size, max_entries, max_age, started_at, updated_at
     FROM solid_cache_stats WHERE updated_at >= $1 ORDER BY started_at";

/// The totals and the counters of servers that flushed since `since`.
pub(super) async fn stats(pg: &Pg, since: Timestamp) -> Result<(Totals, Vec<ServerStats>)> {
    let conn = pg.get().await?;
    let t = conn
        .query_one(SELECT_TOTALS, &[])
        .await
        .map_err(|e| pg.error(e))?;
    let totals = Totals {
        entries: t.get(0),
        bytes: t.get(1),
    };
    let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
    let servers = conn
        .query(SELECT_LIVE, &[&since.0])
        .await
        .map_err(|e| pg.error(e))?
        .iter()
        .map(|r| ServerStats {
            instance: r.get(0),
            pid: r.get(1),
            hits: unsigned(r.get(2)),
            misses: unsigned(r.get(3)),
            max_size: unsigned(r.get(4)),
            max_entries: unsigned(r.get(5)),
            max_age_micros: unsigned(r.get(6)),
            started_at: Timestamp(r.get(7)),
            updated_at: Timestamp(r.get(8)),
        })
        .collect();
    Ok((totals, servers))
}

const UPSERT_STATS: &str = "INSERT INTO solid_cache_stats
       (instance, pid, hits, misses, max_size, max_entries, max_age, started_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (instance) DO UPDATE SET
       hits = excluded.hits, misses = excluded.misses, updated_at = excluded.updated_at";

const PRUNE_STATS: &str = "DELETE FROM solid_cache_stats WHERE updated_at < $1";

/// Upserts one process's counters and prunes rows not updated since `prune_before`.
pub(super) async fn flush_stats(pg: &Pg, s: &ServerStats, prune_before: Timestamp) -> Result<()> {
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut conn = pg.get().await?;
    let tx = conn.transaction().await.map_err(|e| pg.error(e))?;
    let upsert = tx
        .prepare_cached(UPSERT_STATS)
        .await
        .map_err(|e| pg.error(e))?;
    tx.execute(
        &upsert,
        &[
            &s.instance,
            &s.pid,
            &clamp(s.hits),
            &clamp(s.misses),
            &clamp(s.max_size),
            &clamp(s.max_entries),
            &clamp(s.max_age_micros),
            &s.started_at.0,
            &s.updated_at.0,
        ],
    )
    .await
    .map_err(|e| pg.error(e))?;
    let prune = tx
        .prepare_cached(PRUNE_STATS)
        .await
        .map_err(|e| pg.error(e))?;
    tx.execute(&prune, &[&prune_before.0])
        .await
        .map_err(|e| pg.error(e))?;
    tx.commit().await.map_err(|e| pg.error(e))?;
    Ok(())
}

/// Removes one process's counters.
pub(super) async fn remove_stats(pg: &Pg, instance: &str) -> Result<()> {
    let conn = pg.get().await?;
    conn.execute(
        "DELETE FROM solid_cache_stats WHERE instance = $1",
        &[&instance],
    )
    .await
    .map_err(|e| pg.error(e))?;
    Ok(())
}
