//! The extended protocol (`actioncable-v1-ext-json`, AnyCable's reliable streams): a session
//! id in `welcome`, and sessions saved in the cable store and restored on reconnect. History
//! replays are in `replay`.
//!
//! - Every welcome carries a fresh `sid`. While the socket lives, each change of its
//!   subscriptions saves `{identity, subscriptions}` under that sid in the cable store, and
//!   again when the connection drops (not when the server closes it with a `disconnect`
//!   frame, after which the client forgets its sid), for the session TTL.
//! - A reconnect presenting an old sid (`?sid=` or `X-ANYCABLE-RESTORE-SID`) moves that saved
//!   session to its own sid in one write (so an old sid restores at most once), on any
//!   process sharing the store. The connection is identified
//!   by the connect hook as any other (a sid alone, which travels in URLs and logs, never
//!   stands in for the cookie), and must come out as the same identity. Each saved
//!   subscription's `subscribed` runs again, its transmissions dropped: one the channel now
//!   rejects is not restored, so access lost while away stays lost. The client gets
//!   `restored: true` and the `restored_ids`, and does not subscribe again.
//! - A restored subscription is parked: its streams start when the client's `history`
//!   command for it arrives, so the replay (up to the stream's floor) comes before any live
//!   message, in order and without overlap. A parked subscription whose client sends no
//!   `history` starts streaming at the next ping beat.

use std::sync::Arc;

use tokio::time::Instant;

use super::channel::Effect;
use super::frame;
use super::remote;
use super::session::Session;
use super::subscriptions::Sub;

/// Header a client may present its previous session id in (instead of `?sid=`).
pub(super) const RESTORE_HEADER: &str = "x-anycable-restore-sid";

/// The extended-protocol state of a connection.
pub(super) struct Ext {
    /// This connection's session id, as sent in its welcome.
    pub(super) sid: String,
    /// The cable's epoch as a JSON string literal, for broadcast frames.
    pub(super) epoch_json: Arc<str>,
    /// The sid the client presented, until the welcome is sent.
    pub(super) restore_from: Option<String>,
    /// Restored subscriptions whose streams wait for the client's `history`.
    pub(super) parked: Vec<Parked>,
    /// The server sent a `disconnect` frame, after which the client drops its session id:
    /// the session is not saved again when the socket closes.
    pub(super) dismissed: bool,
}

/// A restored subscription not streaming yet.
pub(super) struct Parked {
    pub(super) key: Arc<str>,
    pub(super) streams: Vec<String>,
    at: Instant,
}

/// What is saved of a session.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    identity: Option<String>,
    subscriptions: Vec<String>,
}

impl Ext {
    /// The state of a new extended-protocol connection, which presented `restore_from`.
    pub(super) fn new(epoch: &str, restore_from: Option<String>) -> Self {
        Self {
            sid: new_sid(),
            epoch_json: Arc::from(serde_json::Value::from(epoch).to_string()),
            restore_from: restore_from.filter(|s| !s.is_empty() && s.len() <= 64),
            parked: Vec::new(),
            dismissed: false,
        }
    }
}

