//! A WebSocket test client shaped like anyt's (lib/anyt/client.rb): offers
//! `actioncable-v1-json`, optional cookie, headers and query; drops frames whose `type` is
//! ignored; `receive` waits 5 s; `assert_silent` is the bounded negative check.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a positive wait may take (anyt: 5 s).
pub const RECEIVE: Duration = Duration::from_secs(5);
/// The window of a "nothing else arrives" check (anyt: 0.5 s).
pub const SILENCE: Duration = Duration::from_millis(400);

/// Connection options.
#[derive(Clone, Default)]
pub struct Opts {
    pub ignore: Vec<&'static str>,
    pub qs: Option<String>,
    pub headers: Vec<(String, String)>,
    pub protocol: Option<&'static str>,
}

impl Opts {
    /// anyt's default client: pings and the welcome are dropped.
    pub fn anyt() -> Self {
        Self::default().ignore(&["ping", "welcome"])
    }

    pub fn ignore(mut self, types: &[&'static str]) -> Self {
        self.ignore = types.to_vec();
        self
    }

    pub fn qs(mut self, qs: &str) -> Self {
        self.qs = Some(qs.to_owned());
        self
    }

    pub fn protocol(mut self, protocol: &'static str) -> Self {
        self.protocol = Some(protocol);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// One client socket.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    ignore: Vec<&'static str>,
}

/// What `next_frame` saw.
#[derive(Debug)]
pub enum Event {
    Frame(Value),
    Closed(Option<u16>),
    Timeout,
}

impl Client {
    /// Connects to `ws://addr/cable[?qs]`.
    pub async fn connect(addr: SocketAddr, opts: Opts) -> Client {
        Self::try_connect(addr, opts).await.expect("cable upgrade")
    }

    /// As [`Client::connect`], returning the handshake error.
    pub async fn try_connect(
        addr: SocketAddr,
        opts: Opts,
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        let url = match &opts.qs {
            Some(qs) => format!("ws://{addr}/cable?{qs}"),
            None => format!("ws://{addr}/cable"),
        };
        let mut request = url.into_client_request()?;
        let h = request.headers_mut();
        h.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(opts.protocol.unwrap_or("actioncable-v1-json")),
        );
        for (k, v) in &opts.headers {
            h.insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes())
                    .expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Client {
            ws,
            ignore: opts.ignore,
        })
    }

    /// Sends one JSON frame.
    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// Sends one JSON frame, returning the error of a socket the server already closed.
    pub async fn try_send(
        &mut self,
        v: Value,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(Message::Text(v.to_string().into())).await
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("send");
    }

    /// Sends a raw message.
    pub async fn send_message(&mut self, m: Message) {
        self.ws.send(m).await.expect("send");
    }

    /// The next non-ignored frame, a close, or a timeout after `within`.
    pub async fn next_event(&mut self, within: Duration) -> Event {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next()).await;
            match next {
                Err(_) => return Event::Timeout,
                Ok(None) | Ok(Some(Err(_))) => return Event::Closed(None),
                Ok(Some(Ok(Message::Close(c)))) => {
                    return Event::Closed(c.map(|c| u16::from(c.code)));
                }
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).expect("server sent JSON");
                    let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
                    if !self.ignore.contains(&ty) {
                        return Event::Frame(v);
                    }
                }
                Ok(Some(Ok(other))) => {
                    assert!(
                        !matches!(other, Message::Binary(_)),
                        "server sent a binary frame"
                    );
                }
            }
        }
    }

    /// The next frame within 5 s; panics otherwise.
    pub async fn receive(&mut self) -> Value {
        match self.next_event(RECEIVE).await {
            Event::Frame(v) => v,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// Nothing but ignored frames arrives within the silence window.
    pub async fn assert_silent(&mut self) {
        match self.next_event(SILENCE).await {
            Event::Timeout => {}
            other => panic!("expected no frame, got {other:?}"),
        }
    }

    /// The server closes the socket within 5 s (frames before it are returned).
    pub async fn wait_closed(&mut self) -> (Vec<Value>, Option<u16>) {
        let mut frames = Vec::new();
        loop {
            match self.next_event(RECEIVE).await {
                Event::Frame(v) => frames.push(v),
                Event::Closed(code) => return (frames, code),
                Event::Timeout => panic!("socket not closed; frames {frames:?}"),
            }
        }
    }

    /// Sends `subscribe` and expects the confirmation echoing `identifier`.
    pub async fn subscribe(&mut self, identifier: &str) {
        self.send(json!({"command": "subscribe", "identifier": identifier}))
            .await;
        assert_eq!(self.receive().await, ack(identifier));
    }

    /// Sends `unsubscribe`.
    pub async fn unsubscribe(&mut self, identifier: &str) {
        self.send(json!({"command": "unsubscribe", "identifier": identifier}))
            .await;
    }

    /// Sends a `message` command with `data` JSON-encoded, as `perform` does.
    pub async fn perform(&mut self, identifier: &str, data: Value) {
        self.send(
            json!({"command": "message", "identifier": identifier, "data": data.to_string()}),
        )
        .await;
    }

    /// Closes the socket from the client side.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Drain until the server's close arrives, so the server has seen it.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(RECEIVE, self.ws.next()).await {}
    }

    /// Stops reading and writing; the socket stays open (a slow consumer).
    pub fn into_inner(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.ws
    }
}

/// `{"identifier":ID,"type":"confirm_subscription"}`.
pub fn ack(identifier: &str) -> Value {
    json!({"identifier": identifier, "type": "confirm_subscription"})
}

/// `{"identifier":ID,"type":"reject_subscription"}`.
pub fn reject(identifier: &str) -> Value {
    json!({"identifier": identifier, "type": "reject_subscription"})
}

/// `{"identifier":ID,"message":M}`.
pub fn data(identifier: &str, message: Value) -> Value {
    json!({"identifier": identifier, "message": message})
}

/// The identifier Ruby's `{channel: name}.to_json` makes.
pub fn id(channel: &str) -> String {
    json!({"channel": format!("Anyt::TestChannels::{channel}")}).to_string()
}
