//! The app's ActionCable channels, registered at startup by [`register`].
//!
//! `SyncChannel` delivers sync markers: identifier
//! `{"channel":"SyncChannel","model":"Account","id":"<sqid>"|"all"}`. The model name is looked
//! up in a fixed table (no reflection on arbitrary strings); `all` is for site admins only;
//! any other id must decode and name a record in the model's `accessible_by` scope of the
//! socket's user (for `User`: the user themselves; `User` has no `all`). Then the
//! subscription streams from `Model:<id>`. Everything else is rejected, indistinguishably.
//! `Admin` (ids `jobs`, `cache`, `cable`: the operations dashboard's markers) is for site
//! admins only.
//! One account's subscription also has that account's presence set (who is looking at it),
//! which the extended protocol's clients see and join as themselves.

use async_trait::async_trait;

use super::broadcast::{self, ACCOUNT, ADMIN_MODEL, ADMIN_TOPICS, USER_MODEL};
use super::{App, User};
use crate::actioncable::{Channel, Context, Registry};

/// Name of the sync-marker channel.
pub const SYNC_CHANNEL: &str = "SyncChannel";

/// Registers the app's channels on `registry`.
pub fn register(registry: &mut Registry, app: &App) {
    let app = app.clone();
    registry.register(SYNC_CHANNEL, move || SyncChannel { app: app.clone() });
}

/// The models a `SyncChannel` may name. Memberships stream through their account
/// (`broadcasts_to parent:`); a user's own stream carries changes made for them (a
/// membership added or ended) and is readable by that user only.
#[derive(Clone, Copy, Debug)]
enum Model {
    Account,
    User,
    Admin,
}

impl Model {
    fn lookup(name: &str) -> Option<Model> {
        match name {
            "Account" => Some(Model::Account),
            "User" => Some(Model::User),
            "Admin" => Some(Model::Admin),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Model::Account => ACCOUNT.model,
            Model::User => USER_MODEL,
            Model::Admin => ADMIN_MODEL,
        }
    }

    /// Whether record `id` of this model is in `user`'s `accessible_by` scope.
    async fn accessible(self, app: &App, user: &User, id: i64) -> bool {
        match self {
            Model::Account => app.account_for(user, id).await.is_ok(),
            Model::User => user.id == id,
            // Named by topic, never by a record id.
            Model::Admin => false,
        }
    }
}

/// One `SyncChannel` subscription.
struct SyncChannel {
    app: App,
}

impl SyncChannel {
    /// The stream this subscription may read and whether it has a presence set (one account's
    /// page; not a list, nor a user's own stream), or `None` to reject.
    async fn authorize(&self, ctx: &Context<'_>) -> Option<(String, bool)> {
        let user = ctx.connection().identity.data::<User>()?;
        let model = Model::lookup(ctx.param("model")?.as_str()?)?;
        let id = ctx.param("id")?.as_str()?;
        if matches!(model, Model::Admin) {
            return (user.site_admin && ADMIN_TOPICS.contains(&id))
                .then(|| (broadcast::stream(ADMIN_MODEL, id), false));
        }
        if id == "all" {
            return (user.site_admin && matches!(model, Model::Account))
                .then(|| (broadcast::stream(model.name(), "all"), false));
        }
        let db_id = self.app.ids().decode(id)?;
        model.accessible(&self.app, user, db_id).await.then(|| {
            let presence = matches!(model, Model::Account);
            (broadcast::stream(model.name(), id), presence)
        })
    }
}

/// How `user` shows in presence sets: their public id, and their name.
pub(crate) fn presence_of(app: &App, user: &User) -> (String, serde_json::Value) {
    (
        app.ids().encode(user.id),
        serde_json::json!({"name": user.name}),
    )
}

#[async_trait]
impl Channel for SyncChannel {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        match self.authorize(ctx).await {
            Some((stream, presence)) => {
                if presence && let Some(user) = ctx.connection().identity.data::<User>() {
                    let (id, info) = presence_of(&self.app, user);
                    ctx.presence(stream.clone(), id, info);
                }
                ctx.stream_from(stream);
            }
            None => {
                tracing::debug!(identifier = ctx.identifier(), "sync subscription rejected");
                ctx.reject();
            }
        }
    }
}
