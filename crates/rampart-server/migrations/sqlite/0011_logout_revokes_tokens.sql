-- RP-initiated logout, per client: whether ending a browser session also revokes the
-- refresh-token sessions the client got through it. The link from a browser session to
-- the token sessions its codes started is kept beside it (and goes with it).

ALTER TABLE clients ADD COLUMN logout_revokes_tokens INTEGER NOT NULL DEFAULT 0 CHECK (logout_revokes_tokens IN (0, 1));

CREATE TABLE browser_session_families (
    browser_session TEXT NOT NULL REFERENCES browser_sessions(id) ON DELETE CASCADE,
    family_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    PRIMARY KEY (browser_session, family_id)
) STRICT;
