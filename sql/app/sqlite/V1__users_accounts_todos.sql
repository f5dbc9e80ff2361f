-- App data of the two seed designs. Times are Unix microseconds.
CREATE TABLE users (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  email_address   TEXT    NOT NULL,
  password_digest TEXT    NOT NULL,
  name            TEXT    NOT NULL DEFAULT '',
  site_admin      INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_users_on_email_address ON users (email_address);

CREATE TABLE sessions (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token      TEXT    NOT NULL,
  ip_address TEXT,
  user_agent TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_sessions_on_token ON sessions (token);
CREATE INDEX index_sessions_on_user_id ON sessions (user_id);

CREATE TABLE accounts (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT    NOT NULL,
  account_type  TEXT    NOT NULL DEFAULT 'team',
  owner_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  members_count INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX index_accounts_on_owner_id ON accounts (owner_id);

CREATE TABLE account_users (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role       TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX index_account_users_on_account_id_and_user_id ON account_users (account_id, user_id);
CREATE INDEX index_account_users_on_user_id ON account_users (user_id);

CREATE TABLE todos (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  title      TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
  completed  INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX index_todos_on_created_at ON todos (created_at);
