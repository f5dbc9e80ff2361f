//! ActionCable client frames: `subscribe` (with the extended protocol's `history` and
//! `presence`), `history`, `join`, `leave`, `presence`, `unsubscribe`, `message` and `pong`
//! commands, and the channel identifiers
//! inside them. A frame that parses re-encodes to one that parses the
//! same; its identifier is echoed byte for byte in the confirmation; a rejection names why.

use crate::same_json;
use serde_json::{Value, json};
use trifecta::actioncable::fuzzing::{
    BadFrame, Command, confirm, identifier_json, parse_command, parse_identifier,
};

/// Checks one WebSocket text frame (libFuzzer's bytes; a frame that is not UTF-8 never
/// reaches the parser).
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_command(text) {
        Ok(command) => parsed(text, command),
        Err(err) => rejected(text, &err),
    }
}

fn parsed(text: &str, command: Command) {
    let identifier = match &command {
        Command::Unsubscribe(identifier)
        | Command::Subscribe { identifier, .. }
        | Command::History { identifier, .. }
        | Command::Join(identifier)
        | Command::Leave(identifier)
        | Command::Presence { identifier, .. }
        | Command::Message { identifier, .. } => identifier,
        Command::Pong => return,
    };
    let canonical = match &command {
        Command::Pong => return,
        Command::Subscribe {
            identifier,
            history,
            presence,
        } => {
            let mut c = json!({"command": "subscribe", "identifier": identifier});
            if let Some(h) = history {
                c["history"] = h.to_json();
            }
            if *presence {
                c["presence"] = json!({});
            }
            c
        }
        Command::Join(id) => json!({"command": "join", "identifier": id}),
        Command::Leave(id) => json!({"command": "leave", "identifier": id}),
        Command::Presence {
            identifier,
            records,
        } => json!({"command": "presence", "identifier": identifier,
                    "data": {"return_records": records}}),
        Command::History {
            identifier,
            history,
        } => json!({"command": "history", "identifier": identifier, "history": history.to_json()}),
        Command::Unsubscribe(id) => json!({"command": "unsubscribe", "identifier": id}),
        Command::Message { identifier, data } => {
            assert!(data.is_object(), "message data {data} is not an object");
            json!({"command": "message", "identifier": identifier, "data": data.to_string()})
        }
    };
    assert!(
        identifier.len() <= text.len(),
        "identifier longer than frame"
    );
    let again = parse_command(&canonical.to_string());
    let same = match (&again, &command) {
        (
            Ok(Command::Message {
                identifier: a,
                data: x,
            }),
            Command::Message {
                identifier: b,
                data: y,
            },
        ) => a == b && same_json(x, y),
        (again, command) => again.as_ref() == Ok(command),
    };
    assert!(
        same,
        "re-encoded {canonical} reads as {again:?}, not {command:?}"
    );
    let frame = confirm(&identifier_json(identifier));
    let echoed: Value = serde_json::from_str(frame.as_str()).expect("confirm frame is JSON");
    assert_eq!(echoed["identifier"].as_str(), Some(identifier.as_str()));
    assert_eq!(echoed["type"], "confirm_subscription");
    identifier_params(identifier);
}

fn rejected(text: &str, err: &BadFrame) {
    let is_object = matches!(serde_json::from_str::<Value>(text), Ok(Value::Object(_)));
    assert_eq!(
        is_object,
        *err != BadFrame::NotAnObject,
        "{err} for a frame that is {}an object",
        if is_object { "" } else { "not " }
    );
    // The reason is logged; it must not grow much beyond the frame.
    assert!(
        err.to_string().len() <= 16 * text.len() + 64,
        "reason too long"
    );
}

/// An identifier names a channel exactly when it is an object with a string `channel`, and
/// its params survive a re-encoding.
fn identifier_params(raw: &str) {
    let Some((name, params)) = parse_identifier(raw) else {
        let names = serde_json::from_str::<Value>(raw)
            .ok()
            .and_then(|v| v.get("channel").map(Value::is_string));
        assert_ne!(names, Some(true), "{raw} names a channel but was refused");
        return;
    };
    assert_eq!(
        params.get("channel").and_then(Value::as_str),
        Some(name.as_str())
    );
    let again = Value::Object(params.clone()).to_string();
    let reread = parse_identifier(&again);
    assert!(
        reread.as_ref().is_some_and(|(n, p)| *n == name
            && same_json(&Value::Object(p.clone()), &Value::Object(params.clone()))),
        "re-encoded {again} reads as {reread:?}"
    );
}
