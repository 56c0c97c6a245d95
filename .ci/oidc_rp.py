"""OpenID Connect relying parties against a real `rampart serve --dev` (issue 17).

1. The README's "Sign in from a web app" example, verbatim: a Flask app on authlib's
   OIDC client. A requests session plays the browser: the app sends it to the
   authorization endpoint, it fills Rampart's login and consent forms, and comes back to
   the app's callback, where authlib exchanges the code (PKCE S256) and validates the ID
   token itself (signature from the JWKS, iss, aud, exp, nonce) before calling /userinfo.
2. authlib's low-level client without Flask: the ID token checked by authlib.jose
   against the published JWKS, at_hash included; then RP-initiated logout with the
   ID token as hint.

Env: RAMPART_URL, RAMPART_CA (the dev certificate), REQUESTS_CA_BUNDLE, ADMIN_PASSWORD.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

URL = os.environ["RAMPART_URL"]
CA = os.environ["RAMPART_CA"]
ADMIN_PW = os.environ["ADMIN_PASSWORD"]
ROOT = Path(__file__).resolve().parent.parent


def admin_token() -> str:
    r = requests.post(f"{URL}/oauth/token", data={"grant_type": "password", "username": "admin",
                                                   "password": ADMIN_PW, "scope": "admin"}, verify=CA)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def register(body: dict) -> dict:
    r = requests.post(f"{URL}/admin/clients", json=body, headers={"Authorization": f"Bearer {admin_token()}"}, verify=CA)
    assert r.status_code == 201, r.text
    return r.json()


def hidden(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden {name} in {page[:500]}"
    return m.group(1).replace("&amp;", "&").replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")


def fill_login_and_consent(browser: requests.Session, page: requests.Response) -> requests.Response:
    """From Rampart's login page through consent; returns the response after the consent."""
    assert page.status_code == 200 and 'action="/login"' in page.text, (page.status_code, page.text[:300])
    assert 'autocomplete="current-password"' in page.text
    consent = browser.post(f"{URL}/login", headers={"Origin": URL}, data={
        "csrf": hidden(page.text, "csrf"), "request": hidden(page.text, "request"),
        "username": "admin", "password": ADMIN_PW})
    assert consent.status_code == 200 and 'action="/consent"' in consent.text, (consent.status_code, consent.text[:300])
    return browser.post(f"{URL}/consent", headers={"Origin": URL}, data={
        "csrf": hidden(consent.text, "csrf"), "request": hidden(consent.text, "request"), "decision": "allow"},
        allow_redirects=False)


def readme_app() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Sign in from a web app", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    client = register({"name": "README web app", "confidential": True,
                       "grants": ["authorization_code", "refresh_token"], "scopes": ["openid", "profile", "email"],
                       "redirect_uris": ["http://127.0.0.1/callback"]})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"rampart-readme-app-{port}.py"
    app_file.write_text(code)
    env = dict(os.environ, CLIENT_ID=client["client_id"], CLIENT_SECRET=client["client_secret"], PORT=str(port))
    proc = subprocess.Popen([sys.executable, str(app_file)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(base + "/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        browser = requests.Session()
        assert "Sign in" in browser.get(base + "/").text
        login_page = browser.get(base + "/login")  # app → /oauth/authorize → the login page
        back = fill_login_and_consent(browser, login_page)
        assert back.status_code == 303, back.text
        target = urlparse(back.headers["Location"])
        params = parse_qs(target.query)
        assert params["iss"] == [URL], params
        home = browser.get(back.headers["Location"])  # the app's callback: code → tokens → userinfo
        assert home.status_code == 200, home.text
        assert home.text == "Hello admin", home.text
        print("README authlib + Flask app: signed in,", home.text)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        app_file.unlink(missing_ok=True)
        if sys.exc_info()[0] is not None:
            print(out.decode(errors="replace")[-3000:])


def authlib_client_and_logout() -> None:
    meta = requests.get(f"{URL}/.well-known/openid-configuration", verify=CA).json()
    redirect = "http://127.0.0.1:9/cb"
    bye = "https://app.example/signed-out"
    client = register({"name": "authlib public app", "confidential": False, "token_endpoint_auth_method": "none",
                       "grants": ["authorization_code", "refresh_token"],
                       "scopes": ["openid", "profile", "offline_access"], "redirect_uris": ["http://127.0.0.1/cb"],
                       "post_logout_redirect_uris": [bye]})
    rp = OAuth2Session(client["client_id"], scope="openid profile offline_access", redirect_uri=redirect,
                       code_challenge_method="S256", token_endpoint_auth_method="none")
    rp.verify = CA
    verifier = os.urandom(32).hex()
    nonce = os.urandom(16).hex()
    url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    browser = requests.Session()
    back = fill_login_and_consent(browser, browser.get(url))
    assert back.status_code == 303, back.text
    callback = back.headers["Location"]
    assert callback.startswith(redirect), callback
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state)
    assert "refresh_token" in token, "offline_access gives a refresh token"
    jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], verify=CA).json())
    claims = jwt.decode(token["id_token"], jwks, claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": meta["issuer"]},
                                        "aud": {"essential": True, "value": client["client_id"]}},
                        claims_params={"nonce": nonce, "client_id": client["client_id"],
                                       "access_token": token["access_token"]})
    claims.validate()  # exp, iat, iss, aud, azp, nonce, at_hash
    assert claims.header["alg"] == "RS256"
    print("authlib OAuth2Session + authlib.jose: ID token valid for", claims["sub"])
    # RP-initiated logout with the ID token: back to the registered URI with the state.
    out = browser.get(meta["end_session_endpoint"], params={"id_token_hint": token["id_token"],
                      "post_logout_redirect_uri": bye, "state": "s1"}, allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"] == f"{bye}?state=s1", (out.status_code, out.headers)
    again = browser.get(rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                                    nonce=nonce, prompt="none")[0], allow_redirects=False)
    assert parse_qs(urlparse(again.headers["Location"]).query)["error"] == ["login_required"]
    print("RP-initiated logout: signed out")


if __name__ == "__main__":
    readme_app()
    authlib_client_and_logout()
