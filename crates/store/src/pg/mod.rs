//! PostgreSQL: one [`Pg`] handle per store when `--database-url` puts the stores on a
//! PostgreSQL server instead of SQLite files. A pool of connections (deadpool-postgres over
//! tokio-postgres); each store keeps its own refinery history table
//! (`<store>_schema_history`), so the four stores may share one database or use four.
//!
//! A connection is taken from the pool for one operation (one transaction) and given back
//! when it ends.

#[cfg(feature = "testing")]
pub mod testing;

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;
use tokio_util::sync::CancellationToken;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use refinery::Runner;

use super::error::{Error, Result};
use super::migrate::{MigrationReport, failed, versions};

/// Longest pause between attempts to get the `LISTEN` connection back.
const MAX_LISTEN_BACKOFF: Duration = Duration::from_secs(5);

/// Unacknowledged data older than this drops a connection (`tcp_user_timeout`), unless the
/// URL sets its own.
const DEAD_CONNECTION: Duration = Duration::from_secs(10);

/// How long an operation waits for a free connection before it fails.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(5);

/// Longest a health check waits for the server.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// One store on a PostgreSQL server. Cheap to clone.
#[derive(Clone)]
pub struct Pg {
    name: &'static str,
    pool: Pool,
    /// For the `LISTEN` connection, which stays out of the pool.
    config: std::sync::Arc<tokio_postgres::Config>,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg")
            .field("name", &self.name)
            .field("pool", &self.pool.status())
            .finish()
    }
}

/// A pooled connection, given back on drop.
pub type Connection = deadpool_postgres::Object;

/// A transaction on a pooled connection (with its statement cache); rolled back if dropped
/// before `commit`.
pub type Transaction<'a> = deadpool_postgres::Transaction<'a>;

impl Pg {
    /// A pool of at most `size` connections to `url` for the store `name` (no connection is
    /// made until the first operation).
    ///
    /// # Errors
    /// [`Error::Postgres`] when `url` is not a PostgreSQL URL.
    pub fn connect(name: &'static str, url: &str, size: usize) -> Result<Pg> {
        Self::connect_with(name, url, size, &[])
    }

