-- Failed-login counters per client IP, per account and per client (brute-force backoff).
CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY NOT NULL,
    failures        INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL
) STRICT;
