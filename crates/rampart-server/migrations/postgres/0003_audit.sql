-- The audit trail: one row per security event. `details` is JSON text (before/after for
-- admin changes); never a password, token, secret or key.
CREATE TABLE audit_events (
    id        TEXT COLLATE "C" PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL,
    actor     TEXT COLLATE "C",
    subject   TEXT COLLATE "C",
    client_id TEXT COLLATE "C",
    ip        TEXT,
    reason    TEXT,
    details   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events(at, id);
CREATE INDEX audit_events_kind ON audit_events(kind, at);
