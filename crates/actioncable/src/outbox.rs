//! What a connection owes its client, bounded in bytes, and what all connections hold
//! together, bounded by a server-wide budget.
//!
//! A broadcast is shared, never copied per socket or identifier: the first sink of a message
//! wraps its payload (already one `Arc<str>` from the cable) in a [`Payload`], which every
//! other sink of that message reuses through the delivery's scratch. A queued [`Item`] holds
//! that payload and the identifiers (with their floors) of the socket's stream; the frame
//! `{"identifier":…,"message":…}` is built only when written, one at a time.
//!
//! Each connection counts the payload bytes of its queued and in-flight items (a payload
//! shared with other sockets counts in full for each, as it is what this one would make the
//! server write); past `--cable-send-queue-bytes` the connection is kicked as too slow. The
//! [`Ledger`] counts the bytes of payloads alive in any queue once; past
//! `--cable-memory-budget` the connections with the most queued bytes are kicked first.

use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tokio_util::sync::CancellationToken;

use super::Inner;
use super::queue::{self, Receiver, Sender};
use trifecta_cable::Message;

/// Bytes an item costs besides its payload (the item, its channel slot, bookkeeping).
const ITEM_OVERHEAD: usize = 64;

/// Server-wide accounting of payloads held by connection queues.
pub(super) struct Ledger {
    /// The payload of the message being delivered, by message id: the hub hands a message
    /// to all of its sinks in a row, so every socket of this server shares one [`Payload`].
    /// Servers sharing a cable have ledgers (and payloads) of their own.
    last: Mutex<(i64, Weak<Payload>)>,
    /// Bytes of payloads alive in some queue (or being written), each counted once.
    pinned: AtomicUsize,
    /// Payloads taken into queues since start (one per broadcast, whatever the fan-out).
    payloads: AtomicU64,
    /// Connections kicked to bring the server back under its budget.
    budget_disconnects: AtomicU64,
    /// A budget pass is running (one at a time; the others have nothing to add).
    enforcing: AtomicBool,
    /// When the last budget pass ran, in milliseconds since `started`: passes are spaced by
    /// [`PASS_EVERY`], or with thousands of sockets past the budget every queued item would
    /// sort them all again.
    last_pass_ms: AtomicU64,
    started: std::time::Instant,
}

/// Least time between two budget passes.
const PASS_EVERY: std::time::Duration = std::time::Duration::from_millis(5);

impl Ledger {
    pub(super) fn new() -> Self {
        Self {
            last: Mutex::new((0, Weak::new())),
            pinned: AtomicUsize::new(0),
            payloads: AtomicU64::new(0),
            budget_disconnects: AtomicU64::new(0),
            enforcing: AtomicBool::new(false),
            last_pass_ms: AtomicU64::new(0),
            started: std::time::Instant::now(),
        }
    }

    /// The shared payload of `message`, made on its first sink.
    fn payload_of(&self, message: &Message, server: &Arc<Inner>) -> Arc<Payload> {
        let mut last = self.last.lock();
        if last.0 == message.id
            && let Some(payload) = last.1.upgrade()
        {
            return payload;
        }
        let payload = Arc::new(Payload::new(
            message.payload.clone(),
            message.channel.clone(),
            server,
        ));
        *last = (message.id, Arc::downgrade(&payload));
        payload
    }

    pub(super) fn pinned(&self) -> usize {
        self.pinned.load(Ordering::Relaxed)
    }

    pub(super) fn payloads(&self) -> u64 {
        self.payloads.load(Ordering::Relaxed)
    }

    pub(super) fn budget_disconnects(&self) -> u64 {
        self.budget_disconnects.load(Ordering::Relaxed)
    }
}

/// One broadcast's payload, shared by every queue it is in; counted in the [`Ledger`] while
/// alive.
pub(super) struct Payload {
    text: Arc<str>,
    /// The stream it was broadcast on (the extended protocol's `stream_id`).
    stream: Arc<str>,
    server: Weak<Inner>,
}

impl Payload {
    pub(super) fn new(text: Arc<str>, stream: Arc<str>, server: &Arc<Inner>) -> Self {
        server
            .ledger
            .pinned
            .fetch_add(text.len(), Ordering::Relaxed);
        server.ledger.payloads.fetch_add(1, Ordering::Relaxed);
        Self {
            text,
            stream,
            server: Arc::downgrade(server),
        }
    }

    pub(super) fn text(&self) -> &str {
        &self.text
    }

    pub(super) fn stream(&self) -> &str {
        &self.stream
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        if let Some(server) = self.server.upgrade() {
            server
                .ledger
                .pinned
                .fetch_sub(self.text.len(), Ordering::Relaxed);
        }
    }
}

/// One subscription of a socket's stream: its identifier as a JSON string literal, and the
/// newest message id that existed when it joined (it gets only later ones).
#[derive(Clone)]
pub(super) struct Target {
    pub(super) id_json: Arc<str>,
    pub(super) floor: i64,
}

/// A queued broadcast: one frame per target when written.
pub(super) struct Item {
    pub(super) message_id: i64,
    pub(super) payload: Arc<Payload>,
    pub(super) targets: Arc<[Target]>,
}

impl Item {
    /// What the item counts against the connection's queue.
    pub(super) fn cost(&self) -> usize {
        self.payload.text.len() + ITEM_OVERHEAD
    }

    /// The targets this message is for (those that joined before it).
    pub(super) fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets
            .iter()
            .filter(move |t| self.message_id > t.floor)
    }
}

