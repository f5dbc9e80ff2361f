//! An ActionCable server: the wire protocol of `@rails/actioncable` (`actioncable-v1-json`),
//! and AnyCable's extension of it for `@anycable/web` (`actioncable-v1-ext-json`), at
//! `GET /cable`, over the [`Cable`] pub/sub.
//!
//! - [`handler`]: the upgrade: 404 for plain HTTP, foreign origins or clients not offering
//!   `actioncable-v1-json`; limits on frame size and buffers.
//! - `session`: one task per socket owning it: welcome, 3 s pings, revalidation of its
//!   identity, commands, its queue of broadcasts, disconnect frames, and `unsubscribed` on
//!   close.
//! - `subscriptions`: `subscribe` / `unsubscribe` / `message`, keyed by the raw identifier;
//!   the identifiers of one socket streaming the same stream share one hub registration.
//! - `writing`: writes within the write timeout, and the heavy lane; `ratelimit`: the
//!   command rate per connection.
//! - `outbox`: broadcasts shared by every queue (never copied per socket or identifier),
//!   queues bounded in bytes, and the server-wide memory budget; `queue`: a connection's
//!   queues (broadcasts, outside orders), which allocate nothing until something is queued.
//! - [`Channel`] / [`Registry`]: the channel API; [`Connect`]: the connection hook.
//! - `resume` and `replay`: AnyCable's extended protocol ([`PROTOCOL_EXT`], chosen when the
//!   client offers it): a session id in the welcome, sessions saved in the cable store and
//!   restored on reconnect (`restored_ids`), broadcasts carrying `stream_id`, `epoch` and
//!   `offset` (the Solid Cable message id), and `history` replays, whole or refused.
//! - `presence`: the extended protocol's presence (`join`, `leave`, `presence`) on the cable
//!   store's presence sets, for subscriptions a channel opts in ([`Context::presence`]).
//! - `remote`: disconnect and unsubscribe orders across processes on the internal cable
//!   channel [`INTERNAL_CHANNEL`] ([`ActionCable::disconnect_everywhere`],
//!   [`ActionCable::unsubscribe_everywhere`], [`remote_disconnect`], [`remote_unsubscribe`]).
//!
//! Deviations from Rails, on purpose (`docs/protocols.md` §1.7): a subscribe to an unknown channel
//! (or with an unparseable identifier, or past the subscription limit) gets
//! `reject_subscription` instead of silence, so the client's guarantor stops retrying; and a
//! client sending no `Origin` (not a browser) is allowed.
//!
//! Every socket task is tracked by the server's [`TaskTracker`] and ends on shutdown after
//! sending `server_restart` (axum's graceful shutdown does not wait for upgraded sockets:
//! tokio-rs/axum#3003). Talks to: [`trifecta_cable`]. Knows nothing of the app.

mod channel;
mod config;
mod connect;
mod frame;
pub mod handler;
mod outbox;
mod presence;
mod queue;
mod ratelimit;
mod remote;
mod replay;
mod resume;
mod session;
mod subscriptions;
mod writing;

use parking_lot::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use channel::{Channel, ChannelFactory, Context, Registry};
pub use config::ActionCableOptions;
pub use connect::{AcceptAll, Connect, ConnectRequest, ConnectionInfo, Identity, Rejected};
pub use frame::DisconnectReason;
pub use remote::{
    INTERNAL_CHANNEL, RESERVED_PREFIX, disconnect as remote_disconnect,
    unsubscribe as remote_unsubscribe,
};

use trifecta_cable::{self as cable, Cable};

/// The parsers of client frames, for the fuzz targets (`fuzz/`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::frame::{
        BadFrame, Command, HistoryRequest, confirm, identifier_json, parse_command,
        parse_identifier,
    };
}

/// The sub-protocol of `@rails/actioncable`.
pub const PROTOCOL: &str = "actioncable-v1-json";

/// AnyCable's extended protocol (session restore, history, stream offsets), selected when
/// the client offers it (`@anycable/web`).
pub const PROTOCOL_EXT: &str = "actioncable-v1-ext-json";

/// The ActionCable server handle. Cheap to clone.
#[derive(Clone)]
pub struct ActionCable {
    inner: Arc<Inner>,
}

