//! Membership with consent and immediate loss of access: members are added only to team
//! accounts by their managers, the added user is told once on their accounts page (and only
//! then do the others see their name), members may leave, and a removed member's sockets end
//! just the account's subscriptions (`reject_subscription`) on every server, while the rest
//! of each socket keeps working.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::cable_client::{Client, Opts, data, reject};
use crate::helpers::{
    Browser, ChildServer, TestApp, TestResult, location, signed_up, socket_of, sync_id, team_of,
};

fn add(email: &str) -> Value {
    json!({"member": {"email_address": email, "role": "member"}})
}

/// The membership sqid of `email` in the account at `path`, as `viewer` sees it.
async fn membership(viewer: &Browser, path: &str, email: &str) -> String {
    let page = viewer.page(path).await;
    page["props"]["account"]["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user"]["email_address"] == email)
        .and_then(|m| m["id"].as_str())
        .unwrap_or_else(|| panic!("{email} is a member of {path}"))
        .to_owned()
}

/// The next frame that is not a `refresh` marker on one of `markers` (those the removal
/// itself broadcast may come before or after the order).
async fn next_skipping(client: &mut Client, markers: &[&str]) -> Value {
    loop {
        let frame = client.receive().await;
        let identifier = frame["identifier"].as_str().unwrap_or_default();
        if frame["message"]["action"] == "refresh" && markers.contains(&identifier) {
            continue;
        }
        return frame;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_join_team_accounts_only_are_told_once_and_may_leave() -> TestResult {
    let app = TestApp::spawn().await;
    signed_up(&app, "admin@example.com").await;
    let ann = signed_up(&app, "ann@example.com").await;
    let bob = signed_up(&app, "bob@example.com").await;
    let cy = signed_up(&app, "cy@example.com").await;
    let personal = ann.page("/accounts").await["props"]["accounts"][0]["id"]
        .as_str()
        .expect("personal account")
        .to_owned();

    // A personal account is its owner's alone.
    let path = format!("/accounts/{personal}");
    let res = ann
        .send_json(
            Method::POST,
            &format!("{path}/members"),
            add("bob@example.com"),
        )
        .await;
    assert_eq!(location(&res), path);
    let back = ann.page(&path).await;
    assert_eq!(
        back["props"]["errors"]["member"],
        "A personal account has only its owner. Create a team account to work with others."
    );
    assert_eq!(back["props"]["account"]["members_count"], 1);

    // A team: Ann adds Bob, and learns only the email address she typed.
    let team = team_of(&ann, "Team Ann").await;
    let path = format!("/accounts/{team}");
    let res = ann
        .send_json(
            Method::POST,
            &format!("{path}/members"),
            add(" Bob@Example.com "),
        )
        .await;
    assert_eq!(res.status(), 302);
    let page = ann.page(&path).await;
    assert_eq!(
        page["flash"]["notice"],
        "Added bob@example.com. They will see a notice on their accounts page."
    );
    let bob_row = &page["props"]["account"]["members"][1];
    assert_eq!(
        bob_row["user"],
        json!({"name": "", "email_address": "bob@example.com"})
    );
    assert_eq!(bob_row["seen"], false);

    // Bob is told once, on his accounts page; from then on Ann sees his name.
    let index = bob.page("/accounts").await;
    assert_eq!(
        index["props"]["added"],
        json!([{"account": {"id": team, "name": "Team Ann"}, "role": "member", "added_by": "ann"}])
    );
    assert_eq!(index["props"]["accounts"][0]["id"], team.as_str());
    assert_eq!(bob.page("/accounts").await["props"]["added"], json!([]));
    let page = ann.page(&path).await;
    assert_eq!(
        page["props"]["account"]["members"][1]["user"]["name"],
        "bob"
    );
    assert_eq!(page["props"]["account"]["members"][1]["seen"], true);

    // A plain member may not add anyone.
    let res = bob
        .send_json(
            Method::POST,
            &format!("{path}/members"),
            add("cy@example.com"),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(cy.page("/accounts").await["props"]["added"] == json!([]));

    // Bob leaves by himself; the owner cannot.
    let bobs = membership(&bob, &path, "bob@example.com").await;
    let res = bob
        .send_json(Method::DELETE, &format!("/account_users/{bobs}"), json!({}))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/accounts");
    assert_eq!(bob.visit(&path).await.status(), 404);
    let anns = membership(&ann, &path, "ann@example.com").await;
    ann.send_json(Method::DELETE, &format!("/account_users/{anns}"), json!({}))
        .await;
    let page = ann.page(&path).await;
    assert_eq!(
        page["props"]["errors"]["role"],
        "the owner cannot be removed"
    );
    assert_eq!(page["props"]["account"]["members_count"], 1);
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_loses_the_accounts_subscription_and_keeps_the_socket() -> TestResult {
    let app = TestApp::spawn().await;
    let Team {
        ann,
        bob,
        team,
        path,
        bobs_own,
    } = ann_adds_bob_to_a_team(&app).await;
    let mut socket = socket_of(&app, &bob).await;
    let team_id = sync_id("Account", &team);
    let own_id = sync_id("Account", &bobs_own);
    socket.subscribe(&team_id).await;
    socket.subscribe(&own_id).await;

    let membership = membership(&ann, &path, "bob@example.com").await;
    let started = Instant::now();
    let res = ann
        .send_json(
            Method::DELETE,
            &format!("/account_users/{membership}"),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        next_skipping(&mut socket, &[&team_id]).await,
        reject(&team_id)
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // The socket is open: its other subscription still receives, the account's does not.
    let cable = &app.state.cable;
    cable
        .broadcast(&format!("Account:{team}"), &json!({"probe": "team"}))
        .await?;
    cable
        .broadcast(&format!("Account:{bobs_own}"), &json!({"probe": "own"}))
        .await?;
    // (Markers of the removal itself, queued before the order, may still trail in: the
    // client has no such subscription any more and ignores them; the probe never comes.)
    assert_eq!(
        next_skipping(&mut socket, &[&team_id]).await,
        data(&own_id, json!({"probe": "own"}))
    );
    socket.assert_silent().await;
    // And subscribing again is refused.
    socket
        .send(json!({"command": "subscribe", "identifier": team_id}))
        .await;
    assert_eq!(socket.receive().await, reject(&team_id));
    app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_on_one_server_ends_the_subscription_on_another() -> TestResult {
    let app = TestApp::spawn().await;
    let Team {
        ann,
        bob,
        team,
        path,
        bobs_own,
    } = ann_adds_bob_to_a_team(&app).await;
    // A second server on the same storage; Bob's socket is there.
    let other = ChildServer::spawn_env(app.storage(), &[], &[("TRIFECTA_BCRYPT_COST", "4")]);
    let session = bob.cookie("_trifecta_session").expect("signed in");
    let opts = Opts::default()
        .ignore(&["ping"])
        .header("cookie", &format!("_trifecta_session={session}"));
    let mut socket = Client::connect(other.addr, opts).await;
    assert_eq!(socket.receive().await, json!({"type": "welcome"}));
    let team_id = sync_id("Account", &team);
    let own_id = sync_id("Account", &bobs_own);
    socket.subscribe(&team_id).await;
    socket.subscribe(&own_id).await;

    let membership = membership(&ann, &path, "bob@example.com").await;
    ann.send_json(
        Method::DELETE,
        &format!("/account_users/{membership}"),
        json!({}),
    )
    .await;
    assert_eq!(
        next_skipping(&mut socket, &[&team_id]).await,
        reject(&team_id)
    );
    app.state
        .cable
        .broadcast(&format!("Account:{bobs_own}"), &json!({"probe": "own"}))
        .await?;
    assert_eq!(
        next_skipping(&mut socket, &[&team_id]).await,
        data(&own_id, json!({"probe": "own"}))
    );
    socket.assert_silent().await;
    drop(other);
    app.stop().await
}

/// Ann's team account with Bob as a member (and a site admin signed up first).
struct Team {
    ann: Browser,
    bob: Browser,
    /// The team's public id.
    team: String,
    /// `/accounts/<team>`.
    path: String,
    /// Bob's personal account's public id.
    bobs_own: String,
}

async fn ann_adds_bob_to_a_team(app: &TestApp) -> Team {
    signed_up(app, "admin@example.com").await;
    let ann = signed_up(app, "ann@example.com").await;
    let bob = signed_up(app, "bob@example.com").await;
    let team = team_of(&ann, "Team Ann").await;
    let path = format!("/accounts/{team}");
    ann.send_json(
        Method::POST,
        &format!("{path}/members"),
        add("bob@example.com"),
    )
    .await;
    let bobs_own = bob.page("/accounts").await["props"]["accounts"][1]["id"]
        .as_str()
        .expect("Bob's personal account")
        .to_owned();
    Team {
        ann,
        bob,
        team,
        path,
        bobs_own,
    }
}
