-- Failed-login counters per client IP, per account and per client (brute-force backoff).
-- Shared by every instance: counted with one INSERT … ON CONFLICT DO UPDATE each.
CREATE TABLE login_throttle (
    key             TEXT COLLATE "C" PRIMARY KEY,
    failures        BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);
