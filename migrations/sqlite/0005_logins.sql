-- Login hardening: a failure counter per account name (as typed, known or not, so a throttled
-- answer says nothing about whether the account exists) and a record of each login for the
-- user's history. The PostgreSQL twin of this file has the same name.

CREATE TABLE login_throttle (
    -- lowercased user name as typed
    account_key  TEXT    PRIMARY KEY,
    -- failures (and attempts in flight) since window_start
    failures     INTEGER NOT NULL DEFAULT 0,
    window_start INTEGER NOT NULL,
    -- no password is checked for this name before this time
    unlock_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX login_throttle_by_window ON login_throttle (window_start);

CREATE TABLE login_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    -- password, ldap:<id>, oauth:<id> or plugin:<id>
    method      TEXT    NOT NULL,
    -- the client address the login came from
    address     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX login_events_by_user ON login_events (user_id, at);
