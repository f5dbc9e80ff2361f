-- Solid Cache entries. A FIFO: id order is insertion order; an overwrite keeps id and
-- created_at (as the gem). Times are Unix microseconds from the injected clock.
CREATE TABLE solid_cache_entries (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  key        BLOB    NOT NULL,   -- namespaced key, at most 1024 bytes (longer keys are hashed)
  value      BLOB    NOT NULL,   -- serde_json bytes
  created_at INTEGER NOT NULL,
  expires_at INTEGER,            -- NULL: no expiry of its own (max_age still applies)
  key_hash   INTEGER NOT NULL,   -- first 8 bytes of SHA-256(key), signed big-endian
  byte_size  INTEGER NOT NULL    -- key + value + 140, as the gem
);
CREATE UNIQUE INDEX index_solid_cache_entries_on_key_hash ON solid_cache_entries (key_hash);

-- Exact running totals, kept by triggers in the writing transaction. SQLite has a single
-- writer per file, so this one row adds no contention, and it replaces the gem's sampled
-- size estimate (and its two byte_size indexes) with an O(1) read.
CREATE TABLE solid_cache_totals (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  entries INTEGER NOT NULL,
  bytes   INTEGER NOT NULL
);
INSERT INTO solid_cache_totals (id, entries, bytes) VALUES (1, 0, 0);

CREATE TRIGGER solid_cache_entries_insert AFTER INSERT ON solid_cache_entries
BEGIN
  UPDATE solid_cache_totals SET entries = entries + 1, bytes = bytes + NEW.byte_size WHERE id = 1;
END;

CREATE TRIGGER solid_cache_entries_delete AFTER DELETE ON solid_cache_entries
BEGIN
  UPDATE solid_cache_totals SET entries = entries - 1, bytes = bytes - OLD.byte_size WHERE id = 1;
END;

CREATE TRIGGER solid_cache_entries_resize AFTER UPDATE OF byte_size ON solid_cache_entries
  WHEN NEW.byte_size <> OLD.byte_size
BEGIN
  UPDATE solid_cache_totals SET bytes = bytes - OLD.byte_size + NEW.byte_size WHERE id = 1;
END;

-- Hit and miss counters of each running server process, flushed periodically so that
-- `trifecta cache stats` in another process can show them. Removed on graceful shutdown.
CREATE TABLE solid_cache_stats (
  instance    TEXT    PRIMARY KEY,  -- random id of one process's Cache
  pid         INTEGER NOT NULL,
  hits        INTEGER NOT NULL,
  misses      INTEGER NOT NULL,
  max_size    INTEGER NOT NULL,     -- that process's limits (0: none)
  max_entries INTEGER NOT NULL,
  max_age     INTEGER NOT NULL,     -- microseconds
  started_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
