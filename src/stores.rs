//! The four stores of one environment: where each lives ([`Layout`]: an SQLite file in the
//! storage directory, or a PostgreSQL database named by a URL), opening all of them at once
//! ([`Stores`]) and keeping an eye on the files.
//!
//! For an environment `<env>` the storage directory holds up to four files: the app
//! database, and one each for the queue, the cache and the cable ([`StoreKind::file_name`]);
//! a store with a URL has no file. Each kind's migrations, for either backend, come from the
//! crate that owns its tables ([`StoreKind::schema`], [`StoreKind::postgres_schema`]).
//!
//! Only `serve` and `migrate` create or migrate ([`Stores::connect`]); admin commands open
//! what exists at this binary's schema ([`Stores::connect_existing`]). A handle whose file is
//! deleted or replaced retires ([`Stores::watch_files`], `/up`).

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::store::{
    Backend, Db, Error, MigrationReport, Pg, PoolOptions, Result, Schema, check_schema,
};

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

    /// PostgreSQL migrations of this store's tables (applied into `<name>_schema_history`).
    pub fn postgres_schema(self) -> fn() -> refinery::Runner {
        match self {
            Self::App => crate::app::postgres_migrations,
            Self::Queue => crate::queue::postgres_migrations,
            Self::Cache => crate::cache::postgres_migrations,
            Self::Cable => crate::cable::postgres_migrations,
        }
    }

    /// Run-time parameters every PostgreSQL connection of this store starts with.
    pub fn postgres_settings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Queue => crate::queue::POSTGRES_SETTINGS,
            Self::App | Self::Cache | Self::Cable => &[],
        }
    }

    /// Position in [`StoreKind::ALL`].
    pub fn index(self) -> usize {
        match self {
            Self::App => 0,
            Self::Queue => 1,
            Self::Cache => 2,
            Self::Cable => 3,
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

/// Where the four stores of one environment live: the storage directory (for the stores
/// without a URL, and for what stays per host) and a PostgreSQL URL per store, if any.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The storage directory.
    pub dir: PathBuf,
    /// The environment name.
    pub env: String,
    /// PostgreSQL URL of each store, in [`StoreKind::ALL`] order; `None` keeps its file.
    pub urls: [Option<String>; 4],
    /// Most connections each store on PostgreSQL holds.
    pub pool: usize,
}

impl Layout {
    /// Every store in its SQLite file in `dir`.
    pub fn sqlite(dir: &Path, env: &str) -> Self {
        Self {
            dir: dir.to_path_buf(),
            env: env.to_owned(),
            urls: [None, None, None, None],
            pool: 1,
        }
    }

    /// The PostgreSQL URL of `kind`, if it has one.
    pub fn url(&self, kind: StoreKind) -> Option<&str> {
        self.urls[kind.index()].as_deref()
    }

    /// Names of the stores on PostgreSQL, in [`StoreKind::ALL`] order.
    pub fn postgres_stores(&self) -> Vec<&'static str> {
        StoreKind::ALL
            .into_iter()
            .filter(|k| self.url(*k).is_some())
            .map(StoreKind::name)
            .collect()
    }
}

/// The four open, migrated stores of one environment. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Stores {
    /// App data.
    pub app: Backend,
    /// Solid Queue.
    pub queue: Backend,
    /// Solid Cache.
    pub cache: Backend,
    /// Solid Cable.
    pub cable: Backend,
}

impl Stores {
    /// Creates `dir` if needed, opens the four SQLite files of `env` and applies pending
    /// migrations: [`Stores::connect`] with every store a file.
    ///
    /// Blocking: call it from `spawn_blocking` or before the runtime is busy.
    ///
    /// # Errors
    /// An unusable directory, a file that is not a SQLite database, a failing migration or a
    /// database written by a newer trifecta.
    pub fn open(dir: &Path, env: &str, options: &PoolOptions) -> Result<Self> {
        let files = open_files(&Layout::sqlite(dir, env), options)?;
        for (kind, db) in StoreKind::ALL.iter().zip(&files) {
            if let Some(db) = db {
                let report = db.migrate_blocking(kind.schema())?;
                if !report.applied.is_empty() {
                    tracing::info!(db = kind.name(), applied = ?report.applied, version = report.version, "migrated");
                }
            }
        }
        Ok(Self::assemble(files, [None, None, None, None]))
    }

