-- Every failed attempt of a job (retried, or failed for good), with its error JSON
-- ({exception_class, message, backtrace}) and the process that ran it: the job page lists
-- them all, where solid_queue_failed_executions keeps only the last failure. Written in the
-- finish transaction that records the failure, never for a successful run. `attempt` is the
-- job's `executions` when it failed (a manual retry starts it again at 1).
CREATE TABLE trifecta_job_attempts (
  id         INTEGER PRIMARY KEY,
  job_id     INTEGER NOT NULL REFERENCES solid_queue_jobs (id) ON DELETE CASCADE,
  attempt    INTEGER NOT NULL,
  error      TEXT    NOT NULL,
  process_id INTEGER,
  created_at INTEGER NOT NULL
);
-- The job page's lookup, and the cascade when a job is deleted (without it every deleted
-- job would scan this table).
CREATE INDEX trifecta_job_attempts_on_job_id ON trifecta_job_attempts (job_id);
-- The process that claimed the job last, set by the claim's own update of the row (no
-- extra statement); kept after the job finishes, so the job page can name it.
ALTER TABLE solid_queue_jobs ADD COLUMN process_id INTEGER;
-- Failed jobs newest first, and their time range, for the dashboard's search; the job id
-- in the index lets the search walk it without reading the failure rows. Paid only by jobs
-- that fail for good.
CREATE INDEX trifecta_failed_executions_on_created_at_and_job_id
  ON solid_queue_failed_executions (created_at, job_id);
