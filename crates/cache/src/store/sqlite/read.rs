//! Reads on SQLite. A stored key that differs from the asked one (a `key_hash` collision) and an
//! entry past its `expires_at` both read as absent.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::super::EntryInfo;
use crate::error::Result;
use crate::key::Key;
use trifecta_store::{BUSY_TIMEOUT, Timestamp};

/// Runs `f` with the connection's busy timeout lowered to `timeout`, so a file locked by
/// another process makes a read fail fast instead of waiting the full [`BUSY_TIMEOUT`].
pub(crate) fn with_read_timeout<T>(
    conn: &Connection,
    timeout: Duration,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    conn.busy_timeout(timeout)?;
    let out = f(conn);
    conn.busy_timeout(BUSY_TIMEOUT)?;
    out
}

const SELECT_VALUE: &str = "SELECT value FROM solid_cache_entries
     WHERE key_hash = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at > ?3)";

/// The live values of `keys`, in order (`None` for a miss).
pub(crate) fn values(
    conn: &Connection,
    keys: &[Key],
    now: Timestamp,
) -> Result<Vec<Option<Vec<u8>>>> {
    let mut stmt = conn.prepare_cached(SELECT_VALUE)?;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        out.push(
            stmt.query_row(params![k.hash, k.bytes, now], |r| r.get::<_, Vec<u8>>(0))
                .optional()?,
        );
    }
    Ok(out)
}

const SELECT_EXISTS: &str = "SELECT 1 FROM solid_cache_entries
     WHERE key_hash = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at > ?3)";

/// Whether `key` has a live entry.
pub(crate) fn exists(conn: &Connection, key: &Key, now: Timestamp) -> Result<bool> {
    let mut stmt = conn.prepare_cached(SELECT_EXISTS)?;
    Ok(stmt.exists(params![key.hash, key.bytes, now])?)
}

const SELECT_ENTRY: &str =
    "SELECT value, created_at, expires_at, byte_size FROM solid_cache_entries
     WHERE key_hash = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at > ?3)";

/// The live entry of `key` with its metadata.
pub(crate) fn entry(conn: &Connection, key: &Key, now: Timestamp) -> Result<Option<EntryInfo>> {
    let mut stmt = conn.prepare_cached(SELECT_ENTRY)?;
    Ok(stmt
        .query_row(params![key.hash, key.bytes, now], |r| {
            Ok(EntryInfo {
                value: r.get(0)?,
                created_at: r.get(1)?,
                expires_at: r.get(2)?,
                byte_size: r.get(3)?,
            })
        })
        .optional()?)
}
