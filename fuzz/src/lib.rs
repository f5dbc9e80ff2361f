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
    ("public_ids", public_ids::run),
    ("recurring", recurring::run),
];

/// The lines of `data`, each at most one field of a multi-field input.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|b| *b == b'\n')
}
