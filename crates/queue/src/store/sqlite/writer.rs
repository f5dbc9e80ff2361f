//! Group commit for the queue's hot writes (enqueue, claim, finish). Each caller adds its
//! operation to a shared list; when no write round is running, the caller starts one. A
//! round writes every pending operation in one `Db::write` transaction (each inside its own
//! savepoint, so one failing operation does not undo the others), delivers the results
//! after the commit, and repeats until nothing is pending.
//!
//! The round runs on its own task, not in the caller: a caller that gives up (a dropped
//! future) must not abandon other callers' operations or leave the writer marked busy. The
//! task ends as soon as the list is empty, and every operation it carries has a caller
//! awaiting its result, so it is scoped to those callers.

use parking_lot::Mutex;
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::in_savepoint;
use crate::coalesce::Coalesce;
use crate::error::{Error, Result};
use trifecta_store::{self as store, Db};

/// Delivers an operation's result once the transaction committed.
type Deliver = Box<dyn FnOnce() + Send>;
/// An operation: runs on the transaction, returns its delivery.
type Op = Box<dyn FnOnce(&Connection) -> Deliver + Send>;

/// Most operations per transaction.
const MAX_BATCH: usize = 512;

/// The group-commit writer of one queue database. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Writer {
    state: Arc<Mutex<Coalesce<Op>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("pending", &self.state.lock().len())
            .finish()
    }
}

impl Writer {
    /// Runs `f` in the next group transaction and returns its result after the commit.
    ///
    /// # Errors
    /// What `f` returns, or [`Error::WriteFailed`] when the transaction did not commit.
    pub(crate) async fn write<T, F>(&self, db: &Db, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T>>();
        let op: Op = Box::new(move |conn: &Connection| {
            let out = in_savepoint(conn, f);
            Box::new(move || {
                let _ = tx.send(out);
            })
        });
        let start = self.state.lock().push(op);
        if start {
            tokio::spawn(round(self.state.clone(), db.clone()));
        }
        rx.await.unwrap_or(Err(Error::WriteFailed))
    }
}

/// Writes batches until nothing is pending, then marks the writer idle (under the same
/// lock a caller uses to decide whether to start a round, so no operation is stranded).
async fn round(state: Arc<Mutex<Coalesce<Op>>>, db: Db) {
    loop {
        let Some(batch) = state.lock().next_batch(MAX_BATCH) else {
            return;
        };
        let n = batch.len();
        let result = db
            .write(move |tx| -> Result<Vec<Deliver>, store::Error> {
                Ok(batch.into_iter().map(|op| op(tx)).collect())
            })
            .await;
        match result {
            Ok(deliveries) => deliveries.into_iter().for_each(|d| d()),
            // Dropping the deliveries tells each caller the write failed.
            Err(err) => {
                tracing::error!(cause = %err, operations = n, "queue write transaction failed")
            }
        }
    }
}
