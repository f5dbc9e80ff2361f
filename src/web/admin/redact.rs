//! Job arguments as the dashboard shows them: the value under any key that looks
//! sensitive is replaced by `[FILTERED]`, at any depth. The keys are matched as Rails'
//! default `filter_parameters` are: case-insensitively, by part of the name.

use serde_json::Value;

/// Parts of key names whose values are never shown (Rails' default `filter_parameters`,
/// with `password`, `api_key` and `authorization` spelled out).
const SENSITIVE: [&str; 16] = [
    "passw",
    "password",
    "secret",
    "token",
    "_key",
    "api_key",
    "apikey",
    "crypt",
    "salt",
    "certificate",
    "otp",
    "ssn",
    "cvv",
    "cvc",
    "authorization",
    "cookie",
];

/// What replaces a filtered value.
pub(super) const FILTERED: &str = "[FILTERED]";

fn sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SENSITIVE.iter().any(|part| key.contains(part))
}

fn filter(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if sensitive(k) {
                    *v = Value::String(FILTERED.to_owned());
                } else {
                    filter(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(filter),
        _ => {}
    }
}

/// The arguments (JSON text) with sensitive values filtered: compact, or pretty-printed
/// for the job page. Text that is not JSON is not shown at all (it could be anything).
pub(super) fn arguments(text: &str, pretty: bool) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            filter(&mut v);
            let out = if pretty {
                serde_json::to_string_pretty(&v)
            } else {
                serde_json::to_string(&v)
            };
            out.unwrap_or_default()
        }
        Err(_) => format!("(not JSON, {} bytes; not shown)", text.len()),
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub(super) fn truncate(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_are_filtered_at_any_depth() {
        let text = r#"{"user":{"email":"a@b.c","Password":"hunter2","api_key":"k"},
            "items":[{"auth_token":"t","n":1}],"client_secret":"s","note":"hello"}"#;
        let out: Value = serde_json::from_str(&arguments(text, false)).expect("json");
        assert_eq!(out["user"]["Password"], FILTERED);
        assert_eq!(out["user"]["api_key"], FILTERED);
        assert_eq!(out["user"]["email"], "a@b.c");
        assert_eq!(out["items"][0]["auth_token"], FILTERED);
        assert_eq!(out["items"][0]["n"], 1);
        assert_eq!(out["client_secret"], FILTERED);
        assert_eq!(out["note"], "hello");
        assert!(!arguments(text, true).contains("hunter2"));
    }

    #[test]
    fn text_that_is_not_json_is_not_shown() {
        assert_eq!(
            arguments("password=x", false),
            "(not JSON, 10 bytes; not shown)"
        );
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("ééé".into(), 2), "éé…");
        assert_eq!(truncate("abc".into(), 3), "abc");
    }
}
