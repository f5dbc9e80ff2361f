//! The operations dashboard's live side: what the admin pages under `/admin` read beyond
//! the engines' own figures, and the pulse that keeps them live.
//!
//! - [`Dashboard`]: the cheap-`Clone` handle in `AppState`: this process's per-minute
//!   samples of the cache and the cable (the last hour, in memory), and a wake-up for the
//!   pulse after an admin action.
//! - `pulse`: a task that once a second compares this process's counters with the last
//!   look and, when jobs, the cache or the cable changed, broadcasts a sync marker
//!   (`{"action":"refresh"}`) on the admin-only stream of that page (`Admin:jobs`,
//!   `Admin:cache`, `Admin:cable`). Every server pulses its own changes, so an admin on any
//!   of them sees all; a quiet server sends nothing.
//! - `watch`: markers go out only while a page of their topic is open on some server
//!   (servers with one say so on an internal stream), so nobody watching costs no write.
//! - `samples`: the minute buckets.
//!
//! Job charts come from the queue's own minute table (shared by every server), not from
//! here.

mod pulse;
mod samples;
mod watch;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

pub use samples::{CableMinute, CacheMinute, Rates, hour_minutes};

use crate::actioncable::ActionCable;
use crate::app::broadcast::{ADMIN_MODEL, ADMIN_TOPICS};
use crate::cable::Cable;
use crate::cache::Cache;
use crate::queue::Queue;
use crate::store::Clock;

/// How many topics there are: one per admin stream `SyncChannel` admits.
const TOPICS: usize = ADMIN_TOPICS.len();

/// What a dashboard page shows, and the id of its sync-marker stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// `/admin/jobs` and its sub-pages.
    Jobs,
    /// `/admin/cache`.
    Cache,
    /// `/admin/cable`.
    Cable,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; TOPICS] = [Topic::Jobs, Topic::Cache, Topic::Cable];

    /// Its id in `SyncChannel` identifiers and stream names (one of
    /// [`ADMIN_TOPICS`], which `SyncChannel` admits, in the same order as [`Topic::ALL`]).
    pub fn id(self) -> &'static str {
        ADMIN_TOPICS[self.index()]
    }

    /// Its place in [`Topic::ALL`].
    fn index(self) -> usize {
        self as usize
    }

    /// The topic with id `id`.
    pub fn lookup(id: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.id() == id)
    }

    /// The stream its markers go to.
    pub fn stream(self) -> String {
        format!("{ADMIN_MODEL}:{}", self.id())
    }
}

/// The dashboard's handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dashboard {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    queue: Queue,
    cache: Cache,
    cable: Cable,
    actioncable: ActionCable,
    clock: Clock,
    samples: Mutex<samples::Samples>,
    /// The topics watched on other servers.
    remote: Arc<watch::Remote>,
    /// How many times the pulse has looked.
    pulses: AtomicU64,
    /// Wakes the pulse at once (after an admin action).
    wake: Notify,
}

impl Dashboard {
    /// A dashboard over the engines of one server. Start its pulse with [`Dashboard::start`].
    pub fn new(queue: Queue, cache: Cache, cable: Cable, actioncable: ActionCable) -> Self {
        let clock = cable.clock().clone();
        let remote = Arc::new(watch::Remote::new(clock.clone()));
        Self {
            inner: Arc::new(Inner {
                queue,
                cache,
                cable,
                actioncable,
                clock,
                samples: Mutex::new(samples::Samples::default()),
                remote,
                pulses: AtomicU64::new(0),
                wake: Notify::new(),
            }),
        }
    }

    /// Asks the pulse to look now rather than at its next tick (after an admin action, so
    /// other admins' pages follow within a round trip).
    pub fn poke(&self) {
        self.inner.wake.notify_one();
    }

    /// How many times the pulse has looked since the start. Two more than now means it has
    /// looked at every change made before this call (one look may have been under way).
    pub fn pulses(&self) -> u64 {
        self.inner.pulses.load(Ordering::Acquire)
    }

    /// This process's cache figures per minute over the last hour, oldest first, with
    /// empty minutes filled in.
    pub fn cache_minutes(&self) -> Vec<CacheMinute> {
        let now = self.inner.clock.now();
        self.inner.samples.lock().cache_hour(now)
    }

    /// This process's cable figures per minute over the last hour, oldest first, with
    /// empty minutes filled in.
    pub fn cable_minutes(&self) -> Vec<CableMinute> {
        let now = self.inner.clock.now();
        self.inner.samples.lock().cable_hour(now)
    }

    /// Recent rates of this process (over the last ten seconds of pulses).
    pub fn rates(&self) -> Rates {
        self.inner.samples.lock().rates()
    }
}
