//! Running a [`Schema`]: the refinery migrations a crate embeds from its own `sql/` folder
//! (`V{n}__{name}.sql`). The history table lives in each file.

use refinery::Runner;
use rusqlite::{Connection, OptionalExtension};

use super::db::Db;
use super::error::{Error, Result};

/// The migrations of one kind of file, as the crate that owns its tables embeds them
/// (`refinery::embed_migrations!`); the store runs them without knowing which kinds exist.
#[derive(Clone, Copy)]
pub struct Schema {
    /// Short name of the store, used in logs and errors (`queue`).
    pub name: &'static str,
    /// Makes refinery's runner of the embedded migrations.
    pub runner: fn() -> Runner,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema")
            .field("name", &self.name)
            .field("known_version", &self.known_version())
            .finish()
    }
}

impl Schema {
    /// Highest schema version this binary knows (the newest embedded migration).
    pub fn known_version(&self) -> i64 {
        (self.runner)()
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max()
            .unwrap_or(0)
    }
}

/// What a migration run did to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// Store name.
    pub db: &'static str,
    /// Migrations applied by this run, as `V{n}__{name}`.
    pub applied: Vec<String>,
    /// Schema version of the file afterwards.
    pub version: i64,
}

impl Db {
    /// Applies the pending migrations of `schema` to this file (blocking).
    ///
    /// # Errors
    /// [`Error::Migration`] naming the failing migration, or [`Error::NewerSchema`].
    pub fn migrate_blocking(&self, schema: Schema) -> Result<MigrationReport> {
        let name = self.name();
        let path = self.path().to_path_buf();
        self.call_blocking(|conn| run_migrations(name, &path, conn, (schema.runner)()))
    }
}

/// Runs `runner` on `conn`, refusing a file whose history is ahead of the runner.
///
/// # Errors
/// [`Error::Migration`] naming the failing migration, or [`Error::NewerSchema`].
pub fn run_migrations(
    db: &'static str,
    path: &std::path::Path,
    conn: &mut Connection,
    runner: Runner,
) -> Result<MigrationReport> {
    let versions = versions(&runner);
    let known = versions.last().map_or(0, |v| v.0);
    let found = applied_version(conn)?;
    if found > known {
        return Err(Error::NewerSchema {
            db,
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    let report = runner
        .set_abort_divergent(true)
        .set_abort_missing(true)
        .run(conn)
        .map_err(|e| failed(db, &versions, found, &e))?;
    let applied = report
        .applied_migrations()
        .iter()
        .map(|m| format!("V{}__{}", m.version(), m.name()))
        .collect();
    Ok(MigrationReport {
        db,
        applied,
        version: applied_version(conn)?,
    })
}

/// Highest migration version recorded in the file (0 for a file never migrated).
pub(super) fn applied_version(conn: &Connection) -> Result<i64> {
    let exists: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'refinery_schema_history'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT coalesce(max(version), 0) FROM refinery_schema_history",
        [],
        |r| r.get(0),
    )?)
}

/// The migrations of `runner` as `(version, "V{n}__{name}")`, oldest first.
pub(crate) fn versions(runner: &Runner) -> Vec<(i64, String)> {
    let mut versions: Vec<(i64, String)> = runner
        .get_migrations()
        .iter()
        .map(|m| {
            (
                i64::from(m.version()),
                format!("V{}__{}", m.version(), m.name()),
            )
        })
        .collect();
    versions.sort();
    versions
}

/// The error of a failed migration run of store `db`, whose history was at `found`.
pub(crate) fn failed(
    db: &'static str,
    versions: &[(i64, String)],
    found: i64,
    e: &refinery::Error,
) -> Error {
    // refinery reports what it applied before the failure; the failing migration is the
    // first one after both that and what the store already had.
    let done = e
        .report()
        .and_then(|r| {
            r.applied_migrations()
                .iter()
                .map(|m| i64::from(m.version()))
                .max()
        })
        .unwrap_or(0)
        .max(found);
    Error::Migration {
        db,
        migration: versions
            .iter()
            .find(|(v, _)| *v > done)
            .map_or_else(|| "?".to_owned(), |(_, name)| name.clone()),
        reason: one_line(&e.to_string()),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
