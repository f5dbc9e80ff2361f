//! The cable checker: classifies every (subscriber, message) pair and every delivery.
//!
//! The promise (README, Real time): a subscription gets every message committed after it was
//! confirmed, in commit (row id) order, each once, for as long as its socket stays open;
//! messages committed while a subscriber has no open subscription (its server died and it
//! has not resubscribed yet) are not replayed, and a resubscription never gets a message
//! from before it. So per subscriber: at most once, in order, nothing missing while
//! connected, nothing acknowledged before a subscribe was sent delivered on that
//! subscription. With `resume` (the future resume-after-reconnect work), nothing may be
//! missing across reconnects either, and a resubscription may get older messages (still
//! once each, in order).

use std::collections::{BTreeMap, HashMap};

use super::ledger::Event;
use super::verdict::Verdict;

pub const DELIVERED: &str = "delivered once";
pub const MISSED_WHILE_AWAY: &str = "missed while disconnected";
pub const DUPLICATED: &str = "duplicated";
pub const MISSING: &str = "missing while connected";
pub const OUT_OF_ORDER: &str = "out of order (deliveries)";
pub const REPLAYED: &str = "replayed: acknowledged before the subscribe (deliveries)";
pub const UNEXPECTED: &str = "delivered, never published";
pub const ACKED_STORED: &str = "broadcast acknowledged, stored";
pub const UNACKED: &str = "broadcast unacknowledged (publisher killed)";
pub const ACKED_NOT_STORED: &str = "broadcast acknowledged, not stored as acknowledged";
pub const AGAINST_REAL_TIME: &str = "commit order against real time";

/// One connection of a subscriber.
#[derive(Debug, Default)]
struct Conn {
    subscribing: usize,
    /// `None` for an attempt whose subscription was never confirmed (its server died).
    confirmed: Option<usize>,
    received: Vec<String>,
    closed: Option<usize>,
}

/// Everything the checker needs besides the ledger: the stored messages (message → row
/// id), the fence (the last message, published once every subscriber was connected) and
/// whether gaps across reconnects are forbidden.
pub struct Inputs<'a> {
    pub stored: &'a HashMap<String, i64>,
    pub fence: &'a str,
    pub resume: bool,
}

