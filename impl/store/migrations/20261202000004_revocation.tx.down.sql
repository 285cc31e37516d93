DROP INDEX sessions_github;
--bun:split
ALTER TABLE sessions DROP COLUMN last_seen_ms;
--bun:split
-- A revoked token a GitHub link still names stays dead: no SHA-256 equals one zero byte.
UPDATE tokens SET hash = X'00' WHERE revoked_ms IS NOT NULL;
--bun:split
ALTER TABLE tokens DROP COLUMN revoked_ms;
--bun:split
ALTER TABLE tokens DROP COLUMN last_used_ms;
--bun:split
ALTER TABLE tokens DROP COLUMN name;
