-- Authorization codes (RFC 6749 §4.1, RFC 7636): stored only as a SHA-256 digest, single
-- use, short-lived, bound to what the authorization request said. `family_id` and
-- `access_jti` record what the one redemption issued, so that a second use can revoke it
-- (RFC 6749 §4.1.2, RFC 9700 §4.2.4).

CREATE TABLE authorization_codes (
    code_hash         BLOB PRIMARY KEY NOT NULL,
    client_id         TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri      TEXT NOT NULL,
    code_challenge    TEXT NOT NULL,
    scope             TEXT NOT NULL,
    nonce             TEXT,
    auth_time         INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    used_at           INTEGER,
    family_id         TEXT,
    access_jti        TEXT,
    access_expires_at INTEGER
) STRICT;
CREATE INDEX authorization_codes_expiry ON authorization_codes(expires_at);
