//! How a socket's writes run: within the write timeout unless the connection is kicked
//! ([`drive`]), and the heavy lane that batches owing many frames take turns in ([`laned`]).

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use tokio_util::sync::PollSemaphore;

use super::outbox::Outbox;
use super::session::Gone;

/// Permits of the heavy lane: half the cores, so light sockets always have the other half.
pub(super) fn heavy_lanes() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// `io` polled only while holding a permit of the heavy lane, taken anew on every poll:
/// while the socket's buffer is full the permit serves the next heavy writer, so a socket
/// that stops reading keeps no one waiting, and heavy writers take turns in order (the
/// semaphore is fair) off the run queue instead of crowding it.
pub(super) fn laned<T>(
    io: impl Future<Output = T>,
    mut lane: PollSemaphore,
) -> impl Future<Output = T> {
    let mut io = Box::pin(io);
    std::future::poll_fn(move |cx| {
        // `None` means a closed lane, which is never closed: write without a permit then.
        let _permit = std::task::ready!(lane.poll_acquire(cx));
        io.as_mut().poll(cx)
    })
}

/// Runs a write within `limit` unless the connection is kicked first; a timeout kicks it.
pub(super) async fn drive(
    io: impl std::future::Future<Output = Result<(), axum::Error>>,
    limit: Duration,
    outbox: &Outbox,
) -> Result<(), Gone> {
    let mut io = std::pin::pin!(io);
    // Most writes fit in the socket buffer at once: no timer for those.
    if let Poll::Ready(r) = futures_util::poll!(io.as_mut()) {
        return r.map_err(|err| {
            tracing::debug!(cause = %err, "cable write failed");
            Gone
        });
    }
    tokio::select! {
        r = tokio::time::timeout(limit, io) => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => {
                tracing::debug!(cause = %err, "cable write failed");
                Err(Gone)
            }
            Err(_) => {
                outbox.kick_slow();
                Err(Gone)
            }
        },
        () = outbox.cancelled() => Err(Gone),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::task::Poll;

    use tokio::sync::{Semaphore, oneshot};
    use tokio_util::sync::PollSemaphore;

    use super::laned;

    #[tokio::test]
    async fn a_laned_write_runs_only_with_a_permit_and_holds_none_while_it_waits() {
        let lane = Arc::new(Semaphore::new(1));
        // A write the socket cannot take yet (its buffer is full until `open` fires).
        let (open, blocked) = oneshot::channel::<()>();
        let mut stalled = Box::pin(laned(blocked, PollSemaphore::new(lane.clone())));
        assert!(futures_util::poll!(stalled.as_mut()).is_pending());
        assert_eq!(
            lane.available_permits(),
            1,
            "a write that waits on its socket must leave the lane to the next heavy writer"
        );

        let held = lane.clone().try_acquire_owned().expect("the lane is free");
        let mut ready = Box::pin(laned(async { 7 }, PollSemaphore::new(lane.clone())));
        assert!(
            futures_util::poll!(ready.as_mut()).is_pending(),
            "a heavy write must wait while another holds the lane"
        );
        drop(held);
        assert_eq!(ready.await, 7);

        open.send(()).expect("the stalled write is waiting");
        assert!(matches!(
            futures_util::poll!(stalled.as_mut()),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(lane.available_permits(), 1);
    }
}