    /// [`Pg::connect`], each connection starting with the run-time parameters `settings`
    /// (`("enable_seqscan", "off")`), after any the URL's `options` set.
    ///
    /// # Errors
    /// [`Error::Postgres`] when `url` is not a PostgreSQL URL.
    pub fn connect_with(
        name: &'static str,
        url: &str,
        size: usize,
        settings: &[(&str, &str)],
    ) -> Result<Pg> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| Error::Postgres {
            db: name,
            cause: Box::new(e),
        })?;
        if !settings.is_empty() {
            let mut options = config.get_options().unwrap_or_default().to_owned();
            for (key, value) in settings {
                options.push_str(&format!(" -c {key}={value}"));
            }
            config.options(options.trim_start());
        }
        // A host cut off from the server must not wait out TCP's retransmissions (about 15
        // minutes) on a connection in use: the kernel drops it after this long instead, the
        // operation fails, and the pool opens a new connection when the network is back.
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(DEAD_CONNECTION);
        }
        // Idle connections (the `LISTEN` one) are probed after this long, so a lost server
        // is noticed within about 40 s rather than tokio-postgres's default of 2 hours.
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            config.keepalives_idle(Duration::from_secs(30));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(WAIT_FOR_CONNECTION);
        }
        if config.get_application_name().is_none() {
            config.application_name(format!("trifecta {name}"));
        }
        let manager = Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size)
            .wait_timeout(Some(WAIT_FOR_CONNECTION))
            .create_timeout(Some(WAIT_FOR_CONNECTION))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Postgres {
                db: name,
                cause: Box::new(e),
            })?;
        Ok(Pg {
            name,
            pool,
            config: std::sync::Arc::new(config),
        })
    }

    /// The pool's connections now: `(open, idle, callers waiting for one)`.
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let status = self.pool.status();
        (status.size, status.available, status.waiting)
    }

    /// The store's short name (`cable`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A connection from the pool.
    ///
    /// # Errors
    /// [`Error::Postgres`] when none is free within 5 s or the server cannot be reached.
    pub async fn get(&self) -> Result<Connection> {
        self.pool.get().await.map_err(|e| Error::Postgres {
            db: self.name,
            cause: Box::new(e),
        })
    }

    /// Wraps a driver error of this store.
    pub fn error(&self, cause: tokio_postgres::Error) -> Error {
        Error::Postgres {
            db: self.name,
            cause: Box::new(cause),
        }
    }

    /// Applies the pending migrations of `runner` (the store's PostgreSQL migrations) in the
    /// history table `<store>_schema_history`, refusing a history ahead of them.
    ///
    /// # Errors
    /// [`Error::Migration`] naming the failing migration, [`Error::NewerPgSchema`], or
    /// [`Error::Postgres`].
    pub async fn migrate(&self, runner: fn() -> Runner) -> Result<MigrationReport> {
        let mut conn = self.get().await?;
        let table = format!("{}_schema_history", self.name);
        // Servers starting together on one database migrate one at a time: the first
        // applies, the others find nothing pending. A session lock, released below or with
        // the connection.
        conn.execute(
            "SELECT pg_advisory_lock(hashtextextended($1, 0))",
            &[&table],
        )
        .await
        .map_err(|e| self.error(e))?;
        let result = self.migrate_locked(&mut conn, &table, runner).await;
        if let Err(e) = conn
            .execute(
                "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                &[&table],
            )
            .await
        {
            tracing::warn!(db = self.name, cause = %e, "could not release the migration lock");
        }
        result
    }

    /// [`Pg::migrate`] once its lock is held.
    async fn migrate_locked(
        &self,
        conn: &mut Connection,
        table: &str,
        runner: fn() -> Runner,
    ) -> Result<MigrationReport> {
        let versions = versions(&runner());
        let known = versions.last().map_or(0, |v| v.0);
        let found = self.applied_version(conn, table).await?;
        if found > known {
            return Err(Error::NewerPgSchema {
                db: self.name,
                found,
                known,
            });
        }
        let client: &mut tokio_postgres::Client = conn;
        let mut runner = runner();
        runner.set_migration_table_name(table);
        let report = runner
            .set_abort_divergent(true)
            .set_abort_missing(true)
            .run_async(client)
            .await
            .map_err(|e| failed(self.name, &versions, found, &e))?;
        Ok(MigrationReport {
            db: self.name,
            applied: report
                .applied_migrations()
                .iter()
                .map(|m| format!("V{}__{}", m.version(), m.name()))
                .collect(),
            version: self.applied_version(conn, table).await?,
        })
    }

    /// Checks, without changing anything, that the store is at exactly the schema of
    /// `runner` (as admin commands need before they work beside a server); returns the
    /// version.
    ///
    /// # Errors
    /// [`Error::OlderPgSchema`], [`Error::NewerPgSchema`] or [`Error::Postgres`].
    pub async fn check_schema(&self, runner: fn() -> Runner) -> Result<i64> {
        let conn = self.get().await?;
        let table = format!("{}_schema_history", self.name);
        let known = versions(&runner()).last().map_or(0, |v| v.0);
        let found = self.applied_version(&conn, &table).await?;
        match found.cmp(&known) {
            std::cmp::Ordering::Less => Err(Error::OlderPgSchema {
                db: self.name,
                found,
                known,
            }),
            std::cmp::Ordering::Greater => Err(Error::NewerPgSchema {
                db: self.name,
                found,
                known,
            }),
            std::cmp::Ordering::Equal => Ok(found),
        }
    }

    /// Health check: a pooled connection answers within [`PROBE_TIMEOUT`] and the server
    /// takes writes (it is not a standby in recovery).
    ///
    /// # Errors
    /// [`Error::Postgres`] saying which of these failed.
    pub async fn check(&self) -> Result<()> {
        let probe = async {
            let conn = self.get().await?;
            let standby: bool = conn
                .query_one("SELECT pg_is_in_recovery()", &[])
                .await
                .map_err(|e| self.error(e))?
                .get(0);
            if standby {
                return Err(Error::Postgres {
                    db: self.name,
                    cause: "the server is a standby in recovery and takes no writes".into(),
                });
            }
            Ok(())
        };
        match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Ok(result) => result,
            Err(_) => Err(Error::Postgres {
                db: self.name,
                cause: format!("no answer within {PROBE_TIMEOUT:?}").into(),
            }),
        }
    }

    /// Highest version in the history table `table` (0 before the first migration).
    async fn applied_version(&self, conn: &Connection, table: &str) -> Result<i64> {
        let exists: Option<String> = conn
            .query_one("SELECT to_regclass($1)::text", &[&table])
            .await
            .map_err(|e| self.error(e))?
            .get(0);
        if exists.is_none() {
            return Ok(0);
        }
        let max: Option<i32> = conn
            .query_one(&format!("SELECT max(version) FROM {table}"), &[])
            .await
            .map_err(|e| self.error(e))?
            .get(0);
        Ok(i64::from(max.unwrap_or(0)))
    }

    /// Runs until `token` is cancelled: a connection of its own (outside the pool) `LISTEN`s
    /// on `channel` and calls `wake` for every notification, and once after every
    /// (re)connect, since notifications sent while it was away are lost. A wake-up hint
    /// only: whoever relies on the data must also poll. Reconnects with back-off.
    pub async fn listen(
        self,
        channel: &'static str,
        wake: impl Fn() + Send + Sync + 'static,
        token: CancellationToken,
    ) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.listen_once(channel, &wake, &token).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(db = self.name, cause = %e, ?backoff, "LISTEN connection lost; reconnecting")
                }
            }
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_LISTEN_BACKOFF);
        }
    }

    /// One `LISTEN` connection's life; `Ok` when cancelled.
    async fn listen_once(
        &self,
        channel: &'static str,
        wake: &(impl Fn() + Send + Sync + 'static),
        token: &CancellationToken,
    ) -> Result<(), tokio_postgres::Error> {
        let (client, mut connection) = self.config.connect(tokio_postgres::NoTls).await?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        // The connection does its I/O only while polled; this task polls it and forwards
        // the notifications.
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(_)) => {
                        if tx.send(()).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        let _abort = AbortOnDrop(driver.abort_handle());
        client.batch_execute(&format!("LISTEN {channel}")).await?;
        wake();
        loop {
            tokio::select! {
                () = token.cancelled() => return Ok(()),
                got = rx.recv() => match got {
                    Some(()) => wake(),
                    None => break,
                },
            }
        }
        match driver.await {
            Ok(Err(e)) => Err(e),
            // The server closed the connection without an error.
            _ => client.batch_execute("SELECT 1").await,
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
