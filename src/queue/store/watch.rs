//! `PRAGMA data_version` on a dedicated connection: a cheap "did anyone commit to the
//! file since I last looked?" that lets an idle worker skip its claim transaction.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use crate::queue::error::Result;
use crate::store;

/// A read-only connection kept open for `data_version` checks. Its value changes when any
/// *other* connection (this process's pool included) commits to the file.
#[derive(Debug)]
pub(crate) struct DataVersion {
    conn: Mutex<Connection>,
}

const DATA_VERSION: &str = "PRAGMA data_version";

impl DataVersion {
    /// Opens the watch connection (blocking).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(store::Error::from)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The current value (blocking; microseconds).
    pub(crate) fn read(&self) -> Result<i64> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| store::Error::Sqlite(rusqlite::Error::InvalidQuery))?;
        Ok(conn.query_row(DATA_VERSION, [], |r| r.get(0))?)
    }
}
