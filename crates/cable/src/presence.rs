//! Presence (AnyCable's presence sets): who is on a stream, shared by every process on the
//! store.
//!
//! A session joins a stream's set under a presence id (a user, say) with some info (a name);
//! several sessions with one id count once. Joining an id new on the stream, and removing an
//! id's last session, each write an event — `{"type":"join","id":…,"info":…}` or
//! `{"type":"leave","id":…}` — as a message on the stream's presence channel
//! ([`channel`]), in the same transaction, so every process delivers the events in commit
//! order. Presence channels are kept apart from the streams they describe: their messages
//! never appear in a stream's history.
//!
//! Rows of a live session carry their process's node id and are refreshed by that process;
//! a closed session's rows are detached and kept for the presence TTL, so a client that
//! reconnects within it (and joins again) causes no leave and join. Any process deletes
//! expired rows and writes the leave events: a killed browser or server leaves no one
//! present for longer than the TTL.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use trifecta_store::Timestamp;

use super::store::presence::Join;
use super::{Cable, Message, Result};

/// Prefix of the channels presence events go out on.
pub const CHANNEL_PREFIX: &str = "$presence:";

/// The channel `stream`'s presence events go out on.
pub fn channel(stream: &str) -> String {
    format!("{CHANNEL_PREFIX}{stream}")
}

/// One presence id on a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Present {
    /// The presence id.
    pub id: String,
    /// Its info, JSON text.
    pub info: String,
}

/// `{"type":"join","id":…,"info":…}`.
pub(crate) fn join_event(id: &str, info: &Value) -> String {
    json!({"type": "join", "id": id, "info": info}).to_string()
}

/// `{"type":"leave","id":…}`.
pub(crate) fn leave_event(id: &str) -> String {
    json!({"type": "leave", "id": id}).to_string()
}

/// The presence clock, derived from the TTL: how often the loop runs, how often a process
/// refreshes its rows, and how long rows live without a refresh. Together they keep anyone
/// from staying present longer than the TTL after their socket or process is gone, and give
/// a live row half the TTL of slack for a late refresh.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub(crate) tick: Duration,
    pub(crate) refresh_every: Duration,
    /// Expiry of a live row after a refresh.
    pub(crate) live: Duration,
    /// Expiry of a detached row.
    pub(crate) detached: Duration,
}

impl Timing {
    pub(crate) fn new(ttl: Duration) -> Self {
        let tick = (ttl / 10).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let refresh_every = ttl / 4;
        Self {
            tick,
            refresh_every,
            live: (ttl - refresh_every).saturating_sub(tick),
            detached: ttl.saturating_sub(tick),
        }
    }
}

impl Cable {
    /// Adds session `member` to `stream`'s presence set as `id` with `info` (again is a
    /// renewal); returns whether `id` was new there (a join event went out).
    ///
    /// # Errors
    /// An invalid stream name or a store failure.
    pub async fn presence_join(
        &self,
        stream: &str,
        member: &str,
        id: &str,
        info: &Value,
    ) -> Result<bool> {
        self.check_channel(&channel(stream))?;
        let now = self.inner.clock.now();
        let join = Join {
            stream: stream.to_owned(),
            member: member.to_owned(),
            id: id.to_owned(),
            info: info.to_string(),
            node: self.inner.node.clone(),
            expires_at: now + self.inner.presence.live,
            event: join_event(id, info),
        };
        self.inner.live_members.lock().insert(member.to_owned());
        let event = self.inner.db.presence_join(join, now).await?;
        Ok(self.deliver_event(event))
    }

    /// Removes session `member` from `stream`'s presence set; returns whether its id left
    /// (a leave event went out).
    ///
    /// # Errors
    /// A store failure.
    pub async fn presence_leave(&self, stream: &str, member: &str) -> Result<bool> {
        let now = self.inner.clock.now();
        let event = self
            .inner
            .db
            .presence_leave(stream.to_owned(), member.to_owned(), now)
            .await?;
        Ok(self.deliver_event(event))
    }

