-- OpenID Connect: logins in flight (between the redirect to the provider and its callback)
-- and the external identities linked to users, keyed by (issuer, subject). The PostgreSQL
-- twin of this file has the same name.

CREATE TABLE oauth_pending (
    -- SHA-256 of the `state` sent to the provider; used once
    state_hash    TEXT    PRIMARY KEY,
    provider      TEXT    NOT NULL,
    nonce         TEXT    NOT NULL,
    pkce_verifier TEXT    NOT NULL,
    -- browser (cookie + redirect) or api (JSON)
    mode          TEXT    NOT NULL,
    return_to     TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX oauth_pending_by_created ON oauth_pending (created_at);

CREATE TABLE user_identities (
    issuer      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_by_user ON user_identities (user_id);
