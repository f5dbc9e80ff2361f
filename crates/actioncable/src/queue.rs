//! A connection's queues (its broadcasts and its outside orders): many senders, one
//! receiver, and no memory until something is queued.
//!
//! A tokio channel allocates its shared state and a first block of 32 slots when made:
//! about 1.5 KB for the broadcast queue and 1 KB for the order queue of every socket, most
//! of which never hold more than a message or two at a time. Here the shared state is a
//! lock, a `VecDeque` that grows on the first push, and a [`Notify`].

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Capacity past which an emptied queue gives its buffer back (a burst's worth stays).
const KEEP: usize = 64;

/// Why a value was not queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(super) enum Refused {
    /// The queue holds its bound already.
    #[error("the connection's queue is full")]
    Full,
    /// The receiver is gone (the connection is closing).
    #[error("the connection is closing")]
    Closed,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    notify: Notify,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

/// The sending side; cheap to clone.
pub(super) struct Sender<T> {
    shared: Arc<Shared<T>>,
    bound: usize,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            bound: self.bound,
        }
    }
}

/// The receiving side; dropping it closes the queue and drops what is in it.
pub(super) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A queue of at most `bound` values (`usize::MAX` for none).
pub(super) fn channel<T>(bound: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            closed: false,
        }),
        notify: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
            bound,
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Queues `value` unless the queue is full or closed.
    pub(super) fn try_send(&self, value: T) -> Result<(), Refused> {
        {
            let mut state = self.shared.state.lock();
            if state.closed {
                return Err(Refused::Closed);
            }
            if state.items.len() >= self.bound {
                return Err(Refused::Full);
            }
            state.items.push_back(value);
        }
        // A permit is stored when the receiver is not waiting, so no wake-up is lost.
        self.shared.notify.notify_one();
        Ok(())
    }
}

impl<T> Receiver<T> {
    /// The next value, waiting for one; `None` once closed and empty.
    pub(super) async fn recv(&mut self) -> Option<T> {
        loop {
            let notified = self.shared.notify.notified();
            {
                let mut state = self.shared.state.lock();
                if let Some(value) = pop(&mut state) {
                    return Some(value);
                }
                if state.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// The next value if one is queued.
    pub(super) fn try_recv(&mut self) -> Option<T> {
        pop(&mut self.shared.state.lock())
    }

    /// Refuses further values; those queued can still be received.
    pub(super) fn close(&mut self) {
        self.shared.state.lock().closed = true;
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let items = {
            let mut state = self.shared.state.lock();
            state.closed = true;
            std::mem::take(&mut state.items)
        };
        // Dropped outside the lock: an item's drop may take other locks.
        drop(items);
    }
}

fn pop<T>(state: &mut State<T>) -> Option<T> {
    let value = state.items.pop_front();
    if value.is_none() && state.items.capacity() > KEEP {
        state.items = VecDeque::new();
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_arrive_in_order_within_the_bound_and_not_after_close() {
        let (tx, mut rx) = channel(2);
        let other = tx.clone();
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(other.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(Refused::Full));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), None);
        rx.close();
        assert_eq!(tx.try_send(4), Err(Refused::Closed));
        assert_eq!(rx.recv().await, None);
        drop(rx);
        assert_eq!(other.try_send(5), Err(Refused::Closed));
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_a_value() {
        let (tx, mut rx) = channel(usize::MAX);
        let waiting = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        tx.try_send("x").expect("open");
        assert_eq!(waiting.await.expect("joined"), Some("x"));
    }
}
