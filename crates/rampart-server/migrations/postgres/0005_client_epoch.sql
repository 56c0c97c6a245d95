-- The same as migrations/sqlite/0005_client_epoch.sql: a change to a client bumps
-- `access_epoch`, so every instance's client cache forgets it with the reload.

CREATE TRIGGER clients_access_changed AFTER UPDATE OR DELETE ON clients
FOR EACH STATEMENT EXECUTE FUNCTION rampart_access_changed();
