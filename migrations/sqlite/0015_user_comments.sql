-- Agent-only comments on users (SPEC section 2), as organizations have them; a sticky comment is
-- shown in the user's record header. They go with the user; merging moves them to the survivor.
CREATE TABLE user_comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    author_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    author_name TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    sticky      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX user_comments_by_user ON user_comments (user_id, id);
CREATE INDEX user_comments_by_author ON user_comments (author_id);
