//! [`ActionCableOptions`]: what the ActionCable WebSocket server runs with.

use std::time::Duration;

/// ActionCable server settings: origins, ping beat, the limits of one connection (frame size,
/// subscriptions, queue, command rate) and the server's memory budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionCableOptions {
    /// Extra origins allowed to open `/cable` (comma separated, `*` for any). The page's own
    /// origin (same as the Host header) is always allowed, and so are clients sending no Origin.
    pub allowed_origins: Vec<String>,
    /// Interval of `{"type":"ping"}` frames (clients call a connection stale after 6 s).
    pub ping_interval: Duration,
    /// Largest frame a client may send, in bytes; a larger one closes the socket with 1009.
    pub max_frame: usize,
    /// Most subscriptions one connection may hold; further subscribes are rejected.
    pub max_subscriptions: usize,
    /// Bytes of broadcasts queued per connection (each queued broadcast counts its whole
    /// payload, shared or not); a client that lets it fill is disconnected as too slow. One
    /// broadcast is always accepted into an empty queue, however large.
    pub send_queue_bytes: u64,
    /// Bytes of broadcast payloads all connections may hold in their queues together (each
    /// shared payload counted once); past it the connections with the most queued bytes are
    /// disconnected as too slow, largest first.
    pub memory_budget: u64,
    /// How often a connection asks the connect hook whether its identity is still valid
    /// (e.g. its session has not expired); it is also asked on every subscribe. A connection
    /// that is no longer valid is closed with `unauthorized`, without reconnecting.
    pub revalidate_interval: Duration,
    /// Longest time one write to a client may take before it counts as too slow.
    pub write_timeout: Duration,
    /// Commands (frames) a connection may send per second on average; 0 for no limit. A
    /// frame past it is rejected (logged and ignored), and a connection that keeps going
    /// for 5 s is closed (`rate_limited`, no reconnect).
    pub max_commands: u32,
    /// Commands a connection may send at once before the rate applies.
    pub commands_burst: u32,
}

impl Default for ActionCableOptions {
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
            max_commands: 50,
            commands_burst: 200,
        }
    }
}
