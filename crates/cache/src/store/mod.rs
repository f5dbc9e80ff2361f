//! The store seam of Solid Cache: its tables in an SQLite file (`sqlite`) or on a PostgreSQL
//! server (`postgres`). [`Store`] is what the [`Cache`](super::Cache) methods call; each
//! operation is one transaction on one backend. The rules both backends share (what an
//! eviction round removes, what an increment starts from) live here, once.

mod postgres;
mod sqlite;

use std::time::Duration;

use trifecta_store::{Backend, Timestamp};

use crate::error::Result;
use crate::key::Key;

/// What Solid Cache adds to key and value lengths for a row's `byte_size`.
pub(crate) const ROW_OVERHEAD: i64 = 140;

/// `byte_size` of a row holding `key` and `value`.
pub(crate) fn byte_size(key: &[u8], value: &[u8]) -> i64 {
    i64::try_from(key.len() + value.len())
        .unwrap_or(i64::MAX)
        .saturating_add(ROW_OVERHEAD)
}

/// One stored entry, for `trifecta cache get`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    /// The stored value bytes (JSON).
    pub value: Vec<u8>,
    /// When the key was first written (kept across overwrites).
    pub created_at: Timestamp,
    /// When it expires, if it has its own expiry.
    pub expires_at: Option<Timestamp>,
    /// Key + value + 140 bytes.
    pub byte_size: i64,
}

/// One process's flushed counters and limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerStats {
    /// Random id of that process's cache handle.
    pub instance: String,
    /// Its process id.
    pub pid: i64,
    /// Reads that found a live entry since it started.
    pub hits: u64,
    /// Reads that did not.
    pub misses: u64,
    /// Its `max_size` (0: none).
    pub max_size: u64,
    /// Its `max_entries` (0: none).
    pub max_entries: u64,
    /// Its `max_age` in microseconds (0: none).
    pub max_age_micros: u64,
    /// When it started.
    pub started_at: Timestamp,
    /// When it last flushed.
    pub updated_at: Timestamp,
}

/// Exact entry count and byte total, kept by triggers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Rows in `solid_cache_entries`.
    pub entries: i64,
    /// Sum of their `byte_size`.
    pub bytes: i64,
}

/// What one eviction round may remove.
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

/// One of the oldest rows, as an eviction round sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Oldest {
    pub id: i64,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub byte_size: i64,
}

/// The ids one round removes from `oldest` (the `3 × batch` oldest rows, FIFO by `id`): every
/// one while the totals exceed `max_entries` or `max_size`, otherwise only stale ones (past
/// `max_age` or their own `expires_at`); at most `batch`.
pub(crate) fn victims(t: Totals, oldest: &[Oldest], now: Timestamp, limits: Limits) -> Vec<i64> {
    let over = |limit: Option<u64>, have: i64| {
        limit.map_or(0, |m| {
            have.saturating_sub(i64::try_from(m).unwrap_or(i64::MAX))
                .max(0)
        })
    };
    let mut excess_entries = over(limits.max_entries, t.entries);
    let mut excess_bytes = over(limits.max_size, t.bytes);
    let batch = usize::try_from(limits.batch).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(batch.min(oldest.len()));
    for row in oldest {
        if out.len() >= batch {
            break;
        }
        let stale = limits.created_before.is_some_and(|b| row.created_at < b)
            || row.expires_at.is_some_and(|e| e <= now);
        if excess_entries > 0 || excess_bytes > 0 || stale {
            out.push(row.id);
            excess_entries -= 1;
            excess_bytes -= row.byte_size;
        }
    }
    out
}

/// An increment's result and expiry: a live integer (a JSON number or numeric string, with
/// its expiry) plus `amount`; anything else starts from 0 with `expires_at`.
pub(crate) fn incremented(
    current: Option<(Vec<u8>, Option<Timestamp>)>,
    amount: i64,
    expires_at: Option<Timestamp>,
) -> (i64, Option<Timestamp>) {
    let (base, expiry) = match current {
        Some((value, kept)) => match as_integer(&value) {
            Some(n) => (n, kept),
            None => (0, expires_at),
        },
        None => (0, expires_at),
    };
    (base.saturating_add(amount), expiry)
}

