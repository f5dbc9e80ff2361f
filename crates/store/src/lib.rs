//! Storage: one [`Db`] handle per SQLite file, or one [`Pg`] pool per store on PostgreSQL
//! (`pg`), the migrations of a [`Schema`] and the injected [`Clock`].
//!
//! Every file gets the same per-connection pragmas (WAL, `synchronous=NORMAL`,
//! `busy_timeout`, `foreign_keys`); the crate that owns a file's tables embeds its migrations
//! and hands them over as a [`Schema`]. Which files exist is the application's business.
//! A [`StorageLock`] says whether a server runs on a directory.
//!
//! A handle whose file is deleted or replaced under it retires and refuses all work until a
//! restart ([`Db::verify_identity`]).
//!
//! Talks to: rusqlite, r2d2, refinery, tokio-postgres, deadpool-postgres. Knows nothing of the engines built on top of it.

mod backend;
mod clock;
mod db;
mod error;
mod inspect;
pub mod lock;
mod migrate;
pub mod pg;
mod wake;

pub use backend::Backend;
pub use clock::{Clock, Timestamp};
pub use db::{BUSY_TIMEOUT, Db, PoolOptions};
pub use error::{Error, Result};
pub use inspect::{CopyInfo, check_schema, copy_schema_version, inspect_copy};
pub use lock::StorageLock;
pub use migrate::{MigrationReport, Schema, run_migrations};
pub use pg::Pg;
pub use wake::WakeMode;
