//! Looking at database files without migrating them: the schema check admin commands make
//! before they open a storage directory, and the read-only checks of a backup copy.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::error::{Error, Result};
use super::migrate::{Schema, applied_version};

const INTEGRITY_CHECK: &str = "PRAGMA integrity_check";

/// What [`inspect_copy`] found in a copy of a database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyInfo {
    /// Highest migration version recorded in the file.
    pub schema_version: i64,
    /// The rows of `PRAGMA integrity_check`: exactly `["ok"]` for a sound file.
    pub integrity: Vec<String>,
}

impl CopyInfo {
    /// True when `integrity_check` found nothing wrong.
    pub fn is_sound(&self) -> bool {
        self.integrity == ["ok"]
    }
}

/// Checks the existing file `path` has exactly the version of `schema` this binary knows, and
/// returns its version. Never creates or migrates anything: a missing file is an error.
///
/// # Errors
/// [`Error::Open`] for a missing or unreadable file, [`Error::OlderSchema`] or
/// [`Error::NewerSchema`] for a file this binary must not use as it is.
pub fn check_schema(schema: Schema, path: &Path) -> Result<i64> {
    let db = schema.name;
    let open_err = |e: &dyn std::fmt::Display| open_error(db, path, e);
    let flags = OpenFlags::default().difference(OpenFlags::SQLITE_OPEN_CREATE);
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(&e))?;
    conn.busy_timeout(super::BUSY_TIMEOUT)
        .map_err(|e| open_err(&e))?;
    let found = applied_version(&conn).map_err(|e| open_err(&e))?;
    let known = schema.known_version();
    let path = path.to_path_buf();
    if found > known {
        return Err(Error::NewerSchema {
            db,
            path,
            found,
            known,
        });
    }
    if found < known {
        return Err(Error::OlderSchema {
            db,
            path,
            found,
            known,
        });
    }
    Ok(found)
}

/// The schema version of a copy of a database that nobody else uses (a backup), read
/// without writing anything next to it (see [`inspect_copy`]).
///
/// # Errors
/// [`Error::Open`] when the file is not a readable SQLite database.
pub fn copy_schema_version(name: &'static str, path: &Path) -> Result<i64> {
    let conn = open_copy(name, path)?;
    applied_version(&conn).map_err(|e| open_error(name, path, &e))
}

/// Opens a copy of a database that nobody else uses (a backup) as immutable, so reading
/// it writes nothing next to it (no `-wal` or `-shm`), and returns its schema version and
/// `integrity_check` result.
///
/// # Errors
/// [`Error::Open`] when the file is not a readable SQLite database.
pub fn inspect_copy(name: &'static str, path: &Path) -> Result<CopyInfo> {
    let conn = open_copy(name, path)?;
    let schema_version = applied_version(&conn).map_err(|e| open_error(name, path, &e))?;
    let integrity = conn
        .prepare(INTEGRITY_CHECK)
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(|e| open_error(name, path, &e))?;
    Ok(CopyInfo {
        schema_version,
        integrity,
    })
}

fn open_copy(name: &'static str, path: &Path) -> Result<Connection> {
    let uri = format!("file:{}?immutable=1", uri_path(path));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags).map_err(|e| open_error(name, path, &e))?;
    // Opening is lazy: touch the schema so a file that is not a database fails here.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| open_error(name, path, &e))?;
    Ok(conn)
}

fn open_error(db: &'static str, path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::Open {
        db,
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// `path` percent-encoded for a `file:` URI (everything but unreserved characters and `/`).
fn uri_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    for b in absolute.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(b) {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