    /// Opens every store where `layout` puts it, creating the storage directory and the
    /// SQLite files as needed, and applies pending migrations (on PostgreSQL one server at a
    /// time, so servers may start together). Returns what each migration did.
    ///
    /// # Errors
    /// As [`Stores::open`], and for a store on PostgreSQL: a URL that does not parse, a
    /// server that cannot be reached, a failing migration or a newer schema.
    pub async fn connect(
        layout: &Layout,
        options: &PoolOptions,
    ) -> Result<(Self, Vec<MigrationReport>)> {
        let servers = connect_servers(layout)?;
        let (files, options) = (layout.clone(), options.clone());
        let files = tokio::task::spawn_blocking(move || open_files(&files, &options)).await??;
        let stores = Self::assemble(files, servers);
        let mut reports = Vec::with_capacity(4);
        for kind in StoreKind::ALL {
            let backend = stores.get(kind);
            let report = migrate(kind, backend).await?;
            if !report.applied.is_empty() {
                tracing::info!(db = kind.name(), backend = backend.kind(), applied = ?report.applied, version = report.version, "migrated");
            }
            reports.push(report);
        }
        // Once every store is ready, so a refused start logs only its one error line.
        for (kind, report) in StoreKind::ALL.iter().zip(&reports) {
            // Never the URL: it may hold a password.
            let backend = stores.get(*kind).kind();
            tracing::info!(
                db = kind.name(),
                backend,
                version = report.version,
                "store open"
            );
        }
        Ok((stores, reports))
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
        let files = open_existing_files(&Layout::sqlite(dir, env), options)?;
        Ok(Self::assemble(files, [None, None, None, None]))
    }

    /// As [`Stores::open_existing`] for the stores `layout` puts in files; a store on
    /// PostgreSQL must be at exactly this binary's schema. Nothing is created or migrated.
    ///
    /// # Errors
    /// As [`Stores::open_existing`], and [`Error::OlderPgSchema`], [`Error::NewerPgSchema`]
    /// or [`Error::Postgres`] for a store on PostgreSQL.
    pub async fn connect_existing(layout: &Layout, options: &PoolOptions) -> Result<Self> {
        let servers = connect_servers(layout)?;
        for (kind, pg) in StoreKind::ALL.into_iter().zip(&servers) {
            if let Some(pg) = pg {
                pg.check_schema(kind.postgres_schema()).await?;
            }
        }
        let (files, options) = (layout.clone(), options.clone());
        let files =
            tokio::task::spawn_blocking(move || open_existing_files(&files, &options)).await??;
        Ok(Self::assemble(files, servers))
    }

    /// The stores from each kind's file or server (a layout gives every store exactly one).
    fn assemble(files: [Option<Db>; 4], servers: [Option<Pg>; 4]) -> Self {
        let [app, queue, cache, cable] =
            StoreKind::ALL.map(
                |kind| match (&files[kind.index()], &servers[kind.index()]) {
                    (Some(db), _) => Backend::from(db.clone()),
                    (None, Some(pg)) => Backend::from(pg.clone()),
                    (None, None) => unreachable!("each store is a file or has a URL"),
                },
            );
        Self {
            app,
            queue,
            cache,
            cable,
        }
    }

    /// The handle of one store.
    pub fn get(&self, kind: StoreKind) -> &Backend {
        match kind {
            StoreKind::App => &self.app,
            StoreKind::Queue => &self.queue,
            StoreKind::Cache => &self.cache,
            StoreKind::Cable => &self.cable,
        }
    }

