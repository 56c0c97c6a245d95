-- The same as migrations/sqlite/0011_logout_revokes_tokens.sql.

ALTER TABLE clients ADD COLUMN logout_revokes_tokens BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE browser_session_families (
    browser_session TEXT COLLATE "C" NOT NULL REFERENCES browser_sessions(id) ON DELETE CASCADE,
    family_id       TEXT COLLATE "C" NOT NULL,
    client_id       TEXT COLLATE "C" NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    PRIMARY KEY (browser_session, family_id)
);
