//! The domain: the todo board, users and their sessions, accounts and memberships,
//! the `accessible_by` authorization scopes, and the obfuscated ids that leave the server.
//!
//! Talks to: `store` (the app database, an SQLite file or a PostgreSQL database, behind one
//! seam whose methods are the domain's transactions). The HTTP layer (`web`) and the admin CLI call in
//! here; nothing here knows about HTTP.

mod accounts;
mod board;
pub mod broadcast;
pub mod channels;
mod error;
mod ids;
mod password;
mod publish;
mod sessions;
mod store;
mod text;
mod todo_versions;
mod todos;
mod users;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use accounts::{Account, AccountUser, Addition, Role};

mod embedded {
    refinery::embed_migrations!("sql/app/sqlite");
}

mod embedded_pg {
    refinery::embed_migrations!("sql/app/postgres");
}

/// The domain's tables on PostgreSQL (`sql/app/postgres/`), for
/// [`Pg::migrate`](crate::store::Pg::migrate).
pub fn postgres_migrations() -> refinery::Runner {
    embedded_pg::migrations::runner()
}

/// The domain's tables on SQLite: the migrations in `sql/app/sqlite/`, which the store runs.
pub const SCHEMA: crate::store::Schema = crate::store::Schema {
    name: "app",
    runner: embedded::migrations::runner,
};
pub use board::{Board, BroadcastTodos, LIST_KEY, LIST_TTL, STREAM, TodosChannel};
pub use error::{Error, Result};
pub use ids::Ids;
pub use sessions::Session;
pub use todo_versions::{
    DEFAULT_LIMIT, MAX_BATCH, MAX_LIMIT, TodoBatch, TodoCounts, TodoDelta, TodoPage,
};
pub use todos::{MAX_TITLE, Todo, TodoChange, TodoProps, validate_title};
pub use users::{EndedUser, NewUser, User};

use crate::cable::Cable;
use crate::store::{Backend, Clock};

/// Settings of the domain layer.
#[derive(Clone, Debug)]
pub struct Settings {
    /// bcrypt cost for new password digests (Rails uses 12; tests use the minimum, 4).
    pub bcrypt_cost: u32,
    /// A session older than this is expired and ends.
    pub session_max_age: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bcrypt_cost: 12,
            session_max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Handle to the domain. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    store: store::Store,
    clock: Clock,
    ids: Ids,
    settings: Settings,
    /// Where sync markers go; `None` (CLI, unit tests) announces nothing.
    cable: Option<Cable>,
    /// bcrypt with bounded parallelism.
    hasher: password::Hasher,
}

impl App {
    /// A domain handle over the app database (a migrated SQLite [`Db`](crate::store::Db) or
    /// PostgreSQL [`Pg`](crate::store::Pg)); `secret` seeds the per-install id alphabet.
    pub fn new(
        backend: impl Into<Backend>,
        clock: Clock,
        secret: &[u8],
        settings: Settings,
    ) -> Self {
        Self {
            store: store::Store::new(backend.into()),
            clock,
            ids: Ids::new(secret),
            settings,
            cable: None,
            hasher: password::Hasher::new(),
        }
    }

    /// The same domain, announcing every committed change of Broadcastable models on
    /// `cable` as sync markers.
    #[must_use]
    pub fn with_cable(mut self, cable: Cable) -> Self {
        self.cable = Some(cable);
        self
    }

    /// The obfuscated-id codec.
    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    /// Where the app's data lives.
    pub fn backend(&self) -> &Backend {
        self.store.backend()
    }

    /// Password checks (sign-in attempts that reached bcrypt) since this handle was made.
    pub fn password_checks(&self) -> u64 {
        self.hasher.checks()
    }
}
