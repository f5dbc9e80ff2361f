//! Publishing: turns a committed change of a Broadcastable model into its sync markers
//! (see [`super::broadcast`]) and broadcasts them through Solid Cable. The App methods call
//! [`App::published`] once per change; what is announced where comes only from the model's
//! declaration.

use super::App;
use super::broadcast::{self, Change, Declaration};

impl App {
    /// Broadcasts the markers of one committed change of record `id` of `decl`'s model,
    /// whose parent (for `broadcasts_to parent:` targets) is `parent` as `(model, id)`.
    /// Does nothing without a cable. A failed broadcast is logged, never returned: the
    /// change itself is committed, and the next change or reload catches the page up.
    pub(super) async fn published(
        &self,
        decl: &Declaration,
        change: Change,
        id: i64,
        parent: Option<(&str, i64)>,
    ) {
        if self.cable.is_none() {
            return;
        }
        let public_id = self.ids.encode(id);
        let markers = broadcast::markers(decl, change, &public_id, |model| {
            parent
                .filter(|(m, _)| *m == model)
                .map(|(_, pid)| self.ids.encode(pid))
        });
        for (stream, marker) in markers {
            self.marker(&stream, &marker).await;
        }
    }

    /// Broadcasts one sync marker on `stream`; a failure is logged, as in [`App::published`].
    pub(super) async fn marker(&self, stream: &str, marker: &serde_json::Value) {
        let Some(cable) = &self.cable else { return };
        match cable.broadcast(stream, marker).await {
            Ok(_) => tracing::debug!(%stream, %marker, "sync marker"),
            Err(err) => {
                tracing::warn!(%stream, cause = %err, "cannot broadcast a sync marker");
            }
        }
    }
}
