//! Presence end to end, frame by frame on the extended protocol with real signed-in sockets:
//! who is looking at an account page (the `SyncChannel` of one account) and at the todo
//! board. Clients join as the server says they are, whatever id they send; one user in two
//! sockets joins and leaves once; a closed socket leaves after the presence TTL, an
//! unsubscribe or a removed membership at once; outsiders and plain-protocol sockets see
//! nothing; a server killed with `kill -9` leaves nobody present past the TTL for the
//! servers sharing its storage.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::cable_client::{Client, Event, Opts, ack, reject};
use crate::helpers::{
    Browser, ChildServer, TestApp, TestResult, on_postgres, signed_up, socket_of, sync_id, team_of,
};

const EXT: &str = "actioncable-v1-ext-json";

/// Extended-protocol options with `browser`'s session cookie (pings ignored).
fn ext_opts(browser: &Browser) -> Opts {
    let session = browser.cookie("_trifecta_session").expect("signed in");
    Opts::default()
        .ignore(&["ping"])
        .protocol(EXT)
        .header("cookie", &format!("_trifecta_session={session}"))
}

/// A welcomed extended-protocol socket of `browser`'s session at `addr` (pings ignored).
async fn ext_socket(addr: SocketAddr, browser: &Browser) -> Client {
    let mut client = Client::connect(addr, ext_opts(browser)).await;
    let welcome = client.receive().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    client
}

/// `(id, name)` of the signed-in user, as pages show it.
async fn me(browser: &Browser) -> (String, String) {
    let page = browser.first_page("/accounts").await;
    let user = &page["props"]["auth"]["user"];
    (
        user["id"].as_str().expect("user id").to_owned(),
        user["name"].as_str().expect("user name").to_owned(),
    )
}

fn presence(identifier: &str, message: Value) -> Value {
    json!({"type": "presence", "identifier": identifier, "message": message})
}

fn joined(identifier: &str, (id, name): &(String, String)) -> Value {
    presence(
        identifier,
        json!({"type": "join", "id": id, "info": {"name": name}}),
    )
}

fn left(identifier: &str, (id, _): &(String, String)) -> Value {
    presence(identifier, json!({"type": "leave", "id": id}))
}

/// The next presence frame, skipping sync markers (a membership change sends both).
async fn next_presence(client: &mut Client) -> Value {
    loop {
        let frame = client.receive().await;
        if frame["type"] == "presence" {
            return frame;
        }
    }
}

/// Joins as someone else: the server ignores the id and info the client sends.
async fn join(client: &mut Client, identifier: &str) {
    client
        .send(json!({"command": "join", "identifier": identifier,
                     "presence": {"id": "someone-else", "info": {"name": "Mallory"}}}))
        .await;
}

/// Ann's team with Bob as a member; the identifier of its account page's subscription.
struct Team {
    app: TestApp,
    ann: Browser,
    bob: Browser,
    carol: Browser,
    id: String,
    bobs_membership: String,
}

async fn team(ttl: &str) -> Team {
    let ttl = humantime::parse_duration(ttl).expect("ttl");
    let app = TestApp::spawn_with(|c| c.serve.cable.presence_ttl = ttl).await;
    let ann = signed_up(&app, "ann@example.com").await;
    let bob = signed_up(&app, "bob@example.com").await;
    let carol = signed_up(&app, "carol@example.com").await;
    let account = team_of(&ann, "Team Ann").await;
    ann.send_json(
        Method::POST,
        &format!("/accounts/{account}/members"),
        json!({"member": {"email_address": "bob@example.com", "role": "member"}}),
    )
    .await;
    let detail = ann.page(&format!("/accounts/{account}")).await;
    let bobs_membership = detail["props"]["account"]["members"][1]["id"]
        .as_str()
        .expect("membership sqid")
        .to_owned();
    Team {
        app,
        ann,
        bob,
        carol,
        id: sync_id("Account", &account),
        bobs_membership,
    }
}

