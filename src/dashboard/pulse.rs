//! The pulse: once a second (or at once after [`Dashboard::poke`]), read this process's
//! counters, add their growth to the minute samples, and broadcast a sync marker for each
//! dashboard topic that changed. The markers carry no data: an admin page reloads its props
//! through an ordinary, authorized request.

use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::samples::Reading;
use super::{Dashboard, Topic};
use crate::store::Timestamp;

/// How often the pulse looks.
pub(super) const EVERY: Duration = Duration::from_secs(1);
/// The cache and cable pages are sent at most one marker this often: their figures move
/// with every request, and a page reload per second of a busy server would be noise.
const FIGURES_EVERY: Duration = Duration::from_secs(2);

/// What the last pulse saw, to tell what changed.
#[derive(Debug, Default)]
struct Seen {
    jobs: Option<u64>,
    cache: Option<(u64, u64, u64, u64)>,
    cable: Option<(u64, usize, usize, u64)>,
    /// Each figure topic: changed since its last marker, and when that was sent.
    cache_due: Pending,
    cable_due: Pending,
    /// Markers this pulse broadcast, which the cable's own count includes: a marker must
    /// not count as the cable activity that calls for the next one.
    own: u64,
}

impl Dashboard {
    /// Pulses until `token` is cancelled.
    pub async fn run(self, token: CancellationToken) {
        let mut seen = Seen::default();
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = token.cancelled() => break,
                () = self.inner.wake.notified() => {}
                _ = tick.tick() => {}
            }
            self.pulse(&mut seen).await;
        }
        tracing::debug!("dashboard pulse stopped");
    }

    async fn pulse(&self, seen: &mut Seen) {
        let inner = &self.inner;
        let now = inner.clock.now();
        let cable = inner.cable.local_stats();
        let server = inner.actioncable.stats();
        let reading = Reading {
            cache_hits: inner.cache.hits(),
            cache_misses: inner.cache.misses(),
            cache_writes: inner.cache.writes(),
            cache_evictions: inner.cache.evictions(),
            broadcasts: cable.published.saturating_sub(seen.own),
            delivered: server.frames_delivered,
        };
        inner
            .samples
            .lock()
            .record(now, reading, inner.cable.take_max_lag());

        let jobs = inner.queue.activity();
        if seen.jobs.replace(jobs).is_some_and(|before| before != jobs) {
            self.send(Topic::Jobs, seen).await;
        }
        let cache = (
            reading.cache_hits,
            reading.cache_misses,
            reading.cache_writes,
            reading.cache_evictions,
        );
        if seen
            .cache_due
            .send_now(changed(&mut seen.cache, cache), now)
        {
            self.send(Topic::Cache, seen).await;
        }
        let figures = (
            reading.broadcasts,
            server.connections,
            cable.subscriptions,
            cable.trimmed,
        );
        if seen
            .cable_due
            .send_now(changed(&mut seen.cable, figures), now)
        {
            self.send(Topic::Cable, seen).await;
        }
    }

    async fn send(&self, topic: Topic, seen: &mut Seen) {
        match self
            .inner
            .cable
            .broadcast(&topic.stream(), &json!({"action": "refresh"}))
            .await
        {
            Ok(_) => seen.own += 1,
            Err(err) => {
                tracing::warn!(cause = %err, topic = topic.id(), "dashboard: cannot send a sync marker");
            }
        }
    }
}

/// Stores `now` in `last`; whether it differs from a value seen before (the first look
/// is no change).
fn changed<T: PartialEq + Copy>(last: &mut Option<T>, now: T) -> bool {
    last.replace(now).is_some_and(|before| before != now)
}

/// A figure topic's marker, sent at most once per [`FIGURES_EVERY`]: a change within that
/// time waits for the next pulse after it, so the last change is always announced.
#[derive(Debug, Default)]
struct Pending {
    dirty: bool,
    sent: Option<Timestamp>,
}

impl Pending {
    /// Notes whether the figures `changed`; whether a marker is to be sent at `now`.
    fn send_now(&mut self, changed: bool, now: Timestamp) -> bool {
        self.dirty |= changed;
        if !self.dirty || self.sent.is_some_and(|at| now.since(at) < FIGURES_EVERY) {
            return false;
        }
        self.dirty = false;
        self.sent = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_inside_the_quiet_time_is_sent_when_it_ends() {
        let mut p = Pending::default();
        let t = |s: i64| Timestamp(s * 1_000_000);
        assert!(!p.send_now(false, t(0)), "nothing changed");
        assert!(p.send_now(true, t(1)));
        assert!(!p.send_now(true, t(2)), "within the quiet time");
        assert!(p.send_now(false, t(3)), "the held change goes out");
        assert!(!p.send_now(false, t(6)), "and only once");
    }
}
