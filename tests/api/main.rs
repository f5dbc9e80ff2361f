//! Integration tests: one binary, one module per area, shared helpers.

#![allow(clippy::panic)]

mod anyt_channels;
mod anyt_core;
mod anyt_features;
mod anyt_streams;
mod cable;
mod cable_client;
mod cable_js;
mod cable_limits;
mod helpers;
mod process;
mod store;
mod up;
