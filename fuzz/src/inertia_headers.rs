//! The Inertia request headers (`X-Inertia`, `X-Inertia-Version`, the partial reload's
//! component, data, except and reset lists) and the dot-path filter they drive. Every list
//! item is trimmed, non-empty and comma-free, and a list re-joined reads the same; the
//! filtered props are always a part of the props, and asking for a whole prop keeps it.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use serde_json::{Value, json};
use trifecta::inertia::fuzzing::{prune, top_level_excluded, top_level_wanted};
use trifecta::inertia::{
    InertiaRequest, X_INERTIA_PARTIAL_DATA, X_INERTIA_PARTIAL_EXCEPT, X_INERTIA_RESET,
};

/// Checks one set of request headers, one `name: value` per line.
pub fn run(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for line in crate::lines(data) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii_start());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    let request = read(&headers);
    for (name, list) in [
        (X_INERTIA_PARTIAL_DATA, &request.partial_data),
        (X_INERTIA_PARTIAL_EXCEPT, &request.partial_except),
        (X_INERTIA_RESET, &request.reset),
    ] {
        let sent = headers.get(name).map_or(0, |v| v.len());
        assert!(
            list.iter().map(String::len).sum::<usize>() <= sent,
            "{name} grew"
        );
        for item in list {
            assert!(
                !item.is_empty() && !item.contains(',') && item.trim() == item,
                "{name}: {item:?}"
            );
        }
        let mut again = HeaderMap::new();
        if let Ok(joined) = HeaderValue::from_str(&list.join(",")) {
            again.insert(name, joined);
            let reread = read(&again);
            let reread = match name {
                X_INERTIA_PARTIAL_DATA => reread.partial_data,
                X_INERTIA_PARTIAL_EXCEPT => reread.partial_except,
                _ => reread.reset,
            };
            assert_eq!(&reread, list, "{name} re-joined");
        }
    }
    assert_eq!(request.version.trim(), request.version);
    if let Some(component) = &request.partial_component {
        assert_eq!(request.is_partial_for(component), request.is_inertia);
    }
    filter(&request.partial_data, &request.partial_except);
}

fn read(headers: &HeaderMap) -> InertiaRequest {
    let mut builder = Request::builder().uri("/accounts/abc?page=2");
    if let Some(h) = builder.headers_mut() {
        h.clone_from(headers);
    }
    let (parts, ()) = builder.body(()).expect("a request").into_parts();
    InertiaRequest::from_parts(&parts)
}

/// Props shaped like the app's pages: nested objects, arrays and scalars.
fn props() -> Value {
    json!({
        "auth": {"user": {"name": "Ada", "email_address": "ada@example.com", "site_admin": false}},
        "todos": [{"id": "x7Yq2mPa", "title": "milk", "completed": false}],
        "account": {"name": "Home", "members": {"count": 2, "list": [1, 2]}, "lock_version": 3},
        "errors": {},
        "flash": {"notice": "Saved"}
    })
}

fn filter(only: &[String], except: &[String]) {
    let Value::Object(all) = props() else {
        return;
    };
    for (key, original) in all {
        if top_level_excluded(&key, except) || (!only.is_empty() && !top_level_wanted(&key, only)) {
            continue;
        }
        let mut value = original.clone();
        prune(&key, &mut value, only, except);
        assert!(
            is_part(&value, &original),
            "{key}: {value} is not a part of {original}"
        );
        let mut whole = original.clone();
        prune(&key, &mut whole, std::slice::from_ref(&key), &[]);
        assert_eq!(whole, original, "asking for {key} keeps all of it");
    }
}

/// Whether `part` is `whole` with some object members left out, at any depth.
fn is_part(part: &Value, whole: &Value) -> bool {
    match (part, whole) {
        (Value::Object(p), Value::Object(w)) => p
            .iter()
            .all(|(k, v)| w.get(k).is_some_and(|wv| is_part(v, wv))),
        _ => part == whole,
    }
}
