//! Group commit for the queue's hot writes (enqueue, claim, finish). Each caller adds its
//! operation to a shared list; whichever caller finds no write in flight becomes the
//! leader and runs every pending operation in one `Db::write` transaction, each inside its
//! own savepoint so one failing operation does not undo the others. Results are delivered
//! after the commit. No task of its own: leadership passes between callers.

use std::sync::Mutex;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{Notify, oneshot};

use super::error::{Error, Result};
use crate::store::{self, Db};

/// Delivers an operation's result once the batch's fate is known.
type Deliver = Box<dyn FnOnce() + Send>;
/// An operation: runs on the transaction, returns its delivery.
type Op = Box<dyn FnOnce(&Connection) -> Deliver + Send>;

/// Most operations per transaction.
const MAX_BATCH: usize = 512;
/// A waiter re-checks leadership this often, as a guard against a missed hand-over.
const RECHECK: Duration = Duration::from_millis(5);

/// The group-commit writer of one queue database.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    state: Mutex<State>,
    free: Notify,
}

#[derive(Default)]
struct State {
    pending: Vec<Op>,
    writing: bool,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("pending", &self.pending.len())
            .field("writing", &self.writing)
            .finish()
    }
}

const SAVEPOINT: &str = "SAVEPOINT op";
const RELEASE: &str = "RELEASE op";
const ROLLBACK: &str = "ROLLBACK TO op; RELEASE op";

impl Writer {
    /// Runs `f` in the next group transaction and returns its result after the commit.
    pub(crate) async fn write<T, F>(&self, db: &Db, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, mut rx) = oneshot::channel::<Result<T>>();
        let op: Op = Box::new(move |conn: &Connection| {
            let out = in_savepoint(conn, f);
            Box::new(move || {
                let _ = tx.send(out);
            })
        });
        self.lock().pending.push(op);
        loop {
            let batch = {
                let mut s = self.lock();
                if !s.writing && !s.pending.is_empty() {
                    s.writing = true;
                    let n = s.pending.len().min(MAX_BATCH);
                    Some(s.pending.drain(..n).collect::<Vec<_>>())
                } else {
                    None
                }
            };
            if let Some(batch) = batch {
                run(db, batch).await;
                self.lock().writing = false;
                self.free.notify_one();
            }
            tokio::select! {
                r = &mut rx => {
                    return r.unwrap_or(Err(Error::WriteFailed));
                }
                () = self.free.notified() => {}
                () = tokio::time::sleep(RECHECK) => {}
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    conn.execute_batch(SAVEPOINT)?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch(RELEASE)?;
            Ok(v)
        }
        Err(e) => {
            conn.execute_batch(ROLLBACK)?;
            Err(e)
        }
    }
}

/// Commits `batch`; on success delivers every result, on failure drops the deliveries so
/// each caller sees [`Error::WriteFailed`].
async fn run(db: &Db, batch: Vec<Op>) {
    let n = batch.len();
    let result = db
        .write(move |tx| -> Result<Vec<Deliver>, store::Error> {
            Ok(batch.into_iter().map(|op| op(tx)).collect())
        })
        .await;
    match result {
        Ok(deliveries) => deliveries.into_iter().for_each(|d| d()),
        Err(err) => tracing::error!(cause = %err, operations = n, "queue write transaction failed"),
    }
}
