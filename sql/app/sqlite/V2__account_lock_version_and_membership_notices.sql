-- Optimistic locking of accounts: every rename bumps lock_version, and a rename that names
-- an older version than the stored one is refused instead of overwriting.
ALTER TABLE accounts ADD COLUMN lock_version INTEGER NOT NULL DEFAULT 0;

-- Memberships made by someone else: who added the member, and when the member was first
-- told (NULL until then). Until told, other members see only the member's email address.
ALTER TABLE account_users ADD COLUMN added_by INTEGER REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE account_users ADD COLUMN seen_at INTEGER;
UPDATE account_users SET seen_at = created_at;
CREATE INDEX index_account_users_unseen ON account_users (user_id) WHERE seen_at IS NULL;
