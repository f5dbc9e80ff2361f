//! What this process's queue did, counted in memory for the dashboard's minute charts,
//! and the [`MinuteFlusher`] that adds the counts to the shared minute table.
//!
//! The hot path pays a read lock on a small map (the queue's counters, found by name) and
//! a few relaxed atomic adds per job: enqueued, started (with its wait from due to start),
//! and its outcome. Every [`FLUSH_INTERVAL`] (and once more at shutdown, after the worker
//! drained) the flusher swaps the counters to zero and, only when any moved, adds them to
//! this node's row of the current minute in `trifecta_queue_minutes`, so an idle server
//! writes nothing. Counts land in the minute of the flush that writes them, up to one
//! interval late. A failed write puts its counts back for the next flush.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::Queue;
use super::error::Result;
use super::store::model::Outcome;
use super::store::views::{MinuteDelta, minute_of};
use trifecta_store::Timestamp;

/// How often the flusher adds the counters to the minute table.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// How long minute rows are kept.
pub const MINUTES_KEPT: Duration = Duration::from_secs(24 * 3600);

/// How often a flusher that writes also deletes rows past [`MINUTES_KEPT`].
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// The counters of one queue since the last flush.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    enqueued: AtomicU64,
    finished: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    discarded: AtomicU64,
    delay_count: AtomicU64,
    delay_sum_us: AtomicU64,
    delay_max_us: AtomicU64,
}

impl Counters {
    /// A job started after waiting `wait` from its due time.
    pub(crate) fn started(&self, wait: Duration) {
        let us = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        self.delay_count.fetch_add(1, Ordering::Relaxed);
        self.delay_sum_us.fetch_add(us, Ordering::Relaxed);
        self.delay_max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Takes the counts, leaving zeros.
    fn take(&self, queue_name: &str) -> MinuteDelta {
        let take = |c: &AtomicU64| c.swap(0, Ordering::Relaxed);
        MinuteDelta {
            queue_name: queue_name.to_owned(),
            enqueued: take(&self.enqueued),
            finished: take(&self.finished),
            failed: take(&self.failed),
            retried: take(&self.retried),
            discarded: take(&self.discarded),
            delay_count: take(&self.delay_count),
            delay_sum_us: take(&self.delay_sum_us),
            delay_max_us: take(&self.delay_max_us),
        }
    }

    /// The counts without taking them.
    fn peek(&self) -> MinuteDelta {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MinuteDelta {
            queue_name: String::new(),
            enqueued: get(&self.enqueued),
            finished: get(&self.finished),
            failed: get(&self.failed),
            retried: get(&self.retried),
            discarded: get(&self.discarded),
            delay_count: get(&self.delay_count),
            delay_sum_us: get(&self.delay_sum_us),
            delay_max_us: get(&self.delay_max_us),
        }
    }

    /// Puts counts taken by a flush that failed back.
    fn restore(&self, d: &MinuteDelta) {
        let add = |c: &AtomicU64, n: u64| c.fetch_add(n, Ordering::Relaxed);
        add(&self.enqueued, d.enqueued);
        add(&self.finished, d.finished);
        add(&self.failed, d.failed);
        add(&self.retried, d.retried);
        add(&self.discarded, d.discarded);
        add(&self.delay_count, d.delay_count);
        add(&self.delay_sum_us, d.delay_sum_us);
        self.delay_max_us
            .fetch_max(d.delay_max_us, Ordering::Relaxed);
    }
}

/// Whether a delta counts nothing.
fn is_zero(d: &MinuteDelta) -> bool {
    d.enqueued == 0
        && d.finished == 0
        && d.failed == 0
        && d.retried == 0
        && d.discarded == 0
        && d.delay_count == 0
}

/// This process's counters, per queue, plus the activity number.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    queues: RwLock<HashMap<Box<str>, Arc<Counters>>>,
    /// Bumped by every job enqueued, finished or failed here: never reset.
    activity: AtomicU64,
}

impl Tally {
    /// The counters of `queue` (created on first use).
    pub(crate) fn queue(&self, queue: &str) -> Arc<Counters> {
        if let Some(c) = self.queues.read().get(queue) {
            return c.clone();
        }
        self.queues.write().entry(queue.into()).or_default().clone()
    }

