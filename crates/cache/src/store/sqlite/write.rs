//! Writes on SQLite, each inside the caller's `BEGIN IMMEDIATE` transaction. An overwrite keeps the
//! row's `id` and `created_at` (its FIFO place), as Solid Cache does.

use rusqlite::{OptionalExtension, Transaction, params};

use super::super::{byte_size, incremented};
use crate::error::Result;
use crate::key::Key;
use trifecta_store::Timestamp;

const UPSERT: &str =
    "INSERT INTO solid_cache_entries (key, value, created_at, expires_at, key_hash, byte_size)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (key_hash) DO UPDATE SET
       key = excluded.key, value = excluded.value,
       expires_at = excluded.expires_at, byte_size = excluded.byte_size";

/// Writes `value` under `key`, replacing what was there.
pub(crate) fn upsert(
    tx: &Transaction<'_>,
    key: &Key,
    value: &[u8],
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(UPSERT)?;
    stmt.execute(params![
        key.bytes,
        value,
        now,
        expires_at,
        key.hash,
        byte_size(&key.bytes, value)
    ])?;
    Ok(())
}

const SELECT_CURRENT: &str =
    "SELECT key, value, expires_at FROM solid_cache_entries WHERE key_hash = ?1";

/// The live value of `key` as seen inside the write transaction.
fn current(
    tx: &Transaction<'_>,
    key: &Key,
    now: Timestamp,
) -> Result<Option<(Vec<u8>, Option<Timestamp>)>> {
    let mut stmt = tx.prepare_cached(SELECT_CURRENT)?;
    let row = stmt
        .query_row(params![key.hash], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Option<Timestamp>>(2)?,
            ))
        })
        .optional()?;
    Ok(row.and_then(|(stored, value, expires_at)| {
        let live = stored == key.bytes && expires_at.is_none_or(|e| e > now);
        live.then_some((value, expires_at))
    }))
}

/// Writes only when `key` has no live entry; true when it wrote.
pub(crate) fn insert_unless_exist(
    tx: &Transaction<'_>,
    key: &Key,
    value: &[u8],
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> Result<bool> {
    if current(tx, key, now)?.is_some() {
        return Ok(false);
    }
    upsert(tx, key, value, now, expires_at)?;
    Ok(true)
}

/// Adds `amount` to the integer under `key` and returns the result ([`incremented`]).
pub(crate) fn increment(
    tx: &Transaction<'_>,
    key: &Key,
    amount: i64,
    now: Timestamp,
    expires_at: Option<Timestamp>,
) -> Result<i64> {
    let (next, expiry) = incremented(current(tx, key, now)?, amount, expires_at);
    upsert(tx, key, next.to_string().as_bytes(), now, expiry)?;
    Ok(next)
}

const DELETE_KEY: &str = "DELETE FROM solid_cache_entries WHERE key_hash = ?1 AND key = ?2";

/// Deletes `keys`; returns how many rows went.
pub(crate) fn delete(tx: &Transaction<'_>, keys: &[Key]) -> Result<usize> {
    let mut stmt = tx.prepare_cached(DELETE_KEY)?;
    let mut n = 0;
    for k in keys {
        n += stmt.execute(params![k.hash, k.bytes])?;
    }
    Ok(n)
}

const DELETE_ALL: &str = "DELETE FROM solid_cache_entries";

/// Deletes every entry; returns how many.
pub(crate) fn clear(tx: &Transaction<'_>) -> Result<usize> {
    Ok(tx.execute(DELETE_ALL, [])?)
}
