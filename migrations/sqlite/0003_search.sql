-- Fragment search over users without a table scan: an FTS5 index with the trigram tokenizer
-- over users.search_text (external content: the text lives once, in users). `LIKE '%frag%'`
-- on this table is answered from the index for fragments of three or more characters.
-- detail='none' keeps it small; LIKE needs no positions. Triggers keep it in step.

CREATE VIRTUAL TABLE users_search USING fts5 (
    search_text, content = 'users', content_rowid = 'id', tokenize = 'trigram', detail = 'none'
);

CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;

CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO users_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

INSERT INTO users_search (users_search) VALUES ('rebuild');
