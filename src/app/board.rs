//! The shared todo board's real-time pipeline (seed "Real-Time Updates"): every committed
//! change deletes the cached broadcast list (`todos:broadcast_list` in Solid Cache, 1 hour)
//! and enqueues [`BroadcastTodos`]; the job reads the list, broadcasts `{"todos": [...]}` on
//! cable channel `todos`, which [`TodosChannel`] streams from, and then refills the cache,
//! which new subscribers read.
//!
//! Two differences from the seed's `Rails.cache.fetch` inside the job, both for changes
//! that overlap: the job reads the database, not the cache, because a job still running for
//! an older change may have refilled the cache with its older list after this change
//! deleted it; and jobs run one at a time (a concurrency limit, across processes too), so
//! broadcasts go out in the order of the changes and the last one carries the last state.
//! Broadcasting before the cache write also keeps that write off the subscribers' path.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::App;
use super::error::Result;
use super::todos::{Todo, TodoChange, TodoProps};
use crate::actioncable::{Channel, Context, Registry};
use crate::cable::Cable;
use crate::cache::{Cache, WriteOptions};
use crate::queue::{Concurrency, Job, JobError, JobOptions, Queue};

/// Cache key of the broadcast list.
pub const LIST_KEY: &str = "todos:broadcast_list";
/// How long the cached list lives.
pub const LIST_TTL: Duration = Duration::from_secs(3600);
/// Cable channel the list is broadcast on.
pub const STREAM: &str = "todos";
/// Error class of a failed broadcast; such jobs are discarded (a newer one follows).
pub const BROADCAST_FAILED: &str = "BroadcastTodosFailed";

/// The job that broadcasts the current list. It has no arguments: it always sends the
/// freshest list, so a late job never sends stale data.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct BroadcastTodos {}

impl Job for BroadcastTodos {
    const NAME: &'static str = "BroadcastTodos";

    fn concurrency(&self) -> Option<Concurrency> {
        // One at a time: a slow job must not broadcast its list after a newer one's.
        Some(Concurrency::new("board"))
    }
}

/// Handle to the board: the domain plus the engines its pipeline uses. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Board {
    app: App,
    cache: Cache,
    queue: Queue,
    cable: Cable,
}

impl Board {
    /// A board over `app` using `cache`, `queue` and `cable`.
    pub fn new(app: App, cache: Cache, queue: Queue, cable: Cable) -> Self {
        Self {
            app,
            cache,
            queue,
            cable,
        }
    }

    /// Registers [`BroadcastTodos`] with the queue and [`TodosChannel`] with ActionCable.
    pub fn register(&self, channels: &Registry) {
        let board = self.clone();
        self.queue.register(
            JobOptions::default().discard_on(&[BROADCAST_FAILED]),
            move |_: BroadcastTodos, _| {
                let board = board.clone();
                async move { board.broadcast().await }
            },
        );
        let board = self.clone();
        channels.register("TodosChannel", move || TodosChannel {
            board: board.clone(),
        });
    }

    /// The list as broadcast, read through the cache (a miss reads the database once, even
    /// when many readers miss together).
    ///
    /// # Errors
    /// Database failures.
    pub async fn broadcast_list(&self) -> Result<Vec<TodoProps>> {
        let app = self.app.clone();
        self.cache
            .try_fetch(LIST_KEY, Some(LIST_TTL), || async move {
                app.todo_props().await
            })
            .await
    }

    /// Broadcasts the current list (read from the database) on [`STREAM`], then stores it
    /// as the cached list.
    ///
    /// # Errors
    /// A `BROADCAST_FAILED` job error when the list cannot be read or the row not written.
    pub async fn broadcast(&self) -> Result<(), JobError> {
        let failed = |e: &dyn std::fmt::Display| JobError::new(BROADCAST_FAILED, e.to_string());
        let todos = self.app.todo_props().await.map_err(|e| failed(&e))?;
        self.cable
            .broadcast(STREAM, &json!({ "todos": todos }))
            .await
            .map_err(|e| failed(&e))?;
        let ttl = WriteOptions::new().expires_in(LIST_TTL);
        self.cache.write(LIST_KEY, &todos, ttl).await;
        Ok(())
    }

    /// Adds a todo, then announces the change.
    ///
    /// # Errors
    /// As [`App::create_todo`].
    pub async fn create(&self, title: &str) -> Result<Todo> {
        let todo = self.app.create_todo(title).await?;
        self.changed().await;
        Ok(todo)
    }

    /// Changes a todo, then announces the change.
    ///
    /// # Errors
    /// As [`App::update_todo`].
    pub async fn update(&self, id: i64, change: TodoChange) -> Result<Todo> {
        let todo = self.app.update_todo(id, change).await?;
        self.changed().await;
        Ok(todo)
    }

    /// Deletes a todo, then announces the change.
    ///
    /// # Errors
    /// As [`App::delete_todo`].
    pub async fn delete(&self, id: i64) -> Result<Todo> {
        let todo = self.app.delete_todo(id).await?;
        self.changed().await;
        Ok(todo)
    }

    /// After a commit: drop the cached list and enqueue the broadcast. The change itself is
    /// already saved, so failures here are logged rather than returned.
    ///
    /// The two writes go to different files and run side by side: the job reads the
    /// database, not the cache, so it may start before the delete lands; whichever of the
    /// delete and the job's refill comes last, the cache ends empty or fresh.
    async fn changed(&self) {
        let cache = self.cache.clone();
        // Scoped to this call: joined below, aborted if the request is dropped.
        let mut delete = tokio::task::JoinSet::new();
        delete.spawn(async move { cache.delete(LIST_KEY).await });
        if let Err(err) = self.queue.enqueue(&BroadcastTodos {}).await {
            tracing::error!(cause = %err, "cannot enqueue BroadcastTodos");
        }
        if let Some(Err(err)) = delete.join_next().await {
            tracing::error!(cause = %err, "dropping the cached todo list failed");
        }
    }
}

/// `{"channel":"TodosChannel"}`: streams the board and transmits the current list at once.
pub struct TodosChannel {
    board: Board,
}

#[async_trait]
impl Channel for TodosChannel {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        ctx.stream_from(STREAM);
        match self.board.broadcast_list().await {
            Ok(todos) => ctx.transmit(&json!({ "todos": todos })),
            Err(err) => {
                tracing::error!(cause = %err, "cannot read the todo list for a new subscriber")
            }
        }
    }
}
