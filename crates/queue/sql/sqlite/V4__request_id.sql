-- The id of the request that enqueued a job (X-Request-Id), so the job's log lines can be
-- found with the request's; NULL for jobs enqueued outside a request (recurring tasks, the
-- CLI). Carried as data: the queue knows nothing of HTTP.
ALTER TABLE solid_queue_jobs ADD COLUMN request_id TEXT;
