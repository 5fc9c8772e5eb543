-- The SQLite twin of this migration keys its trigram index by a name-ordered rank so that
-- name-sorted fragment searches stop after one page. PostgreSQL's pg_trgm index (0003) needs
-- nothing of the kind; this file keeps the two migration histories in step.
SELECT 1;
