//! # trifecta
//!
//! One binary that is a complete real-time web application server on embedded SQLite: the
//! Rails 8 "solid trifecta" (Solid Queue, Solid Cache, Solid Cable) rebuilt in Rust, an axum
//! HTTP/WebSocket server speaking the ActionCable and Inertia v3 protocols, and a React front
//! end compiled into the binary.
//!
//! # Layout
//!
//! The engines are crates of their own under `crates/`, so an import that points upwards does
//! not compile; this crate is the application on top of them and re-exports each under its
//! short name. Imports only point downwards in this list.
//!
//! - [`cli`]: the command line (`serve`, `migrate`, admin subcommands); `main` calls it.
//! - [`server`]: `run`/`start`; owns the `CancellationToken` and `TaskTracker` of every task.
//! - [`backup`]: online backups (`VACUUM INTO`) with a manifest, restore, scheduled backups.
//! - [`web`]: the axum router, handlers and HTTP edge; its `AppState` holds every handle.
//! - [`dashboard`]: the operations dashboard's live side: per-minute cache and cable samples
//!   and the pulse that sends admin pages their sync markers.
//! - [`prometheus`]: `--metrics-bind`: the `/metrics` listener, HTTP and scrape-time metrics.
//! - [`config`]: clap `Args` structs, every flag also a `TRIFECTA_*` variable; they turn into
//!   the engines' plain option structs.
//! - [`app`]: the domain: users, sessions, accounts, todos, `accessible_by` scopes, sqids ids.
//! - [`stores`]: which SQLite files an environment has, opened and migrated together.
//!
//! The engine crates (none of them knows clap or anything above it):
//!
//! - [`inertia`] (`crates/inertia`): the Inertia v3 server protocol (page object, props,
//!   middleware).
//! - [`actioncable`] (`crates/actioncable`): the ActionCable WebSocket protocol, channels,
//!   connect hook; built on [`cable`].
//! - [`cache`] (`crates/cache`): Solid Cache, an expiring, size-bounded key-value cache.
//! - [`cable`] (`crates/cable`): Solid Cable, pub/sub through SQLite: broadcast, listener, hub.
//! - [`queue`] (`crates/queue`): Solid Queue: durable jobs, workers, dispatcher, recurring
//!   tasks, recovery.
//! - [`store`] (`crates/store`): one `Db` handle per SQLite file: pool, pragmas, writer,
//!   migrations of a `Schema`, `Clock`.

pub mod app;
pub mod backup;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod prometheus;
pub mod server;
pub mod stores;
pub mod web;

pub use trifecta_actioncable as actioncable;
pub use trifecta_cable as cable;
pub use trifecta_cache as cache;
pub use trifecta_inertia as inertia;
pub use trifecta_queue as queue;
pub use trifecta_store as store;
