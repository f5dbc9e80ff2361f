//! [`ActionCableArgs`]: the WebSocket server settings of `trifecta serve`.

use std::time::Duration;

use clap::Args;

/// ActionCable server settings: origins, ping beat, the limits of one connection and the
/// server's memory budget.
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
    /// Bytes of broadcasts queued per connection (each queued broadcast counts its whole
    /// payload, shared or not); a client that lets it fill is disconnected as too slow. One
    /// broadcast is always accepted into an empty queue, however large.
    #[arg(id = "cable_send_queue_bytes", long = "cable-send-queue-bytes", env = "TRIFECTA_CABLE_SEND_QUEUE_BYTES", default_value_t = 4 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub send_queue_bytes: u64,
    /// Bytes of broadcast payloads all connections may hold in their queues together (each
    /// shared payload counted once); past it the connections with the most queued bytes are
    /// disconnected as too slow, largest first.
    #[arg(id = "cable_memory_budget", long = "cable-memory-budget", env = "TRIFECTA_CABLE_MEMORY_BUDGET", default_value_t = 128 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_budget: u64,
    /// How often a connection asks the connect hook whether its identity is still valid
    /// (e.g. its session has not expired); it is also asked on every subscribe. A connection
    /// that is no longer valid is closed with `unauthorized`, without reconnecting.
    #[arg(id = "cable_revalidate_interval", long = "cable-revalidate-interval", env = "TRIFECTA_CABLE_REVALIDATE_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub revalidate_interval: Duration,
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
            send_queue_bytes: 4 * 1024 * 1024,
            memory_budget: 128 * 1024 * 1024,
            revalidate_interval: Duration::from_secs(30),
            write_timeout: Duration::from_secs(10),
        }
    }
}
