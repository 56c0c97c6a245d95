-- The audit trail: one row per security event. `details` is JSON (before/after for
-- admin changes); never a password, token, secret or key.
CREATE TABLE audit_events (
    id        TEXT PRIMARY KEY NOT NULL,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT,
    subject   TEXT,
    client_id TEXT,
    ip        TEXT,
    reason    TEXT,
    details   TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_events_at ON audit_events(at, id);
CREATE INDEX audit_events_kind ON audit_events(kind, at);
