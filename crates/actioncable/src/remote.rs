//! Remote orders across processes: an order published on the internal cable channel
//! [`INTERNAL_CHANNEL`] reaches every ActionCable server sharing the cable file, and each
//! applies it to its connections with a named identity.
//!
//! - `{"type":"disconnect","identities":["…"],"reconnect":true|false}`, as Rails'
//!   `ActionCable.server.remote_connections.where(..).disconnect`: each matching connection
//!   gets `{"type":"disconnect","reason":"remote","reconnect":…}` and is closed.
//! - `{"type":"unsubscribe","identities":["…"],"streams":["…"]}`: each matching connection
//!   ends only its subscriptions that stream one of `streams` (the channel's `unsubscribed`
//!   runs, the streams stop) and tells the client with
//!   `{"type":"reject_subscription","identifier":…}`, which `@rails/actioncable` hands to
//!   the subscription's `rejected` callback even after a confirmation. The socket and its
//!   other subscriptions carry on: how an app revokes access to some streams at once.
//!
//! Each order is one cable message. Each server subscribes
//! to the channel once (one hub entry per process, not per socket), so an order costs every
//! server one row read and one pass over its connections.
//!
//! Authenticity: an order is a row in the cable database, so only a process that can write
//! the storage files can publish one; no client frame can. Channels may not stream from a
//! name under [`RESERVED_PREFIX`] (the subscription is rejected), so no client reads orders
//! either. A malformed order is logged and ignored.

use std::sync::{Arc, Weak};

use serde::{Deserialize, Serialize};

use super::Inner;
use trifecta_cable::{self as cable, Cable, Message, Sink};

/// Cable channel names under this prefix are the server's own: no channel may stream from
/// them.
pub const RESERVED_PREFIX: &str = "action_cable/";

/// The cable channel every ActionCable server listens to for remote orders.
pub const INTERNAL_CHANNEL: &str = "action_cable/internal";

/// An order on [`INTERNAL_CHANNEL`].
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Order {
    /// Close every connection identified as one of `identities`.
    Disconnect {
        identities: Vec<String>,
        reconnect: bool,
    },
    /// End the subscriptions streaming any of `streams` on every connection identified as
    /// one of `identities`.
    Unsubscribe {
        identities: Vec<String>,
        streams: Vec<String>,
    },
}

/// Whether `stream` is reserved for the server (see [`RESERVED_PREFIX`]).
pub(super) fn is_reserved(stream: &str) -> bool {
    stream.starts_with(RESERVED_PREFIX) || stream.starts_with(trifecta_cable::PRESENCE_PREFIX)
}

/// Publishes an order to disconnect `identities` on every ActionCable server sharing
/// `cable`'s file (this process's too, if it runs one). Servers act on it within one cable
/// polling interval. Nothing is published for an empty list. For processes without a
/// server (the CLI); a server calls [`super::ActionCable::disconnect_everywhere`].
///
/// # Errors
/// The cable database could not be written.
pub async fn disconnect<S: AsRef<str>>(
    cable: &Cable,
    identities: &[S],
    reconnect: bool,
) -> cable::Result<()> {
    if identities.is_empty() {
        return Ok(());
    }
    let order = Order::Disconnect {
        identities: identities.iter().map(|i| i.as_ref().to_owned()).collect(),
        reconnect,
    };
    let id = publish(cable, &order).await?;
    tracing::info!(
        message = id,
        identities = identities.len(),
        reconnect,
        "published a remote disconnect"
    );
    Ok(())
}

/// Publishes an order to end, on every ActionCable server sharing `cable`'s file, the
/// subscriptions that stream any of `streams` on connections identified as one of
/// `identities` (see the module docs). Nothing is published when either list is empty. For
/// processes without a server; a server calls
/// [`super::ActionCable::unsubscribe_everywhere`].
///
/// # Errors
/// The cable database could not be written.
pub async fn unsubscribe<S: AsRef<str>, T: AsRef<str>>(
    cable: &Cable,
    identities: &[S],
    streams: &[T],
) -> cable::Result<()> {
    if identities.is_empty() || streams.is_empty() {
        return Ok(());
    }
    let order = Order::Unsubscribe {
        identities: identities.iter().map(|i| i.as_ref().to_owned()).collect(),
        streams: streams.iter().map(|s| s.as_ref().to_owned()).collect(),
    };
    let id = publish(cable, &order).await?;
    tracing::info!(
        message = id,
        identities = identities.len(),
        streams = streams.len(),
        "published a remote unsubscribe"
    );
    Ok(())
}

