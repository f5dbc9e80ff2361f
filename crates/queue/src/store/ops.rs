//! The store seam of the operational views and the minute statistics: one async method per
//! operation on whichever backend the store is, as in the parent module, plus the row
//! assembly both backends share.

use std::collections::BTreeMap;

use trifecta_store::{Backend, Timestamp};

use super::model::ProcessRow;
use super::views::{
    Minute, MinuteDelta, ProcessDetail, QueueSummary, RunningJob, TaskRecord, TaskSummary,
};
use super::{Store, postgres, sqlite};
use crate::error::Result;

impl Store {
    /// Every queue with jobs waiting or running, paused, or with minute statistics since
    /// `recent_since`, by name.
    pub(crate) async fn queues(&self, recent_since: Timestamp) -> Result<Vec<QueueSummary>> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.call(move |c| sqlite::views::queues(c, recent_since))
                    .await
            }
            Backend::Postgres(pg) => postgres::views::queues(pg, recent_since).await,
        }
    }

    /// Every registered process with the jobs it has claimed.
    pub(crate) async fn process_details(&self) -> Result<Vec<ProcessDetail>> {
        match &self.backend {
            Backend::Sqlite(db) => db.call(sqlite::views::process_details).await,
            Backend::Postgres(pg) => postgres::views::process_details(pg).await,
        }
    }

    /// Every recurring task with its last run.
    pub(crate) async fn tasks(&self) -> Result<Vec<TaskSummary>> {
        match &self.backend {
            Backend::Sqlite(db) => db.call(|c| sqlite::views::tasks(c)).await,
            Backend::Postgres(pg) => postgres::views::tasks(pg).await,
        }
    }

    /// The row of recurring task `key`.
    pub(crate) async fn task(&self, key: String) -> Result<Option<TaskRecord>> {
        match &self.backend {
            Backend::Sqlite(db) => db.call(move |c| sqlite::views::task(c, &key)).await,
            Backend::Postgres(pg) => postgres::views::task(pg, &key).await,
        }
    }

    /// Adds `deltas` to node `node`'s rows of `minute`, then deletes every node's rows
    /// older than `prune_before` when given.
    pub(crate) async fn add_minutes(
        &self,
        minute: Timestamp,
        node: i64,
        deltas: Vec<MinuteDelta>,
        prune_before: Option<Timestamp>,
    ) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::minutes::add(tx, minute, node, &deltas, prune_before))
                    .await
            }
            Backend::Postgres(pg) => {
                postgres::retry(|| postgres::minutes::add(pg, minute, node, &deltas, prune_before))
                    .await
            }
        }
    }

    /// Every server's statistics from minute `since` on, summed per minute, oldest first.
    pub(crate) async fn minutes(&self, since: Timestamp) -> Result<Vec<Minute>> {
        match &self.backend {
            Backend::Sqlite(db) => db.call(move |c| sqlite::minutes::read(c, since)).await,
            Backend::Postgres(pg) => postgres::minutes::read(pg, since).await,
        }
    }
}

/// Adds one row of the queues query (`kind` = ready, scheduled, claimed, blocked, paused
/// or recent) to the summaries by name.
pub(crate) fn add_queue_row(
    out: &mut BTreeMap<String, QueueSummary>,
    kind: &str,
    name: String,
    n: i64,
    oldest: Option<Timestamp>,
) {
    let q = out.entry(name).or_insert_with_key(|name| QueueSummary {
        name: name.clone(),
        ..QueueSummary::default()
    });
    match kind {
        "ready" => {
            q.ready = n;
            q.oldest_ready_at = oldest;
        }
        "scheduled" => q.scheduled = n,
        "claimed" => q.claimed = n,
        "blocked" => q.blocked = n,
        "paused" => q.paused = true,
        _ => {}
    }
}

/// Each process row with its claimed jobs (`running` sorted by process, then job).
pub(crate) fn join_running(
    rows: Vec<ProcessRow>,
    running: Vec<(i64, RunningJob)>,
) -> Vec<ProcessDetail> {
    let mut by_process: BTreeMap<i64, Vec<RunningJob>> = BTreeMap::new();
    for (process, job) in running {
        by_process.entry(process).or_default().push(job);
    }
    rows.into_iter()
        .map(|row| ProcessDetail {
            running: by_process.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect()
}
