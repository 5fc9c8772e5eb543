-- An agent's recently viewed and pinned records (users and organizations), newest first, as
-- JSON: read with the session (no query of a page's own), written when a record is opened.
ALTER TABLE users ADD COLUMN agent_records TEXT NOT NULL DEFAULT '[]';
