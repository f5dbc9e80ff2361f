-- History for resuming clients (AnyCable's extended protocol): a message's offset is its id.
-- `epoch` names this database's history: offsets are only comparable within one epoch.
-- `trimmed_through` is the highest id the trimmer ever deleted: a gap that starts below it
-- may have lost messages, so it is refused rather than replayed in part.
CREATE TABLE trifecta_cable_meta (
  id              integer PRIMARY KEY CHECK (id = 1),
  epoch           text    NOT NULL,
  trimmed_through bigint  NOT NULL DEFAULT 0
);
INSERT INTO trifecta_cable_meta (id, epoch)
  VALUES (1, substr(md5(random()::text || clock_timestamp()::text), 1, 16));

-- Sessions a reconnecting client may restore by id; `state` belongs to the ActionCable
-- server. Times are Unix microseconds.
CREATE TABLE trifecta_cable_sessions (
  sid        text   PRIMARY KEY,
  state      text   NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX index_trifecta_cable_sessions_on_expires_at ON trifecta_cable_sessions (expires_at);

-- A stream's history is read by (channel_hash, id).
CREATE INDEX index_solid_cable_messages_on_channel_hash_and_id
  ON solid_cable_messages (channel_hash, id);