struct Inner {
    cable: Cable,
    config: ActionCableOptions,
    registry: Registry,
    connect: Arc<dyn Connect>,
    tracker: TaskTracker,
    token: CancellationToken,
    connections: Mutex<HashMap<u64, Conn>>,
    next_conn: AtomicU64,
    counters: Counters,
    ledger: outbox::Ledger,
    /// Permits to write a heavy batch (one owing many frames): heavy writers take turns on
    /// part of the cores, so sockets owed a frame or two never queue behind them.
    heavy_lane: Arc<tokio::sync::Semaphore>,
    /// The subscription to [`INTERNAL_CHANNEL`], once [`ActionCable::start`] made it.
    internal: Mutex<Option<cable::Subscription>>,
}

#[derive(Default)]
struct Counters {
    slow_disconnects: AtomicU64,
    rejected_connections: AtomicU64,
    ignored_frames: AtomicU64,
    oversize_frames: AtomicU64,
    revoked_connections: AtomicU64,
    frames_delivered: AtomicU64,
    restored_sessions: AtomicU64,
    saved_sessions: AtomicU64,
    replayed_messages: AtomicU64,
    rejected_histories: AtomicU64,
    rate_limited_frames: AtomicU64,
    rate_limited_connections: AtomicU64,
    /// Open subscriptions by channel name (changed on subscribe and unsubscribe only).
    by_channel: Mutex<std::collections::BTreeMap<String, i64>>,
}

impl Inner {
    /// Counts a subscription to channel `name` opened (`delta` 1) or closed (-1), in the
    /// `trifecta_cable_subscriptions` gauge and the per-channel figures of [`ActionCable::subscriptions_by_channel`].
    fn count_subscription(&self, name: &str, delta: i64) {
        metrics::gauge!("trifecta_cable_subscriptions", "channel" => name.to_owned())
            .increment(delta as f64);
        let mut map = self.counters.by_channel.lock();
        let n = map.entry(name.to_owned()).or_default();
        *n += delta;
        if *n <= 0 {
            map.remove(name);
        }
    }
}

struct Conn {
    identity: Option<String>,
    control: queue::Sender<Control>,
    /// Its send queue, for the budget pass: queued bytes and the kick.
    outbox: outbox::Outbox,
}

/// Orders to a connection from outside its task.
#[derive(Debug)]
enum Control {
    Disconnect {
        reason: DisconnectReason,
        reconnect: bool,
    },
    /// End the subscriptions streaming any of these streams, with `reject_subscription`.
    Unsubscribe { streams: Arc<[String]> },
}

impl std::fmt::Debug for ActionCable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionCable")
            .field("channels", &self.inner.registry)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Counters of the server, for tests and stats.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ServerStats {
    /// Open, welcomed connections.
    pub connections: usize,
    /// Connections closed because they did not read fast enough (their queue passed its byte
    /// limit, a write timed out, or the server passed its memory budget).
    pub slow_disconnects: u64,
    /// Of those, connections closed to bring the server back under its memory budget.
    pub budget_disconnects: u64,
    /// Connections closed because the connect hook no longer found their identity valid.
    pub revoked_connections: u64,
    /// Bytes of broadcast payloads held by send queues now, each shared payload once.
    pub queued_bytes: usize,
    /// Connections refused by the connect hook.
    pub rejected_connections: u64,
    /// Frames logged and ignored (malformed, binary, unknown command...).
    pub ignored_frames: u64,
    /// Connections closed for sending a frame over the size limit.
    pub oversize_frames: u64,
    /// Broadcasts taken into send queues since start: one per message, however many
    /// sockets and identifiers receive it (the frames are built from it when written).
    pub payloads: u64,
    /// Broadcast frames written to sockets since start (one per receiving identifier).
    pub frames_delivered: u64,
    /// Sessions restored by a reconnecting client (extended protocol).
    pub restored_sessions: u64,
    /// Writes of a session's state to the cable store (extended protocol).
    pub saved_sessions: u64,
    /// Messages sent by history replays.
    pub replayed_messages: u64,
    /// History requests answered `reject_history` (a gap not kept whole).
    pub rejected_histories: u64,
    /// Frames rejected for coming past their connection's command rate.
    pub rate_limited_frames: u64,
    /// Connections closed for staying past their command rate.
    pub rate_limited_connections: u64,
}

