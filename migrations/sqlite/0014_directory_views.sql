-- The directory's "Disabled" view lists and counts disabled users without reading every user:
-- a partial index holds only them (few, on a healthy help desk).
CREATE INDEX users_disabled ON users (display_name_key, id) WHERE disabled = 1;
