//! The server: opens storage, starts every background task under one [`CancellationToken`]
//! and one [`TaskTracker`], serves the axum router, and shuts all of it down within the grace
//! period. With HTTPS on, it also runs the certificate reload (`SIGHUP`, file watch), the ACME
//! task of `--tls-domain` and the port-80 listener of `--http-bind`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{AppArgs, ServeConfig, StorageArgs};
use crate::queue;
use crate::store::{self, StorageLock};
use crate::web::{self, AppState};

mod acme;
mod args;
mod https;
mod listen;
mod memory;
mod redirect;
mod runtime;
mod start;
mod tls;

pub use args::{ChallengeKind, HttpsArgs, LETS_ENCRYPT};
pub use listen::{ConnectionArgs, LISTEN_BACKLOG, bind};
pub use runtime::{MAX_BLOCKING_THREADS, runtime};
pub use start::Extras;

/// How often the server checks that each store's file is still the one it opened.
const FILE_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Storage could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Serving failed.
    #[error("server I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The job queue could not start.
    #[error(transparent)]
    Queue(#[from] queue::Error),
    /// A startup task failed.
    #[error("startup task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// The secret key base could not be loaded or created.
    #[error(transparent)]
    Secret(#[from] web::secret::Error),
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// The cable database could not be read at startup.
    #[error(transparent)]
    Cable(#[from] crate::cable::Error),
    /// The scheduled backup could not be set up.
    #[error(transparent)]
    Backup(#[from] crate::backup::Error),
    /// The metrics listener could not start.
    #[error(transparent)]
    Metrics(#[from] crate::prometheus::Error),
    /// The `--http-bind` address could not be bound.
    #[error("cannot listen on --http-bind {addr}: {cause}")]
    HttpBind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        cause: std::io::Error,
    },
    /// Flags that do not go together.
    #[error("{0}")]
    Usage(&'static str),
}

/// Everything `run` needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Storage directory and environment.
    pub storage: StorageArgs,
    /// HTTP and engine settings.
    pub serve: ServeConfig,
    /// Domain settings and the secret key base.
    pub app: AppArgs,
}

impl Config {
    /// Defaults with storage in `dir` and environment `test`, as integration tests use.
    pub fn for_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            storage: StorageArgs {
                storage: dir.into(),
                env: "test".to_owned(),
                database: crate::config::DatabaseArgs::default(),
            },
            serve: ServeConfig::default(),
            app: AppArgs {
                // The minimum bcrypt cost keeps tests fast; production uses 12.
                bcrypt_cost: 4,
                session_max_age: std::time::Duration::from_secs(30 * 24 * 3600),
                secret_key_base: None,
            },
        }
    }
}

/// A started server: its address, state and the handles to stop it.
#[derive(Debug)]
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The bound address of the plain-HTTP listener (`--http-bind`), if any.
    pub http_addr: Option<SocketAddr>,
    /// The shared state (store handles and engines).
    pub state: AppState,
    token: CancellationToken,
    tracker: TaskTracker,
    http: JoinHandle<std::io::Result<()>>,
    grace: std::time::Duration,
    /// Held shared for the server's lifetime: a restore refuses while any server holds it.
    lock: StorageLock,
}

/// Opens storage, starts background tasks and begins serving on `listener`.
///
/// # Errors
/// As [`start_with`].
pub async fn start(config: Config, listener: TcpListener) -> Result<Running, Error> {
    start_with(config, listener, Extras::default()).await
}

/// [`start`] with `extras`: channels beside the app's and another connect hook.
///
/// If the start-up fails, or its future is dropped before it finishes, everything it had
/// spawned is stopped: a drop guard cancels the server's token, and on an error this waits
/// (at most the shutdown grace period) for those tasks to end, so the queue process it
/// registered is deregistered before the error is returned.
///
/// # Errors
/// Flags that do not go together, a port that cannot be bound, storage that cannot be
/// opened or migrated, an invalid recurring schedule, a TLS certificate that cannot be
/// loaded.
pub async fn start_with(
    config: Config,
    listener: TcpListener,
    extras: Extras,
) -> Result<Running, Error> {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let grace = config.serve.shutdown_grace;
    let guard = token.clone().drop_guard();
    match start::launch(config, listener, extras, &token, &tracker).await {
        Ok(running) => {
            guard.disarm();
            Ok(running)
        }
        Err(err) => {
            drop(guard);
            tracker.close();
            if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
                tracing::warn!(
                    ?grace,
                    "tasks of the failed start-up still running after the grace period"
                );
            }
            Err(err)
        }
    }
}

impl Running {
    /// Asks everything to stop (idempotent).
    pub fn shutdown(&self) {
        self.token.cancel();
    }

    /// The token every task watches.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Waits for shutdown to be requested, then for the HTTP server and every tracked task,
    /// at most the grace period; tasks still running after it are abandoned with a warning.
    ///
    /// # Errors
    /// An I/O error of the HTTP server.
    pub async fn wait(self) -> Result<(), Error> {
        self.token.cancelled().await;
        tracing::info!(grace = ?self.grace, "shutting down");
        let Running {
            http,
            tracker,
            grace,
            lock,
            ..
        } = self;
        tracker.close();
        let abort = http.abort_handle();
        let drained = tokio::time::timeout(grace, async move {
            let served = http.await;
            tracker.wait().await;
            served
        })
        .await;
        match drained {
            Ok(Ok(result)) => result?,
            Ok(Err(join)) if join.is_cancelled() => {}
            Ok(Err(join)) => return Err(join.into()),
            Err(_) => {
                abort.abort();
                tracing::warn!(
                    ?grace,
                    "shutdown grace period exceeded; abandoning remaining tasks"
                );
            }
        }
        tracing::info!("stopped");
        drop(lock);
        Ok(())
    }
}

/// Serves until `shutdown` resolves (or something cancels the token), then shuts down.
///
/// # Errors
/// Storage errors at startup, or an I/O error of the HTTP server.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let running = start(config, listener).await?;
    tokio::select! {
        () = shutdown => running.shutdown(),
        () = running.token().cancelled() => {}
    }
    running.wait().await
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    // The handlers are installed now, before the server starts answering, so a signal that
    // arrives during startup is a graceful shutdown rather than the default kill.
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            (int, term) => {
                if let Err(err) = int.and(term) {
                    tracing::error!(cause = %err, "cannot listen for SIGINT/SIGTERM");
                }
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(cause = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    }
}
