-- Browser and app sign-in (authorization code + PKCE, OpenID Connect): what a client
-- registers for it. Lists are space-separated like `grants` (a URI holds no space);
-- lifetimes in seconds, NULL for the server's.

ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN first_party INTEGER NOT NULL DEFAULT 0 CHECK (first_party IN (0, 1));
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'none'
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none'));
ALTER TABLE clients ADD COLUMN access_token_ttl INTEGER CHECK (access_token_ttl > 0);
ALTER TABLE clients ADD COLUMN refresh_token_ttl INTEGER CHECK (refresh_token_ttl > 0);

-- Existing confidential clients keep the method every server must support (RFC 6749
-- §2.3.1); the built-in client is the operator's own.
UPDATE clients SET token_endpoint_auth_method = 'client_secret_basic' WHERE confidential = 1;
UPDATE clients SET first_party = 1 WHERE id = 'first-party';
