//! Todos at the domain level: validation, ordering, updates, props; each case on SQLite
//! and on PostgreSQL.

use std::time::Duration;

use trifecta::app::{self, TodoChange};

use crate::domain::{Domain, on_both};
use crate::helpers::TestResult;

async fn titles_are_trimmed_required_and_bounded(d: Domain) -> TestResult {
    let app = d.app;
    assert_eq!(app.create_todo("  buy milk  ").await?.title, "buy milk");
    for bad in ["", "   ", &"x".repeat(501)] {
        match app.create_todo(bad).await {
            Err(app::Error::Invalid { field: "title", .. }) => {}
            other => panic!("expected title error for {:?}, got {other:?}", bad.len()),
        }
    }
    assert!(
        app.create_todo(&"é".repeat(500)).await.is_ok(),
        "500 characters, not bytes"
    );
    assert_eq!(app.todos().await?.len(), 2, "nothing invalid saved");
    Ok(())
}

async fn the_list_is_newest_first_and_updates_apply(d: Domain) -> TestResult {
    let app = d.app;
    let clock = d.clock;
    let a = app.create_todo("first").await?;
    clock.advance(Duration::from_secs(1));
    let b = app.create_todo("second").await?;
    let list = app.todos().await?;
    assert_eq!(
        list.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![b.id, a.id]
    );

    let done = app
        .update_todo(
            a.id,
            TodoChange {
                completed: Some(true),
                title: None,
            },
        )
        .await?;
    assert!(done.completed);
    assert_eq!(done.title, "first");
    let renamed = app
        .update_todo(
            a.id,
            TodoChange {
                title: Some(" renamed ".into()),
                completed: None,
            },
        )
        .await?;
    assert_eq!(renamed.title, "renamed");
    assert!(renamed.completed, "untouched fields stay");
    assert!(matches!(
        app.update_todo(
            a.id,
            TodoChange {
                title: Some(String::new()),
                completed: None
            }
        )
        .await,
        Err(app::Error::Invalid { field: "title", .. })
    ));
    assert!(matches!(
        app.update_todo(9999, TodoChange::default()).await,
        Err(app::Error::NotFound)
    ));
    app.delete_todo(b.id).await?;
    assert!(matches!(
        app.delete_todo(b.id).await,
        Err(app::Error::NotFound)
    ));

    let props = app.todo_props().await?;
    assert_eq!(props.len(), 1);
    assert_eq!(app.ids().decode(&props[0].id), Some(a.id));
    assert!(
        props[0].created_at.starts_with("2023-11-14T22:13:20"),
        "{}",
        props[0].created_at
    );
    Ok(())
}

on_both!(
    titles_are_trimmed_required_and_bounded,
    the_list_is_newest_first_and_updates_apply,
);
