-- Rampart schema, PostgreSQL: the same tables, keys and seed rows as migrations/sqlite.
-- Times are seconds since the Unix epoch (BIGINT); ids are TEXT. Names and ids compare
-- byte-wise (COLLATE "C") so ordering and `>` cursors match SQLite whatever the locale
-- the database was created with.

CREATE TABLE scopes (
    name        TEXT COLLATE "C" PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    is_default  BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE roles (
    name        TEXT COLLATE "C" PRIMARY KEY,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE role_scopes (
    role  TEXT COLLATE "C" NOT NULL REFERENCES roles(name) ON DELETE CASCADE ON UPDATE CASCADE,
    scope TEXT COLLATE "C" NOT NULL REFERENCES scopes(name) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (role, scope)
);
CREATE INDEX role_scopes_scope ON role_scopes(scope);

CREATE TABLE users (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    username            TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT COLLATE "C" NOT NULL REFERENCES roles(name) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles(role);

CREATE TABLE clients (
    id           TEXT COLLATE "C" PRIMARY KEY,
    name         TEXT NOT NULL,
    confidential BOOLEAN NOT NULL,
    secret_hash  BYTEA,
    grants       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    audience     TEXT,
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL,
    CHECK (NOT confidential OR secret_hash IS NOT NULL)
);

-- One row per issued refresh token; rows of one login share a family. Rotation is one
-- conditional UPDATE on `token_hash` (see store/postgres.rs).
CREATE TABLE refresh_tokens (
    id              TEXT COLLATE "C" PRIMARY KEY,
    token_hash      BYTEA NOT NULL UNIQUE,
    family_id       TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id       TEXT COLLATE "C" NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    used_at         BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens(client_id);

CREATE TABLE signing_keys (
    kid           TEXT COLLATE "C" PRIMARY KEY,
    alg           TEXT NOT NULL,
    sealed_key    BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    activates_at  BIGINT NOT NULL,
    retired_at    BIGINT,
    publish_until BIGINT
);

-- RFC 7009: revoked access tokens, kept until they would have expired anyway.
CREATE TABLE revoked_jti (
    jti        TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_jti_expires ON revoked_jti(expires_at);

INSERT INTO scopes (name, description, is_default) VALUES
    ('profile', 'Read your own profile and change your password', TRUE),
    ('admin', 'Administer users, roles, clients and sessions', FALSE);
INSERT INTO roles (name, description) VALUES
    ('user', 'A regular user'),
    ('admin', 'An administrator');
INSERT INTO role_scopes (role, scope) VALUES
    ('user', 'profile'),
    ('admin', 'profile'),
    ('admin', 'admin');
