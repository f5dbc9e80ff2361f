//! Integration tests: one binary, one module per area, shared helpers.

#![allow(clippy::panic)]

mod accounts;
mod acme;
mod anyt_channels;
mod anyt_core;
mod anyt_features;
mod anyt_streams;
mod auth;
mod cable;
mod cable_budget;
mod cable_client;
mod cable_expiry;
mod cable_js;
mod cable_limits;
mod cable_memory;
mod cable_remote;
mod cache;
mod cache_eviction;
mod cache_failures;
mod cache_process;
mod helpers;
mod hostile;
mod hostile_store;
mod inertia;
mod membership;
mod process;
mod queue_cli;
mod queue_concurrency;
mod queue_failures;
mod queue_handoff;
mod queue_lifecycle;
mod queue_order;
mod queue_process;
mod queue_recurring;
mod queue_support;
mod signup;
mod store;
mod sync;
mod tls_reload;
mod tls_support;
mod todos;
mod todos_http;
mod up;
mod users;
mod web;
