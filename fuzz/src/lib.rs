//! The fuzz targets' checks, one module per target, each a plain `run(&[u8])` that panics
//! when an invariant breaks. The libFuzzer binaries in `fuzz_targets/` call them (`make
//! fuzz`, nightly), and `tests/replay.rs` runs the committed corpus through them on stable
//! (`make test-fuzz`), so a crash once found stays fixed.
//!
//! Inputs are text where the parser reads text; several fields of one input are separate
//! lines, so a seed file is a real request or file a reader can open.

// A check reports a broken invariant the way libFuzzer notices: by panicking.
#![allow(clippy::panic)]

pub mod backup_manifest;
pub mod cable_frame;
pub mod config_flags;
pub mod cookies;
pub mod form_body;
pub mod inertia_headers;
pub mod proxy_headers;
pub mod public_ids;
pub mod recurring;

/// A target's check of one input.
pub type Check = fn(&[u8]);

/// Every target: its name (the directory of its corpus under `fuzz/corpus/`) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("backup_manifest", backup_manifest::run),
    ("cable_frame", cable_frame::run),
    ("config_flags", config_flags::run),
    ("cookies", cookies::run),
    ("form_body", form_body::run),
    ("inertia_headers", inertia_headers::run),
    ("proxy_headers", proxy_headers::run),
    ("public_ids", public_ids::run),
    ("recurring", recurring::run),
];

/// Whether two JSON values are the same up to the last bits of their floats: serde_json
/// parses a float correctly rounded only with its `float_roundtrip` feature, which the server
/// does not use, so a float re-encoded and parsed again may differ in its last place.
pub fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// The lines of `data`, each at most one field of a multi-field input.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|b| *b == b'\n')
}
