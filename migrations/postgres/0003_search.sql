-- Fragment search over users without a table scan: a trigram GIN index (pg_trgm) on
-- users.search_text answers `LIKE '%frag%'` for fragments of three or more characters.
-- pg_trgm is a trusted extension: the database owner may create it.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search_trgm ON users USING gin (search_text gin_trgm_ops);
