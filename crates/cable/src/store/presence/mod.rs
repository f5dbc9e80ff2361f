//! The store side of presence: `trifecta_cable_presence` on either backend. Every change that
//! makes a presence id appear on a stream or vanish from it writes its event (a message on
//! the stream's presence channel) in the same transaction, so events are in the order the
//! changes committed, across processes. On PostgreSQL those transactions also take the
//! publish lock, which orders them against each other.

mod postgres;
mod sqlite;

use std::sync::Arc;

use trifecta_store::{Backend, Timestamp};

use super::Store;
use crate::Message;
use crate::Result;
use crate::presence::{Present, channel, leave_event};

/// One session joining a stream's presence set.
#[derive(Clone, Debug)]
pub(crate) struct Join {
    pub(crate) stream: String,
    /// The session (its id), one row per stream.
    pub(crate) member: String,
    /// The presence id it counts as.
    pub(crate) id: String,
    /// The info (JSON text) shown for it.
    pub(crate) info: String,
    /// The process keeping it alive.
    pub(crate) node: String,
    pub(crate) expires_at: Timestamp,
    /// The join event (JSON text), written only when the id is new on the stream.
    pub(crate) event: String,
}

/// An event message as written, for local delivery.
fn message(id: i64, stream: &str, payload: String, now: Timestamp) -> Message {
    Message {
        id,
        channel: Arc::from(channel(stream)),
        payload: Arc::from(payload),
        created_at: now,
    }
}

impl Store {
    /// Adds (or renews) `join`'s row; the join event written when its id is new on the
    /// stream.
    pub(crate) async fn presence_join(
        &self,
        join: Join,
        now: Timestamp,
    ) -> Result<Option<Message>> {
        let written = match &self.0 {
            Backend::Sqlite(db) => {
                let join = join.clone();
                db.write(move |tx| sqlite::join(tx, &join, now)).await?
            }
            Backend::Postgres(pg) => postgres::join(pg, &join, now).await?,
        };
        Ok(written.map(|id| message(id, &join.stream, join.event, now)))
    }

    /// Removes `member`'s row on `stream`; the leave event written when it was the last of
    /// its id.
    pub(crate) async fn presence_leave(
        &self,
        stream: String,
        member: String,
        now: Timestamp,
    ) -> Result<Option<Message>> {
        let gone = match &self.0 {
            Backend::Sqlite(db) => {
                let (s, m) = (stream.clone(), member);
                db.write(move |tx| sqlite::leave(tx, &s, &m, now)).await?
            }
            Backend::Postgres(pg) => postgres::leave(pg, &stream, &member, now).await?,
        };
        Ok(gone.map(|(msg, id)| message(msg, &stream, leave_event(&id), now)))
    }

    /// Detaches `member`'s rows (its socket closed) until `expires_at`.
    pub(crate) async fn presence_detach(
        &self,
        member: String,
        expires_at: Timestamp,
    ) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::detach(tx, &member, expires_at))
                    .await
            }
            Backend::Postgres(pg) => postgres::detach(pg, &member, expires_at).await,
        }
    }

    /// Extends the rows `node` keeps alive to `expires_at`.
    pub(crate) async fn presence_refresh(&self, node: String, expires_at: Timestamp) -> Result<()> {
        match &self.0 {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::refresh(tx, &node, expires_at))
                    .await
            }
            Backend::Postgres(pg) => postgres::refresh(pg, &node, expires_at).await,
        }
    }

    /// Whether any row expired by `now` (a read, so idle sweeps write nothing).
    pub(crate) async fn presence_expired(&self, now: Timestamp) -> Result<bool> {
        match &self.0 {
            Backend::Sqlite(db) => db.call(move |conn| sqlite::expired(conn, now)).await,
            Backend::Postgres(pg) => postgres::expired(pg, now).await,
        }
    }

    /// Deletes the rows expired by `now`; writes and returns a leave event for each id that
    /// had its last row among them.
    pub(crate) async fn presence_sweep(&self, now: Timestamp) -> Result<Vec<Message>> {
        let gone = match &self.0 {
            Backend::Sqlite(db) => db.write(move |tx| sqlite::sweep(tx, now)).await?,
            Backend::Postgres(pg) => postgres::sweep(pg, now).await?,
        };
        Ok(gone
            .into_iter()
            .map(|(msg, stream, id)| message(msg, &stream, leave_event(&id), now))
            .collect())
    }

    /// The ids present on `stream`, each once, with the info of one of its rows; sorted by id.
    pub(crate) async fn presence_list(&self, stream: String) -> Result<Vec<Present>> {
        let rows = match &self.0 {
            Backend::Sqlite(db) => db.call(move |conn| sqlite::list(conn, &stream)).await?,
            Backend::Postgres(pg) => postgres::list(pg, &stream).await?,
        };
        let mut out: Vec<Present> = Vec::with_capacity(rows.len());
        for (id, info) in rows {
            if out.last().is_none_or(|p| p.id != id) {
                out.push(Present { id, info });
            }
        }
        Ok(out)
    }
}
