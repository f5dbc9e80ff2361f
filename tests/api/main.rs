//! Integration tests: one binary, one module per area, shared helpers.

#![allow(clippy::panic)]

mod helpers;
mod process;
mod store;
mod up;
mod cache;
mod cache_eviction;
mod cache_process;
