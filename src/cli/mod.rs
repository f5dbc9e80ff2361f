//! The command line: `trifecta serve`, `trifecta migrate`, and the admin subcommands that
//! work on a running server's storage from a second process.

pub mod jobs;

use std::io::Write;

use clap::{Parser, Subcommand};

use crate::config::{ServeConfig, StorageArgs};
use crate::server;
use crate::store::{self, PoolOptions, StoreKind, Stores};

/// Errors a subcommand reports before exiting non-zero.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Storage could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] store::Error),
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
    /// A queue operation failed.
    #[error(transparent)]
    Queue(#[from] crate::queue::Error),
    /// A blocking task failed.
    #[error("task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// `trifecta`: a single-binary real-time web server on embedded SQLite.
#[derive(Parser, Debug)]
#[command(name = "trifecta", version, about, propagate_version = true)]
pub struct Cli {
    /// Storage location, shared by every subcommand.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `trifecta=debug`.
    #[arg(long, env = "TRIFECTA_LOG", default_value = "info", global = true)]
    pub log: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run migrations, then serve HTTP and WebSockets until SIGINT or SIGTERM.
    Serve(ServeConfig),
    /// Apply pending migrations to the four databases and report their versions.
    Migrate,
    /// Inspect and administer the job queue (works while a server runs).
    Jobs(jobs::JobsArgs),
}

/// Runs the parsed command line. Output for humans goes to `out`.
///
/// # Errors
/// Anything that should end the process with a non-zero status.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> Result<(), Error> {
    match cli.command {
        Command::Serve(serve) => {
            let listener = tokio::net::TcpListener::bind(serve.bind)
                .await
                .map_err(|cause| Error::Bind {
                    addr: serve.bind,
                    cause,
                })?;
            let config = server::Config {
                storage: cli.storage,
                serve,
            };
            server::run(config, listener, server::shutdown_signal()).await?;
            Ok(())
        }
        Command::Jobs(args) => jobs::run(cli.storage, args, out).await,
        Command::Migrate => {
            let storage = cli.storage;
            let reports = tokio::task::spawn_blocking(move || -> Result<_, store::Error> {
                let stores = Stores::open(&storage.storage, &storage.env, &PoolOptions::default())?;
                StoreKind::ALL
                    .iter()
                    .map(|k| stores.get(*k).migrate_blocking(*k))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await??;
            for r in reports {
                writeln!(out, "{:<6} schema version {}", r.db, r.version)?;
            }
            Ok(())
        }
    }
}
