-- The UTS #39 "skeleton" of each username (lowercased, accents and look-alike characters folded:
-- "ADMİN", "adm1n" and "admin" share one), so a new username that only looks like an existing
-- one is refused. Filled for existing users by Kith at start-up (the fold needs Unicode data SQL
-- does not have); written with every user from then on.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE INDEX users_by_username_skeleton ON users (username_skeleton);
