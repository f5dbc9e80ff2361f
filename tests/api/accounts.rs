//! Accounts over HTTP: the pages' props, the scopes on every id (sequential guesses, other
//! users' real sqids, garbage are one 404), forbidden changes (403), validation errors, and
//! partial reloads that return only the requested props yet still enforce the scopes.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Browser, TestApp, TestResult, location, partial_reload, signed_up, team_of};

async fn first_account(browser: &Browser) -> String {
    browser.page("/accounts").await["props"]["accounts"][0]["id"]
        .as_str()
        .expect("an account")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_my_accounts_with_their_members() -> TestResult {
    let app = TestApp::spawn().await;
    signed_up(&app, "admin@example.com").await;
    let ann = signed_up(&app, "ann@example.com").await;
    let res = ann
        .send_form(Method::POST, "/accounts", &[("account[name]", "Team Ann")])
        .await;
    assert_eq!(res.status(), 302);
    let team = location(&res).trim_start_matches("/accounts/").to_owned();

    let index = ann.page("/accounts").await;
    assert_eq!(index["component"], "Accounts/Index");
    let accounts = index["props"]["accounts"].as_array().expect("list");
    assert_eq!(accounts.len(), 2, "personal and team: {accounts:?}");
    assert_eq!(accounts[0]["id"], team.as_str(), "newest first");
    assert_eq!(accounts[0]["name"], "Team Ann");
    assert_eq!(accounts[0]["account_type"], "team");
    assert_eq!(accounts[0]["owner"]["email_address"], "ann@example.com");
    assert_eq!(accounts[0]["members_count"], 1);
    assert!(accounts[0]["created_at"].is_string());

    ann.send_json(
        Method::POST,
        &format!("/accounts/{team}/members"),
        json!({"member": {"email_address": "admin@example.com", "role": "admin"}}),
    )
    .await;
    let show = ann.page(&format!("/accounts/{team}")).await;
    assert_eq!(show["component"], "Accounts/Show");
    let account = &show["props"]["account"];
    assert_eq!(account["members_count"], 2);
    assert_eq!(account["can_manage"], true);
    let roles: Vec<_> = account["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| (m["user"]["email_address"].clone(), m["role"].clone()))
        .collect();
    assert_eq!(
        roles,
        vec![
            (json!("ann@example.com"), json!("owner")),
            (json!("admin@example.com"), json!("admin"))
        ]
    );
    assert!(account["members"][1]["id"].is_string());
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_account_is_404_by_any_id_for_every_method() -> TestResult {
    let app = TestApp::spawn().await;
    signed_up(&app, "admin@example.com").await;
    let ann = signed_up(&app, "ann@example.com").await;
    let bob = signed_up(&app, "bob@example.com").await;
    let anns = first_account(&ann).await;
    let bobs = first_account(&bob).await;
    let ids = app.state.app.ids().clone();
    let mut guesses: Vec<String> = (1..=4).map(|n| n.to_string()).collect();
    guesses.extend((1..=4).map(|n| ids.encode(n)).filter(|s| *s != bobs));
    guesses.extend([anns.clone(), "zzzz".to_owned(), "%20".to_owned()]);
    for guess in &guesses {
        let path = format!("/accounts/{guess}");
        assert_eq!(bob.visit(&path).await.status(), 404, "GET {path}");
        let body = json!({"account": {"name": "Mine now"}});
        let patched = bob.send_json(Method::PATCH, &path, body).await;
        assert_eq!(patched.status(), 404, "PATCH {path}");
        let deleted = bob.send_json(Method::DELETE, &path, json!({})).await;
        assert_eq!(deleted.status(), 404, "DELETE {path}");
        let member = json!({"member": {"email_address": "bob@example.com"}});
        let added = bob
            .send_json(Method::POST, &format!("{path}/members"), member)
            .await;
        assert_eq!(added.status(), 404, "POST {path}/members");
        for method in [Method::PATCH, Method::DELETE] {
            let res = bob
                .send_json(
                    method.clone(),
                    &format!("/account_users/{guess}"),
                    json!({"member": {"role": "admin"}}),
                )
                .await;
            assert_eq!(res.status(), 404, "{method} /account_users/{guess}");
        }
    }
    // Nothing changed.
    let ann_page = ann.page(&format!("/accounts/{anns}")).await;
    assert_eq!(ann_page["props"]["account"]["name"], "ann's account");
    assert_eq!(ann_page["props"]["account"]["members_count"], 1);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_may_look_but_not_change_and_bad_input_comes_back_as_errors() -> TestResult {
    let app = TestApp::spawn().await;
    signed_up(&app, "admin@example.com").await;
    let ann = signed_up(&app, "ann@example.com").await;
    let bob = signed_up(&app, "bob@example.com").await;
    let team = team_of(&ann, "Team Ann").await;
    let path = format!("/accounts/{team}");
    ann.send_json(
        Method::POST,
        &format!("{path}/members"),
        json!({"member": {"email_address": "bob@example.com"}}),
    )
    .await;
    let seen = bob.page(&path).await;
    assert_eq!(seen["props"]["account"]["can_manage"], false);
    let res = bob
        .send_json(Method::PATCH, &path, json!({"account": {"name": "Bob's"}}))
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        bob.send_json(Method::DELETE, &path, json!({}))
            .await
            .status(),
        403
    );

    let blank = ann
        .send_json(Method::PATCH, &path, json!({"account": {"name": "  "}}))
        .await;
    assert_eq!(blank.status(), 303);
    assert_eq!(location(&blank), path);
    let back = ann.page(&path).await;
    assert_eq!(back["props"]["errors"]["name"], "can't be blank");
    let unknown = ann
        .send_json(
            Method::POST,
            &format!("{path}/members"),
            json!({"member": {"email_address": "nobody@example.com"}}),
        )
        .await;
    assert_eq!(location(&unknown), path);
    let back = ann.page(&path).await;
    assert_eq!(
        back["props"]["errors"]["email_address"],
        "does not belong to any user"
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_accounts_is_for_site_admins_with_a_selected_account() -> TestResult {
    let app = TestApp::spawn().await;
    let admin = signed_up(&app, "admin@example.com").await;
    let ann = signed_up(&app, "ann@example.com").await;
    assert_eq!(ann.visit("/admin/accounts").await.status(), 404);
    let anns = first_account(&ann).await;

    let page = admin.page("/admin/accounts").await;
    assert_eq!(page["component"], "Admin/Accounts");
    let owners: Vec<_> = page["props"]["accounts"]
        .as_array()
        .expect("all accounts")
        .iter()
        .map(|a| a["owner"]["email_address"].clone())
        .collect();
    assert_eq!(
        owners,
        vec![json!("ann@example.com"), json!("admin@example.com")]
    );
    assert_eq!(page["props"]["selected_account"], json!(null));

    let page = admin
        .page(&format!("/admin/accounts?account_id={anns}"))
        .await;
    assert_eq!(page["props"]["selected_account"]["id"], anns.as_str());
    assert_eq!(page["props"]["selected_account"]["can_manage"], true);
    assert_eq!(
        admin
            .visit("/admin/accounts?account_id=garbage")
            .await
            .status(),
        404
    );
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_reloads_return_only_the_requested_props_and_keep_the_scopes() -> TestResult {
    let app = TestApp::spawn().await;
    let admin = signed_up(&app, "admin@example.com").await;
    let ann = signed_up(&app, "ann@example.com").await;
    let bob = signed_up(&app, "bob@example.com").await;
    let anns = first_account(&ann).await;

    let selected = format!("/admin/accounts?account_id={anns}");
    let res = partial_reload(&admin, &selected, "Admin/Accounts", "accounts").await;
    assert_eq!(res.status(), 200);
    let page: serde_json::Value = res.json().await?;
    assert!(page["props"]["accounts"].is_array());
    assert!(
        page["props"].get("selected_account").is_none(),
        "only what was asked: {}",
        page["props"]
    );
    let res = partial_reload(&admin, &selected, "Admin/Accounts", "selected_account").await;
    let page: serde_json::Value = res.json().await?;
    assert!(page["props"].get("accounts").is_none());
    assert_eq!(page["props"]["selected_account"]["id"], anns.as_str());

    // Bob is a member, reloads fine, is removed, and his next reload is a 404.
    let team = team_of(&ann, "Team Ann").await;
    let path = format!("/accounts/{team}");
    ann.send_json(
        Method::POST,
        &format!("{path}/members"),
        json!({"member": {"email_address": "bob@example.com"}}),
    )
    .await;
    let res = partial_reload(&bob, &path, "Accounts/Show", "account").await;
    assert_eq!(res.status(), 200);
    let page: serde_json::Value = res.json().await?;
    assert_eq!(page["props"]["account"]["members_count"], 2);
    let membership = page["props"]["account"]["members"][1]["id"]
        .as_str()
        .expect("sqid")
        .to_owned();
    ann.send_json(
        Method::DELETE,
        &format!("/account_users/{membership}"),
        json!({}),
    )
    .await;
    let res = partial_reload(&bob, &path, "Accounts/Show", "account").await;
    assert_eq!(res.status(), 404);
    // And a site admin's reload of an admin page is refused once they are not one.
    let res = partial_reload(&bob, &selected, "Admin/Accounts", "accounts").await;
    assert_eq!(res.status(), 404);
    app.stop().await
}

/// The account's name and `lock_version` as stored.
async fn stored(app: &TestApp, sqid: &str) -> (String, i64) {
    let id = app.state.app.ids().decode(sqid).expect("sqid");
    let db = match app.state.app.backend() {
        trifecta::store::Backend::Sqlite(db) => db,
        trifecta::store::Backend::Postgres(pg) => {
            let row = pg
                .get()
                .await
                .expect("connection")
                .query_one(
                    "SELECT name, lock_version FROM accounts WHERE id = $1",
                    &[&id],
                )
                .await
                .expect("account row");
            return (row.get(0), row.get(1));
        }
    };
    db.call(move |conn| {
        conn.query_row(
            "SELECT name, lock_version FROM accounts WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(trifecta::store::Error::from)
    })
    .await
    .expect("account row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_rename_is_refused_with_the_current_name_and_nothing_is_overwritten() -> TestResult
{
    let app = TestApp::spawn().await;
    let admin = signed_up(&app, "admin@example.com").await;
    let ann = signed_up(&app, "ann@example.com").await;
    let team = team_of(&ann, "Team Ann").await;
    let path = format!("/accounts/{team}");
    // Both open the page and see version 0.
    let seen = ann.page(&path).await["props"]["account"]["lock_version"].clone();
    assert_eq!(seen, json!(0));
    assert_eq!(
        admin.page(&path).await["props"]["account"]["lock_version"],
        seen
    );

    let first = admin
        .send_json(
            Method::PATCH,
            &path,
            json!({"account": {"name": "Admin's name", "lock_version": 0}}),
        )
        .await;
    assert_eq!(first.status(), 303);
    assert_eq!(stored(&app, &team).await, ("Admin's name".to_owned(), 1));

    // Ann saves what she typed over version 0: refused, with the current name.
    let stale = ann
        .send_json(
            Method::PATCH,
            &path,
            json!({"account": {"name": "Ann's name", "lock_version": 0}}),
        )
        .await;
    assert_eq!(stale.status(), 303);
    assert_eq!(location(&stale), path);
    let back = ann.page(&path).await;
    assert_eq!(
        back["props"]["errors"]["lock_version"],
        "Someone renamed this account to “Admin's name” while you were editing. \
         Save again to replace it."
    );
    assert_eq!(back["props"]["account"]["name"], "Admin's name");
    assert_eq!(back["props"]["account"]["lock_version"], 1);
    assert_eq!(stored(&app, &team).await, ("Admin's name".to_owned(), 1));
    // A plain form says the same.
    ann.send_form(
        Method::PATCH,
        &path,
        &[
            ("account[name]", "Ann's name"),
            ("account[lock_version]", "0"),
        ],
    )
    .await;
    assert_eq!(stored(&app, &team).await, ("Admin's name".to_owned(), 1));

    // Saving again over the version she was shown replaces it.
    let again = ann
        .send_json(
            Method::PATCH,
            &path,
            json!({"account": {"name": "Ann's name", "lock_version": 1}}),
        )
        .await;
    assert_eq!(again.status(), 303);
    assert_eq!(stored(&app, &team).await, ("Ann's name".to_owned(), 2));
    assert!(
        ann.page(&path).await["props"]["errors"]
            .get("lock_version")
            .is_none()
    );

    // A version that is not a number is a validation error; nothing changes.
    for bad in [json!("v2"), json!(1.5), json!([2])] {
        ann.send_json(
            Method::PATCH,
            &path,
            json!({"account": {"name": "Bad", "lock_version": bad}}),
        )
        .await;
        let back = ann.page(&path).await;
        assert_eq!(
            back["props"]["errors"]["lock_version"], "must be a whole number",
            "{bad}"
        );
    }
    assert_eq!(stored(&app, &team).await, ("Ann's name".to_owned(), 2));
    app.stop().await
}
