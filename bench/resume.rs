//! The catch-up of reliable real time: 1,000 clients on AnyCable's extended protocol,
//! subscribed to one stream, lose the server to `kill -9`; a new server on the same storage
//! and port broadcasts 20 messages; then every client comes back at once, restores its
//! session (`?sid=`), asks for its history from the last offset it had, and is caught up
//! when its 20 messages and `confirm_history` arrived. Reports the time from the moment the
//! clients reconnect to each one's catch-up (p50, p95, max), and how many were restored.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::support::ws;
use super::{BoxError, IDENTIFIER, SOURCES, Server, ms, percentile, pipeline};

/// Broadcasts each client misses.
const MISSED: u64 = 20;

/// Runs the case; `smoke` with 2 clients.
pub async fn catch_up(smoke: bool, out: &mut std::io::Stdout) -> Result<Value, BoxError> {
    let n = if smoke { 2 } else { 1_000 };
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let vars = [
        ("CABLE_BENCH_DIR", dir.path().display().to_string()),
        ("CABLE_BENCH_BIND", port.to_string()),
    ];
    let mut first = Server::spawn_with("instant", &vars).await?;
    let session = pipeline::sign_up(first.addr).await?.2;
    let mut clients = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(250) {
        let joins: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let source = ws::source(i, SOURCES);
                tokio::spawn(subscribed(first.addr, source, session.clone()))
            })
            .collect();
        for j in joins {
            clients.push(j.await??);
        }
    }
    // One broadcast every client gets: where each one's history starts.
    first.broadcast(0).await?;
    let mut positions = Vec::with_capacity(n);
    for (sid, mut socket) in clients {
        let (epoch, offset) = next_offset(&mut socket).await?;
        positions.push((sid, epoch, offset));
    }
    // A crash: the clients are told nothing; their sockets just end.
    first.child.kill().await?;
    let mut second = Server::spawn_with("instant", &vars).await?;
    for seq in 1..=MISSED {
        second.broadcast(seq).await?;
    }
    // The server reads its stdin in order: an answer means the broadcasts are committed.
    second.sockets().await?;
    let t0 = Instant::now();
    let joins: Vec<_> = positions
        .into_iter()
        .enumerate()
        .map(|(i, (sid, epoch, offset))| {
            let source = ws::source(i, SOURCES);
            tokio::spawn(resume_one(
                second.addr,
                source,
                session.clone(),
                sid,
                epoch,
                offset,
                t0,
            ))
        })
        .collect();
    let mut took = Vec::with_capacity(n);
    let mut restored = 0usize;
    for j in joins {
        let (elapsed, was_restored) = j.await??;
        took.push(elapsed);
        restored += usize::from(was_restored);
    }
    second.stop().await?;
    took.sort();
    let max = took.last().copied().unwrap_or_default();
    writeln!(out)?;
    writeln!(
        out,
        "| clients resuming after kill -9 | missed each | restored | caught up p50 ms | p95 ms | max ms |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    writeln!(
        out,
        "| {n} | {MISSED} | {restored} | {} | {} | {} |",
        ms(percentile(&took, 0.50)),
        ms(percentile(&took, 0.95)),
        ms(max),
    )?;
    out.flush()?;
    let f = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(json!({
        "clients": n,
        "restored": restored,
        "p50_ms": f(percentile(&took, 0.50)),
        "p95_ms": f(percentile(&took, 0.95)),
        "max_ms": f(max),
    }))
}

/// A subscribed extended-protocol socket and its session id.
async fn subscribed(
    addr: SocketAddr,
    source: Ipv4Addr,
    session: String,
) -> Result<(String, ws::Socket), BoxError> {
    let mut socket = ws::open_ext(addr, source, &session, None).await?;
    let welcome = next_json(&mut socket, |v| v["type"] == "welcome").await?;
    let sid = welcome["sid"]
        .as_str()
        .ok_or("a welcome without sid")?
        .to_owned();
    ws::subscribe(&mut socket, [IDENTIFIER]).await?;
    Ok((sid, socket))
}

/// The epoch and offset of the next broadcast frame.
async fn next_offset(socket: &mut ws::Socket) -> Result<(String, i64), BoxError> {
    let frame = next_json(socket, |v| v.get("offset").is_some()).await?;
    let epoch = frame["epoch"].as_str().ok_or("no epoch")?.to_owned();
    let offset = frame["offset"].as_i64().ok_or("no offset")?;
    Ok((epoch, offset))
}

/// Reconnects presenting `sid`, asks for the history after `offset`, and returns the time
/// from `t0` to `confirm_history` (after exactly [`MISSED`] messages) and whether the
/// session was restored.
async fn resume_one(
    addr: SocketAddr,
    source: Ipv4Addr,
    session: String,
    sid: String,
    epoch: String,
    offset: i64,
    t0: Instant,
) -> Result<(Duration, bool), BoxError> {
    let mut socket = ws::open_ext(addr, source, &session, Some(&sid)).await?;
    let welcome = next_json(&mut socket, |v| v["type"] == "welcome").await?;
    let restored = welcome["restored"] == true;
    let history = json!({"streams": {"bench": {"epoch": epoch, "offset": offset}}});
    let command = if restored {
        json!({"command": "history", "identifier": IDENTIFIER, "history": history})
    } else {
        json!({"command": "subscribe", "identifier": IDENTIFIER, "history": history})
    };
    socket
        .send(Message::Text(command.to_string().into()))
        .await?;
    let mut got = 0;
    loop {
        let frame = next_json(&mut socket, |_| true).await?;
        if frame.get("offset").is_some() {
            got += 1;
        } else if frame["type"] == "confirm_history" {
            break;
        } else if frame["type"] == "reject_history" {
            return Err("the history was refused".into());
        }
    }
    if got != MISSED {
        return Err(format!("caught up with {got} messages, not {MISSED}").into());
    }
    Ok((t0.elapsed(), restored))
}

/// The next text frame (as JSON) for which `wanted` holds, within 30 s.
async fn next_json(
    socket: &mut ws::Socket,
    wanted: impl Fn(&Value) -> bool,
) -> Result<Value, BoxError> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await?
            .ok_or("the socket closed")??;
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(&text)?;
            if wanted(&v) {
                return Ok(v);
            }
        }
    }
}
