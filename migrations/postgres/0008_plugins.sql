-- WebAssembly plugins: what admins decided about each (enabled, settings, granted hosts), each
-- plugin's own key-value store, custom field definitions, and avatars. The PostgreSQL twin of
-- this file has the same name.

CREATE TABLE plugin_settings (
    plugin_id       TEXT    PRIMARY KEY,
    enabled         BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON object: key -> value as the plugin reads it (strings)
    config          TEXT    NOT NULL DEFAULT '{}',
    -- JSON array of origins (a subset of the manifest's allowed_outbound_hosts)
    granted_hosts   TEXT    NOT NULL DEFAULT '[]',
    -- why the plugin was switched off when not by an admin (the circuit breaker)
    disabled_reason TEXT,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE plugin_kv (
    plugin_id   TEXT    NOT NULL,
    -- byte order, as list-keys promises
    key         TEXT    COLLATE "C" NOT NULL,
    value       BYTEA    NOT NULL,
    PRIMARY KEY (plugin_id, key)
);

CREATE TABLE custom_fields (
    id          BIGSERIAL PRIMARY KEY,
    -- user | organization
    entity      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    -- a built-in type (text, number, ...) or plugin:<plugin-id>/<type-id>
    field_type  TEXT    NOT NULL,
    required    BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON array of choices (select, multiselect)
    options     TEXT    NOT NULL DEFAULT '[]',
    -- JSON object handed to a plugin field type
    settings    TEXT    NOT NULL DEFAULT '{}',
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (entity, key)
);

CREATE TABLE avatars (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- upload | plugin:<id>
    source        TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    image         BYTEA    NOT NULL,
    -- strong validator for caching (SHA-256 of image, hex)
    etag          TEXT    NOT NULL,
    -- 1 once recompressed for disk after 30 days unseen
    compressed    BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at    BIGINT  NOT NULL,
    last_viewed_at BIGINT  NOT NULL
);
CREATE INDEX avatars_by_last_viewed ON avatars (last_viewed_at);
