//! Integration tests: one binary, one module per area, shared helpers.

#![allow(clippy::panic)]

mod helpers;
mod process;
mod queue_cli;
mod queue_concurrency;
mod queue_failures;
mod queue_lifecycle;
mod queue_order;
mod queue_process;
mod queue_recurring;
mod queue_support;
mod store;
mod up;
