-- Server secrets, by purpose. 'signin_state' is the key that seals GitHub sign-ins in
-- flight into the browser's state cookie: random, made on first use, kept here so that a
-- restart does not cancel sign-ins in flight and every node of a cluster opens the
-- cookies any node sealed.
CREATE TABLE secrets (
    name       TEXT    NOT NULL PRIMARY KEY,
    value      BLOB    NOT NULL,
    created_ms INTEGER NOT NULL
);
