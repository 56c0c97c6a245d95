-- Access-token state (issue 14): the same as migrations/sqlite/0004_access_state.sql.
-- Tokens of a user issued before `tokens_valid_after` are void; `access_epoch` counts
-- every change that can void tokens, bumped by triggers in the changing transaction.

ALTER TABLE users ADD COLUMN tokens_valid_after BIGINT NOT NULL DEFAULT 0;

CREATE TABLE access_epoch (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO access_epoch (id, n) VALUES (1, 0);

CREATE FUNCTION rampart_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE access_epoch SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_access_changed AFTER UPDATE OF disabled, tokens_valid_after ON users
FOR EACH ROW
WHEN (OLD.disabled IS DISTINCT FROM NEW.disabled
      OR OLD.tokens_valid_after IS DISTINCT FROM NEW.tokens_valid_after)
EXECUTE FUNCTION rampart_access_changed();

CREATE TRIGGER users_access_deleted AFTER DELETE ON users
FOR EACH STATEMENT EXECUTE FUNCTION rampart_access_changed();

CREATE TRIGGER role_scopes_access_changed AFTER INSERT OR DELETE ON role_scopes
FOR EACH STATEMENT EXECUTE FUNCTION rampart_access_changed();

CREATE TRIGGER roles_access_removed AFTER DELETE ON roles
FOR EACH STATEMENT EXECUTE FUNCTION rampart_access_changed();

CREATE INDEX refresh_tokens_revoked ON refresh_tokens(revoked_at) WHERE revoked_at IS NOT NULL;
