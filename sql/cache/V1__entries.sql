-- Solid Cache entries. A FIFO: id order is insertion order; an overwrite keeps id and
-- created_at (as the gem). Times are Unix microseconds from the injected clock.
CREATE TABLE solid_cache_entries (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  key        BLOB    NOT NULL,
  value      BLOB    NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,            -- NULL: no expiry of its own (max_age still applies)
  key_hash   INTEGER NOT NULL,   -- first 8 bytes of SHA-256(key), signed big-endian
  byte_size  INTEGER NOT NULL    -- key + value + 140, for size estimates
);
CREATE UNIQUE INDEX index_solid_cache_entries_on_key_hash ON solid_cache_entries (key_hash);
CREATE INDEX index_solid_cache_entries_on_byte_size ON solid_cache_entries (byte_size);
CREATE INDEX index_solid_cache_entries_on_key_hash_and_byte_size ON solid_cache_entries (key_hash, byte_size);
