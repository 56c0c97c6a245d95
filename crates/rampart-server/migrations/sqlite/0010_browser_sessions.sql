-- Browser sign-in (OIDC Core §3.1): the server-side session behind the session cookie,
-- the consents users gave to clients, and the session each authorization code came from.
-- A session's cookie value is never stored, only its SHA-256 digest; `id` is the public
-- handle (the ID token's `sid`, the admin API's id).

CREATE TABLE browser_sessions (
    id_hash      BLOB PRIMARY KEY NOT NULL,
    id           TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER
) STRICT;
CREATE INDEX browser_sessions_user ON browser_sessions(user_id);
CREATE INDEX browser_sessions_expiry ON browser_sessions(expires_at);

-- What a user allowed a client: the union of the scopes consented so far, space-separated
-- and sorted.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;

ALTER TABLE authorization_codes ADD COLUMN browser_session TEXT;

-- OIDC Core §11: asking for a refresh token in the authorization-code flow.
INSERT INTO scopes (name, description, is_default) VALUES
    ('offline_access', 'Stay signed in to the app while you are away', 0)
ON CONFLICT(name) DO NOTHING;
INSERT INTO role_scopes (role, scope) VALUES
    ('user', 'offline_access'),
    ('admin', 'offline_access')
ON CONFLICT DO NOTHING;
UPDATE clients SET scopes = scopes || ' offline_access' WHERE id = 'first-party';
