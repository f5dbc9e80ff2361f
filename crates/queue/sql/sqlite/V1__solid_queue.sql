-- Solid Queue. A job's state is whichever execution row exists for it (finished when
-- finished_at is set). Times are Unix microseconds from the injected clock; every execution
-- cascades with its job. `executions` counts claims (bumped in the claim transaction), so
-- exactly-once delivery can be checked. Concurrency limits travel with the job
-- (concurrency_limit, concurrency_duration in microseconds, concurrency_discard), so any process can release the
-- next blocked job without knowing the job type.
CREATE TABLE solid_queue_jobs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  queue_name      TEXT    NOT NULL,
  class_name      TEXT    NOT NULL,
  arguments       TEXT    NOT NULL DEFAULT 'null',
  priority        INTEGER NOT NULL DEFAULT 0,
  active_job_id   TEXT,
  executions      INTEGER NOT NULL DEFAULT 0,
  scheduled_at    INTEGER,
  finished_at     INTEGER,
  concurrency_key TEXT,
  concurrency_limit    INTEGER,
  concurrency_duration INTEGER,
  concurrency_discard  INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
-- Only the index cleanup needs: every index on this table is paid on each enqueue and
-- finish, and the gem's class_name / active_job_id / filtering indexes serve queries this
-- engine does not run.
CREATE INDEX index_solid_queue_jobs_on_finished_at ON solid_queue_jobs (finished_at);

CREATE TABLE solid_queue_ready_executions (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id     INTEGER NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
  queue_name TEXT    NOT NULL,
  priority   INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_ready_executions_on_job_id ON solid_queue_ready_executions (job_id);
CREATE INDEX index_solid_queue_poll_all ON solid_queue_ready_executions (priority, job_id);
CREATE INDEX index_solid_queue_poll_by_queue ON solid_queue_ready_executions (queue_name, priority, job_id);

CREATE TABLE solid_queue_claimed_executions (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id     INTEGER NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
  process_id INTEGER,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_claimed_executions_on_job_id ON solid_queue_claimed_executions (job_id);
CREATE INDEX index_solid_queue_claimed_executions_on_process_id_and_job_id ON solid_queue_claimed_executions (process_id, job_id);

CREATE TABLE solid_queue_scheduled_executions (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id       INTEGER NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
  queue_name   TEXT    NOT NULL,
  priority     INTEGER NOT NULL DEFAULT 0,
  scheduled_at INTEGER NOT NULL,
  created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_scheduled_executions_on_job_id ON solid_queue_scheduled_executions (job_id);
CREATE INDEX index_solid_queue_dispatch_all ON solid_queue_scheduled_executions (scheduled_at, priority, job_id);

CREATE TABLE solid_queue_blocked_executions (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id          INTEGER NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
  queue_name      TEXT    NOT NULL,
  priority        INTEGER NOT NULL DEFAULT 0,
  concurrency_key TEXT    NOT NULL,
  expires_at      INTEGER NOT NULL,
  created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_blocked_executions_on_job_id ON solid_queue_blocked_executions (job_id);
CREATE INDEX index_solid_queue_blocked_executions_for_release ON solid_queue_blocked_executions (concurrency_key, priority, job_id);
CREATE INDEX index_solid_queue_blocked_executions_for_maintenance ON solid_queue_blocked_executions (expires_at, concurrency_key);

CREATE TABLE solid_queue_failed_executions (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id     INTEGER NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
  error      TEXT,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_failed_executions_on_job_id ON solid_queue_failed_executions (job_id);

CREATE TABLE solid_queue_pauses (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  queue_name TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_pauses_on_queue_name ON solid_queue_pauses (queue_name);

CREATE TABLE solid_queue_processes (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  kind              TEXT    NOT NULL,
  last_heartbeat_at INTEGER NOT NULL,
  supervisor_id     INTEGER,
  pid               INTEGER NOT NULL,
  hostname          TEXT,
  metadata          TEXT,
  created_at        INTEGER NOT NULL,
  name              TEXT    NOT NULL
);
CREATE INDEX index_solid_queue_processes_on_last_heartbeat_at ON solid_queue_processes (last_heartbeat_at);
CREATE UNIQUE INDEX index_solid_queue_processes_on_name_and_supervisor_id ON solid_queue_processes (name, supervisor_id);
CREATE INDEX index_solid_queue_processes_on_supervisor_id ON solid_queue_processes (supervisor_id);

CREATE TABLE solid_queue_semaphores (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  key        TEXT    NOT NULL,
  value      INTEGER NOT NULL DEFAULT 1,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_semaphores_on_key ON solid_queue_semaphores (key);
CREATE INDEX index_solid_queue_semaphores_on_expires_at ON solid_queue_semaphores (expires_at);
CREATE INDEX index_solid_queue_semaphores_on_key_and_value ON solid_queue_semaphores (key, value);

CREATE TABLE solid_queue_recurring_tasks (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  key         TEXT    NOT NULL,
  schedule    TEXT    NOT NULL,
  class_name  TEXT,
  arguments   TEXT,
  queue_name  TEXT,
  priority    INTEGER DEFAULT 0,
  static      INTEGER NOT NULL DEFAULT 1,
  description TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_recurring_tasks_on_key ON solid_queue_recurring_tasks (key);
CREATE INDEX index_solid_queue_recurring_tasks_on_static ON solid_queue_recurring_tasks (static);

CREATE TABLE solid_queue_recurring_executions (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id     INTEGER NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
  task_key   TEXT    NOT NULL,
  run_at     INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_recurring_executions_on_job_id ON solid_queue_recurring_executions (job_id);
CREATE UNIQUE INDEX index_solid_queue_recurring_executions_on_task_key_and_run_at ON solid_queue_recurring_executions (task_key, run_at);