/// Ann's and Bob's sockets on the team's page, and Ann joined (as herself, whatever she
/// claimed), seen by both.
async fn ann_joined(t: &Team) -> (Client, Client, (String, String), (String, String)) {
    let (ann, bob) = (me(&t.ann).await, me(&t.bob).await);
    let mut a = ext_socket(t.app.addr, &t.ann).await;
    let mut b = ext_socket(t.app.addr, &t.bob).await;
    a.subscribe(&t.id).await;
    b.subscribe(&t.id).await;
    join(&mut a, &t.id).await;
    assert_eq!(a.receive().await, joined(&t.id, &ann));
    assert_eq!(b.receive().await, joined(&t.id, &ann));
    (a, b, ann, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_see_each_other_join_and_leave_as_themselves() -> TestResult {
    let t = team("1s").await;
    // Ann joins claiming to be someone else: everyone sees Ann, with her name.
    let (mut a1, mut b, ann, bob) = ann_joined(&t).await;
    b.send(json!({"command": "presence", "identifier": t.id, "data": {}}))
        .await;
    assert_eq!(
        b.receive().await,
        presence(
            &t.id,
            json!({"type": "info", "total": 1,
                   "records": [{"id": ann.0, "info": {"name": ann.1}}]})
        )
    );

    // Bob joins (with his subscribe, as a client restoring its presence does).
    b.unsubscribe(&t.id).await;
    b.send(json!({"command": "subscribe", "identifier": t.id,
                  "presence": {"id": "x", "info": {}}}))
        .await;
    assert_eq!(b.receive().await, ack(&t.id));
    assert_eq!(b.receive().await, joined(&t.id, &bob));
    assert_eq!(a1.receive().await, joined(&t.id, &bob));

    // Ann in a second socket is still one Ann: her join is no event. Bob's leave, sent
    // after it, is the next event either of Ann's sockets gets.
    let mut a2 = ext_socket(t.app.addr, &t.ann).await;
    a2.subscribe(&t.id).await;
    join(&mut a2, &t.id).await;
    b.send(json!({"command": "leave", "identifier": t.id}))
        .await;
    assert_eq!(a1.receive().await, left(&t.id, &bob));
    assert_eq!(a2.receive().await, left(&t.id, &bob));
    assert_eq!(b.receive().await, left(&t.id, &bob));

    // Ann closes one socket: still there. She closes the other: gone within the TTL (1 s;
    // the deadline here is 5 s).
    a1.close().await;
    b.send(json!({"command": "presence", "identifier": t.id, "data": {"return_records": false}}))
        .await;
    assert_eq!(
        b.receive().await,
        presence(&t.id, json!({"type": "info", "total": 1}))
    );
    a2.close().await;
    assert_eq!(b.receive().await, left(&t.id, &ann));
    t.app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsubscribe_or_a_removal_leaves_at_once_and_outsiders_see_nothing() -> TestResult {
    // A TTL far longer than any wait here: every leave below is immediate.
    let t = team("1h").await;
    let (mut a, mut b, ann, bob) = ann_joined(&t).await;
    join(&mut b, &t.id).await;
    assert_eq!(a.receive().await, joined(&t.id, &bob));
    assert_eq!(b.receive().await, joined(&t.id, &bob));

    // Carol is no member: refused, so she never sees who is there.
    let mut c = ext_socket(t.app.addr, &t.carol).await;
    c.send(json!({"command": "subscribe", "identifier": t.id}))
        .await;
    assert_eq!(c.receive().await, reject(&t.id));
    c.send(json!({"command": "presence", "identifier": t.id, "data": {}}))
        .await;
    join(&mut c, &t.id).await;
    // A plain-protocol socket of Bob's is subscribed but gets no presence, and its join
    // is ignored.
    let mut plain = socket_of(&t.app, &t.bob).await;
    plain.subscribe(&t.id).await;
    join(&mut plain, &t.id).await;

    // Ann unsubscribes: Bob sees her leave.
    a.unsubscribe(&t.id).await;
    assert_eq!(b.receive().await, left(&t.id, &ann));
    // Ann removes Bob: his subscription ends and he leaves at once.
    a.subscribe(&t.id).await;
    join(&mut a, &t.id).await;
    assert_eq!(a.receive().await, joined(&t.id, &ann));
    assert_eq!(b.receive().await, joined(&t.id, &ann));
    t.ann
        .send_json(
            Method::DELETE,
            &format!("/account_users/{}", t.bobs_membership),
            json!({}),
        )
        .await;
    assert_eq!(next_presence(&mut a).await, left(&t.id, &bob));
    let mut bob_got = Vec::new();
    while let Event::Frame(f) = b.next_event(Duration::from_millis(500)).await {
        bob_got.push(f);
    }
    // The removal's own markers come too (broadcast while he was a member); no presence.
    assert!(bob_got.contains(&reject(&t.id)), "{bob_got:?}");
    assert!(
        !bob_got.iter().any(|f| f["type"] == "presence"),
        "a removed member sees no more presence: {bob_got:?}"
    );
    c.assert_silent().await;
    while let Event::Frame(f) = plain.next_event(Duration::from_millis(200)).await {
        assert_ne!(f["type"], "presence", "a plain-protocol socket got {f}");
    }
    t.app.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_todo_board_shows_who_looks_at_it() -> TestResult {
    let t = team("1h").await;
    let (ann, bob) = (me(&t.ann).await, me(&t.bob).await);
    let board = json!({"channel": "TodosChannel"}).to_string();
    let mut a = ext_socket(t.app.addr, &t.ann).await;
    a.send(json!({"command": "subscribe", "identifier": board}))
        .await;
    // The newest todos come first, on subscribe.
    let list = a.receive().await;
    assert!(list["message"]["todos"].is_array(), "{list}");
    assert_eq!(a.receive().await, ack(&board));
    join(&mut a, &board).await;
    assert_eq!(a.receive().await, joined(&board, &ann));
    let mut b = ext_socket(t.app.addr, &t.bob).await;
    b.send(json!({"command": "subscribe", "identifier": board, "presence": {"id": "x"}}))
        .await;
    let mut bob_got = Vec::new();
    while bob_got.len() < 3 {
        bob_got.push(b.receive().await);
    }
    assert_eq!(bob_got[1], ack(&board), "{bob_got:?}");
    assert_eq!(bob_got[2], joined(&board, &bob), "{bob_got:?}");
    assert_eq!(a.receive().await, joined(&board, &bob));
    t.app.stop().await
}

/// Ann on server 1 joins an account's presence; server 1 dies by `kill -9`; Bob, on server
/// 2 on the same storage, sees her leave within the TTL of her last refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_leaves_no_ghost_past_the_ttl() -> TestResult {
    let dir = tempfile::tempdir()?;
    if on_postgres() {
        crate::helpers::register_database(
            dir.path(),
            "TRIFECTA_DATABASE_URL",
            &trifecta_store::pg::testing::database().await?,
        );
    }
    let args = ["--cable-presence-ttl", "2s"];
    let mut one = ChildServer::spawn(dir.path(), &args);
    let two = ChildServer::spawn(dir.path(), &args);
    let version = Browser::new(one.addr, "").first_page("/signup").await["version"]
        .as_str()
        .expect("asset version")
        .to_owned();
    let bob = Browser::new(two.addr, &version);
    assert!(
        bob.sign_up("bob@example.com", "correct horse battery")
            .await
            .status()
            .is_redirection()
    );
    let ann = Browser::new(one.addr, &version);
    assert!(
        ann.sign_up("ann@example.com", "correct horse battery")
            .await
            .status()
            .is_redirection()
    );
    let account = team_of(&ann, "Team Ann").await;
    ann.send_json(
        Method::POST,
        &format!("/accounts/{account}/members"),
        json!({"member": {"email_address": "bob@example.com", "role": "member"}}),
    )
    .await;
    let id = sync_id("Account", &account);
    let ann_me = me(&ann).await;
    let mut b = ext_socket(two.addr, &bob).await;
    b.subscribe(&id).await;
    let mut a = ext_socket(one.addr, &ann).await;
    a.subscribe(&id).await;
    join(&mut a, &id).await;
    assert_eq!(b.receive().await, joined(&id, &ann_me));
    one.child.kill()?;
    one.child.wait()?;
    let killed = std::time::Instant::now();
    assert_eq!(b.receive().await, left(&id, &ann_me));
    // Within the TTL, give or take a second for a loaded machine.
    let ghost = killed.elapsed();
    assert!(ghost <= Duration::from_secs(3), "gone after {ghost:?}");
    drop(two);
    Ok(())
}

/// Ann's socket drops and she restores her session within the TTL: she is never seen to
/// leave or join, her restored subscription gets presence events at once, and her place is
/// her new session's (a leave from it leaves).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_session_keeps_its_place() -> TestResult {
    let t = team("1h").await;
    let (ann, bob) = (me(&t.ann).await, me(&t.bob).await);
    let opts = || ext_opts(&t.ann);
    let mut a = Client::connect(t.app.addr, opts()).await;
    let sid = a.receive().await["sid"].as_str().expect("sid").to_owned();
    a.subscribe(&t.id).await;
    join(&mut a, &t.id).await;
    assert_eq!(a.receive().await, joined(&t.id, &ann));
    let mut b = ext_socket(t.app.addr, &t.bob).await;
    b.subscribe(&t.id).await;
    drop(a.into_inner());

    let mut a = Client::connect(t.app.addr, opts().qs(&format!("sid={sid}"))).await;
    let welcome = a.receive().await;
    assert_eq!(welcome["restored_ids"], json!([t.id]), "{welcome}");
    join(&mut a, &t.id).await;
    // Bob's join is the next presence event either sees: Ann neither left nor joined again.
    join(&mut b, &t.id).await;
    assert_eq!(next_presence(&mut b).await, joined(&t.id, &bob));
    assert_eq!(next_presence(&mut a).await, joined(&t.id, &bob));
    b.send(json!({"command": "presence", "identifier": t.id, "data": {}}))
        .await;
    let info = next_presence(&mut b).await;
    assert_eq!(info["message"]["total"], 2, "{info}");
    // Her place moved with her session: leaving now leaves at once (the TTL is an hour).
    a.send(json!({"command": "leave", "identifier": t.id}))
        .await;
    assert_eq!(next_presence(&mut b).await, left(&t.id, &ann));
    t.app.stop().await
}
