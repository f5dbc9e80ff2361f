//! Integration tests: one binary, one module per area, shared helpers.

#![allow(clippy::panic)]

mod auth;
mod helpers;
mod inertia;
mod process;
mod store;
mod todos;
mod up;
mod users;
mod web;
