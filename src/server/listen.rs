//! The accept loop, for plain HTTP and for TLS: every connection holds one permit of a
//! server-wide limit kept below the descriptor limit (at the limit the loop stops accepting
//! and new connections wait in the kernel's backlog), a client must send its request head
//! within the header timeout (and an idle keep-alive connection is closed after it too),
//! HTTP/2 peers that stop answering pings are dropped, and an `accept` error (out of
//! descriptors, for one) backs off instead of spinning.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use clap::Args;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Connection settings of `trifecta serve`.
#[derive(Args, Clone, Debug)]
pub struct ConnectionArgs {
    /// Longest wait for a request head (the request line and headers), from the connection's
    /// start or the end of the previous response; a client slower than this, or an idle
    /// keep-alive connection, is closed. The TLS handshake gets as long.
    #[arg(long, env = "TRIFECTA_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// Most connections open at once (WebSockets included); further clients wait in the
    /// listen backlog. Default: the descriptor limit (raised to its hard limit at start)
    /// minus headroom for the databases and files.
    #[arg(long, env = "TRIFECTA_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: None,
        }
    }
}

/// Interval of HTTP/2 pings, and how long a peer has to answer one.
const H2_KEEPALIVE: Duration = Duration::from_secs(20);
/// Bytes a connection must send within the header timeout before hyper's own header timer
/// governs it: enough for hyper to tell HTTP/2's preface from an HTTP/1 request line, a
/// stage that has no timer of its own.
const SNIFF_BYTES: usize = 24;
/// Descriptors kept back from connections: the four databases' pools, WAL and shared-memory
/// files, the listener and the odd file the server opens.
const MIN_HEADROOM: u64 = 256;
/// Most bytes a connection may hold in the kernel that were not yet sent (see
/// [`limit_unsent`]): 16 KB, the value big HTTP servers use (the kernel's advice is 128 KB
/// or less); each time the kernel sent it, the socket is writable again.
const UNSENT_LIMIT: u32 = 16 * 1024;

/// Caps the bytes the kernel holds unsent for a connection (`TCP_NOTSENT_LOWAT`). Without
/// it, send-buffer autotuning lets a peer that stops reading soak up megabytes per socket
/// of kernel memory, and all the server's time spent copying them, before a write blocks
/// and the cable's own queue limit and write timeout can see the socket is slow. The cap
/// does not limit throughput: bytes in flight still fill the whole window.
fn limit_unsent(tcp: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(err) = socket2::SockRef::from(tcp).set_tcp_notsent_lowat(UNSENT_LIMIT) {
        tracing::debug!(cause = %err, "cannot set TCP_NOTSENT_LOWAT");
    }
}

