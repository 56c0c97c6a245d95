-- The same as migrations/sqlite/0010_browser_sessions.sql.

CREATE TABLE browser_sessions (
    id_hash      BYTEA PRIMARY KEY,
    id           TEXT COLLATE "C" NOT NULL UNIQUE,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX browser_sessions_user ON browser_sessions(user_id);
CREATE INDEX browser_sessions_expiry ON browser_sessions(expires_at);

CREATE TABLE consents (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT COLLATE "C" NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

ALTER TABLE authorization_codes ADD COLUMN browser_session TEXT COLLATE "C";

INSERT INTO scopes (name, description, is_default) VALUES
    ('offline_access', 'Stay signed in to the app while you are away', FALSE)
ON CONFLICT(name) DO NOTHING;
INSERT INTO role_scopes (role, scope) VALUES
    ('user', 'offline_access'),
    ('admin', 'offline_access')
ON CONFLICT DO NOTHING;
UPDATE clients SET scopes = scopes || ' offline_access' WHERE id = 'first-party';
