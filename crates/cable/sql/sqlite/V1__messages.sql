-- Solid Cable messages. channel_hash: first 8 bytes of SHA-256(channel), signed big-endian.
-- Times are Unix microseconds from the injected clock.
CREATE TABLE solid_cable_messages (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  channel      BLOB    NOT NULL,
  payload      BLOB    NOT NULL,
  created_at   INTEGER NOT NULL,
  channel_hash INTEGER NOT NULL
);
CREATE INDEX index_solid_cable_messages_on_channel ON solid_cable_messages (channel);
CREATE INDEX index_solid_cable_messages_on_channel_hash ON solid_cable_messages (channel_hash);
CREATE INDEX index_solid_cable_messages_on_created_at ON solid_cable_messages (created_at);