/// The sending side of one connection's queue; cheap to clone (one per stream sink).
#[derive(Clone)]
pub(super) struct Outbox {
    tx: Sender<Item>,
    queued: Arc<AtomicUsize>,
    limit: usize,
    kick: CancellationToken,
    /// Set by the first kick, so a connection counts once as a slow disconnect.
    kicked: Arc<AtomicBool>,
    server: Weak<Inner>,
}

impl Outbox {
    /// A queue of at most `limit` bytes (one item is always accepted into an empty queue, so
    /// a broadcast larger than the limit still reaches a client that keeps up).
    pub(super) fn new(
        server: &Arc<Inner>,
        limit: usize,
        kick: CancellationToken,
    ) -> (Self, Receiver<Item>) {
        let (tx, rx) = queue::channel(usize::MAX);
        let outbox = Self {
            tx,
            queued: Arc::new(AtomicUsize::new(0)),
            limit,
            kick,
            kicked: Arc::new(AtomicBool::new(false)),
            server: Arc::downgrade(server),
        };
        (outbox, rx)
    }

    /// Drops the connection as too slow (counted at once, so the count does not wait for
    /// the goodbye). Returns whether this call was the one that kicked it.
    pub(super) fn kick_slow(&self) -> bool {
        let first = !self.kicked.swap(true, Ordering::AcqRel);
        if first && let Some(server) = self.server.upgrade() {
            server
                .counters
                .slow_disconnects
                .fetch_add(1, Ordering::Relaxed);
        }
        self.kick.cancel();
        first
    }

    pub(super) fn is_kicked(&self) -> bool {
        self.kick.is_cancelled()
    }

    /// Resolves once the connection is kicked.
    pub(super) async fn cancelled(&self) {
        self.kick.cancelled().await;
    }

    /// The connection's queued bytes, shared with the connection registry.
    pub(super) fn queued(&self) -> &Arc<AtomicUsize> {
        &self.queued
    }

    /// Queues `message` for `targets`, sharing its payload with every other sink of this
    /// server that gets the same message.
    pub(super) fn push_message(&self, message: &Message, targets: Arc<[Target]>) {
        if self.kick.is_cancelled() || targets.is_empty() {
            return;
        }
        let Some(server) = self.server.upgrade() else {
            return;
        };
        let payload = server.ledger.payload_of(message, &server);
        drop(server);
        self.push(Item {
            message_id: message.id,
            payload,
            targets,
        });
    }

    /// Queues `item`, or kicks the connection if that would pass its byte limit. When the
    /// server is past its budget, runs a budget pass.
    fn push(&self, item: Item) {
        if self.kick.is_cancelled() {
            return;
        }
        let cost = item.cost();
        let before = self.queued.fetch_add(cost, Ordering::Relaxed);
        if before > 0 && before + cost > self.limit {
            saturating_sub(&self.queued, cost);
            self.kick_slow();
            return;
        }
        if self.tx.try_send(item).is_err() {
            // The queue was discarded (and its count zeroed) in between.
            saturating_sub(&self.queued, cost);
            return;
        }
        if let Some(server) = self.server.upgrade()
            && server.ledger.pinned() as u64 > server.config.memory_budget
        {
            enforce_budget(&server);
        }
    }
}

/// Items written (or dropped): their bytes leave the connection's count.
pub(super) fn release(queued: &AtomicUsize, items: &[Item]) {
    saturating_sub(queued, items.iter().map(Item::cost).sum());
}

fn saturating_sub(queued: &AtomicUsize, n: usize) {
    let _ = queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
        Some(q.saturating_sub(n))
    });
}

/// Drops everything still queued (the connection is closing) and zeroes its count.
pub(super) fn discard(rx: &mut Receiver<Item>, queued: &AtomicUsize) {
    rx.close();
    while rx.try_recv().is_some() {}
    queued.store(0, Ordering::Relaxed);
}

/// Kicks the connections with the most queued bytes until the bytes they hold cover the
/// excess over the budget. Connections already kicked but not yet gone count as freeing
/// theirs, so a pass does not kick more clients than the excess needs; a payload that other
/// queues still share frees nothing, and the next broadcast's pass kicks further.
fn enforce_budget(server: &Inner) {
    let ledger = &server.ledger;
    if ledger.enforcing.swap(true, Ordering::AcqRel) {
        return;
    }
    let budget = usize::try_from(server.config.memory_budget).unwrap_or(usize::MAX);
    let pinned = ledger.pinned();
    let now_ms = u64::try_from(ledger.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let last = ledger.last_pass_ms.load(Ordering::Relaxed);
    let due = last == 0 || now_ms >= last.saturating_add(PASS_EVERY.as_millis() as u64);
    if pinned > budget && due {
        ledger.last_pass_ms.store(now_ms.max(1), Ordering::Relaxed);
        let conns = server.connections.lock();
        let mut going = 0usize;
        let mut candidates: Vec<(usize, &Outbox)> = Vec::new();
        for c in conns.values() {
            let queued = c.outbox.queued.load(Ordering::Relaxed);
            if c.outbox.is_kicked() {
                going += queued;
            } else if queued > 0 {
                candidates.push((queued, &c.outbox));
            }
        }
        candidates.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
        let mut need = (pinned - budget).saturating_sub(going);
        let mut kicked = 0u64;
        for (queued, outbox) in candidates {
            if need == 0 {
                break;
            }
            if outbox.kick_slow() {
                kicked += 1;
            }
            need = need.saturating_sub(queued);
        }
        drop(conns);
        if kicked > 0 {
            ledger
                .budget_disconnects
                .fetch_add(kicked, Ordering::Relaxed);
            tracing::warn!(
                pinned,
                budget,
                kicked,
                "cable memory budget exceeded; disconnecting the slowest clients"
            );
        }
    }
    ledger.enforcing.store(false, Ordering::Release);
}
