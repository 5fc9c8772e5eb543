-- Accounts: disabling a user, password resets by e-mail link, and the job queue that sends
-- Kith's e-mails outside the request that asked for them. The PostgreSQL twin of this file has
-- the same name.

-- A disabled user cannot log in by any method and their sessions and tokens stop working.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

-- One row per reset link sent; only the SHA-256 of the link's token is kept.
CREATE TABLE password_resets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);

-- Work done after the request that asked for it (sending e-mail), by any instance: a worker
-- claims a due job by moving its run_at on (a lease), and deletes it when done.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    -- JSON
    payload     TEXT    NOT NULL,
    run_at      INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at);
