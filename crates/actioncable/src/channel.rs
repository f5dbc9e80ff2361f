//! The channel API: the [`Channel`] trait (one instance per subscription, so its fields are
//! the per-subscription state), the [`Context`] its callbacks act through, and the
//! [`Registry`] of channel names.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use serde_json::{Map, Value};

use super::connect::ConnectionInfo;
use super::frame;
use trifecta_cable::Cable;

/// A channel: what a subscription does. One value per subscription; its fields persist
/// between the callbacks of that subscription.
#[async_trait]
pub trait Channel: Send + 'static {
    /// Runs on `subscribe`. Use [`Context::stream_from`], [`Context::transmit`] (sent before
    /// the confirmation) or [`Context::reject`]. The default confirms with no streams.
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        let _ = ctx;
    }

    /// Runs on `unsubscribe` and when the socket closes. Streams stop afterwards.
    async fn unsubscribed(&mut self, ctx: &mut Context<'_>) {
        let _ = ctx;
    }

    /// Runs a `perform(action, data)` from the client (`action` is `"receive"` for
    /// `subscription.send`). Return `false` for an action this channel does not have; it is
    /// logged and ignored.
    async fn perform(&mut self, action: &str, data: &Value, ctx: &mut Context<'_>) -> bool {
        let _ = (action, data, ctx);
        false
    }
}

/// What a callback asked for, applied in order once it returns.
#[derive(Debug)]
pub(crate) enum Effect {
    Transmit(Utf8Bytes),
    StreamFrom(String),
    StopStream(String),
    StopAllStreams,
    Presence(PresenceAs),
}

/// How a subscription takes part in a stream's presence set (see [`Context::presence`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PresenceAs {
    pub(crate) stream: String,
    pub(crate) id: String,
    pub(crate) info: Value,
}

/// The handle a channel callback acts through.
pub struct Context<'a> {
    identifier: &'a str,
    id_json: &'a str,
    params: &'a Map<String, Value>,
    connection: &'a ConnectionInfo,
    cable: &'a Cable,
    pub(crate) effects: Vec<Effect>,
    pub(crate) rejected: bool,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        identifier: &'a str,
        id_json: &'a str,
        params: &'a Map<String, Value>,
        connection: &'a ConnectionInfo,
        cable: &'a Cable,
    ) -> Self {
        Self {
            identifier,
            id_json,
            params,
            connection,
            cable,
            effects: Vec::new(),
            rejected: false,
        }
    }

    /// The raw identifier string of this subscription.
    pub fn identifier(&self) -> &str {
        self.identifier
    }

    /// The identifier's params (including `channel`).
    pub fn params(&self) -> &Map<String, Value> {
        self.params
    }

    /// One param of the identifier.
    pub fn param(&self, name: &str) -> Option<&Value> {
        self.params.get(name)
    }

    /// The connection: its identity and upgrade request.
    pub fn connection(&self) -> &ConnectionInfo {
        self.connection
    }

    /// The cable, to broadcast from a callback.
    pub fn cable(&self) -> &Cable {
        self.cable
    }

    /// Sends `message` to this subscription only, as `{"identifier":…,"message":…}`.
    pub fn transmit(&mut self, message: &Value) {
        let frame = frame::data(self.id_json, &message.to_string());
        self.effects.push(Effect::Transmit(frame));
    }

    /// Delivers broadcasts on `stream` to this subscription (before the confirmation, when
    /// called from `subscribed`).
    pub fn stream_from(&mut self, stream: impl Into<String>) {
        self.effects.push(Effect::StreamFrom(stream.into()));
    }

    /// Stops one stream of this subscription.
    pub fn stop_stream_from(&mut self, stream: impl Into<String>) {
        self.effects.push(Effect::StopStream(stream.into()));
    }

    /// Stops every stream of this subscription.
    pub fn stop_all_streams(&mut self) {
        self.effects.push(Effect::StopAllStreams);
    }

    /// Lets this subscription take part in `stream`'s presence set, for clients of the
    /// extended protocol (call it from `subscribed`): it receives the set's join and leave
    /// events, may ask who is there, and may join and leave — always as `id` with `info`,
    /// whatever the client sends, so nobody joins as someone else. Only subscriptions the
    /// channel accepted see a set, so only those allowed to read a stream see who is on it.
    pub fn presence(&mut self, stream: impl Into<String>, id: impl Into<String>, info: Value) {
        self.effects.push(Effect::Presence(PresenceAs {
            stream: stream.into(),
            id: id.into(),
            info,
        }));
    }

    /// Rejects the subscription (only meaningful in `subscribed`).
    pub fn reject(&mut self) {
        self.rejected = true;
    }
}

/// Makes a fresh channel value for each subscription.
pub type ChannelFactory = Arc<dyn Fn() -> Box<dyn Channel> + Send + Sync>;

/// Channel name (the identifier's `channel`) → factory. Filled before the server is built and
/// handed to [`ActionCable::new`](super::ActionCable::new), which owns it from then on: no
/// channel is added to a running server, and subscribes read it without a lock.
#[derive(Default)]
pub struct Registry {
    channels: HashMap<String, ChannelFactory>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Registry {
    /// Registers (or replaces) the channel `name`.
    pub fn register<C, F>(&mut self, name: impl Into<String>, make: F) -> &mut Self
    where
        C: Channel,
        F: Fn() -> C + Send + Sync + 'static,
    {
        let factory: ChannelFactory = Arc::new(move || Box::new(make()));
        self.channels.insert(name.into(), factory);
        self
    }

    /// A new channel value for `name`, if registered.
    pub fn make(&self, name: &str) -> Option<Box<dyn Channel>> {
        let factory = self.channels.get(name)?;
        Some(factory())
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.channels.keys().cloned().collect();
        v.sort();
        v
    }
}
