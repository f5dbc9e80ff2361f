//! Integration tests: one binary, one module per area, shared helpers.

#![allow(clippy::panic)]

mod cache;
mod cache_eviction;
mod cache_process;
mod helpers;
mod process;
mod store;
mod up;
