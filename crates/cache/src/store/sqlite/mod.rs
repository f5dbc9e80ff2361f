//! The cache's SQL on SQLite. Every function here is blocking and runs inside `Db::call`
//! (reads) or `Db::write` (one `BEGIN IMMEDIATE` transaction), called from [`super::Backend`].

pub(super) mod expire;
pub(super) mod read;
pub(super) mod stats;
pub(super) mod write;
