//! The server's frames, byte for byte as Rails sends them, and the client's commands.
//!
//! Identifiers are kept as the raw string the client sent and echoed with one JSON string
//! escape ([`identifier_json`]); they are never re-serialized from parsed params, whose key
//! order or number format could differ (`docs/protocols.md` §1.4).

use std::sync::Arc;

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
    /// The client kept sending commands past its rate (`--cable-max-commands`).
    RateLimited,
}

impl DisconnectReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::ServerRestart => "server_restart",
            Self::Remote => "remote",
            Self::TooSlow => "too_slow",
            Self::RateLimited => "rate_limited",
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

/// `{"type":"welcome","sid":…}`, or with `restored` the identifiers of the subscriptions a
/// restored session kept (the extended protocol).
pub(crate) fn welcome_ext(sid: &str, restored: Option<&[Arc<str>]>) -> Utf8Bytes {
    let sid = Value::from(sid);
    Utf8Bytes::from(match restored {
        None => format!(r#"{{"type":"welcome","sid":{sid}}}"#),
        Some(ids) => {
            let ids = Value::from(ids.iter().map(|i| Value::from(&**i)).collect::<Vec<_>>());
            format!(r#"{{"type":"welcome","sid":{sid},"restored":true,"restored_ids":{ids}}}"#)
        }
    })
}

/// `{"identifier":…,"message":<payload>,"stream_id":…,"epoch":…,"offset":…}`: a broadcast
/// with its place in the stream's history (the extended protocol).
pub(crate) fn data_ext(
    id_json: &str,
    payload: &str,
    stream: &str,
    epoch_json: &str,
    offset: i64,
) -> Utf8Bytes {
    let stream = Value::from(stream);
    Utf8Bytes::from(format!(
        r#"{{"identifier":{id_json},"message":{payload},"stream_id":{stream},"epoch":{epoch_json},"offset":{offset}}}"#
    ))
}

/// `{"identifier":…,"type":"confirm_history"}`: the whole gap was sent.
pub(crate) fn confirm_history(id_json: &str) -> Utf8Bytes {
    Utf8Bytes::from(format!(
        r#"{{"identifier":{id_json},"type":"confirm_history"}}"#
    ))
}

/// `{"identifier":…,"type":"reject_history"}`: the gap could not be sent whole, and none of
/// it was.
pub(crate) fn reject_history(id_json: &str) -> Utf8Bytes {
    Utf8Bytes::from(format!(
        r#"{{"identifier":{id_json},"type":"reject_history"}}"#
    ))
}

/// `{"type":"presence","identifier":…,"message":<event>}`: a presence event (join, leave,
/// info or error) for one subscription (the extended protocol); `event` is JSON text.
pub(crate) fn presence(id_json: &str, event: &str) -> Utf8Bytes {
    Utf8Bytes::from(format!(
        r#"{{"type":"presence","identifier":{id_json},"message":{event}}}"#
    ))
}

/// What a resuming client asks to be sent (`history` of `subscribe` and of the `history`
/// command): per stream the last offset it got, and for streams it has no offset for, the
/// time (Unix seconds) since when.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryRequest {
    /// Unix seconds: messages created since then, for streams not in `streams`.
    pub since: Option<i64>,
    /// Stream name → (epoch, offset), in the order sent.
    pub streams: Vec<(String, String, i64)>,
}

impl HistoryRequest {
    /// The client's position on `stream`, if it sent one.
    pub(crate) fn position(&self, stream: &str) -> Option<(&str, i64)> {
        self.streams
            .iter()
            .find(|(s, _, _)| s == stream)
            .map(|(_, epoch, offset)| (epoch.as_str(), *offset))
    }

    /// The request as the client sends it.
    pub fn to_json(&self) -> Value {
        let mut streams = Map::new();
        for (stream, epoch, offset) in &self.streams {
            streams.insert(
                stream.clone(),
                serde_json::json!({"epoch": epoch, "offset": offset}),
            );
        }
        let mut out = Map::new();
        if let Some(since) = self.since {
            out.insert("since".into(), since.into());
        }
        out.insert("streams".into(), Value::Object(streams));
        Value::Object(out)
    }
}

/// A client command, with its identifier still raw.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// `{"command":"subscribe","identifier":…}`, with the extended protocol's `history`.
    Subscribe {
        /// The raw identifier.
        identifier: String,
        /// What to replay after the confirmation.
        history: Option<HistoryRequest>,
        /// The client joins the subscription's presence set once subscribed (the extended
        /// protocol; whatever id and info it sent, the channel decides them).
        presence: bool,
    },
    /// `{"command":"join","identifier":…,"presence":{…}}`: join the subscription's presence
    /// set (as the channel decides, whatever the client sent).
    Join(String),
    /// `{"command":"leave","identifier":…}`: leave the subscription's presence set.
    Leave(String),
    /// `{"command":"presence","identifier":…,"data":{"return_records":…}}`: who is there.
    Presence {
        /// The raw identifier.
        identifier: String,
        /// Whether to list them (the default) or only count them.
        records: bool,
    },
    /// `{"command":"history","identifier":…,"history":{…}}` (the extended protocol).
    History {
        /// The raw identifier.
        identifier: String,
        /// What to replay.
        history: HistoryRequest,
    },
    /// `{"command":"pong"}` (the extended protocol's answer to a ping).
    Pong,
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
    /// `command` is missing, not a string, or not one we know.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// A `message` whose `data` is not a string holding a JSON object.
    #[error("message data is not a JSON-encoded string")]
    BadData,
    /// A `history` that is not `{since?: integer, streams?: {name: {epoch, offset}}}`.
    #[error("history is not {{since, streams: {{name: {{epoch, offset}}}}}}")]
    BadHistory,
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
    if command == "pong" {
        return Ok(Command::Pong);
    }
    let Some(Value::String(identifier)) = m.remove("identifier") else {
        return Err(BadFrame::NoIdentifier);
    };
    match command.as_str() {
        "subscribe" => {
            let history = match m.remove("history") {
                None | Some(Value::Null) => None,
                Some(h) => Some(parse_history(h)?),
            };
            let presence = m.get("presence").is_some_and(|p| !p.is_null());
            Ok(Command::Subscribe {
                identifier,
                history,
                presence,
            })
        }
        "join" => Ok(Command::Join(identifier)),
        "leave" => Ok(Command::Leave(identifier)),
        "presence" => {
            let records = m
                .get("data")
                .and_then(|d| d.get("return_records"))
                .and_then(Value::as_bool)
                .unwrap_or(true);
            Ok(Command::Presence {
                identifier,
                records,
            })
        }
        "history" => {
            let history = parse_history(m.remove("history").unwrap_or(Value::Null))?;
            Ok(Command::History {
                identifier,
                history,
            })
        }
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

/// `{since?: integer, streams?: {name: {epoch: string, offset: integer}}}`; at least one of
/// the two.
fn parse_history(value: Value) -> Result<HistoryRequest, BadFrame> {
    let Value::Object(mut h) = value else {
        return Err(BadFrame::BadHistory);
    };
    let since = match h.remove("since") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or(BadFrame::BadHistory)?),
    };
    let mut streams = Vec::new();
    match h.remove("streams") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (stream, pos) in map {
                let epoch = pos.get("epoch").and_then(Value::as_str);
                let offset = pos.get("offset").and_then(Value::as_i64);
                let (Some(epoch), Some(offset)) = (epoch, offset) else {
                    return Err(BadFrame::BadHistory);
                };
                streams.push((stream, epoch.to_owned(), offset));
            }
        }
        Some(_) => return Err(BadFrame::BadHistory),
    }
    if since.is_none() && streams.is_empty() {
        return Err(BadFrame::BadHistory);
    }
    Ok(HistoryRequest { since, streams })
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
            Ok(Command::Subscribe {
                identifier: r#"{"channel":"A"}"#.into(),
                history: None,
                presence: false
            })
        );
        assert_eq!(
            parse_command(
                r#"{"command":"subscribe","identifier":"x","presence":{"id":"1","info":{}}}"#
            ),
            Ok(Command::Subscribe {
                identifier: "x".into(),
                history: None,
                presence: true
            })
        );
        assert_eq!(
            parse_command(r#"{"command":"join","identifier":"x","presence":{"id":"1"}}"#),
            Ok(Command::Join("x".into()))
        );
        assert_eq!(
            parse_command(r#"{"command":"leave","identifier":"x"}"#),
            Ok(Command::Leave("x".into()))
        );
        assert_eq!(
            parse_command(r#"{"command":"presence","identifier":"x","data":{}}"#),
            Ok(Command::Presence {
                identifier: "x".into(),
                records: true
            })
        );
        assert_eq!(
            parse_command(
                r#"{"command":"presence","identifier":"x","data":{"return_records":false}}"#
            ),
            Ok(Command::Presence {
                identifier: "x".into(),
                records: false
            })
        );
        assert_eq!(
            parse_command(
                r#"{"command":"history","identifier":"x","history":{"since":5,"streams":{"s":{"epoch":"e","offset":7}}}}"#
            ),
            Ok(Command::History {
                identifier: "x".into(),
                history: HistoryRequest {
                    since: Some(5),
                    streams: vec![("s".into(), "e".into(), 7)]
                }
            })
        );
        assert_eq!(
            parse_command(r#"{"command":"history","identifier":"x","history":{"streams":{}}}"#),
            Err(BadFrame::BadHistory)
        );
        assert_eq!(
            parse_command(
                r#"{"command":"history","identifier":"x","history":{"streams":{"s":{"offset":1}}}}"#
            ),
            Err(BadFrame::BadHistory)
        );
        assert_eq!(parse_command(r#"{"command":"pong"}"#), Ok(Command::Pong));
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
