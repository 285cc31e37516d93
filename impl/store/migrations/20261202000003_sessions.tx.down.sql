DROP TABLE lock_delays;
--bun:split
DROP TABLE lock_sessions;
--bun:split
-- Back to one row per lock: of a semaphore's holders the lowest token stays.
CREATE TABLE leases_v1 (
    account_id    TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    lease_id      TEXT    NOT NULL,
    token_id      TEXT    NOT NULL,
    owner         TEXT    NOT NULL DEFAULT '',
    fencing_token INTEGER NOT NULL,
    ttl_ms        INTEGER NOT NULL,
    acquired_ms   INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    metadata      TEXT    NOT NULL DEFAULT '',
    revision      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
--bun:split
INSERT INTO leases_v1 (account_id, name, lease_id, token_id, owner, fencing_token, ttl_ms, acquired_ms, expires_ms, metadata, revision)
SELECT account_id, name, lease_id, token_id, owner, fencing_token, ttl_ms, acquired_ms, expires_ms, metadata, revision FROM leases l
WHERE fencing_token = (SELECT min(fencing_token) FROM leases m WHERE m.account_id = l.account_id AND m.name = l.name);
--bun:split
DROP TABLE leases;
--bun:split
ALTER TABLE leases_v1 RENAME TO leases;