fn as_integer(value: &[u8]) -> Option<i64> {
    match serde_json::from_slice::<serde_json::Value>(value).ok()? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The cache's store: its operations on whichever [`Backend`] it is. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Store(pub(crate) Backend);

impl Store {
    /// The live values of `keys`, in order (`None` for a miss); waits at most `timeout`.
    pub(crate) async fn values(
        &self,
        keys: Vec<Key>,
        now: Timestamp,
        timeout: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| {
                    sqlite::read::with_read_timeout(conn, timeout, |c| {
                        sqlite::read::values(c, &keys, now)
                    })
                })
                .await
            }
            Backend::Postgres(pg) => {
                postgres::within(pg, timeout, postgres::values(pg, &keys, now)).await
            }
        }
    }

    /// Whether `key` has a live entry.
    pub(crate) async fn exists(&self, key: Key, now: Timestamp, timeout: Duration) -> Result<bool> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| {
                    sqlite::read::with_read_timeout(conn, timeout, |c| {
                        sqlite::read::exists(c, &key, now)
                    })
                })
                .await
            }
            Backend::Postgres(pg) => {
                let found = postgres::within(
                    pg,
                    timeout,
                    postgres::values(pg, std::slice::from_ref(&key), now),
                )
                .await?;
                Ok(found.first().is_some_and(Option::is_some))
            }
        }
    }

    /// The live entry of `key` with its metadata.
    pub(crate) async fn entry(
        &self,
        key: Key,
        now: Timestamp,
        timeout: Duration,
    ) -> Result<Option<EntryInfo>> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| {
                    sqlite::read::with_read_timeout(conn, timeout, |c| {
                        sqlite::read::entry(c, &key, now)
                    })
                })
                .await
            }
            Backend::Postgres(pg) => {
                postgres::within(pg, timeout, postgres::entry(pg, &key, now)).await
            }
        }
    }

    /// Writes `rows` in one transaction, all or none; with `unless_exist` a key with a live
    /// entry is skipped. Returns how many were written. Waits at most `timeout` for the
    /// store (its lock, or a pooled connection).
    pub(crate) async fn write(
        &self,
        rows: Vec<(Key, Vec<u8>)>,
        now: Timestamp,
        expires_at: Option<Timestamp>,
        unless_exist: bool,
        timeout: Duration,
    ) -> Result<usize> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write_within(timeout, move |tx| {
                    let mut written = 0;
                    for (key, value) in &rows {
                        if unless_exist {
                            written += usize::from(sqlite::write::insert_unless_exist(
                                tx, key, value, now, expires_at,
                            )?);
                        } else {
                            sqlite::write::upsert(tx, key, value, now, expires_at)?;
                            written += 1;
                        }
                    }
                    Ok(written)
                })
                .await
            }
            Backend::Postgres(pg) => {
                postgres::within(
                    pg,
                    timeout,
                    postgres::write(pg, &rows, now, expires_at, unless_exist, timeout),
                )
                .await
            }
        }
    }

    /// Deletes `keys`; returns how many rows went. `timeout` of `None` waits as long as the
    /// store's own busy timeout.
    pub(crate) async fn delete(&self, keys: Vec<Key>, timeout: Option<Duration>) -> Result<usize> {
        match (&self.0, timeout) {
            (Backend::Sqlite(db), Some(t)) => {
                db.write_within(t, move |tx| sqlite::write::delete(tx, &keys))
                    .await
            }
            (Backend::Sqlite(db), None) => {
                db.write(move |tx| sqlite::write::delete(tx, &keys)).await
            }
            (Backend::Postgres(pg), t) => {
                let t = t.unwrap_or(trifecta_store::BUSY_TIMEOUT);
                postgres::within(pg, t, postgres::delete(pg, &keys, t)).await
            }
        }
    }

    /// Adds `amount` to the integer under `key` atomically ([`incremented`]).
    pub(crate) async fn increment(
        &self,
        key: Key,
        amount: i64,
        now: Timestamp,
        expires_at: Option<Timestamp>,
        timeout: Duration,
    ) -> Result<i64> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write_within(timeout, move |tx| {
                    sqlite::write::increment(tx, &key, amount, now, expires_at)
                })
                .await
            }
            Backend::Postgres(pg) => {
                postgres::within(
                    pg,
                    timeout,
                    postgres::increment(pg, &key, amount, now, expires_at, timeout),
                )
                .await
            }
        }
    }

    /// Deletes every entry; returns how many.
    pub(crate) async fn clear(&self) -> Result<usize> {
        match &self.0 {
            Backend::Sqlite(db) => db.write(sqlite::write::clear).await,
            Backend::Postgres(pg) => postgres::clear(pg).await,
        }
    }

    /// One eviction round ([`victims`]); returns how many rows went.
    pub(crate) async fn expire_round(
        &self,
        now: Timestamp,
        limits: Limits,
        timeout: Duration,
    ) -> Result<usize> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write_within(timeout, move |tx| sqlite::expire::round(tx, now, limits))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::within(
                    pg,
                    timeout,
                    postgres::expire_round(pg, now, limits, timeout),
                )
                .await
            }
        }
    }

    /// The totals and the counters of servers that flushed since `since`.
    pub(crate) async fn stats(&self, since: Timestamp) -> Result<(Totals, Vec<ServerStats>)> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.call(move |conn| {
                    Ok((
                        sqlite::expire::totals(conn)?,
                        sqlite::stats::live(conn, since)?,
                    ))
                })
                .await
            }
            Backend::Postgres(pg) => postgres::stats(pg, since).await,
        }
    }

    /// Upserts this process's counters and prunes rows not updated since `prune_before`.
    pub(crate) async fn flush_stats(
        &self,
        row: ServerStats,
        prune_before: Timestamp,
        timeout: Duration,
    ) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write_within(timeout, move |tx| {
                    sqlite::stats::flush(tx, &row, prune_before)
                })
                .await
            }
            Backend::Postgres(pg) => {
                postgres::within(pg, timeout, postgres::flush_stats(pg, &row, prune_before)).await
            }
        }
    }

    /// Removes this process's counters (graceful shutdown).
    pub(crate) async fn remove_stats(&self, instance: String) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::stats::remove(tx, &instance))
                    .await
            }
            Backend::Postgres(pg) => postgres::remove_stats(pg, &instance).await,
        }
    }
}
