//! Solid Cable: pub/sub through one SQLite file.
//!
//! [`Cable::broadcast`] appends a row to `solid_cable_messages` (one write transaction) and,
//! in [`WakeMode::Instant`], delivers it to local subscribers at once when no other row is
//! pending before it, or else wakes the local listener. One listener per process
//! polls every `--cable-polling-interval` (100 ms) for rows newer than it has seen, only on
//! the channels that have local subscribers, in id order, and hands them to the in-process
//! hub, whose [`Sink`]s are the subscribers. Rows written by other processes sharing the
//! file arrive through the same poll. A separate trimmer deletes rows older than the
//! retention (1 day).
//!
//! Unlike Solid Cable's listener (rails/solid_cable#74), ours survives database errors: it logs,
//! backs off and resumes where it stopped.
//!
//! Talks to: [`trifecta_store`]. Knows nothing of WebSockets or the app.

mod config;
mod error;
mod history;
mod hub;
mod listener;
mod presence;
mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::de::IgnoredAny;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::CableOptions;

mod embedded {
    refinery::embed_migrations!("sql/sqlite");
}

mod embedded_pg {
    refinery::embed_migrations!("sql/postgres");
}

/// This engine's tables on SQLite: the migrations in `crates/cable/sql/sqlite/`, which the
/// store runs.
pub const SCHEMA: trifecta_store::Schema = trifecta_store::Schema {
    name: "cable",
    runner: embedded::migrations::runner,
};
pub use error::{Error, Result};
pub use history::{Gap, History, Start};
pub use hub::{Sink, Subscription};
pub use listener::Listener;
pub use presence::{CHANNEL_PREFIX as PRESENCE_PREFIX, Present, channel as presence_channel};
pub use store::{TableStats, channel_hash};
/// The time type of [`Message::created_at`] and [`Start::Since`].
pub use trifecta_store::Timestamp;

/// The cable's migrations on PostgreSQL (`sql/postgres/`), for [`trifecta_store::Pg::migrate`].
pub fn postgres_migrations() -> refinery::Runner {
    embedded_pg::migrations::runner()
}

use trifecta_store::Clock;
use trifecta_store::WakeMode;

/// Longest channel name accepted, in bytes (Solid Cable's column limit).
pub const MAX_CHANNEL_LEN: usize = 1024;

/// One broadcast as read back from the database.
#[derive(Clone, Debug)]
pub struct Message {
    /// Row id: increasing in commit order.
    pub id: i64,
    /// The channel (stream) name.
    pub channel: Arc<str>,
    /// The payload: one JSON value, serialized once.
    pub payload: Arc<str>,
    /// When it was broadcast.
    pub created_at: Timestamp,
}

/// The Solid Cable handle. Cheap to clone.
#[derive(Clone)]
pub struct Cable {
    inner: Arc<Inner>,
}

struct Inner {
    db: store::Store,
    clock: Clock,
    config: CableOptions,
    wake_mode: WakeMode,
    hub: hub::Hub,
    wake: Notify,
    listener_started: AtomicBool,
    listener_errors: AtomicU64,
    polls: AtomicU64,
    /// Broadcasts this process published.
    published: AtomicU64,
    /// Messages this process's trimmer deleted.
    trimmed: AtomicU64,
    /// The largest listener lag (commit to delivery) seen since it was last taken, in µs.
    lag_max_us: AtomicU64,
    /// The store's history epoch, read once.
    epoch: tokio::sync::OnceCell<Arc<str>>,
    /// `trifecta_cable_broadcasts_total`, looked up once (a registry lookup per broadcast
    /// otherwise, with a recorder installed).
    broadcasts: metrics::Counter,
    /// This process's id on the presence rows it keeps alive.
    node: String,
    /// This process's sessions with presence rows.
    live_members: presence::LiveMembers,
    /// The presence clock, from the TTL.
    presence: presence::Timing,
}

impl std::fmt::Debug for Cable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cable")
            .field("db", &self.inner.db)
            .field("wake_mode", &self.inner.wake_mode)
            .finish_non_exhaustive()
    }
}