/// Classifies the broadcasts and deliveries of `events`.
pub fn check(events: &[Event], inputs: &Inputs<'_>) -> Verdict {
    let mut verdict = Verdict::new(
        "cable (one row per subscriber and message, per delivery for order, per broadcast)",
        &[
            (DELIVERED, true),
            (MISSED_WHILE_AWAY, !inputs.resume),
            (DUPLICATED, false),
            (MISSING, false),
            (OUT_OF_ORDER, false),
            // Resuming is replaying what was missed.
            (REPLAYED, inputs.resume),
            (UNEXPECTED, false),
            (ACKED_STORED, true),
            (UNACKED, true),
            (ACKED_NOT_STORED, false),
            (AGAINST_REAL_TIME, false),
        ],
    );
    let stored = inputs.stored;
    let mut published: HashMap<&str, usize> = HashMap::new();
    let mut acked: HashMap<&str, (usize, i64)> = HashMap::new();
    let mut conns: BTreeMap<(usize, u64), Conn> = BTreeMap::new();
    // Highest row id acknowledged so far, while walking the ledger: a broadcast sent later
    // must commit above it.
    let mut high_acked = 0;
    for (pos, event) in events.iter().enumerate() {
        match event {
            Event::Publish { msg, .. } => {
                published.insert(msg, pos);
                if let Some(&id) = stored.get(msg)
                    && id <= high_acked
                {
                    verdict.add(AGAINST_REAL_TIME, || {
                        format!("{msg} (id {id}) sent after id {high_acked} was acknowledged")
                    });
                }
            }
            Event::Published { msg, id } => {
                acked.insert(msg, (pos, *id));
                high_acked = high_acked.max(*id);
            }
            Event::Subscribing { sub, conn } => {
                conns.entry((*sub, *conn)).or_default().subscribing = pos;
            }
            Event::Confirmed { sub, conn } => {
                conns.entry((*sub, *conn)).or_default().confirmed = Some(pos);
            }
            Event::Received { sub, conn, msg } => {
                conns
                    .entry((*sub, *conn))
                    .or_default()
                    .received
                    .push(msg.clone());
            }
            Event::Closed { sub, conn } => {
                conns.entry((*sub, *conn)).or_default().closed = Some(pos);
            }
            _ => {}
        }
    }
    for msg in published.keys() {
        match (acked.get(msg), stored.get(*msg)) {
            (Some((_, a)), Some(s)) if a == s => verdict.add(ACKED_STORED, String::new),
            (Some((_, a)), s) => verdict.add(ACKED_NOT_STORED, || {
                format!("{msg}: acknowledged id {a}, stored {s:?}")
            }),
            (None, _) => verdict.add(UNACKED, String::new),
        }
    }
    let fence_id = stored.get(inputs.fence).copied().unwrap_or(i64::MAX);
    let mut subs: BTreeMap<usize, Vec<&Conn>> = BTreeMap::new();
    for ((sub, _), conn) in &conns {
        subs.entry(*sub).or_default().push(conn);
    }
    for (sub, conns) in &subs {
        let first = conns
            .iter()
            .filter_map(|c| c.confirmed)
            .min()
            .unwrap_or(usize::MAX);
        let spans: Vec<Span> = conns
            .iter()
            .map(|c| Span::of(c, stored, fence_id))
            .collect();
        let mut times: HashMap<&str, usize> = HashMap::new();
        for (n, conn) in conns.iter().enumerate() {
            let mut last = 0;
            for msg in &conn.received {
                *times.entry(msg).or_default() += 1;
                if let Some(&(ack, _)) = acked.get(msg.as_str())
                    && ack < conn.subscribing
                {
                    verdict.add(REPLAYED, || {
                        format!("subscriber {sub}, connection {n}: {msg}")
                    });
                }
                let Some(&id) = stored.get(msg) else {
                    verdict.add(UNEXPECTED, || format!("subscriber {sub}: {msg}"));
                    continue;
                };
                if id < last {
                    verdict.add(OUT_OF_ORDER, || {
                        format!("subscriber {sub}, connection {n}: id {id} after id {last}")
                    });
                }
                last = last.max(id);
            }
        }
        for (msg, &id) in stored {
            let Some(&sent) = published.get(msg.as_str()) else {
                continue;
            };
            // Not this subscriber's business: sent before it first subscribed, or after
            // the fence (nothing waited for those).
            let seen = times.get(msg.as_str()).copied().unwrap_or(0);
            if seen == 0 && (sent < first || id > fence_id) {
                continue;
            }
            let class = match seen {
                1 => DELIVERED,
                0 if spans.iter().any(|s| s.due(sent, id)) => MISSING,
                0 => MISSED_WHILE_AWAY,
                _ => DUPLICATED,
            };
            verdict.add(class, || {
                format!("subscriber {sub}: {msg} (id {id}) x{seen}")
            });
        }
    }
    verdict
}

/// What one connection proves it was subscribed to: the ids after its subscription and
/// before something it got later.
struct Span {
    confirmed: usize,
    /// Lowest id it got (every id above was committed after the subscription).
    lowest: Option<i64>,
    /// Ids below this had to reach it: its highest id, or past the fence for a connection
    /// still open at the end.
    upper: i64,
}

impl Span {
    fn of(c: &Conn, stored: &HashMap<String, i64>, fence_id: i64) -> Span {
        let ids: Vec<i64> = c
            .received
            .iter()
            .filter_map(|m| stored.get(m).copied())
            .collect();
        let highest = ids.iter().copied().max().unwrap_or(0);
        Span {
            // An attempt never confirmed proves nothing: no message is due on it.
            confirmed: c.confirmed.unwrap_or(usize::MAX),
            lowest: ids.iter().copied().min(),
            upper: match c.closed {
                None => highest.max(fence_id.saturating_add(1)),
                Some(_) => highest,
            },
        }
    }

    /// Whether message `id`, sent at ledger position `sent`, had to reach the connection:
    /// committed after the subscription (sent after the confirmation, or above an id the
    /// connection got) and below its upper bound.
    fn due(&self, sent: usize, id: i64) -> bool {
        let after_subscribe = sent > self.confirmed || self.lowest.is_some_and(|l| id > l);
        after_subscribe && id < self.upper
    }
}
