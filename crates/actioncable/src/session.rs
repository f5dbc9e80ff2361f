//! One socket's task. It owns the socket (no split, no lock): a `select!` over shutdown,
//! outside orders, the slow-consumer kick, the queue of broadcasts, incoming frames, the
//! ping beat and the revalidation beat.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::{CancellationToken, PollSemaphore};

use super::connect::{ConnectRequest, ConnectionInfo, Rejected};
use super::frame::{self, DisconnectReason};
use super::outbox::{self, Item, Outbox};
use super::queue::{self, Receiver};
use super::ratelimit::Bucket;
use super::resume::Ext;
use super::subscriptions::{Stream, Sub};
use super::writing::{drive, laned};
use super::{ActionCable, Conn, Control};
use trifecta_cable::PRESENCE_PREFIX;

/// Most queued broadcasts written before one flush.
const BATCH: usize = 64;
/// Most queued payload bytes taken into one batch (a larger single item is still taken).
const BATCH_BYTES: usize = 256 * 1024;
/// Frames in one batch past which the writer lets lighter sockets go first.
const HEAVY_BATCH_FRAMES: usize = 16;
/// Outside orders (disconnects, unsubscribes) a connection holds before the next is refused;
/// orders are rare and small, and one refused here is retried when it comes back through
/// the cable.
const CONTROL_QUEUE: usize = 32;
/// Time given to a goodbye frame to a client that may not be reading.
const GOODBYE_TIMEOUT: Duration = Duration::from_millis(500);

/// The socket went away or could not be written in time.
#[derive(Debug)]
pub(super) struct Gone;

pub(super) struct Session {
    pub(super) server: ActionCable,
    pub(super) socket: WebSocket,
    pub(super) info: ConnectionInfo,
    pub(super) subs: HashMap<Arc<str>, Sub>,
    /// This socket's streams, each shared by every subscription streaming it.
    pub(super) streams: HashMap<String, Stream>,
    pub(super) outbox: Outbox,
    pub(super) kick: CancellationToken,
    /// The extended protocol's state, when the client speaks it (boxed: most sockets do
    /// not, and an idle socket's task stays small).
    pub(super) ext: Option<Box<Ext>>,
    /// The command rate limit.
    pub(super) bucket: Bucket,
}

/// Runs one connection from upgrade to close. `ext` when the client chose the extended
/// protocol, with the session id it presented to restore, if any.
pub(super) async fn run(
    server: ActionCable,
    mut socket: WebSocket,
    request: ConnectRequest,
    ext: Option<Option<String>>,
) {
    let identity = match server.connect_hook().connect(&request).await {
        Ok(identity) => identity,
        Err(Rejected) => {
            server
                .inner
                .counters
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(uri = %request.uri, "cable connection rejected");
            let bye = frame::disconnect(DisconnectReason::Unauthorized, false);
            let _ = Box::pin(tokio::time::timeout(
                GOODBYE_TIMEOUT,
                goodbye(&mut socket, bye),
            ))
            .await;
            return;
        }
    };
    let ext = match ext {
        None => None,
        Some(restore_from) => match Box::pin(server.inner.cable.epoch()).await {
            Ok(epoch) => Some(Box::new(Ext::new(&epoch, restore_from))),
            Err(err) => {
                tracing::error!(cause = %err, "cannot read the cable's epoch; closing the socket");
                let bye = frame::disconnect(DisconnectReason::ServerRestart, true);
                let _ = Box::pin(tokio::time::timeout(
                    GOODBYE_TIMEOUT,
                    goodbye(&mut socket, bye),
                ))
                .await;
                return;
            }
        },
    };
    let (control_tx, control_rx) = queue::channel(CONTROL_QUEUE);
    let kick = CancellationToken::new();
    let limit = usize::try_from(server.inner.config.send_queue_bytes).unwrap_or(usize::MAX);
    let (outbox, out_rx) = Outbox::new(&server.inner, limit, kick.clone());
    let conn_id = server.register_conn(Conn {
        identity: identity.id.clone(),
        control: control_tx,
        outbox: outbox.clone(),
    });
    let mut session = Session {
        server: server.clone(),
        socket,
        info: ConnectionInfo { identity, request },
        subs: HashMap::new(),
        streams: HashMap::new(),
        outbox,
        kick,
        ext,
        bucket: Bucket::new(server.inner.config.commands_burst, Instant::now()),
    };
    tracing::debug!(conn = conn_id, identity = ?session.info.identity.id, "cable connected");
    session.serve(out_rx, control_rx).await;
    if session.kick.is_cancelled() {
        tracing::info!(
            conn = conn_id,
            identity = ?session.info.identity.id,
            "disconnected a cable client too slow to read its frames"
        );
    }
    if session.ext.as_ref().is_some_and(|e| !e.dismissed) && !session.subs.is_empty() {
        // What a client that comes back within the session TTL restores (a dropped
        // connection; one the server closed with a `disconnect` frame starts afresh).
        Box::pin(session.save()).await;
    }
    Box::pin(session.detach_presence()).await;
    Box::pin(session.close_subscriptions()).await;
    server.deregister_conn(conn_id);
    tracing::debug!(conn = conn_id, "cable disconnected");
}

