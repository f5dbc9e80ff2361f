//! `trifecta cache ...`: inspect and administer the cache file of a storage directory,
//! alongside a running server or without one.

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::Error;
use crate::cache::{Cache, CacheStats};
use crate::config::CacheArgs;
use crate::config::StorageArgs;

/// `trifecta cache`: the cache settings (for the namespace and the limits shown when no
/// server runs) and what to do.
#[derive(Args, Debug)]
pub struct CacheCommand {
    /// Cache settings, as `serve` takes them.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: CacheAction,
}

/// The cache subcommands.
#[derive(Subcommand, Debug)]
pub enum CacheAction {
    /// Entries, bytes, limits, and the hit/miss counts of running servers.
    Stats {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete every entry (asks for confirmation on a terminal).
    Clear {
        /// Do not ask (required when standard input is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Print the JSON value stored under KEY (exit 1 if there is none).
    Get {
        /// The key (the namespace is added as `serve` would).
        key: String,
    },
    /// Delete the entry under KEY.
    Delete {
        /// The key (the namespace is added as `serve` would).
        key: String,
    },
}

/// Runs `trifecta cache ...` on the cache file of `storage`.
///
/// # Errors
/// Storage that cannot be opened, a locked or unreadable cache file, a missing key for
/// `get`, or output that cannot be written.
pub async fn run(
    storage: StorageArgs,
    command: CacheCommand,
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    let cache = super::Offline::open(&storage)
        .await?
        .cache(command.cache.options());
    match command.action {
        CacheAction::Stats { json } => {
            let stats = cache.stats().await?;
            if json {
                writeln!(out, "{}", stats_json(&cache, &stats))?;
            } else {
                write_table(&cache, &stats, out)?;
            }
        }
        CacheAction::Clear { yes } => {
            super::confirm("cache clear", "delete every cache entry", yes)?;
            let n = cache.clear().await?;
            writeln!(out, "cleared {n} entries")?;
        }
        CacheAction::Get { key } => match cache.inspect(&key).await? {
            Some(entry) => {
                out.write_all(&entry.value)?;
                writeln!(out)?;
            }
            None => return Err(Error::NoCacheEntry(key)),
        },
        CacheAction::Delete { key } => {
            if cache.try_delete(&key).await? {
                writeln!(out, "deleted {key}")?;
            } else {
                writeln!(out, "no entry for {key}")?;
            }
        }
    }
    Ok(())
}

/// The limits in force: the first running server's, else this command's flags.
struct Limits {
    max_size: Option<u64>,
    max_entries: Option<u64>,
    max_age: Option<Duration>,
}

fn limits(cache: &Cache, stats: &CacheStats) -> Limits {
    match stats.servers.first() {
        Some(s) => Limits {
            max_size: (s.max_size > 0).then_some(s.max_size),
            max_entries: (s.max_entries > 0).then_some(s.max_entries),
            max_age: (s.max_age_micros > 0).then(|| Duration::from_micros(s.max_age_micros)),
        },
        None => {
            let o = cache.options();
            Limits {
                max_size: o.max_size,
                max_entries: o.max_entries,
                max_age: o.max_age,
            }
        }
    }
}

fn write_table(
    cache: &Cache,
    stats: &CacheStats,
    out: &mut (dyn Write + Send),
) -> std::io::Result<()> {
    let l = limits(cache, stats);
    let none = || "none".to_owned();
    writeln!(out, "entries      {}", stats.entries)?;
    writeln!(out, "bytes        {}", stats.bytes)?;
    writeln!(
        out,
        "max size     {}",
        l.max_size.map_or_else(none, |v| v.to_string())
    )?;
    writeln!(
        out,
        "max entries  {}",
        l.max_entries.map_or_else(none, |v| v.to_string())
    )?;
    writeln!(
        out,
        "max age      {}",
        l.max_age
            .map_or_else(none, |d| humantime::format_duration(d).to_string())
    )?;
    if stats.servers.is_empty() {
        writeln!(
            out,
            "servers      0 (hit/miss counts need a running server)"
        )?;
    } else {
        let (hits, misses) = server_counts(stats);
        writeln!(out, "servers      {}", stats.servers.len())?;
        writeln!(out, "hits         {hits}")?;
        writeln!(out, "misses       {misses}")?;
    }
    Ok(())
}

fn server_counts(stats: &CacheStats) -> (u64, u64) {
    stats.servers.iter().fold((0, 0), |(h, m), s| {
        (h.saturating_add(s.hits), m.saturating_add(s.misses))
    })
}

fn stats_json(cache: &Cache, stats: &CacheStats) -> serde_json::Value {
    let l = limits(cache, stats);
    let running = !stats.servers.is_empty();
    let (hits, misses) = server_counts(stats);
    let servers: Vec<_> = stats
        .servers
        .iter()
        .map(|s| {
            serde_json::json!({
                "pid": s.pid,
                "hits": s.hits,
                "misses": s.misses,
                "started_at": s.started_at.to_rfc3339(),
                "updated_at": s.updated_at.to_rfc3339(),
            })
        })
        .collect();
    serde_json::json!({
        "entries": stats.entries,
        "bytes": stats.bytes,
        "max_size": l.max_size,
        "max_entries": l.max_entries,
        "max_age_secs": l.max_age.map(|d| d.as_secs()),
        "hits": running.then_some(hits),
        "misses": running.then_some(misses),
        "servers": servers,
    })
}
