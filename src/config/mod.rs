//! Configuration: clap `Args` structs, every flag also a `TRIFECTA_*` environment variable.
//! Parsed once in `main`; tests build these structs directly (see [`ServeConfig::default`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser};

use crate::stores::{Layout, StoreKind};

mod engines;

pub use crate::store::WakeMode;
pub use engines::{ActionCableArgs, CableArgs, CacheArgs, QueueArgs, wake_parser};

/// Where the SQLite files live. Accepted by every subcommand, so a second process can work
/// on a running server's files.
#[derive(Args, Clone, Debug)]
pub struct StorageArgs {
    /// Directory holding the four SQLite files (created if missing).
    #[arg(
        long,
        env = "TRIFECTA_STORAGE",
        default_value = "storage",
        global = true
    )]
    pub storage: PathBuf,
    /// Environment name; the files are `<env>.sqlite3`, `<env>_queue.sqlite3`, ...
    #[arg(
        long,
        env = "TRIFECTA_ENV",
        default_value = "production",
        global = true
    )]
    pub env: String,
    /// Where the stores live: SQLite files in `storage`, or PostgreSQL.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// PostgreSQL URLs of the stores, as Rails' `DATABASE_URL` and `connects_to`: one URL for
/// all four, and one per store that overrides it. A store without a URL stays its SQLite
/// file in the storage directory.
#[derive(Args, Clone, Debug)]
pub struct DatabaseArgs {
    /// PostgreSQL URL for all four stores (`postgres://user:password@host:5432/trifecta`).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL URL of the app data (users, sessions, accounts, todos).
    #[arg(
        long,
        env = "TRIFECTA_APP_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub app_database_url: Option<String>,
    /// PostgreSQL URL of Solid Queue.
    #[arg(
        long,
        env = "TRIFECTA_QUEUE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub queue_database_url: Option<String>,
    /// PostgreSQL URL of Solid Cache.
    #[arg(
        long,
        env = "TRIFECTA_CACHE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub cache_database_url: Option<String>,
    /// PostgreSQL URL of Solid Cable.
    #[arg(
        long,
        env = "TRIFECTA_CABLE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub cable_database_url: Option<String>,
    /// Most connections each store on PostgreSQL holds.
    #[arg(long, env = "TRIFECTA_DATABASE_POOL", default_value_t = DEFAULT_POOL, value_parser = clap::value_parser!(u16).range(1..=1000), global = true)]
    pub database_pool: u16,
}

impl Default for DatabaseArgs {
    /// Every store in its SQLite file.
    fn default() -> Self {
        Self {
            database_url: None,
            app_database_url: None,
            queue_database_url: None,
            cache_database_url: None,
            cable_database_url: None,
            database_pool: DEFAULT_POOL,
        }
    }
}

/// Connections per store on PostgreSQL unless `--database-pool` says otherwise.
pub const DEFAULT_POOL: u16 = 8;

impl DatabaseArgs {
    /// The URL of store `kind`: its own, else the shared one, else none (SQLite).
    pub fn url(&self, kind: StoreKind) -> Option<&str> {
        let own = match kind {
            StoreKind::App => &self.app_database_url,
            StoreKind::Queue => &self.queue_database_url,
            StoreKind::Cache => &self.cache_database_url,
            StoreKind::Cable => &self.cable_database_url,
        };
        own.as_deref()
            .or(self.database_url.as_deref())
            .filter(|url| !url.is_empty())
    }
}

impl StorageArgs {
    /// Where each store of this environment lives.
    pub fn layout(&self) -> Layout {
        Layout {
            dir: self.storage.clone(),
            env: self.env.clone(),
            urls: StoreKind::ALL.map(|kind| self.database.url(kind).map(str::to_owned)),
            pool: usize::from(self.database.database_pool),
        }
    }
}

/// Settings of `trifecta serve`.
#[derive(Args, Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "TRIFECTA_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// Longest graceful shutdown before the process exits anyway.
    #[arg(long, env = "TRIFECTA_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
    /// Longest time one HTTP request may take.
    #[arg(long, env = "TRIFECTA_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "TRIFECTA_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// `instant`: local writes wake pollers at once; `poll`: pure 100 ms polling.
    #[arg(long, env = "TRIFECTA_WAKE", value_parser = wake_parser(), default_value = "instant")]
    pub wake: WakeMode,
    /// Header timeout and connection limit.
    #[command(flatten)]
    pub connections: crate::server::ConnectionArgs,
    /// TLS and cookie secret (the web layer's flags).
    #[command(flatten)]
    pub web: crate::web::WebArgs,
    /// Trusted reverse proxies and `--assume-ssl`.
    #[command(flatten)]
    pub proxy: crate::web::ProxyArgs,
    /// ACME certificates and the port-80 listener (the server's flags).
    #[command(flatten)]
    pub https: crate::server::HttpsArgs,
    /// Solid Cache settings.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Solid Cable (pub/sub) settings.
    #[command(flatten)]
    pub cable: CableArgs,
    /// ActionCable server (`/cable`) settings.
    #[command(flatten)]
    pub actioncable: ActionCableArgs,
    /// Job queue settings.
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Scheduled backups.
    #[command(flatten)]
    pub backup: crate::backup::BackupArgs,
    /// Prometheus metrics listener.
    #[command(flatten)]
    pub metrics: crate::prometheus::MetricsArgs,
}

#[derive(Parser)]
struct ServeDefaults {
    #[command(flatten)]
    serve: ServeConfig,
}

impl Default for ServeConfig {
    /// The documented defaults, as `trifecta serve` with no flags (environment included).
    fn default() -> Self {
        match ServeDefaults::try_parse_from(["trifecta"]) {
            Ok(d) => d.serve,
            Err(_) => Self {
                bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
                shutdown_grace: Duration::from_secs(10),
                request_timeout: Duration::from_secs(30),
                body_limit: 1024 * 1024,
                wake: WakeMode::Instant,
                connections: crate::server::ConnectionArgs::default(),
                web: crate::web::WebArgs::default(),
                proxy: crate::web::ProxyArgs::default(),
                https: crate::server::HttpsArgs::default(),
                cache: CacheArgs::default(),
                cable: CableArgs::default(),
                actioncable: ActionCableArgs::default(),
                queue: QueueArgs::default(),
                backup: crate::backup::BackupArgs::default(),
                metrics: crate::prometheus::MetricsArgs::default(),
            },
        }
    }
}

/// Domain settings, accepted by every subcommand (the CLI creates users too).
#[derive(Args, Clone, Debug)]
pub struct AppArgs {
    /// bcrypt cost of new password digests (4..=31; Rails uses 12).
    #[arg(long, env = "TRIFECTA_BCRYPT_COST", default_value_t = 12, value_parser = clap::value_parser!(u32).range(4..=31), global = true)]
    pub bcrypt_cost: u32,
    /// A session older than this ends (e.g. `30days`).
    #[arg(long, env = "TRIFECTA_SESSION_MAX_AGE", default_value = "30days", value_parser = humantime::parse_duration, global = true)]
    pub session_max_age: Duration,
    /// Secret key base (signing cookies, shuffling the id alphabet); generated into the
    /// storage directory on first start when not given.
    #[arg(
        long,
        env = "TRIFECTA_SECRET_KEY_BASE",
        hide_env_values = true,
        global = true
    )]
    pub secret_key_base: Option<crate::web::SecretString>,
}

impl AppArgs {
    /// The domain settings these flags describe.
    pub fn settings(&self) -> crate::app::Settings {
        crate::app::Settings {
            bcrypt_cost: self.bcrypt_cost,
            session_max_age: self.session_max_age,
        }
    }
}
