-- The same as migrations/sqlite/0008_authorization_codes.sql.

CREATE TABLE authorization_codes (
    code_hash         BYTEA PRIMARY KEY,
    client_id         TEXT COLLATE "C" NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id           TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri      TEXT NOT NULL,
    code_challenge    TEXT NOT NULL,
    scope             TEXT NOT NULL,
    nonce             TEXT,
    auth_time         BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    used_at           BIGINT,
    family_id         TEXT COLLATE "C",
    access_jti        TEXT,
    access_expires_at BIGINT
);
CREATE INDEX authorization_codes_expiry ON authorization_codes(expires_at);
