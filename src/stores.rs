//! The storage directory of one environment: which SQLite files it holds ([`StoreKind`]),
//! opening all of them at once ([`Stores`]) and keeping an eye on them.
//!
//! The directory holds four files for an environment `<env>`: the app database, and one each
//! for the queue, the cache and the cable. Each kind's migrations come from the crate that
//! owns its tables ([`StoreKind::schema`]).
//!
//! Only `serve` and `migrate` create or migrate ([`Stores::open`]); admin commands open
//! what exists at this binary's schema ([`Stores::open_existing`]). A handle whose file is
//! deleted or replaced retires ([`Stores::watch_files`], `/up`).

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::store::{Db, Error, PoolOptions, Result, Schema, check_schema};

/// The four SQLite files of one environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// App data: users, sessions, accounts, todos.
    App,
    /// Solid Queue tables.
    Queue,
    /// Solid Cache entries.
    Cache,
    /// Solid Cable messages.
    Cable,
}

impl StoreKind {
    /// Every store, in the order they are opened and reported.
    pub const ALL: [StoreKind; 4] = [Self::App, Self::Queue, Self::Cache, Self::Cable];

    /// Short name used in logs, errors and `/up`.
    pub fn name(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Queue => "queue",
            Self::Cache => "cache",
            Self::Cable => "cable",
        }
    }

    /// Migrations of this store's tables, embedded by the crate that owns them.
    pub fn schema(self) -> Schema {
        match self {
            Self::App => crate::app::SCHEMA,
            Self::Queue => crate::queue::SCHEMA,
            Self::Cache => crate::cache::SCHEMA,
            Self::Cable => crate::cable::SCHEMA,
        }
    }

    /// File name for environment `env`, as Rails names them (`production_queue.sqlite3`).
    pub fn file_name(self, env: &str) -> String {
        match self {
            Self::App => format!("{env}.sqlite3"),
            other => format!("{env}_{}.sqlite3", other.name()),
        }
    }
}

/// The four open, migrated databases of one environment. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Stores {
    /// App data.
    pub app: Db,
    /// Solid Queue.
    pub queue: Db,
    /// Solid Cache.
    pub cache: Db,
    /// Solid Cable.
    pub cable: Db,
}

impl Stores {
    /// Creates `dir` if needed, opens the four files of `env` and applies pending migrations.
    ///
    /// Blocking: call it from `spawn_blocking` or before the runtime is busy.
    ///
    /// # Errors
    /// An unusable directory, a file that is not a SQLite database, a failing migration or a
    /// database written by a newer trifecta.
    pub fn open(dir: &Path, env: &str, options: &PoolOptions) -> Result<Self> {
        validate_env(env)?;
        std::fs::create_dir_all(dir).map_err(|cause| Error::Storage {
            path: dir.to_path_buf(),
            cause,
        })?;
        // Every file is opened and checked before any is migrated, so a bad file stops
        // startup without touching the others.
        let open = |kind: StoreKind| Db::open(kind.name(), &dir.join(kind.file_name(env)), options);
        let dbs = [
            open(StoreKind::App)?,
            open(StoreKind::Queue)?,
            open(StoreKind::Cache)?,
            open(StoreKind::Cable)?,
        ];
        for (kind, db) in StoreKind::ALL.iter().zip(&dbs) {
            let kind = *kind;
            let report = db.migrate_blocking(kind.schema())?;
            if !report.applied.is_empty() {
                tracing::info!(db = kind.name(), applied = ?report.applied, version = report.version, "migrated");
            }
        }
        let [app, queue, cache, cable] = dbs;
        Ok(Self {
            app,
            queue,
            cache,
            cable,
        })
    }

    /// Opens the four existing files of `env` in `dir` for work alongside (or without) a
    /// server, as admin commands do: nothing is created and nothing is migrated.
    ///
    /// Blocking: call it from `spawn_blocking`.
    ///
    /// # Errors
    /// [`Error::Missing`] for a missing directory or file, [`Error::OlderSchema`] or
    /// [`Error::NewerSchema`] for a file at another schema version, [`Error::Open`] for a
    /// file that is not a database.
    pub fn open_existing(dir: &Path, env: &str, options: &PoolOptions) -> Result<Self> {
        validate_env(env)?;
        let missing = |what: String| Error::Missing {
            dir: dir.to_path_buf(),
            env: env.to_owned(),
            missing: what,
        };
        if !dir.is_dir() {
            return Err(missing(dir.display().to_string()));
        }
        for kind in StoreKind::ALL {
            let name = kind.file_name(env);
            if !dir.join(&name).is_file() {
                return Err(missing(name));
            }
        }
        // Every schema is checked before any pool opens, so a refusal leaves no trace.
        for kind in StoreKind::ALL {
            check_schema(kind.schema(), &dir.join(kind.file_name(env)))?;
        }
        let open = |kind: StoreKind| {
            Db::open_existing(kind.name(), &dir.join(kind.file_name(env)), options)
        };
        Ok(Self {
            app: open(StoreKind::App)?,
            queue: open(StoreKind::Queue)?,
            cache: open(StoreKind::Cache)?,
            cable: open(StoreKind::Cable)?,
        })
    }

    /// The handle of one store.
    pub fn get(&self, kind: StoreKind) -> &Db {
        match kind {
            StoreKind::App => &self.app,
            StoreKind::Queue => &self.queue,
            StoreKind::Cache => &self.cache,
            StoreKind::Cable => &self.cable,
        }
    }

    /// Names of the stores whose handle is retired (their file was deleted or replaced).
    pub fn retired(&self) -> Vec<&'static str> {
        StoreKind::ALL
            .iter()
            .filter(|k| self.get(**k).is_retired())
            .map(|k| k.name())
            .collect()
    }

    /// Checks every file is still the one opened, every `every` until `token` is
    /// cancelled, so a deleted or replaced file retires its store within a beat even when
    /// nobody asks `/up` (see [`Db::verify_identity`]).
    pub async fn watch_files(self, every: std::time::Duration, token: CancellationToken) {
        let mut beat = tokio::time::interval(every);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = token.cancelled() => break,
                _ = beat.tick() => {
                    for kind in StoreKind::ALL {
                        // A failure is logged once by the check itself.
                        let _ = self.get(kind).verify_identity();
                    }
                }
            }
        }
    }

    /// Paths of the four files, in [`StoreKind::ALL`] order.
    pub fn paths(&self) -> Vec<PathBuf> {
        StoreKind::ALL
            .iter()
            .map(|k| self.get(*k).path().to_path_buf())
            .collect()
    }
}

/// Environment names become file names, so they are kept to a safe alphabet.
fn validate_env(env: &str) -> Result<()> {
    let ok = !env.is_empty()
        && env.len() <= 64
        && env
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidEnv(env.to_owned()))
    }
}
