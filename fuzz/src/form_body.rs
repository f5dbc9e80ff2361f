//! Request bodies of every form and JSON endpoint, read into the handlers' own body types:
//! the bytes as an HTML form (bracketed names, `todo[title]=milk`) and as JSON. A body that
//! reads is the same value after a trip through JSON, which is what makes a form and its
//! JSON twin the same request, and its JSON stays within a bound of the body's size.

use std::fmt::Debug;

use crate::same_json;
use serde::Serialize;
use serde::de::DeserializeOwned;
use trifecta::web::fuzzing::{FormCheck, each_form, parse_form};

/// Checks one request body against every body type.
pub fn run(data: &[u8]) {
    each_form(&mut Body(data));
}

struct Body<'a>(&'a [u8]);

impl FormCheck for Body<'_> {
    fn check<T: DeserializeOwned + Serialize + PartialEq + Debug>(&mut self, name: &'static str) {
        let body = self.0;
        if let Ok(form) = parse_form::<T>(body) {
            round_trip(name, "form", body, &form);
        }
        if let Ok(json) = serde_json::from_slice::<T>(body) {
            round_trip(name, "JSON", body, &json);
        }
    }
}

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + Debug>(
    name: &str,
    kind: &str,
    body: &[u8],
    value: &T,
) {
    let json = serde_json::to_vec(value).expect("a body type serialises");
    // JSON escapes a control character in six bytes; a JSON number can widen (`1e5`).
    assert!(
        json.len() <= 8 * body.len() + 256,
        "{name} {kind}: {} bytes of JSON from {} bytes",
        json.len(),
        body.len()
    );
    let again: T = serde_json::from_slice(&json)
        .unwrap_or_else(|e| panic!("{name} {kind}: {value:?} does not read back: {e}"));
    // Compared as JSON: an optional free-form field holds `null` from an empty form field
    // and reads back as absent, which the handlers treat alike.
    let (before, after) = (
        serde_json::to_value(value).expect("a body type serialises"),
        serde_json::to_value(&again).expect("a body type serialises"),
    );
    assert!(
        same_json(&before, &after),
        "{name} {kind} through JSON: {value:?} reads back as {again:?}"
    );
}
