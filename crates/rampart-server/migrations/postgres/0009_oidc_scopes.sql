-- The same as migrations/sqlite/0009_oidc_scopes.sql.

INSERT INTO scopes (name, description, is_default) VALUES
    ('openid', 'Sign you in to the app with your account (OpenID Connect)', FALSE),
    ('email', 'See your email address', FALSE)
ON CONFLICT (name) DO NOTHING;
INSERT INTO role_scopes (role, scope) VALUES
    ('user', 'openid'),
    ('user', 'email'),
    ('admin', 'openid'),
    ('admin', 'email')
ON CONFLICT DO NOTHING;

-- The built-in first-party client may be granted them (a new installation's gets them at
-- bootstrap).
UPDATE clients SET scopes = scopes || ' openid email' WHERE id = 'first-party';
