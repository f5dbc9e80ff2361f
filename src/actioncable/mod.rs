//! An ActionCable server: the wire protocol of `@rails/actioncable` (`actioncable-v1-json`)
//! at `GET /cable`, over the [`Cable`] pub/sub.
//!
//! - [`handler`]: the upgrade: 404 for plain HTTP, foreign origins or clients not offering
//!   `actioncable-v1-json`; limits on frame size and buffers.
//! - `session`: one task per socket owning it: welcome, 3 s pings, commands, a bounded
//!   queue of broadcast frames, disconnect frames, and `unsubscribed` on close.
//! - `subscriptions`: `subscribe` / `unsubscribe` / `message`, keyed by the raw identifier.
//! - [`Channel`] / [`Registry`]: the channel API; [`Connect`]: the connection hook.
//!
//! Deviations from Rails, on purpose (protocols.md §1.6): a subscribe to an unknown channel
//! (or with an unparseable identifier, or past the subscription limit) gets
//! `reject_subscription` instead of silence, so the client's guarantor stops retrying; and a
//! client sending no `Origin` (not a browser) is allowed.
//!
//! Every socket task is tracked by the server's [`TaskTracker`] and ends on shutdown after
//! sending `server_restart` (axum's graceful shutdown does not wait for upgraded sockets:
//! tokio-rs/axum#3003). Talks to: [`crate::cable`]. Knows nothing of the app.

mod channel;
mod config;
mod connect;
mod frame;
pub mod handler;
mod session;
mod subscriptions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use channel::{Channel, ChannelFactory, Context, Registry};
pub use config::ActionCableArgs;
pub use connect::{AcceptAll, Connect, ConnectRequest, ConnectionInfo, Identity, Rejected};
pub use frame::DisconnectReason;

use crate::cable::Cable;

/// The sub-protocol the server selects.
pub const PROTOCOL: &str = "actioncable-v1-json";

/// The ActionCable server handle. Cheap to clone.
#[derive(Clone)]
pub struct ActionCable {
    inner: Arc<Inner>,
}

struct Inner {
    cable: Cable,
    config: ActionCableArgs,
    registry: Registry,
    connect: RwLock<Arc<dyn Connect>>,
    tracker: TaskTracker,
    token: CancellationToken,
    connections: Mutex<HashMap<u64, Conn>>,
    next_conn: AtomicU64,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    slow_disconnects: AtomicU64,
    rejected_connections: AtomicU64,
    ignored_frames: AtomicU64,
    oversize_frames: AtomicU64,
}

struct Conn {
    identity: Option<String>,
    control: mpsc::Sender<Control>,
}

/// Orders to a connection from outside its task.
#[derive(Debug)]
enum Control {
    Disconnect {
        reason: DisconnectReason,
        reconnect: bool,
    },
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
    /// Connections closed because they did not read fast enough.
    pub slow_disconnects: u64,
    /// Connections refused by the connect hook.
    pub rejected_connections: u64,
    /// Frames logged and ignored (malformed, binary, unknown command...).
    pub ignored_frames: u64,
    /// Connections closed for sending a frame over the size limit.
    pub oversize_frames: u64,
}

impl ActionCable {
    /// A server delivering from `cable`; its socket tasks run on `tracker` and end when
    /// `token` is cancelled. Channels: none until [`Registry::register`]; connect hook:
    /// [`AcceptAll`] until [`ActionCable::set_connect`].
    pub fn new(
        cable: Cable,
        config: ActionCableArgs,
        tracker: TaskTracker,
        token: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                cable,
                config,
                registry: Registry::default(),
                connect: RwLock::new(Arc::new(AcceptAll)),
                tracker,
                token,
                connections: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                counters: Counters::default(),
            }),
        }
    }

    /// The channels, by name; register more at any time.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The pub/sub this server delivers from.
    pub fn cable(&self) -> &Cable {
        &self.inner.cable
    }

    /// The settings.
    pub fn config(&self) -> &ActionCableArgs {
        &self.inner.config
    }

    /// Replaces the connection hook (for new connections).
    pub fn set_connect(&self, hook: Arc<dyn Connect>) {
        *self
            .inner
            .connect
            .write()
            .unwrap_or_else(|p| p.into_inner()) = hook;
    }

    fn connect_hook(&self) -> Arc<dyn Connect> {
        self.inner
            .connect
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn connections(&self) -> MutexGuard<'_, HashMap<u64, Conn>> {
        self.inner
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `{"type":"disconnect","reason":"remote","reconnect":…}` to every connection of
    /// this process identified as `identity`, then closes them. Returns how many.
    pub fn disconnect(&self, identity: &str, reconnect: bool) -> usize {
        let conns = self.connections();
        let mut n = 0;
        for c in conns.values() {
            if c.identity.as_deref() == Some(identity) {
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

    /// The server's counters.
    pub fn stats(&self) -> ServerStats {
        let c = &self.inner.counters;
        ServerStats {
            connections: self.connections().len(),
            slow_disconnects: c.slow_disconnects.load(Ordering::Relaxed),
            rejected_connections: c.rejected_connections.load(Ordering::Relaxed),
            ignored_frames: c.ignored_frames.load(Ordering::Relaxed),
            oversize_frames: c.oversize_frames.load(Ordering::Relaxed),
        }
    }

    fn register_conn(&self, identity: Option<String>, control: mpsc::Sender<Control>) -> u64 {
        let id = self.inner.next_conn.fetch_add(1, Ordering::Relaxed);
        self.connections().insert(id, Conn { identity, control });
        id
    }

    fn deregister_conn(&self, id: u64) {
        self.connections().remove(&id);
    }
}