/// 128 random bits as hex: a session id nobody can guess.
fn new_sid() -> String {
    let mut bytes = [0u8; 16];
    if let Err(err) = getrandom::fill(&mut bytes) {
        // No randomness from the OS: the id stays unique, and a restore also needs the
        // connection's own cookie.
        tracing::error!(cause = %err, "no OS randomness for a session id");
        bytes = clock_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn clock_bytes() -> [u8; 16] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    nanos.to_le_bytes()
}

impl Session {
    /// The welcome frame: the plain one, or the extended one with this connection's sid and,
    /// after restoring the session the client presented, the restored identifiers.
    pub(super) async fn welcome(&mut self) -> axum::extract::ws::Utf8Bytes {
        let Some(old) = self.ext.as_mut().and_then(|e| e.restore_from.take()) else {
            return match &self.ext {
                Some(ext) => frame::welcome_ext(&ext.sid, None),
                None => frame::WELCOME,
            };
        };
        let restored = self.restore(&old).await;
        let sid = self.ext.as_ref().map_or("", |e| e.sid.as_str());
        frame::welcome_ext(sid, restored.as_deref())
    }

    /// Takes the saved session `old`, saved again under this connection's sid in the same
    /// write, and restores its subscriptions (parked); `None` when there is none to restore
    /// for this connection.
    async fn restore(&mut self, old: &str) -> Option<Vec<Arc<str>>> {
        let cable = self.server.inner.cable.clone();
        let new = self.ext.as_ref()?.sid.clone();
        let state = match cable.renew_session(old, &new).await {
            Ok(Some(state)) => state,
            Ok(None) => {
                tracing::debug!("no session to restore");
                return None;
            }
            Err(err) => {
                tracing::error!(cause = %err, "cannot read a saved cable session");
                return None;
            }
        };
        let saved: Saved = match serde_json::from_str(&state) {
            Ok(saved) => saved,
            Err(err) => {
                tracing::warn!(cause = %err, "ignoring an unreadable saved cable session");
                return None;
            }
        };
        if saved.identity != self.info.identity.id {
            tracing::info!("a saved cable session belongs to another identity; not restored");
            // It was renewed under this connection's sid: forget it.
            self.save().await;
            return None;
        }
        let wanted = saved.subscriptions.len();
        let mut restored = Vec::with_capacity(wanted);
        for identifier in saved.subscriptions {
            if let Some((key, streams)) = self.restore_subscription(identifier).await {
                if let Some(ext) = self.ext.as_mut() {
                    ext.parked.push(Parked {
                        key: key.clone(),
                        streams,
                        at: Instant::now(),
                    });
                }
                restored.push(key);
            }
        }
        if restored.len() < wanted {
            // Some subscription was not restored: the renewed row still lists it.
            self.save().await;
        }
        self.server
            .inner
            .counters
            .restored_sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(subscriptions = restored.len(), "cable session restored");
        Some(restored)
    }

    /// Saves this connection's session (extended protocol only); a failure is logged, and
    /// only costs the client a fresh subscribe (with history) on its next reconnect.
    pub(super) async fn save(&mut self) {
        let Some(ext) = &self.ext else {
            return;
        };
        let saved = Saved {
            identity: self.info.identity.id.clone(),
            subscriptions: self.subs.keys().map(|k| k.to_string()).collect(),
        };
        let Ok(state) = serde_json::to_string(&saved) else {
            return;
        };
        match self.server.inner.cable.save_session(&ext.sid, state).await {
            Ok(()) => {
                self.server
                    .inner
                    .counters
                    .saved_sessions
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(err) => tracing::warn!(cause = %err, "cannot save a cable session"),
        }
    }

    /// Starts the streams of the parked subscription `key`, if it is parked.
    pub(super) async fn unpark(&mut self, key: &str) {
        let Some(ext) = self.ext.as_mut() else {
            return;
        };
        let Some(i) = ext.parked.iter().position(|p| &*p.key == key) else {
            return;
        };
        let parked = ext.parked.swap_remove(i);
        self.start_streams(&parked.key, parked.streams).await;
    }

    /// Starts the parked subscriptions restored at least `age` ago (their client sent no
    /// `history`).
    pub(super) async fn unpark_older_than(&mut self, age: std::time::Duration) {
        let Some(ext) = self.ext.as_mut() else {
            return;
        };
        let (due, keep): (Vec<Parked>, Vec<Parked>) = std::mem::take(&mut ext.parked)
            .into_iter()
            .partition(|p| p.at.elapsed() >= age);
        ext.parked = keep;
        for parked in due {
            self.start_streams(&parked.key, parked.streams).await;
        }
    }

    /// Removes `key` from the parked subscriptions.
    pub(super) fn forget_parked(&mut self, key: &str) {
        if let Some(ext) = self.ext.as_mut() {
            ext.parked.retain(|p| &*p.key != key);
        }
    }

    /// Whether a parked subscription `key` will stream one of `streams`.
    pub(super) fn parked_streams_any(&self, key: &str, streams: &[String]) -> bool {
        self.ext.as_ref().is_some_and(|ext| {
            ext.parked
                .iter()
                .any(|p| &*p.key == key && p.streams.iter().any(|s| streams.contains(s)))
        })
    }

    /// Runs `subscribed` again for a subscription of a restored session, dropping its
    /// transmissions; returns the key and the streams it asks for (not started), or `None`
    /// when the channel is gone or now rejects it.
    pub(super) async fn restore_subscription(
        &mut self,
        identifier: String,
    ) -> Option<(Arc<str>, Vec<String>)> {
        if self.subs.contains_key(identifier.as_str())
            || self.subs.len() >= self.server.inner.config.max_subscriptions
        {
            return None;
        }
        let (name, params) = frame::parse_identifier(&identifier)?;
        let mut channel = self.server.registry().make(&name)?;
        let id_json: Arc<str> = Arc::from(frame::identifier_json(&identifier));
        let (effects, rejected) = self
            .run_subscribed(channel.as_mut(), &identifier, &id_json, &params)
            .await;
        if rejected {
            tracing::info!(channel = name, "a restored subscription is now rejected");
            return None;
        }
        let mut streams: Vec<String> = Vec::new();
        let mut presence = None;
        for effect in effects {
            match effect {
                Effect::Transmit(_) => {}
                Effect::StreamFrom(s) if remote::is_reserved(&s) => {
                    tracing::warn!(stream = s, "refusing to stream a reserved channel");
                    return None;
                }
                Effect::StreamFrom(s) => {
                    if !streams.contains(&s) {
                        streams.push(s);
                    }
                }
                Effect::StopStream(s) => streams.retain(|x| *x != s),
                Effect::StopAllStreams => streams.clear(),
                Effect::Presence(as_) => presence = Some(as_),
            }
        }
        self.server.inner.count_subscription(&name, 1);
        let key: Arc<str> = Arc::from(identifier);
        let mut sub = Sub::new(id_json, name, channel);
        // Presence events have no history to wait for: they start at once. The session's
        // places came back with its id; the client joins again to keep them.
        if let Some(as_) = presence {
            self.enable_presence(&mut sub, as_).await;
        }
        self.subs.insert(key.clone(), sub);
        Some((key, streams))
    }

    /// Starts `streams` for the subscription `key` (a restored one, parked until now).
    pub(super) async fn start_streams(&mut self, key: &str, streams: Vec<String>) {
        let Some((key, mut sub)) = self.subs.remove_entry(key) else {
            return;
        };
        let cable = self.server.inner.cable.clone();
        for name in streams {
            match self.join_stream(&cable, &name, &sub.id_json).await {
                Ok(()) => sub.streams.push(name),
                Err(err) => tracing::error!(cause = %err, stream = name, "cannot stream"),
            }
        }
        self.subs.insert(key, sub);
    }
}
