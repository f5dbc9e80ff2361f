//! The subscribers of the crash test: each holds one ActionCable socket at a time on a live
//! `trifecta serve`, subscribed to `TodosChannel` (the board's stream), and records in the
//! ledger when its subscription is confirmed, every message it gets and when the server
//! side closes. When its server dies it resubscribes on another live one.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::ledger::{Event, Ledger};
use crate::cable_client::{Client, Event as Frame, Opts};
use crate::helpers::TestResult;

/// The addresses of the live servers, kept by the cluster.
pub type Addrs = Arc<Mutex<Vec<SocketAddr>>>;

/// What the test waits for, per subscriber.
#[derive(Clone, Debug, Default)]
struct Status {
    connected: bool,
    got: Vec<String>,
}

/// The running subscribers.
pub struct Subscribers {
    tasks: JoinSet<TestResult>,
    status: Arc<Mutex<Vec<Status>>>,
    token: CancellationToken,
}

impl Subscribers {
    /// Starts `n` subscribers with the session cookie `cookie`.
    pub fn start(n: usize, addrs: &Addrs, cookie: &str, ledger: &Arc<Ledger>) -> Subscribers {
        let status = Arc::new(Mutex::new(vec![Status::default(); n]));
        let token = CancellationToken::new();
        let mut tasks = JoinSet::new();
        for sub in 0..n {
            let one = One {
                sub,
                addrs: addrs.clone(),
                cookie: cookie.to_owned(),
                ledger: ledger.clone(),
                status: status.clone(),
            };
            tasks.spawn(one.run(token.clone()));
        }
        Subscribers {
            tasks,
            status,
            token,
        }
    }

    /// Whether every subscriber holds a confirmed subscription now.
    pub fn all_connected(&self) -> bool {
        self.status
            .lock()
            .expect("status")
            .iter()
            .all(|s| s.connected)
    }

    /// Whether every subscriber got message `msg`.
    pub fn all_got(&self, msg: &str) -> bool {
        let status = self.status.lock().expect("status");
        status.iter().all(|s| s.got.iter().any(|m| m == msg))
    }

    /// Stops them, leaving their sockets as they are (no `Closed` line): a connection
    /// without one was open until the end.
    pub async fn stop(mut self) -> TestResult {
        self.token.cancel();
        while let Some(done) = self.tasks.join_next().await {
            done??;
        }
        Ok(())
    }
}

struct One {
    sub: usize,
    addrs: Addrs,
    cookie: String,
    ledger: Arc<Ledger>,
    status: Arc<Mutex<Vec<Status>>>,
}

impl One {
    async fn run(self, token: CancellationToken) -> TestResult {
        for conn in 0.. {
            if token.is_cancelled() {
                break;
            }
            let addr = {
                let addrs = self.addrs.lock().expect("addrs");
                (!addrs.is_empty()).then(|| addrs[fastrand::usize(..addrs.len())])
            };
            let done = match addr {
                Some(addr) => self.session(addr, conn, &token).await?,
                None => false,
            };
            if done {
                break;
            }
            // Back-off before the next attempt, as a client's reconnect does.
            tokio::select! {
                () = token.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        Ok(())
    }

    /// One connection to `addr`: `Ok(true)` when the test stopped the subscriber while it
    /// was connected, `Ok(false)` when the connection failed or the server closed it.
    async fn session(
        &self,
        addr: SocketAddr,
        conn: u64,
        token: &CancellationToken,
    ) -> TestResult<bool> {
        let Some((mut client, early)) = self.subscribe(addr, conn).await? else {
            return Ok(false);
        };
        let sub = self.sub;
        self.ledger.append(&Event::Confirmed { sub, conn })?;
        self.status.lock().expect("status")[sub].connected = true;
        for msg in early {
            self.received(conn, msg)?;
        }
        loop {
            let frame = tokio::select! {
                () = token.cancelled() => return Ok(true),
                f = client.next_event(Duration::from_secs(60)) => f,
            };
            match frame {
                Frame::Frame(v) => {
                    if let Some(msg) = v["message"]["crash"].as_str() {
                        self.received(conn, msg.to_owned())?;
                    }
                }
                Frame::Timeout => {}
                Frame::Closed(_) => {
                    self.status.lock().expect("status")[sub].connected = false;
                    self.ledger.append(&Event::Closed { sub, conn })?;
                    return Ok(false);
                }
            }
        }
    }

    fn received(&self, conn: u64, msg: String) -> TestResult {
        let sub = self.sub;
        self.ledger.append(&Event::Received {
            sub,
            conn,
            msg: msg.clone(),
        })?;
        self.status.lock().expect("status")[sub].got.push(msg);
        Ok(())
    }

    /// A socket on `addr` with a confirmed `TodosChannel` subscription and the messages
    /// that came before the confirmation, or `None` when the server went away first.
    async fn subscribe(
        &self,
        addr: SocketAddr,
        conn: u64,
    ) -> TestResult<Option<(Client, Vec<String>)>> {
        let opts = Opts::default()
            .ignore(&["ping", "welcome"])
            .header("cookie", &format!("_trifecta_session={}", self.cookie));
        let within = Duration::from_secs(10);
        let connect = tokio::time::timeout(within, Client::try_connect(addr, opts)).await;
        let Ok(Ok(mut client)) = connect else {
            return Ok(None);
        };
        let identifier = json!({"channel": "TodosChannel"}).to_string();
        let command = json!({"command": "subscribe", "identifier": identifier});
        let sub = self.sub;
        self.ledger.append(&Event::Subscribing { sub, conn })?;
        if client.try_send(command).await.is_err() {
            return Ok(None);
        }
        let mut early = Vec::new();
        loop {
            match client.next_event(within).await {
                Frame::Frame(v) if v["type"] == "confirm_subscription" => {
                    return Ok(Some((client, early)));
                }
                Frame::Frame(v) if v["message"]["crash"].is_string() => {
                    early.extend(v["message"]["crash"].as_str().map(str::to_owned));
                }
                Frame::Frame(v) if v["type"] == "reject_subscription" => {
                    panic!("TodosChannel rejected the subscription: {v}")
                }
                // The board's first page, transmitted before the confirmation.
                Frame::Frame(Value::Object(_)) => {}
                Frame::Frame(_) | Frame::Timeout | Frame::Closed(_) => return Ok(None),
            }
        }
    }
}
