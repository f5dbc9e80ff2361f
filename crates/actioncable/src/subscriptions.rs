//! The commands of a session: `subscribe`, `unsubscribe` and `message`, all keyed by the raw
//! identifier string; and the socket's streams.
//!
//! A socket registers each stream with the cable once, however many of its subscriptions
//! stream it (say 100 identifiers of one channel differing only in a param): the stream's
//! [`Sink`] queues each broadcast once, with the list of identifiers it is for, and the
//! frames are built when written.

use parking_lot::Mutex;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::channel::{Channel, Context, Effect};
use super::frame::{self, Command, HistoryRequest};
use super::outbox::{Outbox, Target};
use super::presence::SubPresence;
use super::remote;
use super::session::{Gone, Session};
use trifecta_cable::{self as cable, Message, Sink};

/// One live subscription of a connection.
pub(super) struct Sub {
    /// The identifier as a JSON string literal.
    pub(super) id_json: Arc<str>,
    /// The channel's registered name (the `trifecta_cable_subscriptions` label).
    pub(super) name: String,
    pub(super) channel: Box<dyn Channel>,
    /// Names of the socket's streams this subscription is a target of (one or two, so a
    /// list: a set or the parsed params kept here cost ~700 bytes per subscription).
    pub(super) streams: Vec<String>,
    /// Its part in a presence set, if its channel gave it one (boxed: most have none).
    pub(super) presence: Option<Box<SubPresence>>,
}

impl Sub {
    /// A subscription to channel `name` with no streams yet.
    pub(super) fn new(id_json: Arc<str>, name: String, channel: Box<dyn Channel>) -> Self {
        Self {
            id_json,
            name,
            channel,
            streams: Vec::new(),
            presence: None,
        }
    }
}

/// One stream of a socket: its cable registration and the sink every subscription of the
/// socket streaming it shares.
pub(super) struct Stream {
    registration: cable::Subscription,
    sink: Arc<StreamSink>,
}

/// Queues a stream's broadcasts for the subscriptions of one socket that stream it.
struct StreamSink {
    /// Replaced (not edited) on join and leave, so a queued item keeps the list it was
    /// queued for without a copy.
    targets: Mutex<Arc<[Target]>>,
    outbox: Outbox,
}

impl StreamSink {
    fn targets(&self) -> Arc<[Target]> {
        self.targets.lock().clone()
    }

    fn join(&self, target: Target) {
        let mut targets = self.targets.lock();
        let mut list = targets.to_vec();
        list.push(target);
        *targets = Arc::from(list);
    }

    /// Removes `id_json`; returns how many targets are left.
    fn leave(&self, id_json: &str) -> usize {
        let mut targets = self.targets.lock();
        let list: Vec<Target> = targets
            .iter()
            .filter(|t| &*t.id_json != id_json)
            .cloned()
            .collect();
        *targets = Arc::from(list);
        targets.len()
    }
}

impl Sink for StreamSink {
    fn deliver(&self, message: &Message) {
        self.outbox.push_message(message, self.targets());
    }
}

/// The params of an identifier a subscription was accepted with (parsed again when a
/// callback needs them: rare, and cheaper than keeping a map per subscription).
fn params_of(identifier: &str) -> Map<String, Value> {
    frame::parse_identifier(identifier).map_or_else(Map::new, |(_, params)| params)
}

impl Session {
    pub(super) async fn on_text(&mut self, text: &str) -> Result<(), Gone> {
        match frame::parse_command(text) {
            Ok(Command::Subscribe {
                identifier,
                history,
                presence,
            }) => self.subscribe(identifier, history, presence).await,
            Ok(Command::Join(identifier)) => self.join_presence(&identifier).await,
            Ok(Command::Leave(identifier)) => self.leave_presence(&identifier).await,
            Ok(Command::Presence {
                identifier,
                records,
            }) => self.presence_info(&identifier, records).await,
            Ok(Command::History {
                identifier,
                history,
            }) => self.history(&identifier, &history).await,
            Ok(Command::Pong) => Ok(()),
            Ok(Command::Unsubscribe(id)) => {
                self.unsubscribe(&id).await;
                Ok(())
            }
            Ok(Command::Message { identifier, data }) => self.message(&identifier, data).await,
            Err(bad) => {
                tracing::debug!(cause = %bad, "bad cable frame");
                self.ignored("malformed or unknown command");
                Ok(())
            }
        }
    }

