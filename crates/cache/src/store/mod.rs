//! The only place the cache's SQL lives. Every function here is blocking and runs inside
//! `Db::call` (reads) or `Db::write` (one `BEGIN IMMEDIATE` transaction), called from the
//! async [`Cache`](super::Cache) methods.

pub(crate) mod expire;
pub(crate) mod read;
pub(crate) mod stats;
pub(crate) mod write;

/// What Solid Cache adds to key and value lengths for a row's `byte_size`.
pub(crate) const ROW_OVERHEAD: i64 = 140;

/// `byte_size` of a row holding `key` and `value`.
pub(crate) fn byte_size(key: &[u8], value: &[u8]) -> i64 {
    i64::try_from(key.len() + value.len())
        .unwrap_or(i64::MAX)
        .saturating_add(ROW_OVERHEAD)
}
