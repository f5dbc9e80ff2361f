//! Giving memory back to the system after many sockets go.
//!
//! A socket and its subscriptions are thousands of small allocations. When a crowd of them
//! closes (a hostile burst dropped, a deploy's reconnect storm over), glibc's allocator keeps
//! the freed chunks inside its arenas and the process stays at its peak RSS: only the top of
//! each heap is returned on its own. So a beat watches the open sockets, and once they fell
//! to half of their high mark (and by at least [`MIN_DROP`]) it asks the allocator, on a
//! blocking thread, to return every free page (`malloc_trim`), and once more when the
//! threads that served the crowd have idled out of the blocking pool, taking their caches
//! of freed chunks with them. Steady traffic never trims. At start the thresholds are fixed
//! ([`fix_thresholds`]) and the memory of the asset compression is given back.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::actioncable::ActionCable;

/// How often the open sockets are counted.
const EVERY: Duration = Duration::from_secs(1);
/// Fewest sockets that must have gone since the high mark before a trim is worth its cost.
const MIN_DROP: usize = 256;

/// Runs until `token` is cancelled.
pub(super) async fn return_after_closes(actioncable: ActionCable, token: CancellationToken) {
    let mut beat = tokio::time::interval(EVERY);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut high = 0usize;
    // When to trim once more after a drop: the threads that served the crowd keep freed
    // chunks in glibc's per-thread caches, pinning pages, until they idle out of the
    // blocking pool.
    let mut again: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = token.cancelled() => return,
            _ = beat.tick() => {}
        }
        let open = actioncable.stats().connections;
        high = high.max(open);
        let due = again.is_some_and(|at| tokio::time::Instant::now() >= at);
        if should_trim(high, open) {
            high = open;
            again = Some(tokio::time::Instant::now() + super::runtime::KEEP_ALIVE + EVERY);
        } else if due {
            again = None;
        } else {
            continue;
        }
        match tokio::task::spawn_blocking(trim).await {
            Ok(true) => tracing::debug!(open, "returned freed memory to the system"),
            Ok(false) => {}
            Err(err) => tracing::warn!(cause = %err, "memory trim task failed"),
        }
    }
}

/// Whether enough sockets closed since the high mark to make a trim worthwhile.
fn should_trim(high: usize, open: usize) -> bool {
    high.saturating_sub(open) >= MIN_DROP && open <= high / 2
}

/// Fixes glibc's mmap threshold at its default, 128 KiB (which fixes its trim threshold too).
/// Left dynamic, glibc raises both to the size of any mmapped buffer freed: start-up's asset
/// compression frees buffers of megabytes, after which buffers that large come from a
/// thread's arena, and the free top of an arena other than the main one is never given back
/// (not even by `malloc_trim`). Measured: an idle server kept 5 MB more resident for life.
/// Buffers of 128 KiB or more are mmapped and unmapped when freed from then on.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's mallopt has no safe binding")]
pub(super) fn fix_thresholds() {
    // SAFETY: `mallopt` takes two integers and is thread-safe (it locks the main arena).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Other allocators have no such thresholds.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(super) fn fix_thresholds() {}

/// Asks glibc to release free memory at the top of every heap and inside them (it
/// `madvise`s free pages away); returns whether anything was released. Also run once after
/// start-up's asset compression.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's malloc_trim has no safe binding")]
pub(super) fn trim() -> bool {
    // SAFETY: `malloc_trim` takes no pointers and is thread-safe (it locks each arena).
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other allocators return memory by themselves (musl) or have no such call.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(super) fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::should_trim;

    #[test]
    fn trims_only_after_a_large_drop_to_half_the_high_mark() {
        assert!(!should_trim(0, 0));
        assert!(!should_trim(300, 200), "a third gone is steady churn");
        assert!(!should_trim(200, 50), "too few sockets to matter");
        assert!(should_trim(1_100, 100));
        assert!(should_trim(512, 256));
    }
}
