//! The ledger: one file that every process of the crash test appends JSON lines to with
//! `O_APPEND`. Each line is one `write(2)`, which Linux applies atomically to the end of a
//! regular file, so the order of the lines is a total order of the events that is
//! consistent with real time: a line written after another's `write` returned comes after
//! it. The checkers need no clocks.
//!
//! Lines are not fsynced: the test kills processes, not the machine, and a `write` that
//! returned is in the page cache, which outlives the process that wrote it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One event, as one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event {
    /// `by` is about to enqueue job `tag`.
    Enqueue { tag: String, by: String },
    /// The enqueue of `tag` was acknowledged with job id `job`.
    Enqueued { tag: String, job: i64 },
    /// Run `run` of process `proc` started job `tag` (first line of the handler).
    Start { tag: String, proc: String, run: u64 },
    /// That run returned (last line of the handler).
    End { tag: String, proc: String, run: u64 },
    /// Process `proc` stopped enqueueing and broadcasting (it saw the stop file).
    Quiet { proc: String },
    /// Process `proc` is stopped (`SIGSTOP`) and runs nothing after this line; `kill -9`
    /// follows.
    Dead { proc: String },
    /// `by` is about to broadcast message `msg`.
    Publish { msg: String, by: String },
    /// The broadcast of `msg` was acknowledged with row id `id`.
    Published { msg: String, id: i64 },
    /// Connection `conn` of subscriber `sub` is about to send its `subscribe`.
    Subscribing { sub: usize, conn: u64 },
    /// Connection `conn` of subscriber `sub` got its `confirm_subscription`.
    Confirmed { sub: usize, conn: u64 },
    /// Connection `conn` of subscriber `sub` got message `msg`.
    Received { sub: usize, conn: u64, msg: String },
    /// Connection `conn` of subscriber `sub` was closed by the server's side.
    Closed { sub: usize, conn: u64 },
}

/// The ledger file, open for appending.
#[derive(Debug)]
pub struct Ledger {
    file: File,
}

impl Ledger {
    /// Opens (creating) the ledger at `path`.
    pub fn open(path: &Path) -> std::io::Result<Ledger> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Ledger { file })
    }

    /// Appends `event` as one line, in one `write`.
    pub fn append(&self, event: &Event) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(event)?;
        line.push(b'\n');
        let written = (&self.file).write(&line)?;
        if written == line.len() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "short append: {written} of {} bytes",
                line.len()
            )))
        }
    }
}

/// Every event of the ledger at `path`, in file order. A torn last line (a writer killed
/// inside `write`) cannot happen on a local file system; it would be an error here.
pub fn read(path: &Path) -> Result<Vec<Event>, Box<dyn std::error::Error + Send + Sync>> {
    let text = std::fs::read_to_string(path)?;
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let event = serde_json::from_str(line)
            .map_err(|e| format!("ledger line {}: {e}: {line}", n + 1))?;
        events.push(event);
    }
    Ok(events)
}
