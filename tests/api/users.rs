//! Users, sessions, accounts, scopes, obfuscated ids and the `users` CLI (domain level);
//! each domain case on SQLite and on PostgreSQL.

use std::time::Duration;

use trifecta::app::{self, NewUser, Role};

use crate::domain::{Domain, on_both};
use crate::helpers::{TestResult, run_cli_env, run_cli_stdin};

fn new_user(email: &str) -> NewUser {
    NewUser {
        email_address: email.to_owned(),
        password: "correct horse battery".to_owned(),
        name: None,
        site_admin: false,
    }
}

async fn the_first_user_is_site_admin_and_everyone_gets_a_personal_account(
    d: Domain,
) -> TestResult {
    let first = d.app.create_user(new_user("  Alice@Example.COM ")).await?;
    assert_eq!(first.email_address, "alice@example.com");
    assert_eq!(first.name, "alice");
    assert!(first.site_admin);
    let second = d.app.create_user(new_user("bob@example.com")).await?;
    assert!(!second.site_admin);
    let accounts = d.app.accounts_of(&second).await?;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].account_type, "personal");
    assert_eq!(accounts[0].owner_id, second.id);
    assert_eq!(accounts[0].members_count, 1);
    let members = d.app.members_for(&second, accounts[0].id).await?;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, Role::Owner);
    Ok(())
}

async fn invalid_users_are_refused_with_field_errors(d: Domain) -> TestResult {
    d.app.create_user(new_user("alice@example.com")).await?;
    let cases = [
        (
            new_user("ALICE@example.com"),
            "email_address",
            "has already been taken",
        ),
        (new_user("not-an-email"), "email_address", "is invalid"),
        (
            NewUser {
                password: "short".to_owned(),
                ..new_user("carol@example.com")
            },
            "password",
            "too short",
        ),
    ];
    for (input, field, text) in cases {
        match d.app.create_user(input).await {
            Err(app::Error::Invalid { field: f, message }) => {
                assert_eq!(f, field);
                assert!(message.contains(text), "{message}");
            }
            other => panic!("expected invalid {field}, got {other:?}"),
        }
    }
    assert_eq!(d.app.users().await?.len(), 1, "nothing saved");
    Ok(())
}

async fn authentication_checks_the_password(d: Domain) -> TestResult {
    d.app.create_user(new_user("alice@example.com")).await?;
    assert!(
        d.app
            .authenticate("Alice@Example.com", "correct horse battery")
            .await?
            .is_some()
    );
    assert!(
        d.app
            .authenticate("alice@example.com", "wrong horse battery")
            .await?
            .is_none()
    );
    assert!(
        d.app
            .authenticate("nobody@example.com", "correct horse battery")
            .await?
            .is_none()
    );
    Ok(())
}

async fn sessions_resume_end_and_expire(d: Domain) -> TestResult {
    let user = d.app.create_user(new_user("alice@example.com")).await?;
    let s = d
        .app
        .start_session(&user, Some("127.0.0.1".into()), Some("test".into()))
        .await?;
    let (resumed, who) = d.app.resume_session(&s.token).await?.expect("live");
    assert_eq!(resumed.id, s.id);
    assert_eq!(who.id, user.id);
    assert!(d.app.resume_session("garbage").await?.is_none());
    assert!(d.app.resume_session(&"0".repeat(64)).await?.is_none());

    d.app.end_session(&s.token).await?;
    assert!(
        d.app.resume_session(&s.token).await?.is_none(),
        "logged out"
    );

    let s2 = d.app.start_session(&user, None, None).await?;
    d.clock.advance(Duration::from_secs(3601));
    assert!(d.app.resume_session(&s2.token).await?.is_none(), "expired");

    let s3 = d.app.start_session(&user, None, None).await?;
    d.app
        .reset_password("alice@example.com", "another good password".into())
        .await?;
    assert!(
        d.app.resume_session(&s3.token).await?.is_none(),
        "reset ends sessions"
    );

    let s4 = d.app.start_session(&user, None, None).await?;
    d.app.delete_user("alice@example.com").await?;
    assert!(
        d.app.resume_session(&s4.token).await?.is_none(),
        "deleted user"
    );
    Ok(())
}

async fn scopes_hide_other_accounts_by_every_kind_of_id(d: Domain) -> TestResult {
    let admin = d.app.create_user(new_user("admin@example.com")).await?;
    let alice = d.app.create_user(new_user("alice@example.com")).await?;
    let bob = d.app.create_user(new_user("bob@example.com")).await?;
    let bobs = d.app.create_account(&bob, "Bob's team").await?;
    let alices = d.app.accounts_of(&alice).await?;
    let alice_account = alices[0].id;

    // Sequential guesses over every id that exists and some that do not.
    for id in 0..20 {
        let seen = d.app.account_for(&alice, id).await;
        if id == alice_account {
            assert!(seen.is_ok());
        } else {
            assert!(
                matches!(seen, Err(app::Error::NotFound)),
                "account {id}: {seen:?}"
            );
        }
        let member = d.app.account_user_for(&alice, id).await;
        if let Ok(m) = member {
            assert_eq!(m.account_id, alice_account, "only own memberships");
        }
    }
    // Bob's real id, through every path.
    assert!(matches!(
        d.app.members_for(&alice, bobs.id).await,
        Err(app::Error::NotFound)
    ));
    assert!(matches!(
        d.app.rename_account(&alice, bobs.id, "mine", None).await,
        Err(app::Error::NotFound)
    ));
    assert!(matches!(
        d.app.delete_account(&alice, bobs.id).await,
        Err(app::Error::NotFound)
    ));
    assert!(
        !d.app
            .accounts_accessible_by(&alice)
            .await?
            .iter()
            .any(|a| a.id == bobs.id)
    );
    // Garbage public ids decode to nothing.
    for garbage in [
        "",
        "1",
        "../1",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "💥",
    ] {
        assert_eq!(d.app.ids().decode(garbage), None, "{garbage}");
    }
    // Bob's real public id decodes, and still is not Alice's to see.
    let public = d.app.ids().encode(bobs.id);
    let decoded = d.app.ids().decode(&public).expect("round trip");
    assert!(matches!(
        d.app.account_for(&alice, decoded).await,
        Err(app::Error::NotFound)
    ));
    // The site admin sees everything.
    assert_eq!(d.app.accounts_accessible_by(&admin).await?.len(), 4);
    assert!(d.app.account_for(&admin, bobs.id).await.is_ok());
    Ok(())
}

