//! This process in the registry: registration, heartbeats, deregistration, and pruning of
//! dead processes (stale heartbeat, or a pid that no longer exists on this host).

use std::path::Path;

use super::Queue;
use super::error::Result;
use super::store::model::{IsDead, NewProcess, ProcessRow, PruneReport};
use trifecta_store::Timestamp;

/// A registered process. Its id is stored on every job it claims.
#[derive(Clone, Debug)]
pub struct Process {
    /// Row id.
    pub id: i64,
    /// `<kind>-<hex>`.
    pub name: String,
    queue: Queue,
    kind: String,
    metadata: String,
}

impl Queue {
    /// Registers this OS process as `kind` with JSON `metadata`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn register_process(
        &self,
        kind: &str,
        mut metadata: serde_json::Value,
    ) -> Result<Process> {
        if let (Some(map), Some(start)) = (
            metadata.as_object_mut(),
            pid_start(std::process::id().into()),
        ) {
            map.insert("pid_start".to_owned(), start.into());
        }
        let name = format!("{}-{}", kind.to_lowercase(), random_hex());
        let metadata = metadata.to_string();
        let now = self.inner.clock.now();
        let row = NewProcess {
            kind: kind.to_owned(),
            name: name.clone(),
            pid: i64::from(std::process::id()),
            hostname: hostname(),
            metadata: metadata.clone(),
        };
        let id = self.store().register(row, now).await?;
        tracing::info!(process_id = id, name = %name, "queue process registered");
        Ok(Process {
            id,
            name,
            queue: self.clone(),
            kind: kind.to_owned(),
            metadata,
        })
    }

    /// Every registered process.
    ///
    /// # Errors
    /// Database errors.
    pub async fn processes(&self) -> Result<Vec<ProcessRow>> {
        self.store().processes().await
    }

    /// Removes dead processes other than `me` and recovers their claimed jobs (released to
    /// ready, or failed with `--on-dead-process fail`), plus claims of processes that no
    /// longer exist. A process is dead when its heartbeat is older than the alive
    /// threshold, or at once when it ran on this host and its pid is gone.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune(&self, me: Option<i64>) -> Result<PruneReport> {
        let now = self.inner.clock.now();
        let threshold = self.inner.settings.alive_threshold;
        let on_dead = self.inner.settings.on_dead_process;
        let host = hostname();
        let is_dead: IsDead =
            Box::new(move |row: &ProcessRow| dead_reason(row, now - threshold, &host));
        let report = self.store().prune(me, is_dead, on_dead, now).await?;
        if report.processes > 0 || report.jobs > 0 {
            tracing::warn!(
                processes = report.processes,
                jobs = report.jobs,
                "pruned dead queue processes"
            );
            self.notify_ready();
        }
        Ok(report)
    }
}

impl Process {
    /// Records that this process is alive. If its row was pruned meanwhile (it looked
    /// dead), the row is written again under the same id, so its claims stay its own.
    ///
    /// # Errors
    /// Database errors.
    pub async fn heartbeat(&self) -> Result<()> {
        let now = self.queue.inner.clock.now();
        let row = NewProcess {
            kind: self.kind.clone(),
            name: self.name.clone(),
            pid: i64::from(std::process::id()),
            hostname: hostname(),
            metadata: self.metadata.clone(),
        };
        if self.queue.store().heartbeat(self.id, row, now).await? {
            tracing::warn!(
                process_id = self.id,
                "queue process row was pruned; registered again"
            );
        }
        Ok(())
    }

    /// Removes this process from the registry, releasing any job it still holds.
    ///
    /// # Errors
    /// Database errors.
    pub async fn deregister(&self) -> Result<usize> {
        let now = self.queue.inner.clock.now();
        let id = self.id;
        let released = self.queue.store().deregister(id, now).await?;
        tracing::info!(process_id = id, released, "queue process deregistered");
        Ok(released)
    }
}

/// Why `row` counts as dead, if it does.
fn dead_reason(row: &ProcessRow, stale_before: Timestamp, host: &str) -> Option<String> {
    if row.last_heartbeat_at < stale_before {
        return Some(format!(
            "last heartbeat at {}",
            row.last_heartbeat_at.to_rfc3339()
        ));
    }
    if row.hostname.as_deref() != Some(host) || !Path::new("/proc/self").exists() {
        return None;
    }
    let recorded = row
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .and_then(|m| m.get("pid_start").and_then(serde_json::Value::as_u64));
    match pid_start(row.pid) {
        None => Some(format!("pid {} no longer exists", row.pid)),
        // The pid was reused by another process (containers restart as pid 1).
        Some(now) if recorded.is_some_and(|r| r != now) => {
            Some(format!("pid {} now belongs to another process", row.pid))
        }
        Some(_) => None,
    }
}

/// Start time (clock ticks since boot) of live, non-zombie process `pid`, from
/// `/proc/<pid>/stat`; `None` when there is no such process.
fn pid_start(pid: i64) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?;
    if matches!(state, "Z" | "X") {
        return None;
    }
    // `starttime` is field 22 overall, the 20th after the state.
    fields.nth(18)?.parse().ok()
}

/// This host's name.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// 20 hex characters, as Solid Queue's process names, from the std hasher's random keys.
fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut a = state.build_hasher();
    a.write_u32(std::process::id());
    let mut b = state.build_hasher();
    b.write_u64(a.finish());
    format!("{:016x}{:04x}", a.finish(), b.finish() & 0xffff)
}
