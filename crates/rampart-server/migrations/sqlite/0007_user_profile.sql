-- OpenID Connect profile claims of a user (`name`, `email`, `email_verified`), set by the
-- admin API, the CLI and the import; shown to clients by scope (`profile`, `email`).

ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));
