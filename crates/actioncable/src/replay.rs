//! History replays of the extended protocol: the `history` command (and the `history` of
//! `subscribe`) answered with every message of the gap, per stream up to the floor the
//! stream started at, in id order, then `confirm_history`; or, when any stream's gap is not
//! kept whole, nothing but `reject_history` (never a partial replay).

use trifecta_cable::{History, Start, Timestamp};

use super::frame::{self, HistoryRequest};
use super::session::{Gone, Session};

impl Session {
    /// The `history` command: starts a parked subscription's streams, then replays.
    pub(super) async fn history(
        &mut self,
        identifier: &str,
        request: &HistoryRequest,
    ) -> Result<(), Gone> {
        if self.ext.is_none() {
            self.ignored("history without the extended protocol");
            return Ok(());
        }
        let Some(key) = self.subs.get_key_value(identifier).map(|(k, _)| k.clone()) else {
            tracing::debug!(identifier, "history for an unknown subscription");
            return Ok(());
        };
        self.unpark(&key).await;
        self.replay(&key, request).await
    }

    /// Replays the gap `request` names for the subscription `key`: every message of each
    /// of its streams up to the floor the stream started at, in id order, then
    /// `confirm_history`; or only `reject_history` when any stream's gap is not kept whole.
    pub(super) async fn replay(&mut self, key: &str, request: &HistoryRequest) -> Result<(), Gone> {
        let Some(ext) = &self.ext else {
            return Ok(());
        };
        let epoch_json = ext.epoch_json.clone();
        let Some(sub) = self.subs.get(key) else {
            return Ok(());
        };
        let id_json = sub.id_json.clone();
        // Presence channels have no history to replay (their events are not messages).
        let floors: Vec<(String, i64)> = sub
            .streams
            .iter()
            .filter(|s| !s.starts_with(trifecta_cable::PRESENCE_PREFIX))
            .filter_map(|s| self.join_floor(s, &id_json).map(|f| (s.clone(), f)))
            .collect();
        let cable = self.server.inner.cable.clone();
        let mut messages = Vec::new();
        for (stream, floor) in floors {
            let start = match (request.position(&stream), request.since) {
                (Some((epoch, offset)), _) => Start::Offset {
                    epoch: epoch.to_owned(),
                    offset,
                },
                (None, Some(since)) => Start::Since(Timestamp(since.saturating_mul(1_000_000))),
                (None, None) => continue,
            };
            match cable.history(&stream, &start, floor).await {
                Ok(History::Replay(found)) => messages.extend(found),
                Ok(History::Gap(gap)) => {
                    tracing::info!(stream, %gap, "a history gap cannot be replayed whole");
                    return self.reject_history(&id_json).await;
                }
                Err(err) => {
                    tracing::error!(cause = %err, stream, "cannot read a stream's history");
                    return self.reject_history(&id_json).await;
                }
            }
        }
        messages.sort_by_key(|m| m.id);
        let mut frames = Vec::with_capacity(messages.len() + 1);
        for m in &messages {
            frames.push(frame::data_ext(
                &id_json,
                &m.payload,
                &m.channel,
                &epoch_json,
                m.id,
            ));
        }
        frames.push(frame::confirm_history(&id_json));
        self.server
            .inner
            .counters
            .replayed_messages
            .fetch_add(messages.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.write(frames).await
    }

    async fn reject_history(&mut self, id_json: &str) -> Result<(), Gone> {
        self.server
            .inner
            .counters
            .rejected_histories
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.write(vec![frame::reject_history(id_json)]).await
    }
}
