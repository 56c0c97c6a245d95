-- Clients are cached in memory for client authentication (accounts/access.rs): a change
-- to one (disabled, scopes, secret, deleted) bumps `access_epoch` like the user changes
-- of 0004, so the CLI's and other instances' changes reach the cache with the reload.
-- A new client needs no signal: unknown ids are never cached.

CREATE TRIGGER clients_access_changed AFTER UPDATE ON clients
BEGIN
    UPDATE access_epoch SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER clients_access_deleted AFTER DELETE ON clients
BEGIN
    UPDATE access_epoch SET n = n + 1 WHERE id = 1;
END;
