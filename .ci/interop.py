"""Standard clients against Rampart, unchanged: each check prints one line; any failure raises."""
import os
import ssl
import sys

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

URL = os.environ["RAMPART_URL"]
CA = os.environ["RAMPART_CA"]
ADMIN_PW = os.environ["RAMPART_BOOTSTRAP_ADMIN_PASSWORD"]
TOKEN_URL = f"{URL}/oauth/token"
passed = failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok   {name}")
    except Exception as e:  # noqa: BLE001 - report every failure
        failed += 1
        print(f"FAIL {name}: {e!r}")


def metadata():
    m = requests.get(f"{URL}/.well-known/oauth-authorization-server", verify=CA).json()
    assert m["issuer"] == URL, m
    assert m["token_endpoint"] == TOKEN_URL, m
    return m


def requests_oauthlib_password_grant():
    session = OAuth2Session(client=LegacyApplicationClient(client_id="first-party"))
    token = session.fetch_token(token_url=TOKEN_URL, username="admin", password=ADMIN_PW, verify=CA)
    assert token["token_type"] == "Bearer"
    me = session.get(f"{URL}/users/me", verify=CA)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "admin"
    refreshed = session.refresh_token(TOKEN_URL, client_id="first-party", verify=CA)
    assert refreshed["access_token"] != token["access_token"]


def authlib_password_and_refresh():
    session = AuthlibSession(client_id="first-party", token_endpoint_auth_method="none", scope="profile admin")
    session.verify = CA
    token = session.fetch_token(TOKEN_URL, username="admin", password=ADMIN_PW, grant_type="password")
    assert "admin" in token["scope"].split()
    new = session.refresh_token(TOKEN_URL, refresh_token=token["refresh_token"])
    assert new["refresh_token"] != token["refresh_token"]
    # The spent token presented again at once, as a second tab would: inside the reuse
    # grace window (5 s by default) it gets a successor of its own in the same session.
    again = requests.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}, verify=CA)
    assert again.status_code == 200, again.text
    sibling = again.json()["refresh_token"]
    assert sibling not in (token["refresh_token"], new["refresh_token"])
    # Revoking one ends the session: the sibling is refused too (RFC 7009 §2.1).
    session.revoke_token(f"{URL}/oauth/revoke", token=new["refresh_token"], token_type_hint="refresh_token")
    after = requests.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": sibling}, verify=CA)
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant", after.text


def authlib_client_credentials():
    admin = requests.post(TOKEN_URL, data={"grant_type": "password", "username": "admin", "password": ADMIN_PW, "scope": "admin"}, verify=CA).json()
    # A client authenticates by the one method it registered: one client per method.
    for method in ("client_secret_basic", "client_secret_post"):
        created = requests.post(
            f"{URL}/admin/clients",
            json={"name": f"interop {method}", "confidential": True, "grants": ["client_credentials"], "scopes": ["profile"],
                  "token_endpoint_auth_method": method},
            headers={"Authorization": f"Bearer {admin['access_token']}"},
            verify=CA,
        )
        assert created.status_code == 201, created.text
        client = created.json()
        assert client["token_endpoint_auth_method"] == method, client
        session = AuthlibSession(client["client_id"], client["client_secret"], token_endpoint_auth_method=method)
        session.verify = CA
        token = session.fetch_token(TOKEN_URL, grant_type="client_credentials")
        assert "refresh_token" not in token
        if method == "client_secret_basic":
            intro = requests.post(f"{URL}/oauth/introspect", data={"token": token["access_token"]}, auth=(client["client_id"], client["client_secret"]), verify=CA)
        else:
            intro = requests.post(f"{URL}/oauth/introspect", data={"token": token["access_token"], "client_id": client["client_id"], "client_secret": client["client_secret"]}, verify=CA)
        intro = intro.json()
        assert intro["active"] is True and intro["client_id"] == client["client_id"], intro
        # The other method is refused.
        other = "client_secret_post" if method == "client_secret_basic" else "client_secret_basic"
        wrong = AuthlibSession(client["client_id"], client["client_secret"], token_endpoint_auth_method=other)
        wrong.verify = CA
        try:
            wrong.fetch_token(TOKEN_URL, grant_type="client_credentials")
        except Exception as e:  # authlib raises OAuthError for a 401 invalid_client
            assert "invalid_client" in str(e), e
        else:
            raise AssertionError(f"{other} accepted for a {method} client")


def pyjwt_pyjwkclient():
    token = requests.post(TOKEN_URL, data={"grant_type": "password", "username": "admin", "password": ADMIN_PW}, verify=CA).json()["access_token"]
    context = ssl.create_default_context(cafile=CA)
    jwks = jwt.PyJWKClient(f"{URL}/.well-known/jwks.json", ssl_context=context)
    key = jwks.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=URL, issuer=URL)
    assert claims["client_id"] == "first-party" and "profile" in claims["scope"].split(), claims
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


check("RFC 8414 metadata: issuer equals the token iss", metadata)
check("requests-oauthlib: password grant, /users/me, refresh", requests_oauthlib_password_grant)
check("authlib: password grant, rotation, revocation", authlib_password_and_refresh)
check("authlib: client_credentials (a basic and a post client, each refused the other way) + introspection", authlib_client_credentials)
check("PyJWT PyJWKClient: validates the access token from the JWKS", pyjwt_pyjwkclient)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
