-- Organizations, their membership rules and comments; the interaction records (tickets, live
-- chats, call logs, surveys) whose addresses and accounts the rules match.
--
-- Matching is done at query time from indexes, so rules are live: nothing is re-scanned when a
-- user gains or loses an address. record_domains holds, for every address on a record, its
-- domain and each parent domain of two or more labels (x.acme.com → x.acme.com, acme.com), so
-- a domain rule with include_subdomains is one index range, never a LIKE scan.

CREATE TABLE organizations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL UNIQUE,
    website       TEXT    NOT NULL DEFAULT '',
    website_key   TEXT    NOT NULL DEFAULT '',
    phone         TEXT    NOT NULL DEFAULT '',
    phone_key     TEXT    NOT NULL DEFAULT '',
    employees     TEXT    NOT NULL DEFAULT '',
    address1      TEXT    NOT NULL DEFAULT '',
    address2      TEXT    NOT NULL DEFAULT '',
    city          TEXT    NOT NULL DEFAULT '',
    state         TEXT    NOT NULL DEFAULT '',
    zip           TEXT    NOT NULL DEFAULT '',
    country       TEXT    NOT NULL DEFAULT '',
    summary       TEXT    NOT NULL DEFAULT '',
    custom_fields TEXT    NOT NULL DEFAULT '{}',
    -- lowercase name, website and phone (raw and digits), one per line, for `q` searches
    search_text   TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX organizations_by_website ON organizations (website_key, id);
CREATE INDEX organizations_by_phone ON organizations (phone_key, id);

CREATE TABLE organization_labels (
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    label           TEXT    NOT NULL,
    label_key       TEXT    NOT NULL,
    PRIMARY KEY (organization_id, label_key)
);

CREATE TABLE organization_comments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    author_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    author_name     TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX organization_comments_by_org ON organization_comments (organization_id, id);

CREATE TABLE membership_rules (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id    INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind               TEXT    NOT NULL CHECK (kind IN ('email', 'username', 'domain', 'phone')),
    -- normalized: lowercase address, lowercase username, punycode domain, E.164 phone
    value              TEXT    NOT NULL,
    -- the named user of a username rule; a deleted user leaves a rule that matches nothing
    user_id            INTEGER REFERENCES users (id) ON DELETE SET NULL,
    include_subdomains INTEGER NOT NULL DEFAULT 0,
    view_org_tickets   INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    UNIQUE (organization_id, kind, value)
);
CREATE INDEX membership_rules_by_value ON membership_rules (kind, value);
CREATE INDEX membership_rules_by_user ON membership_rules (user_id);

CREATE TABLE tickets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    subject    TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('open', 'pending', 'resolved', 'closed')),
    -- the linked account; kept NULL when the user is deleted (the addresses stay)
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tickets_by_user ON tickets (user_id, created_at, id);

-- the ticket's header address list (lowercase); created_at copies the ticket's for ordering
CREATE TABLE ticket_addresses (
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, email)
) WITHOUT ROWID;
CREATE INDEX ticket_addresses_by_email ON ticket_addresses (email, created_at, ticket_id);

CREATE TABLE chats (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    email      TEXT,
    started_at INTEGER NOT NULL
);
CREATE INDEX chats_by_user ON chats (user_id, started_at, id);
CREATE INDEX chats_by_email ON chats (email, started_at, id);

CREATE TABLE calls (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT,
    -- E.164
    phone         TEXT,
    phone_raw     TEXT    NOT NULL DEFAULT '',
    direction     TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    duration_secs INTEGER NOT NULL DEFAULT 0,
    at            INTEGER NOT NULL
);
CREATE INDEX calls_by_email ON calls (email, at, id);
CREATE INDEX calls_by_phone ON calls (phone, at, id);

CREATE TABLE surveys (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    email   TEXT,
    name    TEXT    NOT NULL,
    score   INTEGER,
    at      INTEGER NOT NULL
);
CREATE INDEX surveys_by_user ON surveys (user_id, at, id);
CREATE INDEX surveys_by_email ON surveys (email, at, id);

-- kind: 1 user, 2 ticket, 3 chat, 4 call, 5 survey. `at` is the record's time for ordering
-- (a user's created_at). exact: some address is at this very domain, not only below it.
CREATE TABLE record_domains (
    kind      INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    domain    TEXT    NOT NULL,
    exact     INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (kind, record_id, domain)
) WITHOUT ROWID;
CREATE INDEX record_domains_lookup ON record_domains (kind, domain, at, record_id, exact);

-- Users who existed before this migration get their domain rows.
INSERT INTO record_domains (kind, record_id, domain, exact, at)
SELECT DISTINCT 1, e.user_id, e.domain, 1, u.created_at FROM user_emails e JOIN users u ON u.id = e.user_id;
