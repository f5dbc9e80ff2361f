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

impl Backend {
    /// The SQLite handle, when the store is a file.
    pub fn sqlite(&self) -> Option<&Db> {
        match self {
            Backend::Sqlite(db) => Some(db),
            Backend::Postgres(_) => None,
        }
    }

    /// The PostgreSQL handle, when the store is on a server.
    pub fn postgres(&self) -> Option<&Pg> {
        match self {
            Backend::Sqlite(_) => None,
            Backend::Postgres(pg) => Some(pg),
        }
    }

    /// `"sqlite"` or `"postgresql"`, for logs and status pages.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgresql",
        }
    }

    /// Whether the handle stopped using its file (SQLite only: a server has no file to lose).
    pub fn is_retired(&self) -> bool {
        self.sqlite().is_some_and(Db::is_retired)
    }

    /// Health check: the store takes a write now ([`Db::check`], [`Pg::check`]).
    ///
    /// # Errors
    /// Why the store cannot be used.
    pub async fn check(&self) -> crate::Result<()> {
        match self {
            Backend::Sqlite(db) => db.check().await,
            Backend::Postgres(pg) => pg.check().await,
        }
    }
}
