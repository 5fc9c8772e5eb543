-- Kith's foundation: users with their addresses, phones, labels and roles; API tokens and
-- login sessions; the change log. The PostgreSQL twin of this file has the same name.
--
-- Times are integers (milliseconds since the Unix epoch, UTC) on both backends, so ordering,
-- cursors and comparisons are the same everywhere. Booleans are INTEGER 0/1 here.

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT    NOT NULL,
    -- lowercase username: uniqueness ignores letter case
    username_key        TEXT    NOT NULL UNIQUE,
    display_name        TEXT    NOT NULL,
    -- lowercase display name: sorting ignores letter case
    display_name_key    TEXT    NOT NULL,
    auth_method         TEXT    NOT NULL DEFAULT 'password',
    auth_domain         TEXT,
    -- argon2id PHC string; NULL for users who log in some other way
    password_hash       TEXT,
    time_zone           TEXT    NOT NULL,
    language            TEXT    NOT NULL,
    address             TEXT    NOT NULL DEFAULT '',
    website             TEXT    NOT NULL DEFAULT '',
    company             TEXT    NOT NULL DEFAULT '',
    im                  TEXT    NOT NULL DEFAULT '',
    twitter             TEXT    NOT NULL DEFAULT '',
    linkedin            TEXT    NOT NULL DEFAULT '',
    facebook            TEXT    NOT NULL DEFAULT '',
    avatar_provider     TEXT,
    subscribe_community INTEGER NOT NULL DEFAULT 0,
    email_summaries     INTEGER NOT NULL DEFAULT 1,
    email_conversations INTEGER NOT NULL DEFAULT 1,
    banned              INTEGER NOT NULL DEFAULT 0,
    signature_html      TEXT    NOT NULL DEFAULT '',
    summary             TEXT    NOT NULL DEFAULT '',
    auto_responder      INTEGER NOT NULL DEFAULT 0,
    custom_fields       TEXT    NOT NULL DEFAULT '{}',
    -- kept in step with user_emails by the store, for sorting and listing without a join
    primary_email       TEXT    NOT NULL DEFAULT '',
    primary_verified    INTEGER NOT NULL DEFAULT 0,
    has_verified_email  INTEGER NOT NULL DEFAULT 0,
    -- lowercase names, addresses, phones, company and labels, one per line, for `q` searches
    search_text         TEXT    NOT NULL DEFAULT '',
    last_login_at       INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX users_by_display_name ON users (display_name_key, id);
CREATE INDEX users_by_primary_email ON users (primary_email, id);
CREATE INDEX users_by_last_login ON users (last_login_at, id);
CREATE INDEX users_by_created ON users (created_at, id);

CREATE TABLE user_emails (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- lowercase; an address belongs to at most one user
    email       TEXT    NOT NULL UNIQUE,
    -- the part after @, in ASCII (punycode), for domain membership rules
    domain      TEXT    NOT NULL,
    is_primary  INTEGER NOT NULL DEFAULT 0,
    verified    INTEGER NOT NULL DEFAULT 0,
    position    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_emails_by_user ON user_emails (user_id);
CREATE INDEX user_emails_by_domain ON user_emails (domain);

CREATE TABLE user_phones (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    -- E.164
    number      TEXT    NOT NULL,
    raw         TEXT    NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX user_phones_by_user ON user_phones (user_id);
CREATE INDEX user_phones_by_number ON user_phones (number);

CREATE TABLE user_labels (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label       TEXT    NOT NULL,
    label_key   TEXT    NOT NULL,
    PRIMARY KEY (user_id, label_key)
);
CREATE INDEX user_labels_by_label ON user_labels (label_key);

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('user', 'agent')),
    description TEXT    NOT NULL DEFAULT '',
    built_in    INTEGER NOT NULL DEFAULT 0,
    derived     INTEGER NOT NULL DEFAULT 0,
    -- space-separated permission names
    permissions TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE user_roles (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id     INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_by_role ON user_roles (role_id);

-- Built-in roles. Derived roles are listed so they can be shown and filtered by, never assigned.
-- Administrator's permissions are "all" in code, whatever is stored here.
INSERT INTO roles (name, name_key, kind, description, built_in, derived, permissions, created_at, updated_at) VALUES
 ('Everyone', 'everyone', 'user', 'Anyone, including visitors who are not logged in', 1, 1, '', 0, 0),
 ('Registered User', 'registered user', 'user', 'Has an account', 1, 1, '', 0, 0),
 ('Registered User with Verified Email', 'registered user with verified email', 'user', 'Has an account with a verified e-mail address', 1, 1, '', 0, 0),
 ('Administrator', 'administrator', 'agent', 'Every permission', 1, 0, 'users_view users_edit users_delete users_merge organizations_view organizations_edit organizations_delete comment roles_manage custom_fields_manage plugins_manage settings_manage', 0, 0),
 ('Manager', 'manager', 'agent', 'Works with users and organizations, including deleting and merging', 1, 0, 'users_view users_edit users_delete users_merge organizations_view organizations_edit organizations_delete comment', 0, 0),
 ('Agent', 'agent', 'agent', 'Works with users and organizations; cannot delete them', 1, 0, 'users_view users_edit organizations_view organizations_edit comment', 0, 0);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL DEFAULT '',
    -- SHA-256 of the token, hex; the token itself is shown once and never stored
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the session token, hex
    token_hash      TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    -- the session ends at the earlier of idle expiry (moves with use) and absolute expiry
    idle_expires_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Kept when the record goes: the history of a deleted user stays for audit.
CREATE TABLE changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type TEXT    NOT NULL,
    entity_id   INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    -- JSON values
    old_value   TEXT    NOT NULL,
    new_value   TEXT    NOT NULL
);
CREATE INDEX changes_by_entity ON changes (entity_type, entity_id, id);
