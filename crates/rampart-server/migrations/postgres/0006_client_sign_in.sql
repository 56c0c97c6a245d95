-- The same as migrations/sqlite/0006_client_sign_in.sql, plus the rule SQLite cannot add
-- to an existing table: a client is public exactly when it authenticates with `none`.

ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN first_party BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'none'
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none'));
ALTER TABLE clients ADD COLUMN access_token_ttl BIGINT CHECK (access_token_ttl > 0);
ALTER TABLE clients ADD COLUMN refresh_token_ttl BIGINT CHECK (refresh_token_ttl > 0);

UPDATE clients SET token_endpoint_auth_method = 'client_secret_basic' WHERE confidential;
UPDATE clients SET first_party = TRUE WHERE id = 'first-party';

ALTER TABLE clients ADD CONSTRAINT clients_public_iff_none
    CHECK ((token_endpoint_auth_method = 'none') = (NOT confidential));
