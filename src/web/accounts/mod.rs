//! Accounts over HTTP: `/accounts` (mine), `/accounts/:id` (one, with members), and
//! `/admin/accounts` (site admins: every account). Every read goes through the domain's
//! `accessible_by` scopes; unknown, malformed and inaccessible ids are the same 404.
//! Allowed-to-see-but-not-to-change is 403; invalid input redirects back with
//! `props.errors`. Pages refresh themselves from sync markers (`SyncChannel`): the markers
//! name a prop, the page reloads just that prop, and the reload is authorized like any visit.

mod admin;
mod forms;
mod members;
mod pages;

pub(super) use forms::{AccountForm, MemberForm};

use axum::Router;
use axum::routing::{get, patch, post};
use serde_json::{Value, json};

use super::AppState;
use crate::app::{self, Account, AccountUser, App};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(pages::index).post(pages::create))
        .route(
            "/accounts/{id}",
            get(pages::show).patch(pages::update).delete(pages::destroy),
        )
        .route("/accounts/{id}/members", post(members::create))
        .route(
            "/account_users/{id}",
            patch(members::update).delete(members::destroy),
        )
        .route("/admin/accounts", get(admin::index))
}

/// `account_props`: what a list of accounts shows.
fn account_props(app: &App, a: &Account) -> Value {
    json!({
        "id": app.ids().encode(a.id),
        "name": a.name,
        "account_type": a.account_type,
        "owner": {"name": a.owner_name, "email_address": a.owner_email},
        "members_count": a.members_count,
        "lock_version": a.lock_version,
        "created_at": a.created_at.to_rfc3339(),
    })
}

/// One membership as `viewer` sees it (`mine`: it is the viewer's own, who may leave).
fn member_props(app: &App, m: &AccountUser, viewer: i64) -> Value {
    json!({
        "id": app.ids().encode(m.id),
        "user": {"name": m.name, "email_address": m.email_address},
        "role": m.role,
        "seen": m.seen,
        "mine": m.user_id == viewer,
        "created_at": m.created_at.to_rfc3339(),
    })
}

/// `detailed_account_props`: one account with its members, and whether `user`
/// may change it. Fails with `NotFound` exactly when the account is not in `user`'s scope.
async fn detailed_account_props(
    app: &App,
    user: &app::User,
    account_id: i64,
) -> app::Result<Value> {
    let account = app.account_for(user, account_id).await?;
    let members = app.members_for(user, account_id).await?;
    let can_manage = app.can_manage(user, account_id).await?;
    let mut props = account_props(app, &account);
    props["members"] = members
        .iter()
        .map(|m| member_props(app, m, user.id))
        .collect();
    props["can_manage"] = json!(can_manage);
    Ok(props)
}
