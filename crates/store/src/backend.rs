//! Where one store lives: an SQLite file ([`Db`]) or a PostgreSQL database ([`Pg`]). The
//! engines take a [`Backend`] and run each of their operations on whichever it is.

use super::db::Db;
use super::pg::Pg;

/// An SQLite file or a PostgreSQL database. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Backend {
    /// The store's SQLite file.
    Sqlite(Db),
    /// The store on a PostgreSQL server (`--database-url`).
    Postgres(Pg),
}

impl From<Db> for Backend {
    fn from(db: Db) -> Self {
        Backend::Sqlite(db)
    }
}

impl From<Pg> for Backend {
    fn from(pg: Pg) -> Self {
        Backend::Postgres(pg)
    }
}