/// Writes `order` to the internal channel; returns the message id.
async fn publish(cable: &Cable, order: &Order) -> cable::Result<i64> {
    let payload =
        serde_json::to_string(order).map_err(|e| cable::Error::InvalidPayload(e.to_string()))?;
    cable.broadcast_json(INTERNAL_CHANNEL, payload).await
}

/// Receives orders for one server. Holds it weakly: the hub must not keep a stopped server
/// alive.
pub(super) struct OrderSink {
    pub(super) server: Weak<Inner>,
}

impl Sink for OrderSink {
    fn deliver(&self, message: &Message) {
        let Some(inner) = self.server.upgrade() else {
            return;
        };
        match parse(&message.payload) {
            Some(Order::Disconnect {
                identities,
                reconnect,
            }) => {
                let n = super::ActionCable { inner }.disconnect_local(&identities, reconnect);
                tracing::info!(
                    message = message.id,
                    connections = n,
                    reconnect,
                    "remote disconnect"
                );
            }
            Some(Order::Unsubscribe {
                identities,
                streams,
            }) => {
                let n = super::ActionCable { inner }.unsubscribe_local(&identities, &streams);
                tracing::info!(message = message.id, connections = n, "remote unsubscribe");
            }
            None => tracing::warn!(
                message = message.id,
                "ignoring a malformed remote order on the internal cable channel"
            ),
        }
    }
}

/// A well-formed order: known type, every field of the right type, at least one identity
/// and (to unsubscribe) one stream, none of them empty.
fn parse(payload: &str) -> Option<Order> {
    let order: Order = serde_json::from_str(payload).ok()?;
    let blank = |list: &[String]| list.is_empty() || list.iter().any(String::is_empty);
    let ok = match &order {
        Order::Disconnect { identities, .. } => !blank(identities),
        Order::Unsubscribe {
            identities,
            streams,
        } => !blank(identities) && !blank(streams),
    };
    ok.then_some(order)
}

/// The sink for `server`'s internal subscription.
pub(super) fn sink(server: &Arc<Inner>) -> Arc<dyn Sink> {
    Arc::new(OrderSink {
        server: Arc::downgrade(server),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_round_trip_and_malformed_ones_are_refused() {
        let order = Order::Disconnect {
            identities: vec!["session:1".into()],
            reconnect: false,
        };
        let text = serde_json::to_string(&order).unwrap();
        assert_eq!(
            text,
            r#"{"type":"disconnect","identities":["session:1"],"reconnect":false}"#
        );
        assert_eq!(parse(&text), Some(order));
        for bad in [
            r#""text""#,
            r#"{"type":"disconnect"}"#,
            r#"{"type":"disconnect","identities":[],"reconnect":true}"#,
            r#"{"type":"disconnect","identities":[""],"reconnect":true}"#,
            r#"{"type":"disconnect","identities":"session:1","reconnect":true}"#,
            r#"{"type":"disconnect","identities":["session:1"],"reconnect":"yes"}"#,
            r#"{"type":"explode","identities":["session:1"],"reconnect":true}"#,
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn unsubscribe_orders_round_trip_and_need_identities_and_streams() {
        let order = Order::Unsubscribe {
            identities: vec!["session:1".into()],
            streams: vec!["Account:abc".into()],
        };
        let text = serde_json::to_string(&order).unwrap();
        assert_eq!(
            text,
            r#"{"type":"unsubscribe","identities":["session:1"],"streams":["Account:abc"]}"#
        );
        assert_eq!(parse(&text), Some(order));
        for bad in [
            r#"{"type":"unsubscribe","identities":["session:1"]}"#,
            r#"{"type":"unsubscribe","identities":["session:1"],"streams":[]}"#,
            r#"{"type":"unsubscribe","identities":[],"streams":["a"]}"#,
            r#"{"type":"unsubscribe","identities":["session:1"],"streams":[""]}"#,
            r#"{"type":"unsubscribe","identities":["session:1"],"streams":"a"}"#,
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_internal_channel_is_reserved() {
        assert!(is_reserved(INTERNAL_CHANNEL));
        assert!(is_reserved(&trifecta_cable::presence_channel("todos")));
        assert!(!is_reserved("todos"));
        assert!(!is_reserved("Account:all"));
    }
}
