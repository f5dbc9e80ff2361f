//! The steps of [`super::start`], in the order the types impose: the handles are built first
//! (nothing runs yet), every job and channel is registered on the not-yet-started queue
//! ([`QueueSetup`]) and channel [`Registry`], which the queue's start and
//! [`ActionCable::new`] then consume with the connect hook; only then do tasks spawn, each on
//! the server's tracker under its token, and the listeners start serving.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::https::{check_https_flags, https, serve_both};
use super::{Config, Error, FILE_CHECK_EVERY, Running, listen, memory, redirect, tls};
use crate::actioncable::{ActionCable, Connect, Registry};
use crate::app::{App, Board};
use crate::cable::Cable;
use crate::cache::Cache;
use crate::dashboard::Dashboard;
use crate::prometheus;
use crate::queue::{self, QueueSetup};
use crate::store::{Clock, PoolOptions, StorageLock};
use crate::stores::Stores;
use crate::web::cable_auth::SessionConnect;
use crate::web::secret::SecretKeyBase;
use crate::web::{self, AppState, Cookies, Site};

/// What an embedding adds to the server before it starts: channels beside the app's, and a
/// connect hook in place of the session-cookie one. The protocol tests and benches of the
/// ActionCable engine use it; `trifecta serve` adds nothing.
#[derive(Default)]
pub struct Extras {
    /// Channels served beside the app's (an app channel of the same name wins).
    pub channels: Registry,
    /// Identifies sockets instead of [`SessionConnect`] (for example
    /// [`AcceptAll`](crate::actioncable::AcceptAll)).
    pub connect: Option<Arc<dyn Connect>>,
}

impl std::fmt::Debug for Extras {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extras")
            .field("channels", &self.channels)
            .field("connect", &self.connect.is_some())
            .finish()
    }
}

/// Starts everything under `token` and `tracker`. On an error, what it spawned is still
/// running: the caller cancels `token` (see [`super::start_with`]).
pub(super) async fn launch(
    config: Config,
    listener: TcpListener,
    extras: Extras,
    token: &CancellationToken,
    tracker: &TaskTracker,
) -> Result<Running, Error> {
    check_https_flags(&config.serve)?;
    // Bound and installed first: a taken port fails before storage is opened, and the
    // engines' counters start with the server.
    let metrics = match config.serve.metrics.metrics_bind {
        Some(addr) => Some((
            prometheus::bind(addr).await?,
            prometheus::Exporter::install()?,
        )),
        None => None,
    };
    memory::fix_thresholds();
    let (stores, secret, lock) = open_storage(&config).await?;
    let (state, jobs) = build(&config, stores, &secret, extras, token, tracker)?;
    let state = spawn_engines(&config, state, jobs).await?;
    tracker.spawn(memory::return_after_closes(
        state.actioncable.clone(),
        token.clone(),
    ));
    let mut router = web::router(state.clone(), &config.serve);
    if let Some((listener, exporter)) = metrics {
        router = prometheus::track_requests(router);
        let sources = prometheus::Sources {
            stores: state.stores.clone(),
            queue: state.queue.clone(),
            cache: state.cache.clone(),
            actioncable: state.actioncable.clone(),
        };
        prometheus::spawn(listener, exporter, sources, tracker, token.clone())?;
    }
    serve(config, listener, router, state, lock).await
}

/// Takes the storage lock, opens (creating and migrating) the four stores where the
/// configuration puts them and loads the secret key base.
async fn open_storage(config: &Config) -> Result<(Stores, SecretKeyBase, StorageLock), Error> {
    let layout = config.storage.layout();
    let dir = layout.dir.clone();
    // Taken first, so no server opens files a restore is replacing.
    let lock = tokio::task::spawn_blocking(move || StorageLock::shared(&dir)).await??;
    let (stores, _) = Stores::connect(&layout, &PoolOptions::default()).await?;
    let dir = layout.dir.clone();
    let given_secret = config.app.secret_key_base.clone();
    let secret = tokio::task::spawn_blocking(move || {
        SecretKeyBase::load_or_create(&dir, given_secret.as_ref())
    })
    .await??;
    Ok((stores, secret, lock))
}

