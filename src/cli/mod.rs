//! The command line: `trifecta serve`, `trifecta migrate`, and the admin subcommands that
//! work on a running server's storage from a second process.
//!
//! Only `serve` and `migrate` create or migrate storage. The admin subcommands (`jobs`,
//! `cache`, `cable`, `users`, `backup`) open the existing files at this binary's schema
//! ([`Offline::open`]) and otherwise stop with one line saying what to run. Destructive
//! ones ask on a terminal and take `--yes` ([`confirm`]).

mod backup;
pub mod cable;
mod cache;
pub mod jobs;
mod users;

use std::io::{BufRead, IsTerminal, Write};

use clap::{Parser, Subcommand};

pub use cache::{CacheAction, CacheCommand};

use crate::config::{AppArgs, ServeConfig, StorageArgs};
use crate::server;
use crate::store::{self, PoolOptions};
use crate::stores::Stores;

/// Errors a subcommand reports before exiting non-zero.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Storage could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The secret key base could not be loaded or created.
    #[error(transparent)]
    Secret(#[from] crate::web::secret::Error),
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A domain operation refused or failed.
    #[error(transparent)]
    App(#[from] crate::app::Error),
    /// The server failed.
    #[error(transparent)]
    Server(#[from] server::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {cause}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// The cache file could not be read or written.
    #[error("cache: {0}")]
    Cache(#[from] crate::cache::Error),
    /// `cache get` found nothing under the key.
    #[error("no cache entry for {0:?}")]
    NoCacheEntry(String),
    /// A cable operation failed.
    #[error(transparent)]
    Cable(#[from] crate::cable::Error),
    /// A queue operation failed.
    #[error(transparent)]
    Queue(#[from] crate::queue::Error),
    /// A blocking task failed.
    #[error("task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// A backup or restore failed.
    #[error(transparent)]
    Backup(#[from] crate::backup::Error),
    /// A destructive command was not confirmed.
    #[error("{0}")]
    NotConfirmed(String),
    /// An admin command needs the secret key base and there is none.
    #[error(
        "no {file} in {dir} and no --secret-key-base; run `trifecta migrate --storage {dir}` (it creates one) or pass the server's --secret-key-base",
        file = crate::web::secret::FILE_NAME
    )]
    NoSecret {
        /// The storage directory.
        dir: String,
    },
    /// The change was made, but the order to disconnect the affected sockets could not be
    /// published (they stay open until they reconnect, and then are refused).
    #[error("{done}, but their open sockets could not be disconnected: {cause}")]
    NotDisconnected {
        /// What was done.
        done: String,
        /// Why the order failed.
        cause: crate::cable::Error,
    },
}

/// `trifecta`: a single-binary real-time web server on embedded SQLite.
#[derive(Parser, Debug)]
#[command(name = "trifecta", version, about, propagate_version = true)]
pub struct Cli {
    /// Storage location, shared by every subcommand.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Domain settings (password hashing, sessions).
    #[command(flatten)]
    pub app: AppArgs,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `trifecta=debug`.
    #[arg(long, env = "TRIFECTA_LOG", default_value = "info", global = true)]
    pub log: String,
    /// Log line format: `text` (human) or `json` (one object per line, with the fields of
    /// every enclosing span, such as a request's `request_id`).
    #[arg(long, env = "TRIFECTA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written (to stderr).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event, span fields as `span{field=value}:` prefixes.
    #[default]
    Text,
    /// One JSON object per event: its fields at the top level, its spans under `spans`.
    Json,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run migrations, then serve HTTP and WebSockets until SIGINT or SIGTERM.
    Serve(Box<ServeConfig>),
    /// Apply pending migrations to the four databases and report their versions.
    Migrate,
    /// Manage users: create, list, reset-password, delete.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Inspect or clear the cache: `stats`, `get`, `delete`, `clear`.
    Cache(CacheCommand),
    /// Solid Cable: broadcast from this process, or show the cable database's stats.
    #[command(subcommand)]
    Cable(cable::CableCommand),
    /// Inspect and administer the job queue (works while a server runs).
    Jobs(jobs::JobsArgs),
    /// Take a consistent backup of the four databases and the secret into a new directory,
    /// while servers keep running.
    Backup(backup::BackupCommand),
    /// Restore a backup into the storage directory (refused while a server runs on it).
    Restore(backup::RestoreCommand),
}

/// Runs the parsed command line. Output for humans goes to `out`.
///
/// # Errors
/// Anything that should end the process with a non-zero status.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> Result<(), Error> {
    match cli.command {
        Command::Serve(serve) => {
            let listener = server::bind(serve.bind).map_err(|cause| Error::Bind {
                addr: serve.bind,
                cause,
            })?;
            let config = server::Config {
                storage: cli.storage,
                serve: *serve,
                app: cli.app,
            };
            server::run(config, listener, server::shutdown_signal()).await?;
            Ok(())
        }
        Command::Cable(command) => cable::run(cli.storage, command, out).await,
        Command::Jobs(args) => jobs::run(cli.storage, args, out).await,
        Command::Migrate => {
            let layout = cli.storage.layout();
            let (_, reports) = Stores::connect(&layout, &PoolOptions::default()).await?;
            // Created here too, so admin commands find it before the first `serve`.
            let (dir, given) = (layout.dir.clone(), cli.app.secret_key_base);
            tokio::task::spawn_blocking(move || {
                crate::web::secret::SecretKeyBase::load_or_create(&dir, given.as_ref())
            })
            .await??;
            for r in reports {
                writeln!(out, "{:<6} schema version {}", r.db, r.version)?;
            }
            Ok(())
        }
        Command::Users(cmd) => {
            let (app, cable) = open_app(&cli.storage, &cli.app).await?;
            users::run(&app, &cable, cmd, out).await
        }
        Command::Cache(command) => cache::run(cli.storage, command, out).await,
        Command::Backup(command) => backup::backup(cli.storage, command, out).await,
        Command::Restore(command) => backup::restore(cli.storage, command, out).await,
    }
}

/// The existing storage of a short-lived admin process, and its engines built the one way
/// they are built offline: on the system clock, polling (no listener of this process to wake).
pub struct Offline {
    /// The environment's files, opened as they are (never created or migrated).
    pub stores: Stores,
    clock: crate::store::Clock,
}

impl Offline {
    /// Opens the existing databases of `storage` (see [`Stores::open_existing`]).
    ///
    /// # Errors
    /// A missing directory or file, or a schema this binary does not match, in one line that
    /// says what to run.
    pub async fn open(storage: &StorageArgs) -> Result<Self, Error> {
        let stores = Stores::connect_existing(&storage.layout(), &PoolOptions::default()).await?;
        Ok(Self {
            stores,
            clock: crate::store::Clock::system(),
        })
    }

    /// The job queue, with the built-in jobs registered (no worker runs).
    pub fn queue(&self) -> crate::queue::Queue {
        let mut setup = crate::queue::QueueSetup::new(
            self.stores.queue.clone(),
            self.clock.clone(),
            crate::queue::QueueOptions::default(),
            crate::config::WakeMode::Poll,
        );
        crate::queue::builtin::register(&mut setup);
        setup.offline()
    }

    /// The cable, to broadcast to (and reach the sockets of) running servers.
    pub fn cable(&self) -> crate::cable::Cable {
        crate::cable::Cable::new(
            self.stores.cable.clone(),
            self.clock.clone(),
            crate::cable::CableOptions::default(),
            crate::config::WakeMode::Poll,
        )
    }

    /// The cache, with `options`.
    pub fn cache(&self, options: crate::cache::CacheOptions) -> crate::cache::Cache {
        crate::cache::Cache::new(self.stores.cache.clone(), self.clock.clone(), options)
    }
}

/// Asks before `command` does `what`: with `yes`, goes ahead; on a terminal, asks on
/// stderr and reads the answer; otherwise refuses, so a script never deletes by accident.
///
/// # Errors
/// [`Error::NotConfirmed`] unless confirmed.
pub fn confirm(command: &str, what: &str, yes: bool) -> Result<(), Error> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::NotConfirmed(format!(
            "{command} would {what}; pass --yes to confirm (standard input is not a terminal)"
        )));
    }
    let mut err = std::io::stderr();
    write!(err, "{command} will {what}. Continue? [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Error::NotConfirmed(format!(
            "{command}: not confirmed; nothing changed"
        )))
    }
}

/// Opens storage, the domain handle and the cable (to reach running servers' sockets) for
/// an admin subcommand.
async fn open_app(
    storage: &StorageArgs,
    args: &AppArgs,
) -> Result<(crate::app::App, crate::cable::Cable), Error> {
    let offline = Offline::open(storage).await?;
    let dir = storage.storage.clone();
    let given = args.secret_key_base.clone();
    let secret = tokio::task::spawn_blocking(move || {
        crate::web::secret::SecretKeyBase::load_existing(&dir, given.as_ref())
    })
    .await??
    .ok_or_else(|| Error::NoSecret {
        dir: storage.storage.display().to_string(),
    })?;
    let cable = offline.cable();
    let app = crate::app::App::new(
        offline.stores.app,
        offline.clock,
        secret.expose_bytes(),
        args.settings(),
    );
    Ok((app, cable))
}
