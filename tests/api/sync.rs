//! Sync markers end to end: `SyncChannel` authorization on real signed-in sockets, and the
//! markers committed account and membership changes broadcast, observed as frames.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cable_client::{Client, data, reject};
use crate::helpers::{Browser, TestApp, TestResult, signed_up, socket_of, sync_id};

/// The sqid of `browser`'s first (personal) account.
async fn my_account(browser: &Browser) -> String {
    let page = browser.page("/accounts").await;
    page["props"]["accounts"][0]["id"]
        .as_str()
        .expect("an account")
        .to_owned()
}

async fn expect_reject(client: &mut Client, identifier: &str) {
    client
        .send(json!({"command": "subscribe", "identifier": identifier}))
        .await;
    assert_eq!(client.receive().await, reject(identifier), "{identifier}");
}

fn marker(action: &str, prop: &str) -> Value {
    json!({"action": action, "prop": prop})
}

/// An admin (first user) and two ordinary users, each with their personal account.
struct World {
    app: TestApp,
    admin: Browser,
    ann: Browser,
    bob: Browser,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = signed_up(&app, "admin@example.com").await;
    let ann = signed_up(&app, "ann@example.com").await;
    let bob = signed_up(&app, "bob@example.com").await;
    World {
        app,
        admin,
        ann,
        bob,
    }
}

