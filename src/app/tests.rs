//! The domain on PostgreSQL as several hosts use it: two [`App`] handles, each on a pool of
//! its own, on one database (`trifecta_store::pg::testing`), doing the same things at once.
//! What SQLite gets from one writer at a time must hold here: board versions unique, gap-free
//! and every change kept; one user per email, the loser told "has already been taken"; one
//! first user; one membership per user and account; a page from one snapshot; a session
//! started on one host known on the other.

use std::collections::HashSet;
use std::error::Error as StdError;
use std::time::Duration;

use crate::store::pg::testing;
use crate::store::{Clock, Pg};

use super::{App, Error, NewUser, Settings, TodoChange};

type TestResult = Result<(), Box<dyn StdError>>;

/// One host's pool on the database at `url`.
async fn pool(url: &str) -> Result<Pg, String> {
    testing::open("app", url, 4, super::postgres_migrations).await
}

/// Two hosts' domains on one fresh database.
async fn two_hosts() -> Result<[App; 2], Box<dyn StdError>> {
    let url = testing::database().await?;
    let settings = Settings {
        bcrypt_cost: 4,
        session_max_age: Duration::from_secs(3600),
    };
    let app = |pg: Pg| {
        App::new(
            pg,
            Clock::system(),
            b"one secret for both hosts",
            settings.clone(),
        )
    };
    Ok([app(pool(&url).await?), app(pool(&url).await?)])
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email_address: email.to_owned(),
        password: "correct horse battery".to_owned(),
        name: None,
        site_admin: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn todo_changes_on_two_hosts_take_unique_gap_free_versions() -> TestResult {
    const TASKS: usize = 8;
    const EACH: usize = 15;
    let hosts = two_hosts().await?;
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let app = hosts[t % 2].clone();
            tokio::spawn(async move {
                let mut versions = Vec::new();
                for i in 0..EACH {
                    let todo = app.create_todo(&format!("task {t} todo {i}")).await?;
                    versions.push(todo.version);
                    if i % 3 == 0 {
                        let change = TodoChange {
                            title: None,
                            completed: Some(true),
                        };
                        versions.push(app.update_todo(todo.id, change).await?.version);
                    }
                }
                Ok::<_, Error>(versions)
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.extend(task.await??);
    }
    versions.sort_unstable();
    let changes = i64::try_from(versions.len())?;
    assert_eq!(
        versions,
        (1..=changes).collect::<Vec<_>>(),
        "every change took its own version, none skipped"
    );
    let page = hosts[1].todo_page(5_000).await?;
    assert_eq!(page.version, changes);
    let todos = hosts[0].todos().await?;
    let titles: HashSet<&str> = todos.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles.len(), TASKS * EACH, "every todo is there");
    let done = todos.iter().filter(|t| t.completed).count();
    assert_eq!(
        (page.counts.total, page.counts.done),
        (i64::try_from(TASKS * EACH)?, i64::try_from(done)?)
    );
    // One batch carries them all, each at its latest state.
    let batch = hosts[0].todo_batch().await?.ok_or("nothing to broadcast")?;
    assert_eq!((batch.since, batch.version), (0, changes));
    assert_eq!(batch.changes.len(), TASKS * EACH);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_email_signed_up_on_two_hosts_at_once_makes_one_user() -> TestResult {
    let hosts = two_hosts().await?;
    for round in 0..10 {
        let email = format!("same{round}@example.com");
        let (a, b) = tokio::join!(
            hosts[0].create_user(new_user(&email)),
            hosts[1].create_user(new_user(&email)),
        );
        let (won, lost) = match (a, b) {
            (Ok(user), Err(e)) | (Err(e), Ok(user)) => (user, e),
            other => panic!("expected one user and one refusal, got {other:?}"),
        };
        assert_eq!(won.email_address, email);
        match lost {
            Error::Invalid {
                field: "email_address",
                message,
            } => assert_eq!(message, "has already been taken"),
            other => panic!("expected the taken-email error, got {other:?}"),
        }
    }
    let users = hosts[1].users().await?;
    assert_eq!(users.len(), 10);
    assert_eq!(users.iter().filter(|u| u.site_admin).count(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_first_sign_ups_at_once_make_one_site_admin() -> TestResult {
    for _ in 0..5 {
        let hosts = two_hosts().await?;
        let (a, b) = tokio::join!(
            hosts[0].create_user(new_user("ann@example.com")),
            hosts[1].create_user(new_user("bob@example.com")),
        );
        let admins = [a?, b?].iter().filter(|u| u.site_admin).count();
        assert_eq!(admins, 1, "exactly one of two first users is site admin");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_started_on_one_host_is_known_on_the_other() -> TestResult {
    let [one, other] = two_hosts().await?;
    let user = one.create_user(new_user("ann@example.com")).await?;
    let session = one
        .start_session(&user, Some("192.0.2.1".into()), None)
        .await?;
    let (found, who) = other
        .resume_session(&session.token)
        .await?
        .ok_or("the other host does not know the session")?;
    assert_eq!((found, who), (session.clone(), user.clone()));
    assert_eq!(other.session_ids_of(user.id).await?, vec![session.id]);
    // A password reset on the other host ends it here too.
    let ended = other
        .reset_password("ann@example.com", "another good password".into())
        .await?;
    assert_eq!(ended.session_ids, vec![session.id]);
    assert!(one.resume_session(&session.token).await?.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_page_is_one_snapshot_while_another_host_writes() -> TestResult {
    let [writer, reader] = two_hosts().await?;
    let writing = tokio::spawn(async move {
        for i in 0..150 {
            writer.create_todo(&format!("todo {i}")).await?;
        }
        Ok::<_, Error>(())
    });
    let mut pages = 0;
    while !writing.is_finished() {
        let page = reader.todo_page(5_000).await?;
        // The list, the counts and the version come from one moment.
        assert_eq!(i64::try_from(page.todos.len())?, page.counts.total);
        assert_eq!(page.counts.total, page.version);
        pages += 1;
    }
    writing.await??;
    assert!(pages > 1, "the reader read while the writer wrote");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_member_added_on_two_hosts_at_once_joins_once() -> TestResult {
    let hosts = two_hosts().await?;
    let owner = hosts[0].create_user(new_user("owner@example.com")).await?;
    let team = hosts[0].create_account(&owner, "Team").await?;
    for round in 0..10 {
        let email = format!("member{round}@example.com");
        hosts[1].create_user(new_user(&email)).await?;
        let (a, b) = tokio::join!(
            hosts[0].add_member(&owner, team.id, &email, super::Role::Member),
            hosts[1].add_member(&owner, team.id, &email, super::Role::Admin),
        );
        match (a, b) {
            (Ok(_), Err(Error::Invalid { field, message }))
            | (Err(Error::Invalid { field, message }), Ok(_)) => {
                assert_eq!(
                    (field, message.as_str()),
                    ("email_address", "is already a member")
                );
            }
            other => panic!("expected one membership and one refusal, got {other:?}"),
        }
    }
    let account = hosts[1].account_for(&owner, team.id).await?;
    assert_eq!(account.members_count, 11);
    assert_eq!(hosts[1].members_for(&owner, team.id).await?.len(), 11);
    Ok(())
}
