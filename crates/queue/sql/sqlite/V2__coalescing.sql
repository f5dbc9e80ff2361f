-- Unfinished jobs by concurrency key: the coalescing check at enqueue ("is a job with this
-- key already waiting?") reads only these, however many finished jobs are kept.
CREATE INDEX index_solid_queue_jobs_unfinished_on_concurrency_key
  ON solid_queue_jobs (concurrency_key)
  WHERE finished_at IS NULL AND concurrency_key IS NOT NULL;
