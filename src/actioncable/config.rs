//! [`ActionCableArgs`]: the WebSocket server settings of `trifecta serve`.

use std::time::Duration;

use clap::Args;

/// ActionCable server settings: origins, ping beat and the limits of one connection.
#[derive(Args, Clone, Debug)]
pub struct ActionCableArgs {
    /// Extra origins allowed to open `/cable` (comma separated, `*` for any). The page's own
    /// origin (same as the Host header) is always allowed, and so are clients sending no Origin.
    #[arg(
        id = "cable_allowed_origins",
        long = "cable-allowed-origins",
        env = "TRIFECTA_CABLE_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Interval of `{"type":"ping"}` frames (clients call a connection stale after 6 s).
    #[arg(id = "cable_ping_interval", long = "cable-ping-interval", env = "TRIFECTA_CABLE_PING_INTERVAL", default_value = "3s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,
    /// Largest frame a client may send, in bytes; a larger one closes the socket with 1009.
    #[arg(id = "cable_max_frame", long = "cable-max-frame", env = "TRIFECTA_CABLE_MAX_FRAME", default_value_t = 64 * 1024)]
    pub max_frame: usize,
    /// Most subscriptions one connection may hold; further subscribes are rejected.
    #[arg(
        id = "cable_max_subscriptions",
        long = "cable-max-subscriptions",
        env = "TRIFECTA_CABLE_MAX_SUBSCRIPTIONS",
        default_value_t = 100
    )]
    pub max_subscriptions: usize,
    /// Broadcast frames queued per connection; a client that lets it fill is disconnected.
    #[arg(id = "cable_send_queue", long = "cable-send-queue", env = "TRIFECTA_CABLE_SEND_QUEUE", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub send_queue: u32,
    /// Longest time one write to a client may take before it counts as too slow.
    #[arg(id = "cable_write_timeout", long = "cable-write-timeout", env = "TRIFECTA_CABLE_WRITE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub write_timeout: Duration,
}

impl Default for ActionCableArgs {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            ping_interval: Duration::from_secs(3),
            max_frame: 64 * 1024,
            max_subscriptions: 100,
            send_queue: 512,
            write_timeout: Duration::from_secs(10),
        }
    }
}