impl ActionCable {
    /// A server delivering from `cable` to the channels of `registry`, identifying each
    /// connection with `connect` ([`AcceptAll`] for a server without sign-in); its socket
    /// tasks run on `tracker` and end when `token` is cancelled.
    pub fn new(
        cable: Cable,
        config: ActionCableOptions,
        registry: Registry,
        connect: Arc<dyn Connect>,
        tracker: TaskTracker,
        token: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                cable,
                config,
                registry,
                connect,
                tracker,
                token,
                connections: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                counters: Counters::default(),
                ledger: outbox::Ledger::new(),
                heavy_lane: Arc::new(tokio::sync::Semaphore::new(writing::heavy_lanes())),
                internal: Mutex::new(None),
            }),
        }
    }

    /// The channels, by name (fixed when the server was built).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The pub/sub this server delivers from.
    pub fn cable(&self) -> &Cable {
        &self.inner.cable
    }

    /// The settings.
    pub fn config(&self) -> &ActionCableOptions {
        &self.inner.config
    }

    fn connect_hook(&self) -> &dyn Connect {
        self.inner.connect.as_ref()
    }

    fn connections(&self) -> MutexGuard<'_, HashMap<u64, Conn>> {
        self.inner.connections.lock()
    }

    /// Subscribes this server to [`INTERNAL_CHANNEL`], so disconnect orders published by any
    /// process sharing the cable file reach its connections; the subscription ends when the
    /// server's token is cancelled. Call once before serving; later calls do nothing.
    ///
    /// # Errors
    /// The cable database could not be read.
    pub async fn start(&self) -> cable::Result<()> {
        if self.internal().is_some() {
            return Ok(());
        }
        let sub = self
            .inner
            .cable
            .subscribe(INTERNAL_CHANNEL, remote::sink(&self.inner))
            .await?;
        let mut slot = self.internal();
        if slot.is_some() {
            // Another call won the race; keep one hub entry per process.
            self.inner.cable.unsubscribe(&sub);
            return Ok(());
        }
        *slot = Some(sub.clone());
        drop(slot);
        let (cable, token) = (self.inner.cable.clone(), self.inner.token.clone());
        self.inner.tracker.spawn(async move {
            token.cancelled().await;
            cable.unsubscribe(&sub);
        });
        Ok(())
    }

    fn internal(&self) -> MutexGuard<'_, Option<cable::Subscription>> {
        self.inner.internal.lock()
    }

    /// Sends `{"type":"disconnect","reason":"remote","reconnect":…}` to every connection of
    /// this process identified as `identity`, then closes them. Returns how many. To reach
    /// every process sharing the cable file, use [`ActionCable::disconnect_everywhere`].
    pub fn disconnect(&self, identity: &str, reconnect: bool) -> usize {
        self.disconnect_local(&[identity], reconnect)
    }

    /// Disconnects the connections identified as any of `identities` on every ActionCable
    /// server sharing the cable file: this process's at once (the returned count), the
    /// others' within one cable polling interval, through an order on [`INTERNAL_CHANNEL`].
    /// The order also comes back to this process, so a connection that finished being
    /// identified between the local pass and the order's arrival is closed too.
    ///
    /// # Errors
    /// The order could not be written (the local connections are closed regardless).
    pub async fn disconnect_everywhere<S: AsRef<str>>(
        &self,
        identities: &[S],
        reconnect: bool,
    ) -> cable::Result<usize> {
        let n = self.disconnect_local(identities, reconnect);
        remote::disconnect(&self.inner.cable, identities, reconnect).await?;
        Ok(n)
    }

    /// Orders this process's connections with one of `identities` to close; one pass over
    /// the connections whatever the number of identities. Returns how many took the order.
    fn disconnect_local<S: AsRef<str>>(&self, identities: &[S], reconnect: bool) -> usize {
        let wanted: std::collections::HashSet<&str> =
            identities.iter().map(AsRef::as_ref).collect();
        if wanted.is_empty() {
            return 0;
        }
        let conns = self.connections();
        let mut n = 0;
        for c in conns.values() {
            if c.identity.as_deref().is_some_and(|i| wanted.contains(i)) {
                let order = Control::Disconnect {
                    reason: DisconnectReason::Remote,
                    reconnect,
                };
                if c.control.try_send(order).is_ok() {
                    n += 1;
                }
            }
        }
        n
    }

    /// Ends, on every ActionCable server sharing the cable file, the subscriptions that
    /// stream any of `streams` on the connections identified as one of `identities`: each
    /// such subscription's `unsubscribed` runs, its streams stop, and the client gets
    /// `reject_subscription` for it; the sockets and their other subscriptions carry on.
    /// This process's connections take the order at once (the returned count), the others'
    /// within one cable polling interval; the order also comes back to this process, so a
    /// subscription made in between is ended too.
    ///
    /// # Errors
    /// The order could not be written (the local connections take it regardless).
    pub async fn unsubscribe_everywhere<S: AsRef<str>, T: AsRef<str>>(
        &self,
        identities: &[S],
        streams: &[T],
    ) -> cable::Result<usize> {
        let n = self.unsubscribe_local(identities, streams);
        remote::unsubscribe(&self.inner.cable, identities, streams).await?;
        Ok(n)
    }

    /// Orders this process's connections with one of `identities` to end their
    /// subscriptions streaming any of `streams`. Returns how many took the order.
    fn unsubscribe_local<S: AsRef<str>, T: AsRef<str>>(
        &self,
        identities: &[S],
        streams: &[T],
    ) -> usize {
        let wanted: std::collections::HashSet<&str> =
            identities.iter().map(AsRef::as_ref).collect();
        if wanted.is_empty() || streams.is_empty() {
            return 0;
        }
        let streams: Arc<[String]> = streams.iter().map(|s| s.as_ref().to_owned()).collect();
        let conns = self.connections();
        let mut n = 0;
        for c in conns.values() {
            if c.identity.as_deref().is_some_and(|i| wanted.contains(i)) {
                let order = Control::Unsubscribe {
                    streams: streams.clone(),
                };
                match c.control.try_send(order) {
                    Ok(()) => n += 1,
                    Err(err) => tracing::warn!(
                        identity = ?c.identity,
                        cause = %err,
                        "a connection could not take an unsubscribe order"
                    ),
                }
            }
        }
        n
    }

    /// Open subscriptions of this server by channel name, by name.
    pub fn subscriptions_by_channel(&self) -> Vec<(String, u64)> {
        self.inner
            .counters
            .by_channel
            .lock()
            .iter()
            .map(|(name, n)| (name.clone(), u64::try_from(*n).unwrap_or(0)))
            .collect()
    }

    /// Counters of this server.
    pub fn stats(&self) -> ServerStats {
        let c = &self.inner.counters;
        ServerStats {
            connections: self.connections().len(),
            slow_disconnects: c.slow_disconnects.load(Ordering::Relaxed),
            budget_disconnects: self.inner.ledger.budget_disconnects(),
            revoked_connections: c.revoked_connections.load(Ordering::Relaxed),
            queued_bytes: self.inner.ledger.pinned(),
            rejected_connections: c.rejected_connections.load(Ordering::Relaxed),
            ignored_frames: c.ignored_frames.load(Ordering::Relaxed),
            oversize_frames: c.oversize_frames.load(Ordering::Relaxed),
            payloads: self.inner.ledger.payloads(),
            frames_delivered: c.frames_delivered.load(Ordering::Relaxed),
            restored_sessions: c.restored_sessions.load(Ordering::Relaxed),
            saved_sessions: c.saved_sessions.load(Ordering::Relaxed),
            replayed_messages: c.replayed_messages.load(Ordering::Relaxed),
            rejected_histories: c.rejected_histories.load(Ordering::Relaxed),
            rate_limited_frames: c.rate_limited_frames.load(Ordering::Relaxed),
            rate_limited_connections: c.rate_limited_connections.load(Ordering::Relaxed),
        }
    }

    fn register_conn(&self, conn: Conn) -> u64 {
        let id = self.inner.next_conn.fetch_add(1, Ordering::Relaxed);
        self.connections().insert(id, conn);
        id
    }

    fn deregister_conn(&self, id: u64) {
        self.connections().remove(&id);
    }
}
