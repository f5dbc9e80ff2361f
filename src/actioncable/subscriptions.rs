//! The commands of a session: `subscribe`, `unsubscribe` and `message`, all keyed by the raw
//! identifier string; and the [`Sink`] that turns a stream's broadcasts into frames.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use serde_json::{Map, Value};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use super::channel::{Channel, Context, Effect};
use super::frame::{self, Command};
use super::remote;
use super::session::{Gone, Session};
use crate::cable::{self, Message, Scratch, Sink};

/// One live subscription of a connection.
pub(super) struct Sub {
    /// The identifier as a JSON string literal.
    id_json: Arc<str>,
    params: Map<String, Value>,
    channel: Box<dyn Channel>,
    streams: HashMap<String, cable::Subscription>,
}

/// Delivers a stream's broadcasts to one subscription's connection.
struct StreamSink {
    out: mpsc::Sender<Utf8Bytes>,
    id_json: Arc<str>,
    kick: CancellationToken,
}

impl Sink for StreamSink {
    fn deliver(&self, message: &Message, scratch: &mut Scratch) {
        if self.kick.is_cancelled() {
            return;
        }
        // Built once per identifier and broadcast, then shared by reference count.
        let frame = scratch.get_or_insert_with(&self.id_json, || {
            frame::data(&self.id_json, &message.payload)
        });
        match self.out.try_send(frame) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => self.kick.cancel(),
        }
    }
}

impl Session {
    pub(super) async fn on_text(&mut self, text: &str) -> Result<(), Gone> {
        match frame::parse_command(text) {
            Ok(Command::Subscribe(id)) => self.subscribe(id).await,
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

    async fn subscribe(&mut self, identifier: String) -> Result<(), Gone> {
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
        let (effects, rejected) = {
            let mut ctx = Context::new(
                &identifier,
                &id_json,
                &params,
                &self.info,
                &self.server.inner.cable,
            );
            channel.subscribed(&mut ctx).await;
            (ctx.effects, ctx.rejected)
        };
        let mut sub = Sub {
            id_json,
            params,
            channel,
            streams: HashMap::new(),
        };
        let streamed = self.apply(&mut sub, effects, !rejected).await?;
        if rejected || !streamed {
            stop_streams(&self.server.inner.cable, &mut sub);
            return self.write(vec![frame::reject(&sub.id_json)]).await;
        }
        let confirm = frame::confirm(&sub.id_json);
        self.subs.insert(Arc::from(identifier), sub);
        self.write(vec![confirm]).await
    }

    async fn unsubscribe(&mut self, identifier: &str) {
        let Some((key, mut sub)) = self.subs.remove_entry(identifier) else {
            tracing::debug!(identifier, "unsubscribe from an unknown subscription");
            return;
        };
        self.run_unsubscribed(&key, &mut sub).await;
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
        let (effects, known) = {
            let mut ctx = Context::new(
                &key,
                &sub.id_json,
                &sub.params,
                &self.info,
                &self.server.inner.cable,
            );
            let known = sub.channel.perform(&action, &data, &mut ctx).await;
            (ctx.effects, known)
        };
        if !known {
            let channel = sub.params.get("channel").and_then(Value::as_str);
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
                    if sub.streams.contains_key(&name) {
                        continue;
                    }
                    if remote::is_reserved(&name) {
                        // The server's own orders are never readable by a client.
                        tracing::warn!(stream = name, "refusing to stream a reserved channel");
                        streamed = false;
                        continue;
                    }
                    let sink = Arc::new(StreamSink {
                        out: self.out.clone(),
                        id_json: sub.id_json.clone(),
                        kick: self.kick.clone(),
                    });
                    match cable.subscribe(&name, sink).await {
                        Ok(s) => {
                            sub.streams.insert(name, s);
                        }
                        Err(err) => {
                            tracing::error!(cause = %err, stream = name, "cannot stream");
                            streamed = false;
                        }
                    }
                }
                Effect::StreamFrom(_) => {}
                Effect::StopStream(name) => {
                    if let Some(s) = sub.streams.remove(&name) {
                        cable.unsubscribe(&s);
                    }
                }
                Effect::StopAllStreams => stop_streams(&cable, sub),
            }
        }
        Ok(streamed)
    }

    async fn run_unsubscribed(&mut self, key: &str, sub: &mut Sub) {
        {
            let mut ctx = Context::new(
                key,
                &sub.id_json,
                &sub.params,
                &self.info,
                &self.server.inner.cable,
            );
            sub.channel.unsubscribed(&mut ctx).await;
        }
        stop_streams(&self.server.inner.cable, sub);
    }

    /// A remote unsubscribe order: every subscription streaming one of `streams` ends
    /// (`unsubscribed`, streams stop) and the client is told with `reject_subscription`.
    pub(super) async fn unsubscribe_streaming(&mut self, streams: &[String]) -> Result<(), Gone> {
        let ended: Vec<Arc<str>> = self
            .subs
            .iter()
            .filter(|(_, sub)| streams.iter().any(|s| sub.streams.contains_key(s)))
            .map(|(key, _)| key.clone())
            .collect();
        let mut frames = Vec::with_capacity(ended.len());
        for key in ended {
            if let Some((key, mut sub)) = self.subs.remove_entry(&key) {
                self.run_unsubscribed(&key, &mut sub).await;
                frames.push(frame::reject(&sub.id_json));
            }
        }
        if frames.is_empty() {
            return Ok(());
        }
        tracing::info!(subscriptions = frames.len(), "ended subscriptions by order");
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

fn stop_streams(cable: &cable::Cable, sub: &mut Sub) {
    for (_, s) in sub.streams.drain() {
        cable.unsubscribe(&s);
    }
}
