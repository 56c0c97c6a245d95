-- Access-token state (issue 14): tokens of a user issued before `tokens_valid_after`
-- are void; `access_epoch` counts every change that can void tokens, so other instances
-- (and the server, for changes made by the CLI) know when to forget cached user state.
-- Triggers keep the counter in the same transaction as the change.

ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER NOT NULL DEFAULT 0;

CREATE TABLE access_epoch (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    n  INTEGER NOT NULL
) STRICT;
INSERT INTO access_epoch (id, n) VALUES (1, 0);

CREATE TRIGGER users_access_changed AFTER UPDATE OF disabled, tokens_valid_after ON users
WHEN OLD.disabled IS NOT NEW.disabled OR OLD.tokens_valid_after IS NOT NEW.tokens_valid_after
BEGIN
    UPDATE access_epoch SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER users_access_deleted AFTER DELETE ON users
BEGIN
    UPDATE access_epoch SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER role_scopes_access_added AFTER INSERT ON role_scopes
BEGIN
    UPDATE access_epoch SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER role_scopes_access_removed AFTER DELETE ON role_scopes
BEGIN
    UPDATE access_epoch SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER roles_access_removed AFTER DELETE ON roles
BEGIN
    UPDATE access_epoch SET n = n + 1 WHERE id = 1;
END;

-- Sessions (refresh-token families) revoked recently: their access tokens are refused.
CREATE INDEX refresh_tokens_revoked ON refresh_tokens(revoked_at) WHERE revoked_at IS NOT NULL;
