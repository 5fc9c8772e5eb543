-- Name-ordered search. Every user gets a `name_rank`: an integer that sorts exactly like
-- (display_name_key, id), with gaps so a new or renamed user fits between its neighbours (the
-- store places it; a crowded gap is spread out). The trigram index is keyed by this rank
-- instead of the id, so a fragment search sorted by name walks the index in name order and
-- stops after one page, instead of looking up and sorting every match (10,000 for a common
-- surname among a million users). Counting the matches stays an index-only pass.

ALTER TABLE users ADD COLUMN name_rank INTEGER;
UPDATE users SET name_rank = r.n * 4294967296
    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY display_name_key, id) AS n FROM users) AS r
    WHERE r.id = users.id;
CREATE UNIQUE INDEX users_by_name_rank ON users (name_rank);

DROP TRIGGER users_search_insert;
DROP TRIGGER users_search_delete;
DROP TRIGGER users_search_update;
DROP TABLE users_search;

CREATE VIRTUAL TABLE users_search USING fts5 (
    search_text, content = 'users', content_rowid = 'name_rank', tokenize = 'trigram', detail = 'full'
);

-- A user without a rank yet (between a bulk insert and its placement) is not indexed.
CREATE TRIGGER users_search_insert AFTER INSERT ON users WHEN new.name_rank IS NOT NULL BEGIN
    INSERT INTO users_search (rowid, search_text) VALUES (new.name_rank, new.search_text);
END;

CREATE TRIGGER users_search_delete AFTER DELETE ON users WHEN old.name_rank IS NOT NULL BEGIN
    INSERT INTO users_search (users_search, rowid, search_text) VALUES ('delete', old.name_rank, old.search_text);
END;

CREATE TRIGGER users_search_update AFTER UPDATE OF search_text, name_rank ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text)
        SELECT 'delete', old.name_rank, old.search_text WHERE old.name_rank IS NOT NULL;
    INSERT INTO users_search (rowid, search_text)
        SELECT new.name_rank, new.search_text WHERE new.name_rank IS NOT NULL;
END;

INSERT INTO users_search (users_search) VALUES ('rebuild');
