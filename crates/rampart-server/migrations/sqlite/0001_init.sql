-- Rampart schema, SQLite. Times are seconds since the Unix epoch (INTEGER).

CREATE TABLE scopes (
    name        TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1))
) STRICT;

CREATE TABLE roles (
    name        TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE role_scopes (
    role  TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE ON UPDATE CASCADE,
    scope TEXT NOT NULL REFERENCES scopes(name) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (role, scope)
) STRICT;

CREATE TABLE users (
    id                  TEXT PRIMARY KEY NOT NULL,
    username            TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
) STRICT;

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (user_id, role)
) STRICT;
CREATE INDEX user_roles_role ON user_roles(role);

CREATE TABLE clients (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    confidential INTEGER NOT NULL CHECK (confidential IN (0, 1)),
    secret_hash  BLOB,
    grants       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    audience     TEXT,
    disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at   INTEGER NOT NULL,
    CHECK (confidential = 0 OR secret_hash IS NOT NULL)
) STRICT;

-- One row per issued refresh token; rows of one login share a family.
CREATE TABLE refresh_tokens (
    id              TEXT PRIMARY KEY NOT NULL,
    token_hash      BLOB NOT NULL UNIQUE,
    family_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    used_at         INTEGER,
    revoked_at      INTEGER
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY NOT NULL,
    alg           TEXT NOT NULL,
    sealed_key    BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    activates_at  INTEGER NOT NULL,
    retired_at    INTEGER,
    publish_until INTEGER
) STRICT;

-- RFC 7009: revoked access tokens, kept until they would have expired anyway.
CREATE TABLE revoked_jti (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

INSERT INTO scopes (name, description, is_default) VALUES
    ('profile', 'Read your own profile and change your password', 1),
    ('admin', 'Administer users, roles, clients and sessions', 0);
INSERT INTO roles (name, description) VALUES
    ('user', 'A regular user'),
    ('admin', 'An administrator');
INSERT INTO role_scopes (role, scope) VALUES
    ('user', 'profile'),
    ('admin', 'profile'),
    ('admin', 'admin');
