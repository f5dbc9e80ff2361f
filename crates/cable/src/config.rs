//! [`CableOptions`]: what the Solid Cable engine runs with.

use std::time::Duration;

/// Solid Cable settings (what Rails keeps in `config/cable.yml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CableOptions {
    /// How often the listener polls the cable database for messages of other processes.
    pub polling_interval: Duration,
    /// How long messages are kept before trimming deletes them.
    pub message_retention: Duration,
    /// How often the listener trims messages older than the retention.
    pub trim_interval: Duration,
    /// Most rows deleted by one trim transaction (trimming repeats until done).
    pub trim_batch_size: u32,
    /// Most messages of one stream a resuming client is sent; a longer gap is refused.
    pub history_limit: u32,
    /// Oldest message a resuming client is sent; a gap reaching further back is refused.
    /// At most the message retention.
    pub history_ttl: Duration,
    /// How long a closed connection's session can be restored.
    pub session_ttl: Duration,
    /// How long a session whose socket closed (or whose process died) stays in presence
    /// sets.
    pub presence_ttl: Duration,
}

impl Default for CableOptions {
    fn default() -> Self {
        Self {
            polling_interval: Duration::from_millis(100),
            message_retention: Duration::from_secs(24 * 60 * 60),
            trim_interval: Duration::from_secs(60),
            trim_batch_size: 1000,
            // AnyCable's defaults.
            history_limit: 100,
            history_ttl: Duration::from_secs(300),
            session_ttl: Duration::from_secs(300),
            presence_ttl: Duration::from_secs(15),
        }
    }
}
