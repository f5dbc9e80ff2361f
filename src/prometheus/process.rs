//! The process's own figures from `/proc/self` (Linux): resident memory, CPU time, open
//! descriptors, and the descriptor limit.

use std::io;

/// One reading of the process.
#[derive(Clone, Copy, Debug)]
pub(super) struct ProcessStats {
    /// Resident set size, in bytes.
    pub rss_bytes: u64,
    /// User plus system CPU time of every thread, in seconds.
    pub cpu_seconds: f64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit of open file descriptors.
    pub max_fds: u64,
}

/// Reads `/proc/self/stat`, `/proc/self/status` and `/proc/self/fd`.
///
/// # Errors
/// A file that cannot be read or parsed (no `/proc` on this system, for one).
pub(super) fn read() -> io::Result<ProcessStats> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) may hold spaces and parentheses; fields after its last
    // `)` start at field 3, so utime (14) and stime (15) are the 12th and 13th.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| bad("/proc/self/stat has no command name"))?;
    let mut fields = after_name.split_whitespace().skip(11);
    let mut ticks = || -> io::Result<u64> {
        fields
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| bad("/proc/self/stat has no CPU times"))
    };
    let cpu_ticks = ticks()? + ticks()?;
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    let status = std::fs::read_to_string("/proc/self/status")?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| bad("/proc/self/status has no VmRSS"))?;
    let open_fds = std::fs::read_dir("/proc/self/fd")?.count() as u64;
    let max_fds = rlimit::getrlimit(rlimit::Resource::NOFILE)?.0;
    Ok(ProcessStats {
        rss_bytes: rss_kib * 1024,
        cpu_seconds: cpu_ticks as f64 / per_second as f64,
        open_fds,
        max_fds,
    })
}
