-- Optimistic concurrency: every edit of a user's or an organization's fields raises its
-- version, and an edit made over an older version is refused (a page shows "Keep mine / Take
-- theirs"; the API honours If-Match). Existing rows start at 1.
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE organizations ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
-- A person's own display preferences, stored on the server so they follow them to every
-- device: light, dark or system colours, and whether single-key shortcuts are on (WCAG 2.1.4).
ALTER TABLE users ADD COLUMN ui_theme TEXT NOT NULL DEFAULT 'system';
ALTER TABLE users ADD COLUMN keyboard_shortcuts INTEGER NOT NULL DEFAULT 1;
