//! The shared todo board's real-time pipeline: every committed
//! change enqueues [`BroadcastTodos`], which broadcasts what changed since the last
//! broadcast (a [`TodoBatch`]) on cable channel `todos`, which [`TodosChannel`] streams from.
//! A new subscriber gets the newest todos at once, read through Solid Cache
//! (`todos:broadcast_list`, 1 hour).
//!
//! The work per change does not grow with the board:
//! - the job coalesces: a change made while one waits to run enqueues nothing (the waiting
//!   job will send it), and jobs run one at a time, across processes too, so batches go out
//!   in version order;
//! - a batch carries the changed todos only; clients apply it to the version they hold and
//!   reload on a gap (see [`super::todo_versions`]);
//! - the cached list carries its version and a subscriber compares it with the board's (one
//!   row), so a change never has to write to the cache and a stale entry is never served.

use std::time::Duration;

use async_trait::async_trait;

use super::App;
use super::error::Result;
use super::todo_versions::{DEFAULT_LIMIT, TodoPage};
use super::todos::{Todo, TodoChange};
use crate::actioncable::{Channel, Context, Registry};
use crate::cable::Cable;
use crate::cache::{Cache, WriteOptions};
use crate::queue::{Concurrency, Job, JobError, JobOptions, Queue, QueueSetup};

/// Cache key of the list a new subscriber gets (a [`TodoPage`] of [`DEFAULT_LIMIT`]).
pub const LIST_KEY: &str = "todos:broadcast_list";
/// How long the cached list lives.
pub const LIST_TTL: Duration = Duration::from_secs(3600);
/// Cable channel the list is broadcast on.
pub const STREAM: &str = "todos";
/// Error class of a failed broadcast; such jobs are discarded (a newer one follows).
pub const BROADCAST_FAILED: &str = "BroadcastTodosFailed";

/// The job that broadcasts what changed since the last broadcast. It has no arguments: it
/// always reads the board when it runs, so one job covers every change made before it.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct BroadcastTodos {}

impl Job for BroadcastTodos {
    const NAME: &'static str = "BroadcastTodos";

    fn concurrency(&self) -> Option<Concurrency> {
        // One at a time, so batches go out in version order; coalescing, so at most one
        // waits: a burst of changes costs one more job, not one per change.
        Some(Concurrency::new("board").coalescing())
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

    /// Registers [`BroadcastTodos`] with the queue being set up and [`TodosChannel`] with
    /// the channels ActionCable will serve.
    pub fn register(&self, jobs: &mut QueueSetup, channels: &mut Registry) {
        let board = self.clone();
        jobs.register(
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

    /// The newest todos for a new subscriber, read through the cache. The cached page is
    /// used only when it is at the board's current version; otherwise the database is read
    /// and the cache refilled.
    ///
    /// # Errors
    /// Database failures.
    pub async fn broadcast_list(&self) -> Result<TodoPage> {
        let version = self.app.todo_version().await?;
        if let Some(page) = self.cache.read::<TodoPage>(LIST_KEY).await
            && page.version == version
        {
            return Ok(page);
        }
        let page = self.app.todo_page(DEFAULT_LIMIT).await?;
        let ttl = WriteOptions::new().expires_in(LIST_TTL);
        self.cache.write(LIST_KEY, &page, ttl).await;
        Ok(page)
    }

    /// Broadcasts what changed since the last broadcast on [`STREAM`] (nothing when nothing
    /// did), then records it as sent.
    ///
    /// # Errors
    /// A `BROADCAST_FAILED` job error when the board cannot be read or the row not written.
    pub async fn broadcast(&self) -> Result<(), JobError> {
        let failed = |e: &dyn std::fmt::Display| JobError::new(BROADCAST_FAILED, e.to_string());
        let Some(batch) = self.app.todo_batch().await.map_err(|e| failed(&e))? else {
            return Ok(());
        };
        let batch_json = serde_json::to_value(&batch).map_err(|e| failed(&e))?;
        self.cable
            .broadcast(STREAM, &batch_json)
            .await
            .map_err(|e| failed(&e))?;
        self.app
            .todo_batch_sent(batch.version)
            .await
            .map_err(|e| failed(&e))?;
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

    /// After a commit: enqueue the broadcast (or find one waiting). The change itself is
    /// already saved, so a failure here is logged rather than returned; the next change's
    /// batch carries this one too.
    async fn changed(&self) {
        if let Err(err) = self.queue.enqueue(&BroadcastTodos {}).await {
            tracing::error!(cause = %err, "cannot enqueue BroadcastTodos");
        }
    }
}

/// `{"channel":"TodosChannel"}`: streams the board's batches and transmits the newest todos
/// (a [`TodoPage`]) at once; who is looking at the board is its presence set.
pub struct TodosChannel {
    board: Board,
}

#[async_trait]
impl Channel for TodosChannel {
    async fn subscribed(&mut self, ctx: &mut Context<'_>) {
        ctx.stream_from(STREAM);
        if let Some(user) = ctx.connection().identity.data::<super::User>() {
            let (id, info) = super::channels::presence_of(&self.board.app, user);
            ctx.presence(STREAM, id, info);
        }
        match self.board.broadcast_list().await {
            Ok(page) => match serde_json::to_value(&page) {
                Ok(value) => ctx.transmit(&value),
                Err(err) => tracing::error!(cause = %err, "cannot encode the todo list"),
            },
            Err(err) => {
                tracing::error!(cause = %err, "cannot read the todo list for a new subscriber")
            }
        }
    }
}
