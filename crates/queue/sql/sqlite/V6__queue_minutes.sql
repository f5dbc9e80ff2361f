-- Minute statistics for the operations dashboard: what each server's queue did, per minute
-- (its start, Unix microseconds), per server process (`node`, its registered process id)
-- and per queue. A server adds its in-memory counters every few seconds (and at shutdown)
-- when any moved, so an idle server writes nothing; readers sum the nodes. Rows older than
-- a day are deleted by the writers. `delay_*` is the wait from due to start of the jobs
-- started, in microseconds (the average is sum / count).
CREATE TABLE trifecta_queue_minutes (
  minute       INTEGER NOT NULL,
  node         INTEGER NOT NULL,
  queue_name   TEXT    NOT NULL,
  enqueued     INTEGER NOT NULL DEFAULT 0,
  finished     INTEGER NOT NULL DEFAULT 0,
  failed       INTEGER NOT NULL DEFAULT 0,
  retried      INTEGER NOT NULL DEFAULT 0,
  discarded    INTEGER NOT NULL DEFAULT 0,
  delay_count  INTEGER NOT NULL DEFAULT 0,
  delay_sum_us INTEGER NOT NULL DEFAULT 0,
  delay_max_us INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, node, queue_name)
) WITHOUT ROWID;
