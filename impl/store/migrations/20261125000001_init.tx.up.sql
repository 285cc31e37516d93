CREATE TABLE accounts (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);
--bun:split
CREATE TABLE tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    hash       BLOB    NOT NULL,
    created_ms INTEGER NOT NULL
);
--bun:split
CREATE INDEX tokens_account ON tokens (account_id);
--bun:split
-- One row per unreleased lease. Deadlines are not stored: a restart gives every lease a
-- fresh full TTL (ttl_ms), so only the wall-clock expiry last reported is kept.
CREATE TABLE leases (
    account_id    TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    lease_id      TEXT    NOT NULL,
    token_id      TEXT    NOT NULL,
    owner         TEXT    NOT NULL DEFAULT '',
    fencing_token INTEGER NOT NULL,
    ttl_ms        INTEGER NOT NULL,
    acquired_ms   INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
--bun:split
-- fencing_reserved: every fencing token up to this value may have been issued.
CREATE TABLE meta (
    key   TEXT    NOT NULL PRIMARY KEY,
    value INTEGER NOT NULL
);
--bun:split
INSERT INTO meta (key, value) VALUES ('fencing_reserved', 0);
