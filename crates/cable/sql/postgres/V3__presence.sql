-- Presence (AnyCable's presence sets): one row per session present on a stream, under the
-- presence id it joined as (one user in several sessions counts once). A live session's rows
-- carry its process's `node` and are refreshed by it; a closed session's rows are detached
-- (`node` empty) and kept until `expires_at`, so a quick reconnect sends no leave and join.
-- Times are Unix microseconds.
CREATE TABLE trifecta_cable_presence (
  stream      text    NOT NULL,
  member      text    NOT NULL,
  presence_id text    NOT NULL,
  info        text    NOT NULL,
  node        text    NOT NULL,
  expires_at  bigint  NOT NULL,
  PRIMARY KEY (stream, member)
);
CREATE INDEX index_trifecta_cable_presence_on_stream_and_presence_id
  ON trifecta_cable_presence (stream, presence_id);
CREATE INDEX index_trifecta_cable_presence_on_member ON trifecta_cable_presence (member);
CREATE INDEX index_trifecta_cable_presence_on_node ON trifecta_cable_presence (node);
CREATE INDEX index_trifecta_cable_presence_on_expires_at ON trifecta_cable_presence (expires_at);
