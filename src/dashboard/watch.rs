//! Who is watching: the pulse sends a topic's markers only while a page of it is open on
//! some server, so a server nobody watches writes nothing to the cable for the dashboard.
//!
//! Each server knows its own watchers: the cable's local subscribers of the topic's stream
//! (one per socket). While it has any, it says which topics on an internal stream (no
//! client can subscribe to it), at once when a topic gains its first watcher and then every
//! [`ANNOUNCE_EVERY`]. Every server listens; a topic announced elsewhere counts as watched
//! for [`WATCHED_FOR`] after the announcement.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::{TOPICS, Topic};
use crate::cable::{Message, Sink};
use crate::store::{Clock, Timestamp};

/// The stream the announcements go to: not a `SyncChannel` stream (those are
/// `Model:id`, and no model is called `trifecta`), so no page can subscribe to it.
pub(super) const STREAM: &str = "trifecta:dashboard:watching";

/// How often a server with a dashboard page open says so again.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(5);

/// How long an announcement counts: three missed announcements (the page closed, or its
/// server went away) and the other servers stop sending.
const WATCHED_FOR: Duration = Duration::from_secs(15);

/// One announcement: the ids of the topics watched on the server that sent it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Announcement {
    pub watching: Vec<String>,
}

/// Until when each topic (in [`Topic::ALL`] order) is watched on another server, from
/// their announcements.
#[derive(Debug)]
pub(super) struct Remote {
    clock: Clock,
    until: Mutex<[Option<Timestamp>; TOPICS]>,
}

impl Remote {
    pub(super) fn new(clock: Clock) -> Self {
        Self {
            clock,
            until: Mutex::new([None; TOPICS]),
        }
    }

    /// Whether `topic` was announced within [`WATCHED_FOR`] before `now`.
    pub(super) fn watched(&self, topic: Topic, now: Timestamp) -> bool {
        self.until.lock()[topic.index()].is_some_and(|until| now < until)
    }

    fn note(&self, announcement: &Announcement) {
        let until = self.clock.now() + WATCHED_FOR;
        let mut slots = self.until.lock();
        for topic in announcement
            .watching
            .iter()
            .filter_map(|id| Topic::lookup(id))
        {
            slots[topic.index()] = Some(until);
        }
    }
}

/// The cable sink that hands announcements to [`Remote`].
pub(super) struct Listen(pub Arc<Remote>);

impl Sink for Listen {
    fn deliver(&self, message: &Message) {
        match serde_json::from_str::<Announcement>(&message.payload) {
            Ok(announcement) => self.0.note(&announcement),
            // Only servers write this stream; a row of another version is not worth more.
            Err(err) => tracing::debug!(cause = %err, "dashboard: unreadable watch announcement"),
        }
    }
}

/// This server's own watchers, and when it last announced them.
#[derive(Debug, Default)]
pub(super) struct Local {
    watching: [bool; TOPICS],
    announced: Option<Timestamp>,
}

impl Local {
    /// Notes which topics this server's sockets watch at `now` (in [`Topic::ALL`] order);
    /// the announcement to send now, if one is due: at once when a topic gained its first
    /// watcher, else every [`ANNOUNCE_EVERY`] while any is watched.
    pub(super) fn look(
        &mut self,
        watching: [bool; TOPICS],
        now: Timestamp,
    ) -> Option<Announcement> {
        let gained = watching
            .iter()
            .zip(self.watching)
            .any(|(&now, before)| now && !before);
        self.watching = watching;
        let due = self
            .announced
            .is_none_or(|at| now.since(at) >= ANNOUNCE_EVERY);
        if !watching.contains(&true) || !(gained || due) {
            return None;
        }
        self.announced = Some(now);
        Some(Announcement {
            watching: Topic::ALL
                .into_iter()
                .filter(|t| watching[t.index()])
                .map(|t| t.id().to_owned())
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> Timestamp {
        Timestamp(seconds * 1_000_000)
    }

    fn ids(a: Option<Announcement>) -> Option<Vec<String>> {
        a.map(|a| a.watching)
    }

    #[test]
    fn a_server_announces_a_new_watcher_at_once_then_every_five_seconds_while_it_lasts() {
        let mut local = Local::default();
        assert!(
            ids(local.look([false; 3], t(0))).is_none(),
            "nobody watches"
        );
        assert_eq!(
            ids(local.look([true, false, false], t(1))),
            Some(vec!["jobs".into()])
        );
        assert!(ids(local.look([true, false, false], t(2))).is_none());
        assert_eq!(
            ids(local.look([true, false, true], t(3))),
            Some(vec!["jobs".into(), "cable".into()]),
            "a topic gaining a watcher is said at once"
        );
        assert!(ids(local.look([true, false, true], t(7))).is_none());
        assert!(
            ids(local.look([true, false, false], t(7))).is_none(),
            "losing one is not"
        );
        assert_eq!(
            ids(local.look([true, false, false], t(8))),
            Some(vec!["jobs".into()])
        );
        assert!(
            ids(local.look([false; 3], t(20))).is_none(),
            "nobody left: silence"
        );
        assert_eq!(
            ids(local.look([false, true, false], t(21))),
            Some(vec!["cache".into()]),
            "a watcher after silence is said at once"
        );
    }

    #[test]
    fn an_announcement_counts_for_fifteen_seconds() {
        let remote = Arc::new(Remote::new(Clock::manual(t(100))));
        let listen = Listen(remote.clone());
        let message = |payload: &str| Message {
            id: 1,
            channel: STREAM.into(),
            payload: payload.into(),
            created_at: t(100),
        };
        listen.deliver(&message("not json"));
        assert!(!remote.watched(Topic::Jobs, t(100)));
        listen.deliver(&message(r#"{"watching":["jobs","secrets"]}"#));
        assert!(remote.watched(Topic::Jobs, t(114)));
        assert!(!remote.watched(Topic::Jobs, t(115)));
        assert!(!remote.watched(Topic::Cache, t(101)));
    }
}
