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

use crate::actioncable::ActionCable;
use crate::app::{App, Board};
use crate::cable::Cable;
use crate::cache::Cache;
use crate::config::{AppArgs, ServeConfig, StorageArgs};
use crate::prometheus;
use crate::queue::{self, Queue};
use crate::store::{self, Clock, PoolOptions, StorageLock};
use crate::stores::Stores;
use crate::web::secret::SecretKeyBase;
use crate::web::{self, AppState, Site};

mod acme;
mod args;
mod https;
mod listen;
mod memory;
mod redirect;
mod tls;

use https::{check_https_flags, https, serve_both};

pub use args::{ChallengeKind, HttpsArgs, LETS_ENCRYPT};
pub use listen::ConnectionArgs;

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
/// Storage that cannot be opened or migrated.
pub async fn start(config: Config, listener: TcpListener) -> Result<Running, Error> {
    check_https_flags(&config.serve)?;
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    // Bound and installed first: a taken port fails before storage is opened, and the
    // engines' counters start with the server.
    let metrics = match config.serve.metrics.metrics_bind {
        Some(addr) => Some((
            prometheus::bind(addr).await?,
            prometheus::Exporter::install()?,
        )),
        None => None,
    };
    let storage = config.storage.clone();
    let given_secret = config.app.secret_key_base.clone();
    let (stores, secret, lock) = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        // Taken first, so no server opens files a restore is replacing.
        let lock = StorageLock::shared(&storage.storage)?;
        let stores = Stores::open(&storage.storage, &storage.env, &PoolOptions::default())?;
        let secret = SecretKeyBase::load_or_create(&storage.storage, given_secret.as_ref())?;
        Ok((stores, secret, lock))
    })
    .await??;
    tracker.spawn(stores.clone().watch_files(FILE_CHECK_EVERY, token.clone()));
    let clock = Clock::system();
    let queue = Queue::new(
        stores.queue.clone(),
        clock.clone(),
        config.serve.queue.options(),
        config.serve.wake,
    );
    queue::builtin::register(&queue);
    crate::backup::schedule::register(
        &queue,
        stores.clone(),
        config.storage.storage.clone(),
        config.storage.env.clone(),
    );
    crate::backup::schedule::schedule(&queue, &config.serve.backup)?;
    let cable = Cable::new(
        stores.cable.clone(),
        clock.clone(),
        config.serve.cable.options(),
        config.serve.wake,
    );
    cable.spawn_listener(&tracker, token.clone());
    let actioncable = ActionCable::new(
        cable.clone(),
        config.serve.actioncable.options(),
        tracker.clone(),
        token.clone(),
    );
    // Remote disconnect orders from any process sharing the cable file.
    actioncable.start().await?;
    let cache = Cache::new(
        stores.cache.clone(),
        clock.clone(),
        config.serve.cache.options(),
    );
    tracker.spawn(cache.clone().run(token.clone()));
    let native_tls = config.serve.native_tls();
    let app = App::new(
        stores.app.clone(),
        clock.clone(),
        secret.expose_bytes(),
        config.app.settings(),
    )
    .with_cable(cable.clone());
    crate::app::channels::register(actioncable.registry(), &app);
    let site = Site::new(
        &secret,
        &config.storage.env,
        native_tls,
        !config.serve.web.no_signup,
    );
    let cookies = web::Cookies {
        key: site.cookie_key.clone(),
        max_age: config.app.session_max_age,
    };
    actioncable.set_connect(std::sync::Arc::new(web::cable_auth::SessionConnect::new(
        app.clone(),
        cookies.key.clone(),
    )));
    let board = Board::new(app.clone(), cache.clone(), queue.clone(), cable.clone());
    board.register(actioncable.registry());
    // Job handlers must be registered before the queue starts.
    queue.start(&config.storage.env, &token, &tracker).await?;
    let state = AppState {
        stores,
        app,
        cookies,
        clock,
        token: token.clone(),
        tracker: tracker.clone(),
        site,
        cache,
        cable,
        actioncable,
        queue,
        board,
    };
    tracker.spawn_blocking(web::warm_assets);
    tracker.spawn(memory::return_after_closes(
        state.actioncable.clone(),
        token.clone(),
    ));
    let addr = listener.local_addr()?;
    let mut router = web::router(state.clone(), &config.serve);
    if let Some((listener, exporter)) = metrics {
        router = prometheus::track_requests(router);
        let sources = prometheus::Sources {
            stores: state.stores.clone(),
            queue: state.queue.clone(),
            cache: state.cache.clone(),
            actioncable: state.actioncable.clone(),
        };
        prometheus::spawn(listener, exporter, sources, &tracker, token.clone())?;
    }
    let https = https(&config).await?;
    let nofile = listen::raise_descriptor_limit();
    let connections = &config.serve.connections;
    let max_connections = connections.max_connections.map_or_else(
        || listen::default_max_connections(nofile),
        |n| usize::try_from(n).unwrap_or(usize::MAX),
    );
    let serve = listen::Serve {
        router,
        tls: https.as_ref().map(|h| h.acceptor.clone()),
        header_timeout: connections.header_timeout,
        max_connections,
    };
    let plain = match (&https, config.serve.https.http_bind) {
        (Some(https), Some(http_bind)) => {
            let listener = TcpListener::bind(http_bind)
                .await
                .map_err(|cause| Error::HttpBind {
                    addr: http_bind,
                    cause,
                })?;
            let serve = listen::Serve {
                router: redirect::router(https.resolver.clone(), addr.port()),
                tls: None,
                header_timeout: connections.header_timeout,
                max_connections: (max_connections / 8).max(1),
            };
            Some((listener, serve))
        }
        _ => None,
    };
    let http_addr = match &plain {
        Some((listener, _)) => Some(listener.local_addr()?),
        None => None,
    };
    // Joined in `Running::wait`, so it is scoped rather than tracked.
    let http = tokio::spawn(serve_both(listener, serve, plain, token.clone()));
    let scheme = if native_tls { "https" } else { "http" };
    tracing::info!(%addr, scheme, max_connections, descriptor_limit = nofile, storage = %config.storage.storage.display(), env = %config.storage.env, "listening");
    if let Some(http_addr) = http_addr {
        tracing::info!(%http_addr, "plain HTTP answers ACME challenges and redirects to HTTPS");
    }
    if let Some(https) = https {
        if let Some(acme) = https.acme {
            tracker.spawn(acme.run(token.clone()));
        }
        tracker.spawn(tls::reload::run(
            https.source,
            https.resolver,
            https.hangup,
            token.clone(),
        ));
    }
    Ok(Running {
        addr,
        http_addr,
        state,
        token,
        tracker,
        http,
        grace: config.serve.shutdown_grace,
        lock,
    })
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
