//! Integration tests: one binary, one module per area, shared helpers.

#![allow(clippy::panic)]

mod helpers;
mod process;
mod store;
mod up;
mod anyt_channels;
mod anyt_core;
mod anyt_features;
mod anyt_streams;
mod cable_client;
mod cable;
mod cable_limits;
mod cable_js;
