//! The server's frames, byte for byte as Rails sends them, and the client's commands.
//!
//! Identifiers are kept as the raw string the client sent and echoed with one JSON string
//! escape ([`identifier_json`]); they are never re-serialized from parsed params, whose key
//! order or number format could differ (`docs/protocols.md` §1.4).

use axum::extract::ws::Utf8Bytes;
use serde_json::{Map, Value};

/// `{"type":"welcome"}`.
pub(crate) const WELCOME: Utf8Bytes = Utf8Bytes::from_static(r#"{"type":"welcome"}"#);

/// The identifier as a JSON string literal, ready to splice into frames.
pub fn identifier_json(raw: &str) -> String {
    Value::from(raw).to_string()
}

/// `{"type":"ping","message":<unix seconds>}`.
pub(crate) fn ping(unix_secs: i64) -> Utf8Bytes {
    Utf8Bytes::from(format!(r#"{{"type":"ping","message":{unix_secs}}}"#))
}

/// `{"identifier":…,"type":"confirm_subscription"}`.
pub fn confirm(id_json: &str) -> Utf8Bytes {
    Utf8Bytes::from(format!(
        r#"{{"identifier":{id_json},"type":"confirm_subscription"}}"#
    ))
}

/// `{"identifier":…,"type":"reject_subscription"}`.
pub(crate) fn reject(id_json: &str) -> Utf8Bytes {
    Utf8Bytes::from(format!(
        r#"{{"identifier":{id_json},"type":"reject_subscription"}}"#
    ))
}

/// `{"identifier":…,"message":<payload>}`; `payload` is already JSON text.
pub(crate) fn data(id_json: &str, payload: &str) -> Utf8Bytes {
    Utf8Bytes::from(format!(r#"{{"identifier":{id_json},"message":{payload}}}"#))
}

/// Why the server closes a connection, as the `reason` of its `disconnect` frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The connect hook rejected the connection (no welcome was sent).
    Unauthorized,
    /// The server is shutting down or restarting.
    ServerRestart,
    /// Kicked by [`super::ActionCable::disconnect`] or by an order on
    /// [`super::INTERNAL_CHANNEL`] from any process.
    Remote,
    /// The client did not read its frames fast enough (AnyCable's reason).
    TooSlow,
}

impl DisconnectReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::ServerRestart => "server_restart",
            Self::Remote => "remote",
            Self::TooSlow => "too_slow",
        }
    }
}

/// `{"type":"disconnect","reason":…,"reconnect":…}`.
pub(crate) fn disconnect(reason: DisconnectReason, reconnect: bool) -> Utf8Bytes {
    Utf8Bytes::from(format!(
        r#"{{"type":"disconnect","reason":"{}","reconnect":{reconnect}}}"#,
        reason.as_str()
    ))
}

/// A client command, with its identifier still raw.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// `{"command":"subscribe","identifier":…}`.
    Subscribe(String),
    /// `{"command":"unsubscribe","identifier":…}`.
    Unsubscribe(String),
    /// `{"command":"message","identifier":…,"data":"<JSON object>"}`.
    Message {
        /// The raw identifier.
        identifier: String,
        /// `data`, decoded: always a JSON object.
        data: Value,
    },
}

/// Why a text frame is not a command we act on.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BadFrame {
    /// The frame is not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// `identifier` is missing or not a string.
    #[error("no string identifier")]
    NoIdentifier,
    /// `command` is missing, not a string, or not one of the three.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// A `message` whose `data` is not a string holding a JSON object.
    #[error("message data is not a JSON-encoded string")]
    BadData,
}

/// Parses one text frame.
///
/// # Errors
/// [`BadFrame`]: why the frame is not a command.
pub fn parse_command(text: &str) -> Result<Command, BadFrame> {
    let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(text) else {
        return Err(BadFrame::NotAnObject);
    };
    let command = match m.remove("command") {
        Some(Value::String(c)) => c,
        other => return Err(BadFrame::UnknownCommand(format!("{other:?}"))),
    };
    let Some(Value::String(identifier)) = m.remove("identifier") else {
        return Err(BadFrame::NoIdentifier);
    };
    match command.as_str() {
        "subscribe" => Ok(Command::Subscribe(identifier)),
        "unsubscribe" => Ok(Command::Unsubscribe(identifier)),
        "message" => {
            // `perform` sends `data` as a JSON-encoded string of an object.
            let Some(Value::String(data)) = m.remove("data") else {
                return Err(BadFrame::BadData);
            };
            match serde_json::from_str::<Value>(&data) {
                Ok(data @ Value::Object(_)) => Ok(Command::Message { identifier, data }),
                _ => Err(BadFrame::BadData),
            }
        }
        _ => Err(BadFrame::UnknownCommand(command)),
    }
}

/// The identifier's params, if it is a JSON object naming a channel.
pub fn parse_identifier(raw: &str) -> Option<(String, Map<String, Value>)> {
    let Ok(Value::Object(params)) = serde_json::from_str::<Value>(raw) else {
        return None;
    };
    let name = params.get("channel")?.as_str()?.to_owned();
    Some((name, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_echoed_as_sent() {
        let raw = r#"{"id":2,"channel":"Chat","x":1.50}"#;
        let frame = confirm(&identifier_json(raw));
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["identifier"].as_str(), Some(raw));
    }

    #[test]
    fn commands_parse() {
        assert_eq!(
            parse_command(r#"{"command":"subscribe","identifier":"{\"channel\":\"A\"}"}"#),
            Ok(Command::Subscribe(r#"{"channel":"A"}"#.into()))
        );
        assert_eq!(parse_command("nope"), Err(BadFrame::NotAnObject));
        assert_eq!(
            parse_command(r#"{"command":"message","identifier":"x","data":{"a":1}}"#),
            Err(BadFrame::BadData)
        );
        assert_eq!(
            parse_command(r#"{"command":"dance","identifier":"x"}"#),
            Err(BadFrame::UnknownCommand("dance".into()))
        );
    }

    #[test]
    fn frames_match_rails() {
        assert_eq!(ping(17).as_str(), r#"{"type":"ping","message":17}"#);
        assert_eq!(
            disconnect(DisconnectReason::Unauthorized, false).as_str(),
            r#"{"type":"disconnect","reason":"unauthorized","reconnect":false}"#
        );
    }
}
