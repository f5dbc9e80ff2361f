//! The pulse: once a second (or at once after [`Dashboard::poke`]), read this process's
//! counters, add their growth to the minute samples, and broadcast a sync marker for each
//! dashboard topic that changed and is watched (see `watch`). The markers carry no data:
//! an admin page reloads its props through an ordinary, authorized request.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::samples::Reading;
use super::watch::{self, Announcement};
use super::{Dashboard, TOPICS, Topic};
use crate::cable::{self, Subscription};
use crate::store::Timestamp;

/// How often the pulse looks.
pub(super) const EVERY: Duration = Duration::from_secs(1);
/// The cache and cable pages are sent at most one marker this often: their figures move
/// with every request, and a page reload per second of a busy server would be noise.
const FIGURES_EVERY: Duration = Duration::from_secs(2);

/// What the last pulse saw, to tell what changed.
#[derive(Debug)]
struct Seen {
    jobs: Option<u64>,
    cache: Option<(u64, u64, u64, u64)>,
    cable: Option<(u64, usize, usize, u64)>,
    /// Each topic (in [`Topic::ALL`] order): changed since its last marker, and when that
    /// was sent.
    due: [Pending; TOPICS],
    /// Markers and announcements this pulse broadcast, which the cable's own count
    /// includes: they must not count as the cable activity that calls for the next marker.
    own: u64,
    /// This server's watchers.
    local: watch::Local,
}

impl Seen {
    fn new() -> Self {
        Self {
            jobs: None,
            cache: None,
            cable: None,
            due: Topic::ALL.map(|t| match t {
                Topic::Jobs => Pending::every(Duration::ZERO),
                Topic::Cache | Topic::Cable => Pending::every(FIGURES_EVERY),
            }),
            own: 0,
            local: watch::Local::default(),
        }
    }
}

impl Dashboard {
    /// Registers for other servers' announcements (awaited, so the registration is in place
    /// before the server answers), then pulses on `tracker` until `token` is cancelled.
    ///
    /// # Errors
    /// The cable could not be read.
    pub async fn start(
        &self,
        tracker: &TaskTracker,
        token: CancellationToken,
    ) -> cable::Result<()> {
        let sink = Arc::new(watch::Listen(self.inner.remote.clone()));
        let registration = self.inner.cable.subscribe(watch::STREAM, sink).await?;
        tracker.spawn(self.clone().run(registration, token));
        Ok(())
    }

    async fn run(self, registration: Subscription, token: CancellationToken) {
        let mut seen = Seen::new();
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
            self.inner.pulses.fetch_add(1, Ordering::Release);
        }
        self.inner.cable.unsubscribe(&registration);
        tracing::debug!("dashboard pulse stopped");
    }

    async fn pulse(&self, seen: &mut Seen) {
        let inner = &self.inner;
        let now = inner.clock.now();
        let watching = Topic::ALL.map(|t| inner.cable.local_subscribers(&t.stream()) > 0);
        if let Some(announcement) = seen.local.look(watching, now) {
            self.announce(&announcement, seen).await;
        }
        let watched = Topic::ALL.map(|t| watching[t.index()] || inner.remote.watched(t, now));

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

        let cache = (
            reading.cache_hits,
            reading.cache_misses,
            reading.cache_writes,
            reading.cache_evictions,
        );
        let figures = (
            reading.broadcasts,
            server.connections,
            cable.subscriptions,
            cable.trimmed,
        );
        let changes = [
            changed(&mut seen.jobs, inner.queue.activity()),
            changed(&mut seen.cache, cache),
            changed(&mut seen.cable, figures),
        ];
        for topic in Topic::ALL {
            let i = topic.index();
            if seen.due[i].send_now(changes[i], watched[i], now) {
                self.send(topic, seen).await;
            }
        }
    }

    async fn announce(&self, announcement: &Announcement, seen: &mut Seen) {
        let payload = match serde_json::to_value(announcement) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::warn!(cause = %err, "dashboard: cannot encode a watch announcement");
                return;
            }
        };
        match self.inner.cable.broadcast(watch::STREAM, &payload).await {
            Ok(_) => seen.own += 1,
            Err(err) => {
                tracing::warn!(cause = %err, "dashboard: cannot announce the topics watched here");
            }
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

/// A topic's marker: sent while the topic is watched, at most once per `every`. A change
/// within that time, or while nobody watches, waits for the first pulse that may send it,
/// so the last change is always announced (a page opened on another server before its
/// announcement arrived gets the changes it may have missed).
#[derive(Debug)]
struct Pending {
    every: Duration,
    dirty: bool,
    sent: Option<Timestamp>,
}

impl Pending {
    fn every(every: Duration) -> Self {
        Self {
            every,
            dirty: false,
            sent: None,
        }
    }

    /// Notes whether the figures `changed`; whether a marker is to be sent at `now`.
    fn send_now(&mut self, changed: bool, watched: bool, now: Timestamp) -> bool {
        self.dirty |= changed;
        if !watched || !self.dirty || self.sent.is_some_and(|at| now.since(at) < self.every) {
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

    fn t(s: i64) -> Timestamp {
        Timestamp(s * 1_000_000)
    }

    #[test]
    fn a_change_inside_the_quiet_time_is_sent_when_it_ends() {
        let mut p = Pending::every(FIGURES_EVERY);
        assert!(!p.send_now(false, true, t(0)), "nothing changed");
        assert!(p.send_now(true, true, t(1)));
        assert!(!p.send_now(true, true, t(2)), "within the quiet time");
        assert!(p.send_now(false, true, t(3)), "the held change goes out");
        assert!(!p.send_now(false, true, t(6)), "and only once");
    }

    #[test]
    fn changes_nobody_watches_wait_for_a_watcher_and_go_out_once() {
        let mut p = Pending::every(Duration::ZERO);
        assert!(!p.send_now(true, false, t(0)));
        assert!(!p.send_now(true, false, t(1)), "still nobody");
        assert!(
            p.send_now(false, true, t(2)),
            "the first watched pulse sends them"
        );
        assert!(!p.send_now(false, true, t(2)), "once");
        assert!(p.send_now(true, true, t(2)), "no quiet time for jobs");
    }
}