/// Builds every handle, registers every job and channel, and builds the ActionCable server
/// with its channels and connect hook. Spawns nothing.
fn build(
    config: &Config,
    stores: Stores,
    secret: &SecretKeyBase,
    extras: Extras,
    token: &CancellationToken,
    tracker: &TaskTracker,
) -> Result<(AppState, QueueSetup), Error> {
    let clock = Clock::system();
    let wake = config.serve.wake;
    let mut jobs = QueueSetup::new(
        stores.queue.clone(),
        clock.clone(),
        config.serve.queue.options(),
        wake,
    );
    queue::builtin::register(&mut jobs);
    crate::backup::schedule::register(
        &mut jobs,
        stores.clone(),
        config.storage.storage.clone(),
        config.storage.env.clone(),
    );
    crate::backup::schedule::schedule(&mut jobs, &config.serve.backup, &stores)?;
    let cable = Cable::new(
        stores.cable.clone(),
        clock.clone(),
        config.serve.cable.options(),
        wake,
    );
    let cache = Cache::new(
        stores.cache.clone(),
        clock.clone(),
        config.serve.cache.options(),
    );
    let app = App::new(
        stores.app.clone(),
        clock.clone(),
        secret.expose_bytes(),
        config.app.settings(),
    )
    .with_cable(cable.clone());
    let cookies = Cookies {
        key: secret.cookie_key(),
        max_age: config.app.session_max_age,
    };
    let site = Site::new(
        &cookies.key,
        &config.storage.env,
        config.serve.native_tls(),
        !config.serve.web.no_signup,
    );
    let queue = jobs.queue().clone();
    let board = Board::new(app.clone(), cache.clone(), queue.clone(), cable.clone());
    let Extras {
        mut channels,
        connect,
    } = extras;
    crate::app::channels::register(&mut channels, &app);
    board.register(&mut jobs, &mut channels);
    let connect =
        connect.unwrap_or_else(|| Arc::new(SessionConnect::new(app.clone(), cookies.clone())));
    let actioncable = ActionCable::new(
        cable.clone(),
        config.serve.actioncable.options(),
        channels,
        connect,
        tracker.clone(),
        token.clone(),
    );
    let dashboard = Dashboard::new(
        queue.clone(),
        cache.clone(),
        cable.clone(),
        actioncable.clone(),
    );
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
        dashboard,
    };
    Ok((state, jobs))
}

/// Spawns the engines' background tasks: the store file check, the cable listener, the
/// ActionCable order subscription, the cache loop, the dashboard's pulse, and the queue (which consumes its
/// registrations).
async fn spawn_engines(
    config: &Config,
    state: AppState,
    jobs: QueueSetup,
) -> Result<AppState, Error> {
    let (token, tracker) = (&state.token, &state.tracker);
    tracker.spawn(
        state
            .stores
            .clone()
            .watch_files(FILE_CHECK_EVERY, token.clone()),
    );
    state.cable.spawn_listener(tracker, token.clone());
    // Remote disconnect orders from any process sharing the cable file.
    state.actioncable.start().await?;
    tracker.spawn(state.cache.clone().run(token.clone()));
    state.dashboard.start(tracker, token.clone()).await?;
    jobs.start(&config.storage.env, token, tracker).await?;
    Ok(state)
}

/// Binds what is left (`--http-bind`), loads HTTPS, and starts serving.
async fn serve(
    config: Config,
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
    lock: StorageLock,
) -> Result<Running, Error> {
    let (token, tracker) = (state.token.clone(), state.tracker.clone());
    let addr = listener.local_addr()?;
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
    tracker.spawn_blocking(|| {
        web::warm_assets();
        // The compressors' working memory (megabytes at the highest levels) is freed but
        // stays in this thread's arena; give it back, or an idle server keeps it for life.
        super::memory::trim();
    });
    // Joined in `Running::wait`, so it is scoped rather than tracked.
    let http = tokio::spawn(serve_both(listener, serve, plain, token.clone()));
    let scheme = if config.serve.native_tls() {
        "https"
    } else {
        "http"
    };
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