async fn only_owners_admins_and_site_admins_manage_an_account(d: Domain) -> TestResult {
    let site_admin = d.app.create_user(new_user("root@example.com")).await?;
    let owner = d.app.create_user(new_user("owner@example.com")).await?;
    let member = d.app.create_user(new_user("member@example.com")).await?;
    d.app.create_user(new_user("helper@example.com")).await?;
    let team = d.app.create_account(&owner, "Team").await?;
    let m = d
        .app
        .add_member(&owner, team.id, "MEMBER@example.com", Role::Member)
        .await?;
    assert_eq!(d.app.account_for(&owner, team.id).await?.members_count, 2);

    assert!(matches!(
        d.app.rename_account(&member, team.id, "x", None).await,
        Err(app::Error::Forbidden)
    ));
    assert!(matches!(
        d.app
            .add_member(&member, team.id, "helper@example.com", Role::Member)
            .await,
        Err(app::Error::Forbidden)
    ));
    let promoted = d.app.change_role(&owner, m.id, Role::Admin).await?;
    assert_eq!(promoted.role, Role::Admin);
    assert_eq!(
        d.app
            .rename_account(&member, team.id, "Renamed", None)
            .await?
            .name,
        "Renamed"
    );
    assert!(matches!(
        d.app
            .add_member(&owner, team.id, "member@example.com", Role::Member)
            .await,
        Err(app::Error::Invalid {
            field: "email_address",
            ..
        })
    ));
    assert!(matches!(
        d.app
            .add_member(&owner, team.id, "ghost@example.com", Role::Member)
            .await,
        Err(app::Error::Invalid {
            field: "email_address",
            ..
        })
    ));
    let owner_membership = d.app.members_for(&owner, team.id).await?[0].clone();
    assert!(matches!(
        d.app.remove_member(&site_admin, owner_membership.id).await,
        Err(app::Error::Invalid { field: "role", .. })
    ));
    d.app.remove_member(&site_admin, m.id).await?;
    assert!(
        matches!(
            d.app.account_for(&member, team.id).await,
            Err(app::Error::NotFound)
        ),
        "removed member loses access"
    );
    assert_eq!(d.app.account_for(&owner, team.id).await?.members_count, 1);
    d.app.delete_account(&owner, team.id).await?;
    assert!(matches!(
        d.app.account_for(&site_admin, team.id).await,
        Err(app::Error::NotFound)
    ));
    Ok(())
}

#[test]
fn users_cli_creates_lists_resets_and_deletes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cost = [("TRIFECTA_BCRYPT_COST", "4")];
    let (status, _, err) = run_cli_env(dir.path(), &["migrate"], &cost);
    assert!(status.success(), "{err}");
    let (status, out, err) = run_cli_stdin(
        dir.path(),
        &["users", "create", "Ann@Example.com", "--name", "Ann"],
        "s3cret-password\n",
        &cost,
    );
    assert!(status.success(), "{err}");
    assert!(
        out.contains("created ann@example.com (site admin)"),
        "{out}"
    );
    assert!(
        !out.contains("password:"),
        "no generated password when one is given"
    );

    let (status, out, err) = run_cli_env(dir.path(), &["users", "create", "bo@example.com"], &cost);
    assert!(status.success(), "{err}");
    let generated = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("generated password printed once")
        .to_owned();
    assert_eq!(generated.len(), 20);

    let (status, _, err) = run_cli_stdin(
        dir.path(),
        &["users", "create", "ANN@example.com"],
        "another-password\n",
        &cost,
    );
    assert!(!status.success());
    assert_eq!(
        err.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{err}"
    );
    assert!(err.contains("has already been taken"), "{err}");

    let (status, out, _) = run_cli_env(dir.path(), &["users", "list"], &cost);
    assert!(status.success());
    assert!(out.contains("ann@example.com\tAnn\tadmin"), "{out}");
    assert!(out.contains("bo@example.com\tbo\t-"), "{out}");

    let (status, out, err) = run_cli_stdin(
        dir.path(),
        &["users", "reset-password", "bo@example.com"],
        "brand-new-password\n",
        &cost,
    );
    assert!(status.success(), "{err}");
    assert!(out.contains("password reset for bo@example.com"), "{out}");

    let (status, out, _) = run_cli_env(
        dir.path(),
        &["users", "delete", "bo@example.com", "--yes"],
        &cost,
    );
    assert!(status.success());
    assert!(out.contains("deleted bo@example.com"));
    let (status, _, err) = run_cli_env(
        dir.path(),
        &["users", "delete", "bo@example.com", "--yes"],
        &cost,
    );
    assert!(!status.success());
    assert!(err.contains("no user with email address"), "{err}");
    Ok(())
}

on_both!(
    the_first_user_is_site_admin_and_everyone_gets_a_personal_account,
    invalid_users_are_refused_with_field_errors,
    authentication_checks_the_password,
    sessions_resume_end_and_expire,
    scopes_hide_other_accounts_by_every_kind_of_id,
    only_owners_admins_and_site_admins_manage_an_account,
);
