-- Revocation (issue 12). A token may carry a label (name, NULL when none) and the last
-- time it was used as the server last persisted it (last_used_ms, NULL when never; kept
-- in memory on every request and written at most once a minute). A revoked token is
-- deleted, unless a GitHub link still names it: then revoked_ms marks it dead until the
-- next sign-in replaces it, and it is never loaded again.
ALTER TABLE tokens ADD COLUMN name TEXT;
--bun:split
ALTER TABLE tokens ADD COLUMN last_used_ms INTEGER;
--bun:split
ALTER TABLE tokens ADD COLUMN revoked_ms INTEGER;
--bun:split
-- A dashboard session also ends after an idle timeout: last_seen_ms is its last use, as
-- persisted (at most once a minute). Sessions from before this migration start idle
-- from their creation.
ALTER TABLE sessions ADD COLUMN last_seen_ms INTEGER NOT NULL DEFAULT 0;
--bun:split
UPDATE sessions SET last_seen_ms = created_ms;
--bun:split
-- An account's sessions, oldest first: for the bound per account and sign-out everywhere.
CREATE INDEX sessions_github ON sessions (github_id, created_ms);
