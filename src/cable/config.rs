//! [`CableArgs`]: the Solid Cable settings of `trifecta serve`.

use std::time::Duration;

use clap::Args;

/// Solid Cable settings (Solid Cable's `config/cable.yml`).
#[derive(Args, Clone, Debug)]
pub struct CableArgs {
    /// How often the listener polls the cable database for messages of other processes.
    #[arg(id = "cable_polling_interval", long = "cable-polling-interval", env = "TRIFECTA_CABLE_POLLING_INTERVAL", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub polling_interval: Duration,
    /// How long messages are kept before trimming deletes them.
    #[arg(id = "cable_message_retention", long = "cable-message-retention", env = "TRIFECTA_CABLE_MESSAGE_RETENTION", default_value = "1day", value_parser = humantime::parse_duration)]
    pub message_retention: Duration,
    /// How often the listener trims messages older than the retention.
    #[arg(id = "cable_trim_interval", long = "cable-trim-interval", env = "TRIFECTA_CABLE_TRIM_INTERVAL", default_value = "1min", value_parser = humantime::parse_duration)]
    pub trim_interval: Duration,
    /// Most rows deleted by one trim transaction (trimming repeats until done).
    #[arg(id = "cable_trim_batch_size", long = "cable-trim-batch-size", env = "TRIFECTA_CABLE_TRIM_BATCH_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub trim_batch_size: u32,
}

impl Default for CableArgs {
    fn default() -> Self {
        Self {
            polling_interval: Duration::from_millis(100),
            message_retention: Duration::from_secs(24 * 60 * 60),
            trim_interval: Duration::from_secs(60),
            trim_batch_size: 1000,
        }
    }
}