async fn goodbye(socket: &mut WebSocket, frame: Utf8Bytes) -> Result<(), axum::Error> {
    socket.feed(Message::Text(frame)).await?;
    socket
        .feed(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: Utf8Bytes::from_static(""),
        })))
        .await?;
    socket.flush().await
}

impl Session {
    async fn serve(&mut self, mut out_rx: Receiver<Item>, mut control_rx: Receiver<Control>) {
        let queued = self.outbox.queued().clone();
        self.serve_until_done(&mut out_rx, &mut control_rx, &queued)
            .await;
        // Whatever is still queued is never written: free it before any goodbye, which may
        // wait on a client that does not read.
        outbox::discard(&mut out_rx, &queued);
    }

    async fn serve_until_done(
        &mut self,
        out_rx: &mut Receiver<Item>,
        control_rx: &mut Receiver<Control>,
        queued: &AtomicUsize,
    ) {
        let welcome = Box::pin(self.welcome()).await;
        if Box::pin(self.write(vec![welcome])).await.is_err() {
            return;
        }
        let config = &self.server.inner.config;
        let every = config.ping_interval;
        let mut beat = tokio::time::interval_at(Instant::now() + every, every);
        beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let again = config.revalidate_interval;
        let mut check = tokio::time::interval_at(Instant::now() + again, again);
        check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let token = self.server.inner.token.clone();
        let kick = self.kick.clone();
        // Created once: re-creating them every turn would re-register with the server-wide
        // token, a lock every socket contends on when a broadcast wakes them all.
        let shutdown = token.cancelled();
        let kicked = kick.cancelled();
        tokio::pin!(shutdown, kicked);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => {
                    outbox::discard(out_rx, queued);
                    Box::pin(self.close(DisconnectReason::ServerRestart, true)).await;
                    return;
                }
                Some(control) = control_rx.recv() => match control {
                    Control::Disconnect { reason, reconnect } => {
                        outbox::discard(out_rx, queued);
                        Box::pin(self.close(reason, reconnect)).await;
                        return;
                    }
                    Control::Unsubscribe { streams } => {
                        if Box::pin(self.unsubscribe_streaming(&streams)).await.is_err() {
                            return;
                        }
                    }
                },
                () = &mut kicked => {
                    outbox::discard(out_rx, queued);
                    Box::pin(self.too_slow()).await;
                    return;
                }
                Some(first) = out_rx.recv() => {
                    let mut bytes = first.cost();
                    let mut batch = vec![first];
                    while batch.len() < BATCH && bytes < BATCH_BYTES {
                        match out_rx.try_recv() {
                            Some(item) => {
                                bytes += item.cost();
                                batch.push(item);
                            }
                            None => break,
                        }
                    }
                    let written = Box::pin(self.write_broadcasts(&batch)).await;
                    outbox::release(queued, &batch);
                    drop(batch);
                    if written.is_err() {
                        return;
                    }
                }
                incoming = self.socket.recv() => {
                    // Boxed: command handling is the largest state and rare, so an idle
                    // connection's task stays small.
                    if Box::pin(self.on_incoming(incoming)).await.is_err() {
                        return;
                    }
                }
                _ = beat.tick() => {
                    let now = self.server.inner.cable.clock().now().secs();
                    if Box::pin(self.write(vec![frame::ping(now)])).await.is_err() {
                        return;
                    }
                    if self.ext.as_ref().is_some_and(|e| !e.parked.is_empty()) {
                        Box::pin(self.unpark_older_than(every)).await;
                    }
                }
                _ = check.tick() => {
                    if !Box::pin(self.still_valid()).await {
                        outbox::discard(out_rx, queued);
                        Box::pin(self.revoke()).await;
                        return;
                    }
                }
            }
        }
    }

    async fn on_incoming(
        &mut self,
        incoming: Option<Result<Message, axum::Error>>,
    ) -> Result<(), Gone> {
        if matches!(&incoming, Some(Ok(Message::Text(_) | Message::Binary(_))))
            && !self.within_rate().await?
        {
            return Ok(());
        }
        match incoming {
            None | Some(Ok(Message::Close(_))) => Err(Gone),
            Some(Ok(Message::Text(text))) => self.on_text(&text).await,
            Some(Ok(Message::Binary(_))) => {
                self.ignored("binary frame");
                Ok(())
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
            Some(Err(err)) => {
                let err = err.into_inner();
                if let Some(tungstenite::Error::Capacity(cause)) =
                    err.downcast_ref::<tungstenite::Error>()
                {
                    self.server
                        .inner
                        .counters
                        .oversize_frames
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%cause, "closing a cable connection that sent an oversize frame");
                    let close = Message::Close(Some(CloseFrame {
                        code: 1009,
                        reason: Utf8Bytes::from_static("frame too large"),
                    }));
                    let _ = tokio::time::timeout(GOODBYE_TIMEOUT, self.socket.send(close)).await;
                } else {
                    tracing::debug!(cause = %err, "cable read failed");
                }
                Err(Gone)
            }
        }
    }

    pub(super) fn ignored(&self, what: &str) {
        self.server
            .inner
            .counters
            .ignored_frames
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(what, "ignoring a cable frame");
    }

    /// Writes `frames` and flushes once, within the write timeout and unless kicked.
    pub(super) async fn write(&mut self, frames: Vec<Utf8Bytes>) -> Result<(), Gone> {
        let socket = &mut self.socket;
        let io = async move {
            for f in frames {
                socket.feed(Message::Text(f)).await?;
            }
            socket.flush().await
        };
        drive(io, self.server.inner.config.write_timeout, &self.outbox).await
    }

    /// Writes one frame per target of each broadcast, built only now and one at a time (a
    /// frame is dropped once the socket took it), then flushes once.
    ///
    /// A batch of many frames (a socket with many subscriptions to a stream) is heavy: it
    /// yields once, so sockets owed a frame or two in the same round go first, and is then
    /// written in the heavy lane (see [`laned`]). However many heavy sockets there are,
    /// light ones wait behind at most one heavy write per lane.
    async fn write_broadcasts(&mut self, items: &[Item]) -> Result<(), Gone> {
        let frames: usize = items.iter().map(|item| item.targets().count()).sum();
        let heavy = frames > HEAVY_BATCH_FRAMES;
        if heavy {
            tokio::task::yield_now().await;
        }
        let socket = &mut self.socket;
        let epoch = self.ext.as_ref().map(|e| e.epoch_json.clone());
        let mut frames = 0_u64;
        let written = &mut frames;
        let io = async move {
            for item in items {
                let presence = item.payload.stream().starts_with(PRESENCE_PREFIX);
                for target in item.targets() {
                    let f = match &epoch {
                        _ if presence => frame::presence(&target.id_json, item.payload.text()),
                        None => frame::data(&target.id_json, item.payload.text()),
                        Some(epoch) => frame::data_ext(
                            &target.id_json,
                            item.payload.text(),
                            item.payload.stream(),
                            epoch,
                            item.message_id,
                        ),
                    };
                    socket.feed(Message::Text(f)).await?;
                    *written += 1;
                }
            }
            socket.flush().await
        };
        let limit = self.server.inner.config.write_timeout;
        let done = if heavy {
            let lane = PollSemaphore::new(self.server.inner.heavy_lane.clone());
            drive(laned(io, lane), limit, &self.outbox).await
        } else {
            drive(io, limit, &self.outbox).await
        };
        if done.is_ok() {
            self.server
                .inner
                .counters
                .frames_delivered
                .fetch_add(frames, Ordering::Relaxed);
        }
        done
    }

    /// Whether the connect hook still accepts this connection's identity.
    pub(super) async fn still_valid(&mut self) -> bool {
        self.server
            .connect_hook()
            .revalidate(&self.info.identity, &self.info.request)
            .await
    }

    /// Closes a connection whose identity is no longer valid; it must not come back.
    pub(super) async fn revoke(&mut self) {
        self.server
            .inner
            .counters
            .revoked_connections
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            identity = ?self.info.identity.id,
            "closing a cable connection whose identity is no longer valid"
        );
        self.close(DisconnectReason::Unauthorized, false).await;
    }

    pub(super) async fn close(&mut self, reason: DisconnectReason, reconnect: bool) {
        if let Some(ext) = self.ext.as_mut() {
            // A client told `disconnect` forgets its session id: nothing to keep for it.
            ext.dismissed = true;
        }
        let bye = frame::disconnect(reason, reconnect);
        let _ = tokio::time::timeout(GOODBYE_TIMEOUT, goodbye(&mut self.socket, bye)).await;
    }

    async fn too_slow(&mut self) {
        self.close(DisconnectReason::TooSlow, true).await;
    }
}
