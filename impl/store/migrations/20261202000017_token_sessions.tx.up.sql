-- Dashboard sessions started by pasting an account token (POST /dashboard/sign-in), for
-- servers without GitHub sign-in. Like "sessions", id_hash is the SHA-256 of the id in
-- the browser's cookie; the token itself is never stored here. The session is the
-- token's: revoking the token ends it.
CREATE TABLE token_sessions (
    id_hash      BLOB    NOT NULL PRIMARY KEY,
    account_id   TEXT    NOT NULL,
    token_id     TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
);
--bun:split
CREATE INDEX token_sessions_account ON token_sessions (account_id, created_ms);
