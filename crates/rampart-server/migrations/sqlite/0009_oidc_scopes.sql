-- OpenID Connect's scopes (Core §3.1.2.1, §5.4) as built-in scopes: `openid` (the token
-- may read /userinfo and, with the authorization endpoint, sign the user in to the app)
-- and `email`. Neither is a default scope: a client asks for them. The built-in roles
-- hold both, as they hold `profile`.

INSERT INTO scopes (name, description, is_default) VALUES
    ('openid', 'Sign you in to the app with your account (OpenID Connect)', 0),
    ('email', 'See your email address', 0)
ON CONFLICT(name) DO NOTHING;
INSERT INTO role_scopes (role, scope) VALUES
    ('user', 'openid'),
    ('user', 'email'),
    ('admin', 'openid'),
    ('admin', 'email')
ON CONFLICT DO NOTHING;

-- The built-in first-party client may be granted them (a new installation's gets them at
-- bootstrap).
UPDATE clients SET scopes = scopes || ' openid email' WHERE id = 'first-party';
