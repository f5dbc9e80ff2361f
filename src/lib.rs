//! # trifecta
//!
//! One binary that is a complete real-time web application server on embedded SQLite: the
//! Rails 8 "solid trifecta" (Solid Queue, Solid Cache, Solid Cable) rebuilt in Rust, an axum
//! HTTP/WebSocket server speaking the ActionCable and Inertia v3 protocols, and a React front
//! end compiled into the binary.
//!
//! # Layout
//!
//! Imports only point downwards in this list.
//!
//! - [`cli`]: the command line (`serve`, `migrate`, admin subcommands); `main` calls it.
//! - [`server`]: `run`/`start`; owns the `CancellationToken` and `TaskTracker` of every task.
//! - [`backup`]: online backups (`VACUUM INTO`) with a manifest, restore, scheduled backups.
//! - [`web`]: the axum router, handlers and HTTP edge; its `AppState` holds every handle.
//! - [`prometheus`]: `--metrics-bind`: the `/metrics` listener, HTTP and scrape-time metrics.
//! - [`config`]: clap `Args` structs, every flag also a `TRIFECTA_*` variable.
//! - [`app`]: the domain: users, sessions, accounts, `accessible_by` scopes, sqids ids.
//! - [`inertia`]: the generic Inertia v3 server protocol (page object, props, middleware).
//! - [`cache`]: Solid Cache: an expiring, size-bounded key-value cache in its own file.
//! - [`actioncable`]: the ActionCable WebSocket protocol at `/cable`, channels, connect hook.
//! - [`cable`]: Solid Cable, pub/sub through SQLite: broadcast, listener, hub, trimming.
//! - [`queue`]: Solid Queue: durable jobs, workers, dispatcher, recurring tasks, recovery.
//! - [`store`]: one `Db` handle per SQLite file: pool, pragmas, migrations, `Clock`.
//!
//! The generic engines (`store`, and later `queue`, `cache`, `cable`, `actioncable`,
//! `inertia`) never import `app` or `web`.

pub mod actioncable;
pub mod app;
pub mod backup;
pub mod cable;
pub mod cache;
pub mod cli;
pub mod config;
pub mod inertia;
pub mod prometheus;
pub mod queue;
pub mod server;
pub mod store;
pub mod web;
