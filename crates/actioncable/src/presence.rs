//! Presence for clients of the extended protocol (AnyCable's `join`, `leave` and `presence`
//! commands), kept in the cable store by [`trifecta_cable::Cable`]'s presence sets.
//!
//! A channel opts a subscription in with [`super::Context::presence`], naming the stream
//! whose set it takes part in and the id and info it joins as. Such a subscription streams
//! the set's presence channel from the start, so it gets every join and leave (as
//! `{"type":"presence",…}` frames), and may join, leave and ask who is there. A session is
//! a member under its session id, so a restore (which moves the id) keeps its places; a
//! closed socket's places are detached and kept for the presence TTL, and an unsubscribe or
//! a lost access leaves at once.

use serde_json::json;

use super::channel::PresenceAs;
use super::frame;
use super::session::{Gone, Session};
use super::subscriptions::Sub;

/// A subscription's part in a presence set.
pub(super) struct SubPresence {
    /// The stream, and the id and info the channel joins it as.
    pub(super) as_: PresenceAs,
    /// Whether the session joined.
    pub(super) joined: bool,
}

impl Session {
    /// This session's member key in presence sets: its session id.
    fn member(&self) -> Option<String> {
        self.ext.as_ref().map(|e| e.sid.clone())
    }

    /// Gives `sub` its part in `as_`'s set and starts the set's presence channel for it
    /// (extended protocol only; otherwise ignored).
    pub(super) async fn enable_presence(&mut self, sub: &mut Sub, as_: PresenceAs) {
        if self.ext.is_none() {
            return;
        }
        let channel = trifecta_cable::presence_channel(&as_.stream);
        if !sub.streams.contains(&channel) {
            let cable = self.server.inner.cable.clone();
            match self.join_stream(&cable, &channel, &sub.id_json).await {
                Ok(()) => sub.streams.push(channel),
                Err(err) => {
                    tracing::error!(cause = %err, stream = as_.stream, "cannot stream presence");
                    return;
                }
            }
        }
        sub.presence = Some(Box::new(SubPresence { as_, joined: false }));
    }

    /// The `join` command (and a `subscribe` carrying `presence`).
    pub(super) async fn join_presence(&mut self, identifier: &str) -> Result<(), Gone> {
        let Some(member) = self.member() else {
            self.ignored("join without the extended protocol");
            return Ok(());
        };
        let Some(presence) = self.subs.get(identifier).and_then(|s| s.presence.as_ref()) else {
            self.ignored("join on a subscription without presence");
            return Ok(());
        };
        let PresenceAs { stream, id, info } = presence.as_.clone();
        let cable = self.server.inner.cable.clone();
        match cable.presence_join(&stream, &member, &id, &info).await {
            Ok(_) => {
                if let Some(p) = self
                    .subs
                    .get_mut(identifier)
                    .and_then(|s| s.presence.as_mut())
                {
                    p.joined = true;
                }
            }
            Err(err) => tracing::error!(cause = %err, stream, "cannot join a presence set"),
        }
        Ok(())
    }

    /// The `leave` command.
    pub(super) async fn leave_presence(&mut self, identifier: &str) -> Result<(), Gone> {
        let Some((key, mut sub)) = self.subs.remove_entry(identifier) else {
            tracing::debug!(identifier, "leave for an unknown subscription");
            return Ok(());
        };
        self.leave_presence_of(&mut sub).await;
        self.subs.insert(key, sub);
        Ok(())
    }

    /// Leaves `sub`'s presence set, if it joined (an unsubscribe, a lost access, a `leave`).
    pub(super) async fn leave_presence_of(&mut self, sub: &mut Sub) {
        let Some(member) = self.member() else {
            return;
        };
        let Some(presence) = sub.presence.as_mut().filter(|p| p.joined) else {
            return;
        };
        presence.joined = false;
        let stream = &presence.as_.stream;
        if let Err(err) = self
            .server
            .inner
            .cable
            .presence_leave(stream, &member)
            .await
        {
            tracing::error!(cause = %err, stream, "cannot leave a presence set");
        }
    }

    /// The socket closed: its places stay for the presence TTL (a reconnect takes them back).
    pub(super) async fn detach_presence(&mut self) {
        if !self
            .subs
            .values()
            .any(|s| s.presence.as_ref().is_some_and(|p| p.joined))
        {
            return;
        }
        let Some(member) = self.member() else {
            return;
        };
        if let Err(err) = self.server.inner.cable.presence_detach(&member).await {
            tracing::warn!(cause = %err, "cannot detach presence; it expires on its own");
        }
    }

    /// The `presence` command: who is in the subscription's set (with their info unless
    /// `records` is false), or an error event when it has none or the store fails.
    pub(super) async fn presence_info(
        &mut self,
        identifier: &str,
        records: bool,
    ) -> Result<(), Gone> {
        if self.ext.is_none() {
            self.ignored("presence without the extended protocol");
            return Ok(());
        }
        let Some(sub) = self.subs.get(identifier) else {
            tracing::debug!(identifier, "presence for an unknown subscription");
            return Ok(());
        };
        let id_json = sub.id_json.clone();
        let Some(stream) = sub.presence.as_ref().map(|p| p.as_.stream.clone()) else {
            return self.presence_error(&id_json).await;
        };
        let present = match self.server.inner.cable.presence(&stream).await {
            Ok(present) => present,
            Err(err) => {
                tracing::error!(cause = %err, stream, "cannot read a presence set");
                return self.presence_error(&id_json).await;
            }
        };
        let mut info = json!({"type": "info", "total": present.len()});
        if records {
            let list: Vec<serde_json::Value> = present
                .into_iter()
                .map(|p| {
                    let info: serde_json::Value =
                        serde_json::from_str(&p.info).unwrap_or(serde_json::Value::Null);
                    json!({"id": p.id, "info": info})
                })
                .collect();
            info["records"] = list.into();
        }
        self.write(vec![frame::presence(&id_json, &info.to_string())])
            .await
    }

    async fn presence_error(&mut self, id_json: &str) -> Result<(), Gone> {
        self.write(vec![frame::presence(id_json, r#"{"type":"error"}"#)])
            .await
    }
}
