//! The async runtime the binary runs on.
//!
//! Every SQLite call runs in place on its worker thread (`block_in_place`), which hands the
//! worker's other tasks to a thread of the blocking pool. A burst of calls that all wait on a
//! store (a thousand sockets subscribing at once) would turn each of them into a thread of
//! its own, up to tokio's default of 512, and every such thread keeps glibc's per-thread
//! cache of freed memory for as long as it lives: after such a burst the server held about
//! 100 MB more than it used. A pool of [`MAX_BLOCKING_THREADS`] still overlaps far more
//! store calls than the stores can serve at once, and its idle threads leave after
//! [`KEEP_ALIVE`] (tokio's default is 10 s).

use std::time::Duration;

/// Most threads of the blocking pool (SQLite calls, password hashing, file work).
pub const MAX_BLOCKING_THREADS: usize = 64;
/// How long an idle thread of the blocking pool is kept for the next call: under steady
/// load threads are reused well within it, and after a burst the extra threads go soon,
/// with the freed memory their caches pinned.
pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(2);

/// A multi-thread runtime with one worker per core and a bounded blocking pool.
///
/// # Errors
/// The operating system refused the runtime's threads or its I/O driver.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .thread_keep_alive(KEEP_ALIVE)
        .build()
}
