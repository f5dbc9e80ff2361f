//! Memberships: add by email (`POST /accounts/:id/members`), change a role
//! (`PATCH /account_users/:id` with `member[role]`), remove or leave
//! (`DELETE /account_users/:id`).

use axum::extract::{Path, State};
use axum::response::Response;

use super::forms::MemberForm;
use crate::actioncable::ActionCable;
use crate::app::broadcast::{ACCOUNT, stream};
use crate::app::{self, AccountUser, App, Role};
use crate::inertia::Inertia;
use crate::web::ApiError;
use crate::web::answer::{answer, decode};
use crate::web::auth::CurrentUser;
use crate::web::cable_auth::SessionConnect;
use crate::web::error::Chain;
use crate::web::input::Input;

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
    if let Err(app::Error::Invalid { .. }) = added {
        // Access first: an outsider learns nothing from validation messages.
        app.account_for(&user, account_id).await?;
    }
    answer(inertia, &back, added, |inertia, member| {
        // Only what the adder typed: the user's name is not theirs to learn.
        inertia
            .flash(
                "notice",
                format!(
                    "Added {}. They will see a notice on their accounts page.",
                    member.email_address
                ),
            )
            .redirect(&back)
    })
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
    let membership = app.account_user_for(&user, membership_id).await?;
    let back = format!("/accounts/{}", app.ids().encode(membership.account_id));
    let changed = match Role::parse(form.role()) {
        Ok(role) => app.change_role(&user, membership_id, role).await,
        Err(e) => Err(e),
    };
    answer(inertia, &back, changed, |inertia, _| {
        inertia.flash("notice", "Role changed.").redirect(&back)
    })
}

/// `DELETE /account_users/:id`: a manager removes a member, or a member leaves. Access ends
/// at once: on every server sharing the storage, the removed user's sockets end their
/// subscriptions to the account's stream (`reject_subscription`; the rest of each socket
/// carries on), so an open page of the account leaves within a round trip. A member who
/// leaves keeps this session's subscriptions: the page that asked moves on by itself.
pub(super) async fn destroy(
    State(app): State<App>,
    State(actioncable): State<ActionCable>,
    CurrentUser { user, session }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let membership_id = decode(&app, &id)?;
    let membership = app.account_user_for(&user, membership_id).await?;
    let back = format!("/accounts/{}", app.ids().encode(membership.account_id));
    let removed = app.remove_member(&user, membership_id).await;
    if let Ok(gone) = &removed {
        let keep = (gone.user_id == user.id).then_some(session.id);
        revoke(&app, &actioncable, gone, keep).await;
    }
    answer(inertia, &back, removed, |inertia, removed| {
        if removed.user_id == user.id && !user.site_admin {
            inertia
                .flash("notice", "You left the account.")
                .redirect("/accounts")
        } else {
            inertia.flash("notice", "Member removed.").redirect(&back)
        }
    })
}

/// Ends the removed member's subscriptions to the account's stream on every server, except
/// those of session `keep`. A site admin still sees every account: nothing to end.
async fn revoke(app: &App, actioncable: &ActionCable, gone: &AccountUser, keep: Option<i64>) {
    match app.user(gone.user_id).await {
        Ok(member) if member.site_admin => return,
        Ok(_) => {}
        Err(err) => tracing::warn!(cause = %Chain(&err), "cannot look up the removed member"),
    }
    let sessions = match app.session_ids_of(gone.user_id).await {
        Ok(sessions) => sessions,
        Err(err) => {
            tracing::error!(cause = %Chain(&err), "cannot list the removed member's sessions");
            return;
        }
    };
    let sessions: Vec<i64> = sessions.into_iter().filter(|s| Some(*s) != keep).collect();
    let identities = SessionConnect::identities_of(&sessions);
    let streams = [stream(ACCOUNT.model, &app.ids().encode(gone.account_id))];
    if let Err(err) = actioncable
        .unsubscribe_everywhere(&identities, &streams)
        .await
    {
        tracing::error!(
            cause = %err,
            sessions = sessions.len(),
            "cannot order other servers to end the removed member's subscriptions"
        );
    }
}