    /// Session `member`'s socket closed: its places in presence sets stay for the TTL, for a
    /// reconnect to take back (with [`Cable::renew_session`], then a join).
    ///
    /// # Errors
    /// A store failure.
    pub async fn presence_detach(&self, member: &str) -> Result<()> {
        if !self.inner.live_members.lock().remove(member) {
            return Ok(());
        }
        let expires = self.inner.clock.now() + self.inner.presence.detached;
        self.inner
            .db
            .presence_detach(member.to_owned(), expires)
            .await
    }

    /// The ids present on `stream`, each once, sorted.
    ///
    /// # Errors
    /// A store failure.
    pub async fn presence(&self, stream: &str) -> Result<Vec<Present>> {
        self.inner.db.presence_list(stream.to_owned()).await
    }

    /// Deletes expired presence rows and sends the leave events; returns how many went out.
    /// The presence loop runs it every tick; public for tests.
    ///
    /// # Errors
    /// A store failure.
    pub async fn presence_sweep(&self) -> Result<usize> {
        let now = self.inner.clock.now();
        if !self.inner.db.presence_expired(now).await? {
            return Ok(0);
        }
        let events = self.inner.db.presence_sweep(now).await?;
        let n = events.len();
        for event in events {
            self.deliver_event(Some(event));
        }
        Ok(n)
    }

    /// Extends the rows of this process's live sessions (none: nothing is written).
    ///
    /// # Errors
    /// A store failure.
    pub async fn presence_refresh(&self) -> Result<()> {
        if self.inner.live_members.lock().is_empty() {
            return Ok(());
        }
        let expires = self.inner.clock.now() + self.inner.presence.live;
        self.inner
            .db
            .presence_refresh(self.inner.node.clone(), expires)
            .await
    }

    /// Hands a written event to local subscribers (or wakes the listener to).
    fn deliver_event(&self, event: Option<Message>) -> bool {
        let Some(message) = event else {
            return false;
        };
        self.inner.broadcasts.increment(1);
        if self.inner.wake_mode != trifecta_store::WakeMode::Instant
            || !self.inner.hub.publish_local(&message)
        {
            self.inner.wake.notify_one();
        }
        true
    }
}

/// A random id for this process's presence rows (unique, not secret).
pub(crate) fn node_id() -> String {
    format!("{:016x}{:08x}", fastrand::u64(..), std::process::id())
}

/// The set of live sessions with presence rows on this process.
pub(crate) type LiveMembers = parking_lot::Mutex<HashSet<String>>;

/// Refreshes this process's rows and sweeps expired ones, until `token` is cancelled.
pub(crate) async fn presence_loop(cable: Cable, token: CancellationToken) {
    let timing = cable.inner.presence;
    let mut refreshed: Option<Timestamp> = None;
    loop {
        tokio::select! {
            () = token.cancelled() => break,
            () = tokio::time::sleep(timing.tick) => {}
        }
        let now = cable.inner.clock.now();
        if refreshed.is_none_or(|at| now.since(at) >= timing.refresh_every) {
            match cable.presence_refresh().await {
                Ok(()) => refreshed = Some(now),
                Err(err) => tracing::warn!(cause = %err, "presence refresh failed; will retry"),
            }
        }
        if let Err(err) = cable.presence_sweep().await {
            tracing::warn!(cause = %err, "presence sweep failed; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_stays_longer_than_the_ttl() {
        for secs in [1, 2, 15, 60, 300] {
            let ttl = Duration::from_secs(secs);
            let t = Timing::new(ttl);
            // Killed right after a refresh: gone by the expiry plus one sweep tick.
            assert!(t.live + t.tick <= ttl, "{t:?}");
            assert!(t.detached + t.tick <= ttl, "{t:?}");
            // A refresh may be late by half the TTL before a live row expires.
            assert!(t.live >= t.refresh_every + ttl / 4, "{t:?}");
        }
    }
}
