//! Integration tests: one binary, one module per area, shared helpers.

#![allow(clippy::panic)]

mod auth;
mod cache;
mod cache_eviction;
mod cache_process;
mod helpers;
mod inertia;
mod process;
mod store;
mod todos;
mod up;
mod users;
mod web;
