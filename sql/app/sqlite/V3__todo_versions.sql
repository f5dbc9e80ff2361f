-- The todo board's versions, so that broadcasts carry what changed rather than the whole
-- list. Every change takes the next board version in its own transaction; a todo keeps the
-- version of its last change and a deleted one leaves a tombstone until the change has been
-- broadcast. `broadcast_version` is what the last broadcast covered. The counts are kept by
-- the triggers below so the page never counts a long list.
ALTER TABLE todos ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX index_todos_on_version ON todos (version);

CREATE TABLE todo_tombstones (
  id      INTEGER PRIMARY KEY,
  version INTEGER NOT NULL
);
CREATE INDEX index_todo_tombstones_on_version ON todo_tombstones (version);

CREATE TABLE todo_board (
  id                INTEGER PRIMARY KEY CHECK (id = 1),
  version           INTEGER NOT NULL,
  broadcast_version INTEGER NOT NULL,
  total             INTEGER NOT NULL,
  done              INTEGER NOT NULL
);
INSERT INTO todo_board (id, version, broadcast_version, total, done)
  SELECT 1, 0, 0, count(*), coalesce(sum(completed <> 0), 0) FROM todos;

CREATE INDEX index_todos_on_created_at_and_id ON todos (created_at DESC, id DESC);
DROP INDEX index_todos_on_created_at;

CREATE TRIGGER todo_board_count_insert AFTER INSERT ON todos BEGIN
  UPDATE todo_board SET total = total + 1, done = done + (NEW.completed <> 0) WHERE id = 1;
END;
CREATE TRIGGER todo_board_count_delete AFTER DELETE ON todos BEGIN
  UPDATE todo_board SET total = total - 1, done = done - (OLD.completed <> 0) WHERE id = 1;
END;
CREATE TRIGGER todo_board_count_update AFTER UPDATE OF completed ON todos
  WHEN (OLD.completed <> 0) <> (NEW.completed <> 0) BEGIN
  UPDATE todo_board SET done = done + (NEW.completed <> 0) - (OLD.completed <> 0) WHERE id = 1;
END;
