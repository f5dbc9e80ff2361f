//! `/admin/accounts`: every account, newest first, with the selected one's detail
//! (`?account_id=<sqid>`). Site admins only; everyone else gets the same 404 as an
//! unknown page.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::{account_props, detailed_account_props};
use crate::app::App;
use crate::inertia::{Inertia, Props};
use crate::web::ApiError;
use crate::web::admin::SiteAdmin;
use crate::web::answer::decode;

#[derive(Debug, Deserialize)]
pub(super) struct Selection {
    #[serde(default)]
    account_id: Option<String>,
}

/// `GET /admin/accounts[?account_id=]`: props `accounts` and `selected_account`.
pub(super) async fn index(
    State(app): State<App>,
    SiteAdmin(user): SiteAdmin,
    Query(selection): Query<Selection>,
    inertia: Inertia,
) -> Result<Response, ApiError> {
    let accounts = app.accounts_accessible_by(&user).await?;
    let accounts: Vec<_> = accounts.iter().map(|a| account_props(&app, a)).collect();
    let selected = match selection.account_id.as_deref().filter(|s| !s.is_empty()) {
        None => Value::Null,
        Some(public) => {
            let id = decode(&app, public)?;
            detailed_account_props(&app, &user, id).await?
        }
    };
    Ok(inertia
        .render(
            "Admin/Accounts",
            Props::new()
                .prop("accounts", accounts)
                .prop("selected_account", selected),
        )
        .await?)
}
