//! `/accounts` and `/accounts/:id`: list, create, show, rename, delete. The list also tells
//! the user, once, about memberships others made for them (prop `added`), and names their
//! own sync stream (prop `me`) so it follows memberships made or ended for them.

use axum::extract::{Path, State};
use axum::response::Response;

use serde_json::{Value, json};

use super::forms::AccountForm;
use super::{account_props, detailed_account_props};
use crate::app::App;
use crate::inertia::{Inertia, Props};
use crate::web::ApiError;
use crate::web::answer::{answer, decode};
use crate::web::auth::CurrentUser;
use crate::web::input::Input;

const INDEX: &str = "Accounts/Index";

/// `GET /accounts`: the accounts I belong to (prop `accounts`), the memberships others made
/// for me that I have not been told about (prop `added`: on full visits and reloads that
/// name it; shown once), and my own stream's id (prop `me`).
pub(super) async fn index(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let accounts = app.accounts_of(&user).await?;
    let accounts: Vec<_> = accounts.iter().map(|a| account_props(&app, a)).collect();
    let request = inertia.request();
    let tells = !request.is_partial_for(INDEX) || request.partial_data.iter().any(|p| p == "added");
    let added: Vec<Value> = if tells {
        let additions = app.acknowledge_additions(&user).await?;
        additions
            .iter()
            .map(|a| {
                json!({
                    "account": {"id": app.ids().encode(a.account_id), "name": a.account_name},
                    "role": a.role,
                    "added_by": a.added_by,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let props = Props::new()
        .prop("accounts", accounts)
        .prop("added", added)
        .prop("me", app.ids().encode(user.id));
    Ok(inertia.render(INDEX, props).await?)
}

/// `POST /accounts` with `account[name]`: a team account I own.
pub(super) async fn create(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    inertia: Inertia,
    Input(form): Input<AccountForm>,
) -> Result<Response, ApiError> {
    let created = app.create_account(&user, form.name()).await;
    answer(inertia, "/accounts", created, |inertia, account| {
        inertia
            .flash("notice", "Account created.")
            .redirect(&format!("/accounts/{}", app.ids().encode(account.id)))
    })
}

/// `GET /accounts/:id`: one account with its members (prop `account`).
pub(super) async fn show(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let account_id = decode(&app, &id)?;
    let account = detailed_account_props(&app, &user, account_id).await?;
    Ok(inertia
        .render("Accounts/Show", Props::new().prop("account", account))
        .await?)
}

/// `PATCH /accounts/:id` with `account[name]` and `account[lock_version]`, the version the
/// user saw: a rename by someone else since then refuses the change with an error on
/// `lock_version` that names the current name.
pub(super) async fn update(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
    Input(form): Input<AccountForm>,
) -> Result<Response, ApiError> {
    let account_id = decode(&app, &id)?;
    let back = format!("/accounts/{id}");
    let renamed = match form.lock_version() {
        Ok(expected) => {
            app.rename_account(&user, account_id, form.name(), expected)
                .await
        }
        Err(invalid) => {
            // Access first: an outsider learns nothing from validation messages.
            app.account_for(&user, account_id).await?;
            Err(invalid)
        }
    };
    answer(inertia, &back, renamed, |inertia, _| {
        inertia.flash("notice", "Account renamed.").redirect(&back)
    })
}

/// `DELETE /accounts/:id`.
pub(super) async fn destroy(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let account_id = decode(&app, &id)?;
    app.delete_account(&user, account_id).await?;
    Ok(inertia
        .flash("notice", "Account deleted.")
        .redirect("/accounts"))
}
