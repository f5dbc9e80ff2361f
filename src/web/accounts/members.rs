//! Memberships: add by email (`POST /accounts/:id/members`), change a role
//! (`PATCH /account_users/:id` with `member[role]`), remove (`DELETE /account_users/:id`).

use axum::extract::{Path, State};
use axum::response::Response;

use super::forms::MemberForm;
use super::{ApiError, decode, refused};
use crate::actioncable::ActionCable;
use crate::app::{self, App, Role};
use crate::inertia::{Errors, Inertia};
use crate::web::auth::CurrentUser;
use crate::web::cable_auth::disconnect_sessions;
use crate::web::input::Input;

fn invalid(inertia: Inertia, back: &str, field: &str, message: String) -> Response {
    inertia
        .errors(Errors::new().add(field, message))
        .redirect(back)
}

/// `POST /accounts/:id/members` with `member[email_address]` and `member[role]`.
pub(super) async fn create(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
    Input(form): Input<MemberForm>,
) -> Result<Response, ApiError> {
    let account_id = decode(&app, &id)?;
    let back = format!("/accounts/{id}");
    let added = match Role::parse(form.role()) {
        Ok(role) => {
            app.add_member(&user, account_id, form.email_address(), role)
                .await
        }
        Err(e) => Err(e),
    };
    match added {
        Ok(_) => Ok(inertia.flash("notice", "Member added.").redirect(&back)),
        Err(app::Error::Invalid { field, message }) => {
            // Access first: an outsider learns nothing from validation messages.
            app.account_for(&user, account_id).await.map_err(refused)?;
            Ok(invalid(inertia, &back, field, message))
        }
        Err(e) => Err(refused(e)),
    }
}

/// `PATCH /account_users/:id` with `member[role]`.
pub(super) async fn update(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
    Input(form): Input<MemberForm>,
) -> Result<Response, ApiError> {
    let membership_id = decode(&app, &id)?;
    let membership = app
        .account_user_for(&user, membership_id)
        .await
        .map_err(refused)?;
    let back = format!("/accounts/{}", app.ids().encode(membership.account_id));
    let changed = match Role::parse(form.role()) {
        Ok(role) => app.change_role(&user, membership_id, role).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(_) => Ok(inertia.flash("notice", "Role changed.").redirect(&back)),
        Err(app::Error::Invalid { field, message }) => Ok(invalid(inertia, &back, field, message)),
        Err(e) => Err(refused(e)),
    }
}

/// `DELETE /account_users/:id`. The removed user's sockets are disconnected, on every server
/// sharing the storage, with `reconnect: true`: their clients reconnect and resubscribe, and `SyncChannel` authorizes
/// every subscription afresh, so the account's markers stop reaching them (as Rails'
/// `remote_connections.where(current_user:).disconnect`).
pub(super) async fn destroy(
    State(app): State<App>,
    State(actioncable): State<ActionCable>,
    CurrentUser { user, .. }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let membership_id = decode(&app, &id)?;
    let membership = app
        .account_user_for(&user, membership_id)
        .await
        .map_err(refused)?;
    let back = format!("/accounts/{}", app.ids().encode(membership.account_id));
    let removed = app.remove_member(&user, membership_id).await;
    if let Ok(gone) = &removed {
        match app.session_ids_of(gone.user_id).await {
            Ok(sessions) => disconnect_sessions(&actioncable, &sessions, true).await,
            Err(err) => tracing::warn!(cause = %err, "cannot list the removed member's sessions"),
        }
    }
    match removed {
        Ok(removed) if removed.user_id == user.id && !user.site_admin => Ok(inertia
            .flash("notice", "You left the account.")
            .redirect("/accounts")),
        Ok(_) => Ok(inertia.flash("notice", "Member removed.").redirect(&back)),
        Err(app::Error::Invalid { field, message }) => Ok(invalid(inertia, &back, field, message)),
        Err(e) => Err(refused(e)),
    }
}
