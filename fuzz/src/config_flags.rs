//! The duration and size flags of `trifecta serve`, through the real command line (clap,
//! `humantime`). A command line that parses gives the same settings when each duration is
//! written back in its canonical form (`1h 30m`) and each size as a plain number.
//!
//! Input: one command-line argument per line, after `trifecta serve`.

use std::time::Duration;

use clap::Parser;
use trifecta::cli::{Cli, Command};
use trifecta::config::ServeConfig;

type Durations = fn(&Cli, &ServeConfig) -> Duration;
type Sizes = fn(&ServeConfig) -> u64;

/// The duration flags and where their values land.
const DURATIONS: &[(&str, Durations)] = &[
    ("--shutdown-grace", |_, s| s.shutdown_grace),
    ("--request-timeout", |_, s| s.request_timeout),
    ("--session-max-age", |c, _| c.app.session_max_age),
    ("--queue-polling-interval", |_, s| s.queue.polling_interval),
    ("--process-alive-threshold", |_, s| s.queue.alive_threshold),
    ("--clear-finished-jobs-after", |_, s| {
        s.queue.clear_finished_jobs_after
    }),
    ("--cable-message-retention", |_, s| {
        s.cable.message_retention
    }),
    ("--cable-ping-interval", |_, s| s.actioncable.ping_interval),
    ("--cache-max-age", |_, s| s.cache.max_age),
];

/// The size flags and where their values land.
const SIZES: &[(&str, Sizes)] = &[
    ("--body-limit", |s| s.body_limit as u64),
    ("--cable-send-queue-bytes", |s| {
        s.actioncable.send_queue_bytes
    }),
    ("--cable-memory-budget", |s| s.actioncable.memory_budget),
    ("--cache-max-size", |s| s.cache.max_size),
];

/// Checks one command line.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args = ["trifecta", "serve"].into_iter().chain(text.lines());
    let Ok(cli) = Cli::try_parse_from(args) else {
        return;
    };
    let Command::Serve(serve) = &cli.command else {
        return;
    };
    let mut canonical = vec!["trifecta".to_owned(), "serve".to_owned()];
    for (flag, get) in DURATIONS {
        canonical.push((*flag).to_owned());
        canonical.push(humantime::format_duration(get(&cli, serve)).to_string());
    }
    for (flag, get) in SIZES {
        canonical.push((*flag).to_owned());
        canonical.push(get(serve).to_string());
    }
    let again = Cli::try_parse_from(&canonical)
        .unwrap_or_else(|e| panic!("canonical flags {canonical:?} refused: {e}"));
    let Command::Serve(reread) = &again.command else {
        panic!("not serve");
    };
    for (flag, get) in DURATIONS {
        assert_eq!(get(&again, reread), get(&cli, serve), "{flag}");
    }
    for (flag, get) in SIZES {
        assert_eq!(get(reread), get(serve), "{flag}");
    }
}