mod channel {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_accessible_account_is_confirmed_and_streamed() -> TestResult {
        let w = world().await;
        let account = my_account(&w.ann).await;
        let mut socket = socket_of(&w.app, &w.ann).await;
        let id = sync_id("Account", &account);
        socket.subscribe(&id).await;
        w.app
            .state
            .cable
            .broadcast(&format!("Account:{account}"), &json!({"probe": 1}))
            .await?;
        assert_eq!(socket.receive().await, data(&id, json!({"probe": 1})));
        w.app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_users_account_is_rejected_by_any_id() -> TestResult {
        let w = world().await;
        let anns = my_account(&w.ann).await;
        let mut socket = socket_of(&w.app, &w.bob).await;
        let ids = w.app.state.app.ids().clone();
        // Raw sequential ids, real sqids of every account but Bob's own, garbage.
        let mut guesses: Vec<String> = (1..=5).map(|n| n.to_string()).collect();
        guesses.extend((1..=5).map(|n| ids.encode(n)));
        guesses.push(anns.clone());
        guesses.push("not-a-sqid!".to_owned());
        guesses.push(String::new());
        let bobs = my_account(&w.bob).await;
        for guess in guesses.iter().filter(|g| **g != bobs) {
            expect_reject(&mut socket, &sync_id("Account", guess)).await;
        }
        // Nothing of Ann's reaches Bob's socket afterwards.
        w.ann
            .send_json(
                Method::PATCH,
                &format!("/accounts/{anns}"),
                json!({"account": {"name": "Ann's secret"}}),
            )
            .await;
        socket.assert_silent().await;
        w.app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn all_is_for_site_admins_only() -> TestResult {
        let w = world().await;
        let mut admin = socket_of(&w.app, &w.admin).await;
        admin.subscribe(&sync_id("Account", "all")).await;
        let mut ann = socket_of(&w.app, &w.ann).await;
        expect_reject(&mut ann, &sync_id("Account", "all")).await;
        w.app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unknown_models_and_malformed_identifiers_are_rejected() -> TestResult {
        let w = world().await;
        let account = my_account(&w.ann).await;
        let mut socket = socket_of(&w.app, &w.ann).await;
        // A user's own stream is theirs alone: the admin's (user 1) is not Ann's.
        let admins = w.app.state.app.ids().encode(1);
        let identifiers = [
            sync_id("User", &admins),
            sync_id("User", "all"),
            sync_id("AccountUser", &account),
            sync_id("account", &account),
            sync_id("Todo", "all"),
            json!({"channel": "SyncChannel", "model": "Account"}).to_string(),
            json!({"channel": "SyncChannel", "id": account}).to_string(),
            json!({"channel": "SyncChannel", "model": "Account", "id": 1}).to_string(),
            json!({"channel": "SyncChannel", "model": ["Account"], "id": account}).to_string(),
        ];
        for identifier in identifiers {
            expect_reject(&mut socket, &identifier).await;
        }
        w.app.stop().await
    }
}

mod broadcasting {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_update_refreshes_the_record_and_the_collection() -> TestResult {
        let w = world().await;
        let account = my_account(&w.ann).await;
        let mut ann = socket_of(&w.app, &w.ann).await;
        let own = sync_id("Account", &account);
        ann.subscribe(&own).await;
        let mut admin = socket_of(&w.app, &w.admin).await;
        let all = sync_id("Account", "all");
        admin.subscribe(&all).await;

        let res = w
            .ann
            .send_json(
                Method::PATCH,
                &format!("/accounts/{account}"),
                json!({"account": {"name": "Renamed"}}),
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(
            ann.receive().await,
            data(&own, marker("refresh", "account"))
        );
        assert_eq!(
            admin.receive().await,
            data(&all, marker("refresh", "accounts"))
        );
        // Markers carry no data, and each change sends exactly one per stream.
        ann.assert_silent().await;
        admin.assert_silent().await;
        w.app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn member_changes_refresh_the_parent_account() -> TestResult {
        let w = world().await;
        let account = crate::helpers::team_of(&w.ann, "Team Ann").await;
        let own = sync_id("Account", &account);
        let mut ann = socket_of(&w.app, &w.ann).await;
        ann.subscribe(&own).await;

        w.ann
            .send_json(
                Method::POST,
                &format!("/accounts/{account}/members"),
                json!({"member": {"email_address": "bob@example.com", "role": "member"}}),
            )
            .await;
        // The membership refreshes its parent; the account (members_count) refreshes itself.
        for _ in 0..2 {
            assert_eq!(
                ann.receive().await,
                data(&own, marker("refresh", "account"))
            );
        }
        ann.assert_silent().await;

        let detail = w.ann.page(&format!("/accounts/{account}")).await;
        let bobs = detail["props"]["account"]["members"][1]["id"]
            .as_str()
            .expect("membership sqid")
            .to_owned();
        w.ann
            .send_json(
                Method::PATCH,
                &format!("/account_users/{bobs}"),
                json!({"member": {"role": "admin"}}),
            )
            .await;
        assert_eq!(
            ann.receive().await,
            data(&own, marker("refresh", "account"))
        );
        ann.assert_silent().await;

        w.ann
            .send_json(Method::DELETE, &format!("/account_users/{bobs}"), json!({}))
            .await;
        for _ in 0..2 {
            assert_eq!(
                ann.receive().await,
                data(&own, marker("refresh", "account"))
            );
        }
        w.app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_destroy_broadcasts_removal() -> TestResult {
        let w = world().await;
        let created = w
            .ann
            .send_json(
                Method::POST,
                "/accounts",
                json!({"account": {"name": "Team"}}),
            )
            .await;
        let location = crate::helpers::location(&created);
        let account = location
            .strip_prefix("/accounts/")
            .expect("redirect to the new account")
            .to_owned();
        let own = sync_id("Account", &account);
        let mut ann = socket_of(&w.app, &w.ann).await;
        ann.subscribe(&own).await;
        let all = sync_id("Account", "all");
        let mut admin = socket_of(&w.app, &w.admin).await;
        admin.subscribe(&all).await;

        let res = w
            .ann
            .send_json(Method::DELETE, &format!("/accounts/{account}"), json!({}))
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(ann.receive().await, data(&own, marker("remove", "account")));
        assert_eq!(
            admin.receive().await,
            data(&all, marker("remove", "accounts"))
        );
        w.app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn creating_an_account_or_a_user_refreshes_the_collection() -> TestResult {
        let w = world().await;
        let all = sync_id("Account", "all");
        let mut admin = socket_of(&w.app, &w.admin).await;
        admin.subscribe(&all).await;
        w.ann
            .send_json(
                Method::POST,
                "/accounts",
                json!({"account": {"name": "Team"}}),
            )
            .await;
        assert_eq!(
            admin.receive().await,
            data(&all, marker("refresh", "accounts"))
        );
        signed_up(&w.app, "cy@example.com").await;
        assert_eq!(
            admin.receive().await,
            data(&all, marker("refresh", "accounts"))
        );
        w.app.stop().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn my_own_stream_follows_memberships_made_and_ended_for_me() -> TestResult {
        let w = world().await;
        let team = crate::helpers::team_of(&w.ann, "Team Ann").await;
        let bob_me = w.bob.page("/accounts").await["props"]["me"]
            .as_str()
            .expect("my stream id")
            .to_owned();
        let mine = sync_id("User", &bob_me);
        let mut bob = socket_of(&w.app, &w.bob).await;
        bob.subscribe(&mine).await;
        // Nobody else reads it.
        let mut ann = socket_of(&w.app, &w.ann).await;
        expect_reject(&mut ann, &mine).await;
        expect_reject(&mut ann, &sync_id("User", "all")).await;

        w.ann
            .send_json(
                Method::POST,
                &format!("/accounts/{team}/members"),
                json!({"member": {"email_address": "bob@example.com"}}),
            )
            .await;
        assert_eq!(
            bob.receive().await,
            data(&mine, marker("refresh", "accounts"))
        );
        bob.assert_silent().await;
        w.app.stop().await
    }
}