/// This process's view of the cable, for `stats` and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LocalStats {
    /// Channels with at least one local subscriber.
    pub channels: usize,
    /// Local subscriptions over all channels.
    pub subscriptions: usize,
    /// Messages handed to local subscribers since start.
    pub delivered: u64,
    /// Listener polls that read the table (an idle poll that finds the file's
    /// `data_version` unchanged since its last read does not).
    pub polls: u64,
    /// Listener polls that failed (each logged, then retried after a back-off).
    pub listener_errors: u64,
    /// Broadcasts this process published since start.
    pub published: u64,
    /// Messages this process's trimmer deleted since start.
    pub trimmed: u64,
}

impl Cable {
    /// A cable on `db` (the cable store: an SQLite [`trifecta_store::Db`] or a
    /// [`trifecta_store::Pg`]). Start its listener with [`Cable::spawn_listener`].
    pub fn new(
        db: impl Into<trifecta_store::Backend>,
        clock: Clock,
        config: CableOptions,
        wake_mode: WakeMode,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db: store::Store(db.into()),
                clock,
                wake_mode,
                hub: hub::Hub::default(),
                wake: Notify::new(),
                listener_started: AtomicBool::new(false),
                listener_errors: AtomicU64::new(0),
                polls: AtomicU64::new(0),
                published: AtomicU64::new(0),
                trimmed: AtomicU64::new(0),
                lag_max_us: AtomicU64::new(0),
                epoch: tokio::sync::OnceCell::new(),
                broadcasts: metrics::counter!("trifecta_cable_broadcasts_total"),
                node: presence::node_id(),
                live_members: presence::LiveMembers::default(),
                presence: presence::Timing::new(config.presence_ttl),
                config,
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &CableOptions {
        &self.inner.config
    }

    /// The clock timestamps come from.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Broadcasts `payload` on `channel`; returns the message id.
    ///
    /// # Errors
    /// An invalid channel name or a database failure.
    pub async fn broadcast(&self, channel: &str, payload: &serde_json::Value) -> Result<i64> {
        self.publish(channel, payload.to_string()).await
    }

    /// Broadcasts already-serialized JSON text (checked to be one JSON value).
    ///
    /// # Errors
    /// Text that is not JSON, an invalid channel name or a database failure.
    pub async fn broadcast_json(&self, channel: &str, json: impl Into<String>) -> Result<i64> {
        let json = json.into();
        serde_json::from_str::<IgnoredAny>(&json)
            .map_err(|e| Error::InvalidPayload(e.to_string()))?;
        self.publish(channel, json).await
    }

    #[tracing::instrument(skip_all, fields(channel, bytes = payload.len()))]
    async fn publish(&self, channel: &str, payload: String) -> Result<i64> {
        self.check_channel(channel)?;
        let now = self.inner.clock.now();
        let name = channel.to_owned();
        let (id, name, payload) = self.inner.db.insert(name, payload, now).await?;
        self.inner.broadcasts.increment(1);
        self.inner.published.fetch_add(1, Ordering::Relaxed);
        if self.inner.wake_mode == WakeMode::Instant {
            let message = Message {
                id,
                channel: Arc::from(name),
                payload: Arc::from(payload),
                created_at: now,
            };
            if !self.inner.hub.publish_local(&message) {
                self.inner.wake.notify_one();
            }
        }
        Ok(id)
    }

    /// A channel name the table takes.
    fn check_channel(&self, channel: &str) -> Result<()> {
        if channel.is_empty() || channel.len() > MAX_CHANNEL_LEN {
            return Err(Error::InvalidChannel { len: channel.len() });
        }
        Ok(())
    }

    /// Registers `sink` for `channel`. It gets every message broadcast after this call
    /// returns (and none from before it), until [`Cable::unsubscribe`].
    ///
    /// # Errors
    /// The database could not be read.
    pub async fn subscribe(&self, channel: &str, sink: Arc<dyn Sink>) -> Result<Subscription> {
        let floor = self.inner.db.max_id().await?;
        Ok(self.inner.hub.add(channel, floor, sink))
    }

    /// The id of the newest message in the table (0 when empty): a subscriber that joins a
    /// stream another local registration already receives counts messages after this as its
    /// own, the same floor [`Cable::subscribe`] sets.
    ///
    /// # Errors
    /// The database could not be read.
    pub async fn last_id(&self) -> Result<i64> {
        self.inner.db.max_id().await
    }

    /// Removes a registration made by [`Cable::subscribe`] (idempotent).
    pub fn unsubscribe(&self, subscription: &Subscription) {
        self.inner.hub.remove(subscription);
    }

    /// Deletes messages older than the retention, in batches; returns how many.
    ///
    /// # Errors
    /// A database failure (rows deleted by earlier batches stay deleted).
    #[tracing::instrument(skip_all)]
    pub async fn trim(&self) -> Result<usize> {
        let cutoff = self.inner.clock.now() - self.inner.config.message_retention;
        let batch = self.inner.config.trim_batch_size;
        let mut total = 0;
        loop {
            let n = self.inner.db.trim_batch(cutoff, batch).await?;
            total += n;
            if n < batch as usize {
                break;
            }
        }
        if total > 0 {
            self.inner
                .trimmed
                .fetch_add(total as u64, Ordering::Relaxed);
            tracing::debug!(deleted = total, "trimmed cable messages");
        }
        Ok(total)
    }

    /// Counts of the messages table (works from any process).
    ///
    /// # Errors
    /// A database failure.
    pub async fn table_stats(&self) -> Result<TableStats> {
        self.inner.db.table_stats().await
    }

    /// This process's subscribers and listener counters.
    pub fn local_stats(&self) -> LocalStats {
        let (channels, subscriptions) = self.inner.hub.counts();
        LocalStats {
            channels,
            subscriptions,
            delivered: self.inner.hub.delivered(),
            polls: self.inner.polls.load(Ordering::Relaxed),
            listener_errors: self.inner.listener_errors.load(Ordering::Relaxed),
            published: self.inner.published.load(Ordering::Relaxed),
            trimmed: self.inner.trimmed.load(Ordering::Relaxed),
        }
    }

    /// How many registrations of this process listen to `channel` (one per socket
    /// streaming it, and any in-process ones): an in-memory lookup.
    pub fn local_subscribers(&self, channel: &str) -> usize {
        self.inner.hub.subscribers(channel)
    }

    /// The largest listener lag (from a message's commit to its delivery here) since the
    /// last call, which resets it; `None` when nothing was delivered in between.
    pub fn take_max_lag(&self) -> Option<std::time::Duration> {
        match self.inner.lag_max_us.swap(0, Ordering::Relaxed) {
            0 => None,
            us => Some(std::time::Duration::from_micros(us)),
        }
    }

    /// A listener to drive by hand with [`Listener::run_once`] (tests).
    pub fn listener(&self) -> Listener {
        Listener::new(self.clone())
    }

    /// Starts this process's listener, trimmer and presence loop on `tracker`; all stop when
    /// `token` is cancelled. A second call does nothing.
    pub fn spawn_listener(&self, tracker: &TaskTracker, token: CancellationToken) {
        if self.inner.listener_started.swap(true, Ordering::SeqCst) {
            return;
        }
        tracker.spawn(self.listener().run(token.clone()));
        if let trifecta_store::Backend::Postgres(pg) = &self.inner.db.0 {
            // Other processes' publishes wake the listener at once; its poll stays the
            // guarantee (notifications sent while this connection is down are lost).
            let cable = self.clone();
            let wake = move || cable.inner.wake.notify_one();
            tracker.spawn(
                pg.clone()
                    .listen(store::NOTIFY_CHANNEL, wake, token.clone()),
            );
        }
        tracker.spawn(presence::presence_loop(self.clone(), token.clone()));
        tracker.spawn(listener::trim_loop(self.clone(), token));
    }
}