    async fn subscribe(
        &mut self,
        identifier: String,
        history: Option<HistoryRequest>,
        presence: bool,
    ) -> Result<(), Gone> {
        if !self.still_valid().await {
            self.revoke().await;
            return Err(Gone);
        }
        if self.subs.contains_key(identifier.as_str()) {
            tracing::debug!(identifier, "already subscribed");
            return Ok(());
        }
        let id_json: Arc<str> = Arc::from(frame::identifier_json(&identifier));
        if self.subs.len() >= self.server.inner.config.max_subscriptions {
            tracing::warn!(identifier, "subscription limit reached; rejecting");
            return self.write(vec![frame::reject(&id_json)]).await;
        }
        let Some((name, params)) = frame::parse_identifier(&identifier) else {
            tracing::info!(identifier, "unparseable identifier; rejecting");
            return self.write(vec![frame::reject(&id_json)]).await;
        };
        let Some(mut channel) = self.server.registry().make(&name) else {
            tracing::info!(
                channel = name,
                "subscription to an unknown channel; rejecting"
            );
            return self.write(vec![frame::reject(&id_json)]).await;
        };
        let (effects, rejected) = self
            .run_subscribed(channel.as_mut(), &identifier, &id_json, &params)
            .await;
        let mut sub = Sub::new(id_json, name, channel);
        let streamed = self.apply(&mut sub, effects, !rejected).await?;
        if rejected || !streamed {
            self.leave_streams(&mut sub);
            return self.write(vec![frame::reject(&sub.id_json)]).await;
        }
        let confirm = frame::confirm(&sub.id_json);
        self.server.inner.count_subscription(&sub.name, 1);
        let key: Arc<str> = Arc::from(identifier);
        self.subs.insert(key.clone(), sub);
        self.write(vec![confirm]).await?;
        if self.ext.is_some() {
            self.save().await;
            if let Some(history) = history {
                self.replay(&key, &history).await?;
            }
            if presence {
                self.join_presence(&key).await?;
            }
        }
        Ok(())
    }

    /// Runs `channel`'s `subscribed` for `identifier`: its effects, and whether it rejected.
    pub(super) async fn run_subscribed(
        &mut self,
        channel: &mut dyn Channel,
        identifier: &str,
        id_json: &str,
        params: &Map<String, Value>,
    ) -> (Vec<Effect>, bool) {
        let mut ctx = Context::new(
            identifier,
            id_json,
            params,
            &self.info,
            &self.server.inner.cable,
        );
        channel.subscribed(&mut ctx).await;
        (ctx.effects, ctx.rejected)
    }

    /// The floor at which `id_json` joined the socket's stream `name`: it gets the stream's
    /// messages after it, so a replay for it ends there.
    pub(super) fn join_floor(&self, name: &str, id_json: &str) -> Option<i64> {
        let stream = self.streams.get(name)?;
        let targets = stream.sink.targets();
        let target = targets.iter().find(|t| &*t.id_json == id_json)?;
        // The registration's first target keeps the registration's own floor.
        Some(if target.floor == i64::MIN {
            stream.registration.floor()
        } else {
            target.floor
        })
    }

    async fn unsubscribe(&mut self, identifier: &str) {
        let Some((key, mut sub)) = self.subs.remove_entry(identifier) else {
            tracing::debug!(identifier, "unsubscribe from an unknown subscription");
            return;
        };
        self.forget_parked(&key);
        self.run_unsubscribed(&key, &mut sub).await;
        // After its streams stopped: the leave is no event for this subscription.
        self.leave_presence_of(&mut sub).await;
        self.save().await;
    }

    async fn message(&mut self, identifier: &str, data: Value) -> Result<(), Gone> {
        let Some((key, mut sub)) = self.subs.remove_entry(identifier) else {
            tracing::debug!(identifier, "message for an unknown subscription");
            return Ok(());
        };
        let action = data
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or("receive")
            .to_owned();
        let params = params_of(&key);
        let (effects, known) = {
            let mut ctx = Context::new(
                &key,
                &sub.id_json,
                &params,
                &self.info,
                &self.server.inner.cable,
            );
            let known = sub.channel.perform(&action, &data, &mut ctx).await;
            (ctx.effects, known)
        };
        if !known {
            let channel = params.get("channel").and_then(Value::as_str);
            tracing::info!(channel, action, "unable to process an unknown action");
        }
        let applied = self.apply(&mut sub, effects, true).await;
        self.subs.insert(key, sub);
        applied.map(drop)
    }