    /// The counters of each queue of `names`, in order (a run of one name looked up once).
    pub(crate) fn queues_of<'a>(&self, names: impl Iterator<Item = &'a str>) -> Vec<Arc<Counters>> {
        let mut out: Vec<Arc<Counters>> = Vec::new();
        let mut last: Option<&str> = None;
        for name in names {
            let c = match (last, out.last()) {
                (Some(prev), Some(c)) if prev == name => c.clone(),
                _ => self.queue(name),
            };
            last = Some(name);
            out.push(c);
        }
        out
    }

    /// `n` jobs were enqueued on `counters`' queue.
    pub(crate) fn enqueued(&self, counters: &Counters, n: u64) {
        counters.enqueued.fetch_add(n, Ordering::Relaxed);
        self.activity.fetch_add(n, Ordering::Relaxed);
    }

    /// A job of `counters`' queue ended with `outcome`.
    pub(crate) fn outcome(&self, counters: &Counters, outcome: &Outcome) {
        let c = match outcome {
            Outcome::Finished => &counters.finished,
            Outcome::Failed(_) => &counters.failed,
            Outcome::Retry(..) => &counters.retried,
            Outcome::Discarded => &counters.discarded,
        };
        c.fetch_add(1, Ordering::Relaxed);
        self.activity.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a change to the jobs other than a job's own run (an admin action).
    pub(crate) fn touch(&self) {
        self.activity.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts since the last take, of queues where any moved. Queues idle since the
    /// last take and held by no running job are dropped from the map, so names used once
    /// do not stay forever.
    fn take(&self) -> Vec<MinuteDelta> {
        let mut out = Vec::new();
        let mut idle = false;
        for (name, c) in self.queues.read().iter() {
            let d = c.take(name);
            if is_zero(&d) {
                idle = true;
            } else {
                out.push(d);
            }
        }
        if idle {
            self.queues
                .write()
                .retain(|_, c| Arc::strong_count(c) > 1 || !is_zero(&c.peek()));
        }
        out
    }

    /// Puts counts back after a failed flush.
    fn restore(&self, deltas: &[MinuteDelta]) {
        for d in deltas {
            self.queue(&d.queue_name).restore(d);
        }
    }
}

impl Queue {
    /// A number that changes whenever this process enqueued, finished or failed a job, or
    /// changed jobs by an admin action (retry, discard, pause, resume, run now, bulk
    /// actions, a recurring task run by hand): one atomic load, for pollers that want to
    /// know whether anything may have moved.
    pub fn activity(&self) -> u64 {
        self.inner.tally.activity.load(Ordering::Relaxed)
    }

    /// Records a change to the jobs by an admin action for [`Queue::activity`].
    pub(crate) fn touch(&self) {
        self.inner.tally.touch();
    }

    /// This process's counters.
    pub(crate) fn tally(&self) -> &Tally {
        &self.inner.tally
    }
}

/// Adds this process's counters to the shared minute table. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MinuteFlusher {
    queue: Queue,
    node: i64,
    /// When this flusher last deleted old rows.
    pruned: Arc<Mutex<Option<Timestamp>>>,
}

impl MinuteFlusher {
    /// A flusher of `queue`'s counters into the rows of `node`: a server's registered
    /// process id (unique among the servers sharing the storage), or 0 for commands run
    /// outside any server (their rows add up like any other's).
    pub fn new(queue: &Queue, node: i64) -> Self {
        Self {
            queue: queue.clone(),
            node,
            pruned: Arc::new(Mutex::new(None)),
        }
    }

    /// Adds the counts since the last flush to the current minute's rows, when any moved,
    /// and then (at most every ten minutes) deletes rows older than [`MINUTES_KEPT`].
    /// Returns whether it wrote.
    ///
    /// # Errors
    /// Database errors; the counts are kept for the next flush.
    pub async fn run_once(&self) -> Result<bool> {
        let deltas = self.queue.tally().take();
        if deltas.is_empty() {
            return Ok(false);
        }
        let now = self.queue.clock().now();
        let prune = {
            let last = *self.pruned.lock();
            last.is_none_or(|at| now.since(at) >= PRUNE_EVERY)
                .then(|| now - MINUTES_KEPT)
        };
        let minute = minute_of(now);
        let store = self.queue.store();
        match store
            .add_minutes(minute, self.node, deltas.clone(), prune)
            .await
        {
            Ok(()) => {
                if prune.is_some() {
                    *self.pruned.lock() = Some(now);
                }
                Ok(true)
            }
            Err(err) => {
                self.queue.tally().restore(&deltas);
                Err(err)
            }
        }
    }

    /// Flushes every [`FLUSH_INTERVAL`] until `token` is cancelled. The last flush is the
    /// caller's, once the jobs still running have ended.
    pub async fn run(self, token: CancellationToken) {
        let mut tick = tokio::time::interval(FLUSH_INTERVAL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                () = token.cancelled() => break,
                _ = tick.tick() => {
                    if let Err(err) = self.run_once().await {
                        tracing::warn!(cause = %err, "cannot write queue minute statistics");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Outcome, Tally};

    #[test]
    fn takes_reset_the_counters_and_a_failed_flush_puts_them_back() {
        let tally = Tally::default();
        let cs = tally.queues_of(["a", "a", "b"].into_iter());
        assert!(
            std::sync::Arc::ptr_eq(&cs[0], &cs[1]),
            "a run of one name shares"
        );
        for c in &cs {
            tally.enqueued(c, 1);
        }
        cs[2].started(Duration::from_millis(3));
        cs[2].started(Duration::from_millis(1));
        tally.outcome(&cs[2], &Outcome::Finished);
        assert_eq!(tally.activity.load(std::sync::atomic::Ordering::Relaxed), 4);
        drop(cs);

        let mut taken = tally.take();
        taken.sort_by(|x, y| x.queue_name.cmp(&y.queue_name));
        assert_eq!(taken.len(), 2);
        assert_eq!((taken[0].queue_name.as_str(), taken[0].enqueued), ("a", 2));
        let b = &taken[1];
        assert_eq!((b.enqueued, b.finished, b.delay_count), (1, 1, 2));
        assert_eq!((b.delay_sum_us, b.delay_max_us), (4_000, 3_000));
        assert!(tally.take().is_empty(), "taken once");
        assert!(tally.queues.read().is_empty(), "idle queues leave the map");

        tally.restore(&taken);
        let mut again = tally.take();
        again.sort_by(|x, y| x.queue_name.cmp(&y.queue_name));
        assert_eq!(again, taken);
    }
}
