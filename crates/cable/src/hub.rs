//! The in-process hub: which local [`Sink`]s listen to which channel, and delivery of
//! messages to them. Each sink remembers the last id it got, so a new subscriber gets no
//! backlog and a re-read row is never delivered twice.
//!
//! The hub also keeps the listener's position: every row up to it has been handed out.
//! A local broadcast whose id comes right after the position (no row of another process,
//! or of a concurrent local broadcast, in between, and no rewind pending) is delivered at
//! once by the broadcaster ([`Hub::publish_local`]); anything else is left to the listener,
//! which reads the rows in id order.

use parking_lot::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Message;
use super::store::channel_hash;

/// A local receiver of one channel's messages. `deliver` runs on the listener task and must
/// not block: hand the message to a bounded queue and return.
///
/// The hub hands one message to all of its sinks in a row, before any other message, so a
/// sink that wants to share work between the sinks of one message (one payload for every
/// socket) can keep the last message it saw by id.
pub trait Sink: Send + Sync + 'static {
    /// Takes one message.
    fn deliver(&self, message: &Message);
}

/// A registration made by [`super::Cable::subscribe`]; pass it to
/// [`super::Cable::unsubscribe`] to stop.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Subscription {
    channel: Arc<str>,
    id: u64,
    floor: i64,
}

impl Subscription {
    /// The channel subscribed to.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The id of the newest message when the registration was made: it gets every later
    /// message and none up to this one (where a history replay for it ends).
    pub fn floor(&self) -> i64 {
        self.floor
    }
}

struct Entry {
    sink: Arc<dyn Sink>,
    /// Highest message id this sink has been given (or had already existed when it joined).
    floor: i64,
}

struct Channel {
    hash: i64,
    sinks: HashMap<u64, Entry>,
}

#[derive(Default)]
struct State {
    channels: HashMap<Arc<str>, Channel>,
    /// JSON array of the hashes of subscribed channels, rebuilt when the set changes.
    hashes: Option<Arc<str>>,
    /// Lowest floor of a channel added since the last poll: the listener may have passed
    /// rows of that channel while it was not yet in its query, so it re-reads from there.
    rewind: Option<i64>,
    /// Every row with an id up to this has been delivered; `None` while nobody listens
    /// (the listener's first poll sets it).
    position: Option<i64>,
}

/// What the listener should query next.
pub(super) struct Plan {
    /// JSON array of channel hashes; `None` when nobody listens.
    pub hashes: Option<Arc<str>>,
    /// Read rows after this id (`None`: from the newest row on).
    pub after: Option<i64>,
}

/// Channel → sinks. Shared by the [`super::Cable`] handle and its listener.
#[derive(Default)]
pub(super) struct Hub {
    state: Mutex<State>,
    next_id: AtomicU64,
    delivered: AtomicU64,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    pub(super) fn add(&self, channel: &str, floor: i64, sink: Arc<dyn Sink>) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        let key: Arc<str> = match state.channels.get_key_value(channel) {
            Some((k, _)) => k.clone(),
            None => {
                state.hashes = None;
                let k: Arc<str> = Arc::from(channel);
                state.channels.insert(
                    k.clone(),
                    Channel {
                        hash: channel_hash(channel),
                        sinks: HashMap::new(),
                    },
                );
                k
            }
        };
        if let Some(ch) = state.channels.get_mut(channel) {
            ch.sinks.insert(id, Entry { sink, floor });
        }
        state.rewind = Some(state.rewind.map_or(floor, |r| r.min(floor)));
        Subscription {
            channel: key,
            id,
            floor,
        }
    }

    pub(super) fn remove(&self, sub: &Subscription) {
        let mut state = self.lock();
        let empty = match state.channels.get_mut(&*sub.channel) {
            Some(ch) => {
                ch.sinks.remove(&sub.id);
                ch.sinks.is_empty()
            }
            None => false,
        };
        if empty {
            state.channels.remove(&*sub.channel);
            state.hashes = None;
        }
    }

    /// What the listener reads next; applies a pending rewind to the position.
    pub(super) fn plan(&self) -> Plan {
        let mut state = self.lock();
        let rewind = state.rewind.take();
        if state.channels.is_empty() {
            state.position = None;
            return Plan {
                hashes: None,
                after: None,
            };
        }
        if let Some(r) = rewind {
            state.position = Some(state.position.map_or(r, |p| p.min(r)));
        }
        let hashes = match &state.hashes {
            Some(h) => h.clone(),
            None => {
                let list: Vec<i64> = state.channels.values().map(|c| c.hash).collect();
                let h: Arc<str> = Arc::from(serde_json::Value::from(list).to_string());
                state.hashes = Some(h.clone());
                h
            }
        };
        Plan {
            hashes: Some(hashes),
            after: state.position,
        }
    }

    /// The listener read `messages` (in id order) and every row up to `upto`: delivers
    /// those the position has not passed yet, then moves it to `upto`.
    pub(super) fn advance(&self, messages: &[Message], upto: i64) -> usize {
        let mut state = self.lock();
        let from = state.position;
        let fresh = messages.iter().filter(|m| from.is_none_or(|p| m.id > p));
        let n = deliver(&mut state, fresh);
        state.position = Some(from.map_or(upto, |p| p.max(upto)));
        drop(state);
        self.delivered.fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    /// Delivers a message this process just committed, if it directly follows the
    /// position; `false` means the listener must read it (it is not delivered).
    pub(super) fn publish_local(&self, message: &Message) -> bool {
        let mut state = self.lock();
        if state.rewind.is_some() || state.position != Some(message.id - 1) {
            return false;
        }
        state.position = Some(message.id);
        let n = deliver(&mut state, std::iter::once(message));
        drop(state);
        self.delivered.fetch_add(n as u64, Ordering::Relaxed);
        true
    }

    /// (channels, sinks) currently registered.
    pub(super) fn counts(&self) -> (usize, usize) {
        let state = self.lock();
        let sinks = state.channels.values().map(|c| c.sinks.len()).sum();
        (state.channels.len(), sinks)
    }

    /// How many local sinks listen to `channel`.
    pub(super) fn subscribers(&self, channel: &str) -> usize {
        self.lock()
            .channels
            .get(channel)
            .map_or(0, |c| c.sinks.len())
    }

    pub(super) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }
}

/// Hands each message to the sinks of its channel that have not had it; returns how many
/// deliveries were made.
fn deliver<'m>(state: &mut State, messages: impl Iterator<Item = &'m Message>) -> usize {
    let mut n = 0;
    for m in messages {
        let Some(ch) = state.channels.get_mut(&*m.channel) else {
            continue;
        };
        for e in ch.sinks.values_mut() {
            if m.id > e.floor {
                e.floor = m.id;
                e.sink.deliver(m);
                n += 1;
            }
        }
    }
    n
}