/// The longest pause after an `accept` error.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Raises the soft descriptor limit to the hard limit and returns the limit in effect.
pub(super) fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!(cause = %err, "cannot raise the descriptor limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// Connections the kernel may hold completed but not yet accepted (capped by
/// `net.core.somaxconn`, 4096 on current kernels). tokio's default is 1024: a reconnect
/// storm of more clients than that while the accept loop is busy overflows it, and each
/// dropped handshake waits a second for its SYN to be sent again.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds a listener on `addr` with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, so a restarted
/// server takes its port back at once).
///
/// # Errors
/// The address cannot be bound.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The connection limit for a descriptor limit of `nofile`: an eighth (at least
/// [`MIN_HEADROOM`]) stays free for everything else, and at least one connection is allowed.
pub(super) fn default_max_connections(nofile: u64) -> usize {
    let headroom = (nofile / 8).max(MIN_HEADROOM);
    usize::try_from(nofile.saturating_sub(headroom).max(1)).unwrap_or(usize::MAX)
}

/// What every connection is served with.
pub(super) struct Serve {
    /// The application.
    pub router: Router,
    /// TLS, or plain HTTP (HTTP/1.1 and h2c prior knowledge).
    pub tls: Option<TlsAcceptor>,
    /// See [`ConnectionArgs::header_timeout`].
    pub header_timeout: Duration,
    /// Most connections at once.
    pub max_connections: usize,
}

/// Accepts connections on `listener` until `token` is cancelled, then stops accepting and
/// lets open connections finish their requests (the caller bounds that wait).
///
/// # Errors
/// None in practice; the type leaves room for a listener that fails for good.
pub(super) async fn serve(
    listener: TcpListener,
    serve: Serve,
    token: CancellationToken,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(serve.max_connections));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(serve.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEPALIVE)
        .keep_alive_timeout(H2_KEEPALIVE);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    // Connection tasks are joined below, after the loop, so they are scoped to this call.
    let connections = TaskTracker::new();
    let mut backoff = Duration::ZERO;
    loop {
        let permit = tokio::select! {
            () = token.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = token.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => {
                backoff = Duration::ZERO;
                accepted
            }
            // The client gave up before we took the connection: nothing is wrong here.
            Err(err) if is_connection_error(&err) => continue,
            Err(err) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(10), MAX_BACKOFF);
                tracing::warn!(cause = %err, retry_in = ?backoff, "accept failed; backing off");
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        // Real-time frames are small and latency-bound: no Nagle delay behind unacked data.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(cause = %err, "cannot set TCP_NODELAY");
        }
        limit_unsent(&tcp);
        let conn = Conn {
            router: serve.router.clone(),
            builder: builder.clone(),
            header_timeout: serve.header_timeout,
            peer,
            permit,
        };
        let watcher = graceful.watcher();
        match serve.tls.clone() {
            None => connections.spawn(conn.run(tcp, watcher, false)),
            Some(tls) => connections.spawn(conn.run_tls(tcp, tls, watcher)),
        };
    }
    drop(listener);
    graceful.shutdown().await;
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Errors of one connection that `accept` reports; the listener itself is fine.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One accepted connection and what serving it needs.
struct Conn {
    router: Router,
    builder: Arc<Builder<TokioExecutor>>,
    header_timeout: Duration,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
}

impl Conn {
    async fn run_tls(
        self,
        tcp: TcpStream,
        tls: TlsAcceptor,
        watcher: hyper_util::server::graceful::Watcher,
    ) {
        match tokio::time::timeout(self.header_timeout, tls.accept(tcp)).await {
            // An ACME TLS-ALPN-01 validation only needs the handshake.
            Ok(Ok(stream))
                if stream.get_ref().1.alpn_protocol() == Some(super::tls::ACME_TLS_ALPN) =>
            {
                tracing::debug!(peer = %self.peer, "answered an ACME TLS-ALPN-01 validation");
            }
            Ok(Ok(stream)) => self.run(stream, watcher, true).await,
            Ok(Err(err)) => {
                tracing::debug!(peer = %self.peer, cause = %err, "TLS handshake failed")
            }
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn run<IO>(self, io: IO, watcher: hyper_util::server::graceful::Watcher, tls: bool)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let io = TokioIo::new(Guarded {
            io,
            deadline: Box::pin(tokio::time::sleep(self.header_timeout)),
            sniffed: 0,
            _permit: self.permit,
        });
        let service = self
            .router
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                if tls {
                    request.extensions_mut().insert(crate::web::TlsConnection);
                }
                request
            });
        let conn = self
            .builder
            .serve_connection_with_upgrades(io, TowerToHyperService::new(service));
        if let Err(err) = watcher.watch(conn.into_owned()).await {
            tracing::debug!(%peer, cause = %err, "connection ended with an error");
        }
    }
}

/// A connection's stream holding its permit (so a WebSocket that outlives hyper's connection
/// still counts) and failing reads that do not bring the first [`SNIFF_BYTES`] in time.
struct Guarded<IO> {
    io: IO,
    deadline: Pin<Box<Sleep>>,
    sniffed: usize,
    _permit: OwnedSemaphorePermit,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Guarded<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if this.sniffed >= SNIFF_BYTES {
            return polled;
        }
        match polled {
            Poll::Ready(result) => {
                this.sniffed += buf.filled().len() - before;
                Poll::Ready(result)
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request head within the header timeout",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Guarded<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limit_leaves_headroom_below_the_descriptor_limit() {
        assert_eq!(default_max_connections(1024), 768);
        assert_eq!(default_max_connections(1_048_576), 917_504);
        assert_eq!(default_max_connections(100), 1);
    }
}