    /// Names of the stores on PostgreSQL, in [`StoreKind::ALL`] order.
    pub fn postgres_stores(&self) -> Vec<&'static str> {
        StoreKind::ALL
            .into_iter()
            .filter(|k| self.get(*k).postgres().is_some())
            .map(StoreKind::name)
            .collect()
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
                    for (_, db) in self.files() {
                        // A failure is logged once by the check itself.
                        let _ = db.verify_identity();
                    }
                }
            }
        }
    }

    /// The stores kept in SQLite files, with their handles, in [`StoreKind::ALL`] order.
    pub fn files(&self) -> Vec<(StoreKind, &Db)> {
        StoreKind::ALL
            .into_iter()
            .filter_map(|k| self.get(k).sqlite().map(|db| (k, db)))
            .collect()
    }
}

/// Opens the SQLite files of the stores `layout` keeps in files (creating the directory
/// and the files). The caller migrates them once every file opened, so a bad file stops
/// startup without touching the others. `None` for a store on PostgreSQL.
fn open_files(layout: &Layout, options: &PoolOptions) -> Result<[Option<Db>; 4]> {
    validate_env(&layout.env)?;
    let dir = &layout.dir;
    std::fs::create_dir_all(dir).map_err(|cause| Error::Storage {
        path: dir.to_path_buf(),
        cause,
    })?;
    let mut files = [None, None, None, None];
    for kind in StoreKind::ALL {
        if layout.url(kind).is_none() {
            files[kind.index()] = Some(Db::open(
                kind.name(),
                &dir.join(kind.file_name(&layout.env)),
                options,
            )?);
        }
    }
    Ok(files)
}

/// Opens the existing SQLite files of the stores `layout` keeps in files (see
/// [`Stores::open_existing`]); `None` for a store on PostgreSQL.
fn open_existing_files(layout: &Layout, options: &PoolOptions) -> Result<[Option<Db>; 4]> {
    validate_env(&layout.env)?;
    let (dir, env) = (&layout.dir, &layout.env);
    let missing = |what: String| Error::Missing {
        dir: dir.to_path_buf(),
        env: env.to_owned(),
        missing: what,
    };
    let kinds: Vec<StoreKind> = StoreKind::ALL
        .into_iter()
        .filter(|k| layout.url(*k).is_none())
        .collect();
    if kinds.is_empty() {
        return Ok([None, None, None, None]);
    }
    if !dir.is_dir() {
        return Err(missing(dir.display().to_string()));
    }
    for kind in &kinds {
        let name = kind.file_name(env);
        if !dir.join(&name).is_file() {
            return Err(missing(name));
        }
    }
    // Every schema is checked before any pool opens, so a refusal leaves no trace.
    for kind in &kinds {
        check_schema(kind.schema(), &dir.join(kind.file_name(env)))?;
    }
    let mut files = [None, None, None, None];
    for kind in kinds {
        files[kind.index()] = Some(Db::open_existing(
            kind.name(),
            &dir.join(kind.file_name(env)),
            options,
        )?);
    }
    Ok(files)
}

/// A pool per store `layout` puts on PostgreSQL (no connection is made yet).
fn connect_servers(layout: &Layout) -> Result<[Option<Pg>; 4]> {
    let mut servers = [None, None, None, None];
    for kind in StoreKind::ALL {
        if let Some(url) = layout.url(kind) {
            servers[kind.index()] = Some(Pg::connect_with(
                kind.name(),
                url,
                layout.pool,
                kind.postgres_settings(),
            )?);
        }
    }
    Ok(servers)
}

/// Applies the pending migrations of store `kind` on `backend`.
async fn migrate(kind: StoreKind, backend: &Backend) -> Result<MigrationReport> {
    match backend {
        Backend::Sqlite(db) => {
            let db = db.clone();
            tokio::task::spawn_blocking(move || db.migrate_blocking(kind.schema())).await?
        }
        Backend::Postgres(pg) => pg.migrate(kind.postgres_schema()).await,
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
