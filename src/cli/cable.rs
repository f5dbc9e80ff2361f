//! `trifecta cable ...`: broadcast from a second process, and the cable database's stats.

use std::io::Write;

use clap::Subcommand;

use super::Error;
use crate::config::StorageArgs;

/// `trifecta cable` subcommands.
#[derive(Subcommand, Debug)]
pub enum CableCommand {
    /// Broadcast one JSON value on a channel; running servers' subscribers get it within
    /// one polling interval.
    Broadcast {
        /// The channel (stream) name.
        channel: String,
        /// The payload: one JSON value, e.g. '{"text":"hi"}' or '"a string"'.
        json: String,
    },
    /// Messages stored, channels, id and time range, payload bytes.
    Stats {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `trifecta cable` subcommand on the storage of `storage`.
///
/// # Errors
/// Invalid JSON or channel, unusable storage, or a database failure.
pub async fn run(
    storage: StorageArgs,
    command: CableCommand,
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    let cable = super::Offline::open(&storage).await?.cable();
    match command {
        CableCommand::Broadcast { channel, json } => {
            let id = cable.broadcast_json(&channel, json).await?;
            writeln!(out, "broadcast message {id} on {channel}")?;
        }
        CableCommand::Stats { json } => {
            let stats = cable.table_stats().await?;
            if json {
                let value = serde_json::to_value(&stats).map_err(std::io::Error::other)?;
                writeln!(out, "{value}")?;
            } else {
                let time = |t: Option<crate::store::Timestamp>| {
                    t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339())
                };
                writeln!(out, "messages       {}", stats.messages)?;
                writeln!(out, "channels       {}", stats.channels)?;
                writeln!(out, "max id         {}", stats.max_id)?;
                writeln!(out, "payload bytes  {}", stats.payload_bytes)?;
                writeln!(out, "oldest         {}", time(stats.oldest))?;
                writeln!(out, "newest         {}", time(stats.newest))?;
            }
        }
    }
    Ok(())
}
