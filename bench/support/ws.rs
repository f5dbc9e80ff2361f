//! The benches' `/cable` client: a signed-in ActionCable socket from a chosen loopback
//! source address, subscriptions that wait for their confirmations, and a reader task that
//! hands each text frame to a callback.

use std::net::{Ipv4Addr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An open `/cable` socket.
pub type Socket = WebSocketStream<TcpStream>;

/// The `index`-th of `sources` loopback addresses 127.0.0.1, 127.0.0.2, ...: spreading
/// thousands of client sockets over several source addresses keeps clear of ephemeral port
/// exhaustion.
pub fn source(index: usize, sources: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 1 + (index % usize::from(sources)) as u8)
}

/// The upgrade request of a `/cable` socket signed in with `session`, from the server's
/// own origin.
pub fn cable_request(addr: SocketAddr, session: &str) -> Result<Request, BoxError> {
    let mut request = format!("ws://{addr}/cable").into_client_request()?;
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("actioncable-v1-json"),
    );
    headers.insert(
        "cookie",
        HeaderValue::from_str(&format!("_trifecta_session={session}"))?,
    );
    headers.insert("origin", HeaderValue::from_str(&format!("http://{addr}"))?);
    Ok(request)
}

/// Opens a `/cable` socket to `addr` from `source`, signed in with `session` (Nagle off,
/// so a small frame is not held back waiting for an acknowledgement).
pub async fn open(addr: SocketAddr, source: Ipv4Addr, session: &str) -> Result<Socket, BoxError> {
    open_request(addr, source, cable_request(addr, session)?).await
}

/// As [`open`], on AnyCable's extended protocol (`actioncable-v1-ext-json`), presenting
/// `sid` to restore when given.
pub async fn open_ext(
    addr: SocketAddr,
    source: Ipv4Addr,
    session: &str,
    sid: Option<&str>,
) -> Result<Socket, BoxError> {
    let mut request = cable_request(addr, session)?;
    if let Some(sid) = sid {
        *request.uri_mut() = format!("ws://{addr}/cable?sid={sid}").parse()?;
    }
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("actioncable-v1-ext-json"),
    );
    open_request(addr, source, request).await
}

async fn open_request(
    addr: SocketAddr,
    source: Ipv4Addr,
    request: Request,
) -> Result<Socket, BoxError> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async(request, stream).await?;
    Ok(ws)
}

/// Subscribes `ws` under each of `identifiers` (sent in one flush) and reads until the
/// server has confirmed as many subscriptions.
pub async fn subscribe<I>(ws: &mut Socket, identifiers: I) -> Result<(), BoxError>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut pending = 0usize;
    for identifier in identifiers {
        let command = json!({"command": "subscribe", "identifier": identifier.as_ref()});
        ws.feed(Message::Text(command.to_string().into())).await?;
        pending += 1;
    }
    ws.flush().await?;
    while pending > 0 {
        let Some(msg) = ws.next().await else {
            return Err("closed before the confirmations".into());
        };
        if let Message::Text(t) = msg?
            && t.contains("confirm_subscription")
        {
            pending -= 1;
        }
    }
    Ok(())
}

/// Reads `ws` on its own task until it closes, handing every text frame to `on_text`.
pub fn read_text(mut ws: Socket, mut on_text: impl FnMut(&str) + Send + 'static) {
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                on_text(&t);
            }
        }
    });
}
