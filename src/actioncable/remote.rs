//! Remote disconnects across processes, as Rails'
//! `ActionCable.server.remote_connections.where(..).disconnect`: an order published on the
//! internal cable channel [`INTERNAL_CHANNEL`] reaches every ActionCable server sharing the
//! cable file, and each closes its connections with a named identity, sending
//! `{"type":"disconnect","reason":"remote","reconnect":…}` first.
//!
//! The order is one cable message,
//! `{"type":"disconnect","identities":["…"],"reconnect":true|false}`. Each server subscribes
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
use crate::cable::{self, Cable, Message, Scratch, Sink};

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
}

/// Whether `stream` is reserved for the server (see [`RESERVED_PREFIX`]).
pub(super) fn is_reserved(stream: &str) -> bool {
    stream.starts_with(RESERVED_PREFIX)
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
    let payload =
        serde_json::to_string(&order).map_err(|e| cable::Error::InvalidPayload(e.to_string()))?;
    let id = cable.broadcast_json(INTERNAL_CHANNEL, payload).await?;
    tracing::info!(
        message = id,
        identities = identities.len(),
        reconnect,
        "published a remote disconnect"
    );
    Ok(())
}

/// Receives orders for one server. Holds it weakly: the hub must not keep a stopped server
/// alive.
pub(super) struct OrderSink {
    pub(super) server: Weak<Inner>,
}

impl Sink for OrderSink {
    fn deliver(&self, message: &Message, _scratch: &mut Scratch) {
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
            None => tracing::warn!(
                message = message.id,
                "ignoring a malformed remote order on the internal cable channel"
            ),
        }
    }
}

/// A well-formed order: known type, every field of the right type, and at least one
/// non-empty identity.
fn parse(payload: &str) -> Option<Order> {
    let order: Order = serde_json::from_str(payload).ok()?;
    match &order {
        Order::Disconnect { identities, .. }
            if identities.is_empty() || identities.iter().any(String::is_empty) =>
        {
            None
        }
        Order::Disconnect { .. } => Some(order),
    }
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
    fn the_internal_channel_is_reserved() {
        assert!(is_reserved(INTERNAL_CHANNEL));
        assert!(!is_reserved("todos"));
        assert!(!is_reserved("Account:all"));
    }
}