    /// Applies a callback's effects in order: transmissions are written at once, streams
    /// (when allowed) registered with the cable before this returns. `Ok(false)` when a
    /// stream could not be registered (logged).
    async fn apply(
        &mut self,
        sub: &mut Sub,
        effects: Vec<Effect>,
        streams: bool,
    ) -> Result<bool, Gone> {
        let mut streamed = true;
        let cable = self.server.inner.cable.clone();
        for effect in effects {
            match effect {
                Effect::Transmit(f) => self.write(vec![f]).await?,
                Effect::StreamFrom(name) if streams => {
                    if sub.streams.contains(&name) {
                        continue;
                    }
                    if remote::is_reserved(&name) {
                        // The server's own orders are never readable by a client.
                        tracing::warn!(stream = name, "refusing to stream a reserved channel");
                        streamed = false;
                        continue;
                    }
                    match self.join_stream(&cable, &name, &sub.id_json).await {
                        Ok(()) => {
                            sub.streams.reserve_exact(1);
                            sub.streams.push(name);
                        }
                        Err(err) => {
                            tracing::error!(cause = %err, stream = name, "cannot stream");
                            streamed = false;
                        }
                    }
                }
                Effect::StreamFrom(_) => {}
                Effect::StopStream(name) => {
                    if let Some(i) = sub.streams.iter().position(|s| *s == name) {
                        sub.streams.swap_remove(i);
                        self.leave_stream(&name, &sub.id_json);
                    }
                }
                Effect::StopAllStreams => self.leave_streams(sub),
                Effect::Presence(as_) if streams => self.enable_presence(sub, as_).await,
                Effect::Presence(_) => {}
            }
        }
        Ok(streamed)
    }

    /// Makes `id_json` a target of the socket's stream `name`, registering the stream with
    /// the cable if it is the first.
    pub(super) async fn join_stream(
        &mut self,
        cable: &cable::Cable,
        name: &str,
        id_json: &Arc<str>,
    ) -> cable::Result<()> {
        if self.streams.contains_key(name) {
            let floor = cable.last_id().await?;
            if let Some(stream) = self.streams.get(name) {
                stream.sink.join(Target {
                    id_json: id_json.clone(),
                    floor,
                });
                return Ok(());
            }
        }
        // The registration's own floor keeps older messages out, so the target needs none.
        let target = Target {
            id_json: id_json.clone(),
            floor: i64::MIN,
        };
        let sink = Arc::new(StreamSink {
            targets: Mutex::new(Arc::from(vec![target])),
            outbox: self.outbox.clone(),
        });
        let registration = cable.subscribe(name, sink.clone()).await?;
        self.streams
            .insert(name.to_owned(), Stream { registration, sink });
        Ok(())
    }

    /// Removes `id_json` from the socket's stream `name`; the last one out unregisters it.
    fn leave_stream(&mut self, name: &str, id_json: &str) {
        let Some(stream) = self.streams.get(name) else {
            return;
        };
        if stream.sink.leave(id_json) == 0
            && let Some(stream) = self.streams.remove(name)
        {
            self.server.inner.cable.unsubscribe(&stream.registration);
        }
    }

    /// Removes `sub` from every stream it is a target of.
    fn leave_streams(&mut self, sub: &mut Sub) {
        for name in std::mem::take(&mut sub.streams) {
            self.leave_stream(&name, &sub.id_json);
        }
    }

    async fn run_unsubscribed(&mut self, key: &str, sub: &mut Sub) {
        {
            let params = params_of(key);
            let mut ctx = Context::new(
                key,
                &sub.id_json,
                &params,
                &self.info,
                &self.server.inner.cable,
            );
            sub.channel.unsubscribed(&mut ctx).await;
        }
        self.server.inner.count_subscription(&sub.name, -1);
        self.leave_streams(sub);
    }

    /// A remote unsubscribe order: every subscription streaming one of `streams` ends
    /// (`unsubscribed`, streams stop) and the client is told with `reject_subscription`.
    pub(super) async fn unsubscribe_streaming(&mut self, streams: &[String]) -> Result<(), Gone> {
        let ended: Vec<Arc<str>> = self
            .subs
            .iter()
            .filter(|(key, sub)| {
                streams.iter().any(|s| sub.streams.contains(s))
                    || self.parked_streams_any(key, streams)
            })
            .map(|(key, _)| key.clone())
            .collect();
        let mut frames = Vec::with_capacity(ended.len());
        for key in ended {
            if let Some((key, mut sub)) = self.subs.remove_entry(&key) {
                self.forget_parked(&key);
                self.run_unsubscribed(&key, &mut sub).await;
                self.leave_presence_of(&mut sub).await;
                frames.push(frame::reject(&sub.id_json));
            }
        }
        if frames.is_empty() {
            return Ok(());
        }
        tracing::info!(subscriptions = frames.len(), "ended subscriptions by order");
        self.save().await;
        self.write(frames).await
    }

    /// On close: `unsubscribed` for every subscription, then their streams stop.
    pub(super) async fn close_subscriptions(&mut self) {
        let subs: Vec<_> = self.subs.drain().collect();
        for (key, mut sub) in subs {
            self.run_unsubscribed(&key, &mut sub).await;
        }
    }
}
