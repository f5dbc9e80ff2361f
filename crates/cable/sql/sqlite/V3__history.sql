-- History for resuming clients (AnyCable's extended protocol): a message's offset is its id.
-- `epoch` names this file's history: offsets are only comparable within one epoch, and a new
-- cable file (or a new database) starts a new one. `trimmed_through` is the highest id the
-- trimmer ever deleted: a gap that starts below it may have lost messages, so it is refused
-- rather than replayed in part.
CREATE TABLE trifecta_cable_meta (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  epoch           TEXT    NOT NULL,
  trimmed_through INTEGER NOT NULL DEFAULT 0
);
INSERT INTO trifecta_cable_meta (id, epoch) VALUES (1, lower(hex(randomblob(8))));

-- Sessions a reconnecting client may restore by id; `state` belongs to the ActionCable
-- server. Times are Unix microseconds.
CREATE TABLE trifecta_cable_sessions (
  sid        TEXT    PRIMARY KEY,
  state      TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX index_trifecta_cable_sessions_on_expires_at ON trifecta_cable_sessions (expires_at);
