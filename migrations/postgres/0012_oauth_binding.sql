-- A pending OpenID Connect login is bound to the browser that started it (RFC 9700 section
-- 4.7): the SHA-256 of a secret set as a cookie at start, required back at the callback, so an
-- attacker's callback URL opened in a victim's browser logs nobody in.
ALTER TABLE oauth_pending ADD COLUMN browser_hash TEXT NOT NULL DEFAULT '';
