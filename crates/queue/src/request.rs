//! The request a job was enqueued by. A web layer runs each request inside
//! [`with_request_id`]; every job enqueued within it carries the id as data (the jobs
//! table's `request_id` column), and the worker's `job` span shows it, so a job's log lines
//! can be found with those of the request that caused it. The queue knows nothing of HTTP:
//! the id is an opaque string.

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// Runs `fut` with `id` as the current request id: jobs it enqueues (on its own task)
/// carry it.
pub async fn with_request_id<F: Future>(id: Arc<str>, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The request id of the running task, if it runs inside [`with_request_id`].
pub(crate) fn current() -> Option<String> {
    REQUEST_ID.try_with(|id| id.to_string()).ok()
}
