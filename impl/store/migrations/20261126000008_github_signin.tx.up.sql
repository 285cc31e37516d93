-- Accounts created by signing in with GitHub, keyed by GitHub's numeric user id (a
-- login can be renamed and then taken by someone else). token_id is the token the first
-- sign-in issued, the one the dashboard rotates. GitHub's access token is never stored.
CREATE TABLE github_users (
    github_id  INTEGER NOT NULL PRIMARY KEY,
    account_id TEXT    NOT NULL UNIQUE REFERENCES accounts (id),
    token_id   TEXT    NOT NULL REFERENCES tokens (id),
    login      TEXT    NOT NULL,
    avatar_url TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);
--bun:split
-- Dashboard sessions. id_hash is the SHA-256 of the session id in the browser's cookie;
-- the id itself is never stored.
CREATE TABLE sessions (
    id_hash    BLOB    NOT NULL PRIMARY KEY,
    github_id  INTEGER NOT NULL REFERENCES github_users (github_id),
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
--bun:split
CREATE INDEX sessions_expires ON sessions (expires_ms);
