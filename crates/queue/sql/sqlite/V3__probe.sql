-- One row that `/up` rewrites to prove the file can still be written (a read-only or full
-- disk, or a lost lock, turns the health check red).
CREATE TABLE trifecta_probe (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  writes INTEGER NOT NULL
);
