-- Sessions, session-bound (ephemeral) leases, lock-delays and semaphores. A semaphore
-- has one row per holder, so a lease row is keyed by its lock and its lease id; the
-- table is rebuilt with that key and every existing row kept. session_id '' means a
-- lease with a TTL of its own; max_holders 0 means a plain lock (one holder).
CREATE TABLE leases_v2 (
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
    session_id    TEXT    NOT NULL DEFAULT '',
    lock_delay_ms INTEGER NOT NULL DEFAULT 0,
    max_holders   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, name, lease_id)
) WITHOUT ROWID;
--bun:split
INSERT INTO leases_v2 (account_id, name, lease_id, token_id, owner, fencing_token, ttl_ms, acquired_ms, expires_ms, metadata, revision)
SELECT account_id, name, lease_id, token_id, owner, fencing_token, ttl_ms, acquired_ms, expires_ms, metadata, revision FROM leases;
--bun:split
DROP TABLE leases;
--bun:split
ALTER TABLE leases_v2 RENAME TO leases;
--bun:split
-- Lock sessions (not the dashboard's browser sessions, which are the table "sessions").
-- Deadlines are not stored: a restart gives every session a fresh full TTL (ttl_ms).
CREATE TABLE lock_sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    account_id TEXT    NOT NULL,
    token_id   TEXT    NOT NULL,
    owner      TEXT    NOT NULL DEFAULT '',
    ttl_ms     INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
--bun:split
CREATE INDEX lock_sessions_account ON lock_sessions (account_id);
--bun:split
-- Lock-delays in force: a place of a lock kept by nobody after lease_id expired. A
-- restart gives each a fresh full delay_ms.
CREATE TABLE lock_delays (
    account_id  TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    lease_id    TEXT    NOT NULL,
    delay_ms    INTEGER NOT NULL,
    until_ms    INTEGER NOT NULL,
    max_holders INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, name, lease_id)
) WITHOUT ROWID;
