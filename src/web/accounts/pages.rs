//! `/accounts` and `/accounts/:id`: list, create, show, rename, delete.

use axum::extract::{Path, State};
use axum::response::Response;

use super::forms::AccountForm;
use super::{ApiError, account_props, decode, detailed_account_props, refused};
use crate::app::{self, App};
use crate::inertia::{Errors, Inertia, Props};
use crate::web::auth::CurrentUser;
use crate::web::input::Input;

/// `GET /accounts`: the accounts I belong to (prop `accounts`).
pub(super) async fn index(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let accounts = app.accounts_of(&user).await.map_err(refused)?;
    let accounts: Vec<_> = accounts.iter().map(|a| account_props(&app, a)).collect();
    Ok(inertia
        .render("Accounts/Index", Props::new().prop("accounts", accounts))
        .await?)
}

/// `POST /accounts` with `account[name]`: a team account I own.
pub(super) async fn create(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    inertia: Inertia,
    Input(form): Input<AccountForm>,
) -> Result<Response, ApiError> {
    match app.create_account(&user, form.name()).await {
        Ok(account) => Ok(inertia
            .flash("notice", "Account created.")
            .redirect(&format!("/accounts/{}", app.ids().encode(account.id)))),
        Err(app::Error::Invalid { field, message }) => Ok(inertia
            .errors(Errors::new().add(field, message))
            .redirect("/accounts")),
        Err(e) => Err(refused(e)),
    }
}

/// `GET /accounts/:id`: one account with its members (prop `account`).
pub(super) async fn show(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let account_id = decode(&app, &id)?;
    let account = detailed_account_props(&app, &user, account_id)
        .await
        .map_err(refused)?;
    Ok(inertia
        .render("Accounts/Show", Props::new().prop("account", account))
        .await?)
}

/// `PATCH /accounts/:id` with `account[name]`.
pub(super) async fn update(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
    Input(form): Input<AccountForm>,
) -> Result<Response, ApiError> {
    let account_id = decode(&app, &id)?;
    let back = format!("/accounts/{id}");
    match app.rename_account(&user, account_id, form.name()).await {
        Ok(_) => Ok(inertia.flash("notice", "Account renamed.").redirect(&back)),
        Err(app::Error::Invalid { field, message }) => Ok(inertia
            .errors(Errors::new().add(field, message))
            .redirect(&back)),
        Err(e) => Err(refused(e)),
    }
}

/// `DELETE /accounts/:id`.
pub(super) async fn destroy(
    State(app): State<App>,
    CurrentUser { user, .. }: CurrentUser,
    Path(id): Path<String>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let account_id = decode(&app, &id)?;
    app.delete_account(&user, account_id)
        .await
        .map_err(refused)?;
    Ok(inertia
        .flash("notice", "Account deleted.")
        .redirect("/accounts"))
}
