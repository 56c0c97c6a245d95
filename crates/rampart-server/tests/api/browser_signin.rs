//! Browser sign-in end to end over HTTP: the authorization endpoint, the login and
//! consent pages, the session cookie, the code exchange with its ID token, and
//! RP-initiated logout. A small cookie jar stands in for the browser (redirects are not
//! followed, so every hop is asserted); `browser_e2e` drives a real Chromium.

use std::collections::HashMap;

use base64::Engine as _;
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, USER_PW, jwt_parts, tokens};

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CALLBACK: &str = "https://app.example/callback";
const BYE: &str = "https://app.example/bye";

/// A browser: cookies by name, no redirects followed.
struct Browser<'a> {
    app: &'a TestApp,
    jar: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            jar: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            assert!(text.starts_with("__Host-"), "{text}");
            for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
                assert!(text.contains(attribute), "{text} lacks {attribute}");
            }
            assert!(!text.contains("Domain"), "{text}");
            let (pair, _) = text.split_once(';').unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn get(&mut self, path_and_query: &str) -> Response {
        let response = self
            .app
            .client()
            .get(self.app.url(path_and_query))
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(response.headers());
        response
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let origin = self.app.url("");
        let response = self
            .app
            .client()
            .post(self.app.url(path))
            .header(header::COOKIE, self.cookie_header())
            .header(header::ORIGIN, origin.trim_end_matches('/'))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(crate::helpers::form_body(fields))
            .send()
            .await
            .unwrap();
        self.keep_cookies(response.headers());
        response
    }

    /// Fills the login form of `page` and submits it.
    async fn submit_login(&mut self, page: &str, username: &str, password: &str) -> Response {
        let csrf = hidden(page, "csrf");
        let request = hidden(page, "request");
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    async fn submit_consent(&mut self, page: &str, decision: &str) -> Response {
        let csrf = hidden(page, "csrf");
        let request = hidden(page, "request");
        self.post(
            "/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", decision),
            ],
        )
        .await
    }
}

/// The value of hidden input `name` in `page` (HTML-unescaped).
fn hidden(page: &str, name: &str) -> String {
    let pattern = format!(r#"name="{name}" value="([^"]*)""#);
    let re = regex::Regex::new(&pattern).unwrap();
    let raw = &re
        .captures(page)
        .unwrap_or_else(|| panic!("no hidden {name} in {page}"))[1];
    raw.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

fn location(response: &Response) -> url::Url {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "a redirect");
    url::Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap()
}

fn query(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

struct Rp {
    id: String,
    secret: String,
}

/// A confidential web app (not first-party) registered for the code flow.
async fn web_app(app: &TestApp, extra: Value) -> Rp {
    let admin = app.admin_token().await;
    let mut body = json!({
        "name": "Notes <Web>", "confidential": true,
        "grants": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "profile", "email", "offline_access"],
        "redirect_uris": [CALLBACK, "http://127.0.0.1/native"],
        "post_logout_redirect_uris": [BYE],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let response = app
        .admin(Method::POST, "/admin/clients", &admin, Some(body))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    Rp {
        id: body["client_id"].as_str().unwrap().to_owned(),
        secret: body["client_secret"].as_str().unwrap().to_owned(),
    }
}

fn authorize_path(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in extra {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    format!("/oauth/authorize?{}", crate::helpers::form_body(&params))
}

async fn exchange(app: &TestApp, rp: &Rp, code: &str) -> Response {
    app.token(
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
        ClientAuth::Basic(&rp.id, &rp.secret),
    )
    .await
}

/// Signs alice in through the pages and consents; returns the code.
async fn sign_in(browser: &mut Browser<'_>, rp: &Rp, extra: &[(&str, &str)]) -> String {
    let page = browser.get(&authorize_path(&rp.id, extra)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    let consent = browser.submit_login(&page, "alice", USER_PW).await;
    assert_eq!(consent.status(), StatusCode::OK);
    let consent = consent.text().await.unwrap();
    let back = browser.submit_consent(&consent, "allow").await;
    query(&location(&back))["code"].clone()
}

#[tokio::test]
async fn a_user_signs_in_consents_and_the_app_gets_an_id_token_it_can_check() {
    let app = TestApp::spawn().await;
    let alice = app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({})).await;
    let mut browser = Browser::new(&app);

    // The app sends the browser to the authorization endpoint: the login page.
    let page = browser.get(&authorize_path(&rp.id, &[])).await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.headers()[header::X_FRAME_OPTIONS], "DENY");
    let page = page.text().await.unwrap();
    assert!(page.contains(r#"autocomplete="username""#));
    assert!(page.contains(r#"autocomplete="current-password""#));
    assert!(page.contains(r#"<label for="username">"#));
    assert!(
        page.contains("Notes &lt;Web&gt;"),
        "the client name, escaped"
    );
    assert!(!page.contains("<script"), "no script on the page");
    assert!(browser.jar.contains_key("__Host-rampart-csrf"));
    assert!(!browser.jar.contains_key("__Host-rampart-session"));

    // Login → the consent page, listing each scope's description.
    let consent = browser.submit_login(&page, "alice", USER_PW).await;
    assert_eq!(consent.status(), StatusCode::OK);
    assert!(browser.jar.contains_key("__Host-rampart-session"));
    let consent = consent.text().await.unwrap();
    assert!(consent.contains("See your email address"), "{consent}");
    assert!(consent.contains(r#"value="allow""#));

    // Allow → back to the app with the code, the state and the issuer (RFC 9207).
    let back = browser.submit_consent(&consent, "allow").await;
    let target = location(&back);
    assert_eq!(target.as_str().split('?').next().unwrap(), CALLBACK);
    let params = query(&target);
    assert_eq!(params["state"], "st-123");
    assert_eq!(params["iss"], app.state.settings.issuer.as_str());
    let code = &params["code"];
    assert!(code.len() >= 43, "256 random bits");

    // The exchange: an access token and an RS256 ID token with every claim.
    let issued = tokens(exchange(&app, &rp, code).await).await;
    assert_eq!(issued.scope, "email openid profile");
    assert!(
        issued.refresh_token.is_none(),
        "a sign-in without offline_access gets no refresh token (OIDC Core §11)"
    );
    let id_token = issued
        .id_token
        .clone()
        .expect("an ID token for scope openid");
    let (header, claims) = jwt_parts(&id_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["sub"], alice.as_str());
    assert_eq!(claims["aud"], rp.id.as_str());
    assert_eq!(claims["azp"], rp.id.as_str());
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["iss"], app.state.settings.issuer.as_str());
    assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());
    assert!(claims["sid"].is_string());
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, issued.access_token.as_bytes());
    let at_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]);
    assert_eq!(claims["at_hash"], at_hash.as_str());
    // Its key is in the JWKS.
    let jwks: Value = serde_json::from_slice(&app.jwks().await).unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"] && k["kty"] == "RSA")
    );
    // The ID token is not an access token.
    assert_eq!(
        app.me(&id_token).await.status(),
        StatusCode::UNAUTHORIZED,
        "an ID token is refused where an access token is required"
    );

    // The access token reads /userinfo.
    let info: Value = app
        .client()
        .get(app.url("/userinfo"))
        .bearer_auth(&issued.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], alice.as_str());
    assert_eq!(info["preferred_username"], "alice");

    // The consent and the session are remembered: the next request comes straight back.
    let again = browser.get(&authorize_path(&rp.id, &[])).await;
    assert!(query(&location(&again)).contains_key("code"));
}

#[tokio::test]
async fn offline_access_brings_a_refresh_token_that_rotates() {
    let app = TestApp::spawn().await;
    app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({})).await;
    let mut browser = Browser::new(&app);

    let code = sign_in(&mut browser, &rp, &[("scope", "openid offline_access")]).await;
    let issued = tokens(exchange(&app, &rp, &code).await).await;

    let refresh = issued
        .refresh_token
        .expect("offline_access gives a refresh token");
    let next = app
        .refresh(&refresh, None, ClientAuth::Basic(&rp.id, &rp.secret))
        .await;
    assert_eq!(next.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_that_cannot_be_trusted_get_an_error_page_and_never_a_redirect() {
    let app = TestApp::spawn().await;
    let rp = web_app(&app, json!({})).await;
    let cases: Vec<(&str, String)> = vec![
        ("no client_id", authorize_path(&rp.id, &[("client_id", "")])),
        ("unknown client", authorize_path("nobody", &[])),
        (
            "no redirect_uri",
            authorize_path(&rp.id, &[("redirect_uri", "")]),
        ),
        (
            "unregistered redirect_uri",
            authorize_path(&rp.id, &[("redirect_uri", "https://evil.example/callback")]),
        ),
        (
            "a registered redirect_uri with a path suffix",
            authorize_path(
                &rp.id,
                &[("redirect_uri", "https://app.example/callback/x")],
            ),
        ),
        (
            "client_id twice",
            format!("{}&client_id={}", authorize_path(&rp.id, &[]), rp.id),
        ),
    ];
    for (name, path) in cases {
        let response = Browser::new(&app).get(&path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        assert!(response.headers().get(header::LOCATION).is_none(), "{name}");
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{name}"
        );
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("evil.example"),
            "{name}: the URI is not echoed"
        );
    }
}

#[tokio::test]
#[allow(clippy::type_complexity)]
async fn other_errors_go_back_to_the_app_with_state_and_iss() {
    let app = TestApp::spawn().await;
    let rp = web_app(&app, json!({})).await;
    let cases: Vec<(&str, Vec<(&str, &str)>, &str)> = vec![
        (
            "response_type=token",
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            "no response_type",
            vec![("response_type", "")],
            "invalid_request",
        ),
        (
            "no PKCE",
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (
            "PKCE plain",
            vec![("code_challenge_method", "plain")],
            "invalid_request",
        ),
        (
            "no challenge method",
            vec![("code_challenge_method", "")],
            "invalid_request",
        ),
        (
            "a short challenge",
            vec![("code_challenge", "abc")],
            "invalid_request",
        ),
        (
            "request objects",
            vec![("request", "eyJ...")],
            "request_not_supported",
        ),
        (
            "prompt=none with login",
            vec![("prompt", "none login")],
            "invalid_request",
        ),
        (
            "prompt=none without a session",
            vec![("prompt", "none")],
            "login_required",
        ),
        ("a bad max_age", vec![("max_age", "-1")], "invalid_request"),
        (
            "a forged id_token_hint",
            vec![("id_token_hint", "eyJhbGciOiJub25lIn0.e30.")],
            "invalid_request",
        ),
    ];
    for (name, extra, error) in cases {
        let response = Browser::new(&app)
            .get(&authorize_path(&rp.id, &extra))
            .await;
        let target = location(&response);
        assert!(target.as_str().starts_with(CALLBACK), "{name}");
        let params = query(&target);
        assert_eq!(params["error"], error, "{name}: {params:?}");
        assert_eq!(params["state"], "st-123", "{name}");
        assert_eq!(params["iss"], app.state.settings.issuer.as_str(), "{name}");
        assert!(!params.contains_key("code"), "{name}");
    }
    // A repeated parameter too.
    let path = format!("{}&scope=openid", authorize_path(&rp.id, &[]));
    let params = query(&location(&Browser::new(&app).get(&path).await));
    assert_eq!(params["error"], "invalid_request");
}

#[tokio::test]
async fn a_client_without_the_code_grant_is_told_so_at_its_redirect_uri() {
    let app = TestApp::spawn().await;
    let rp = web_app(&app, json!({"grants": ["client_credentials"]})).await;
    let response = Browser::new(&app).get(&authorize_path(&rp.id, &[])).await;
    assert_eq!(query(&location(&response))["error"], "unauthorized_client");
}

#[tokio::test]
async fn every_failed_login_says_the_same_thing_and_sets_no_session() {
    let app = TestApp::spawn().await;
    app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({})).await;
    let mut texts = Vec::new();
    for (name, username, password) in [
        ("wrong password", "alice", "not the password"),
        ("unknown user", "mallory", "whatever it is"),
        ("malformed username", " ", "whatever it is"),
    ] {
        let mut browser = Browser::new(&app);
        let page = browser
            .get(&authorize_path(&rp.id, &[]))
            .await
            .text()
            .await
            .unwrap();
        let failed = browser.submit_login(&page, username, password).await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(
            !browser.jar.contains_key("__Host-rampart-session"),
            "{name}"
        );
        let body = failed.text().await.unwrap();
        assert!(
            body.contains("The username or password is incorrect."),
            "{name}"
        );
        assert!(
            !body.contains(password),
            "{name}: the password is not echoed"
        );
        texts.push(body.replace(&hidden(&body, "csrf"), ""));
    }
    assert_eq!(texts[0], texts[1], "no user enumeration");
}

#[tokio::test]
async fn forms_without_the_csrf_secret_are_refused() {
    let app = TestApp::spawn().await;
    app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({})).await;
    let mut browser = Browser::new(&app);
    let page = browser
        .get(&authorize_path(&rp.id, &[]))
        .await
        .text()
        .await
        .unwrap();
    let request = hidden(&page, "request");

    for (name, csrf) in [("no field", ""), ("another value", "A".repeat(43).as_str())] {
        let response = browser
            .post(
                "/login",
                &[
                    ("csrf", csrf),
                    ("request", &request),
                    ("username", "alice"),
                    ("password", USER_PW),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}");
        assert!(
            !browser.jar.contains_key("__Host-rampart-session"),
            "{name}"
        );
    }
    // Another site's form (a cross-site Origin) is refused before it reaches the page.
    let response = app
        .client()
        .post(app.url("/login"))
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("username=alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_login_replaces_any_session_the_browser_brought() {
    let app = TestApp::spawn().await;
    app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({"first_party": true})).await;
    let mut browser = Browser::new(&app);
    // A planted cookie value (fixation attempt).
    browser.jar.insert(
        "__Host-rampart-session".into(),
        "planted-by-an-attacker".into(),
    );

    let page = browser
        .get(&authorize_path(&rp.id, &[]))
        .await
        .text()
        .await
        .unwrap();
    let back = browser.submit_login(&page, "alice", USER_PW).await;

    assert!(
        query(&location(&back)).contains_key("code"),
        "first-party: no consent"
    );
    assert_ne!(
        browser.jar["__Host-rampart-session"],
        "planted-by-an-attacker"
    );
}

#[tokio::test]
async fn consent_denied_prompt_consent_and_prompt_none() {
    let app = TestApp::spawn().await;
    let alice = app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({})).await;
    let mut browser = Browser::new(&app);

    // Deny → access_denied at the app.
    let page = browser
        .get(&authorize_path(&rp.id, &[]))
        .await
        .text()
        .await
        .unwrap();
    let consent = browser
        .submit_login(&page, "alice", USER_PW)
        .await
        .text()
        .await
        .unwrap();
    let denied = browser.submit_consent(&consent, "deny").await;
    let params = query(&location(&denied));
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-123");

    // Signed in but no consent: prompt=none answers consent_required.
    let none = browser
        .get(&authorize_path(&rp.id, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&location(&none))["error"], "consent_required");

    // Allow once; then prompt=none succeeds, and prompt=consent asks again.
    let consent = browser
        .get(&authorize_path(&rp.id, &[]))
        .await
        .text()
        .await
        .unwrap();
    let allowed = browser.submit_consent(&consent, "allow").await;
    assert!(query(&location(&allowed)).contains_key("code"));
    let none = browser
        .get(&authorize_path(&rp.id, &[("prompt", "none")]))
        .await;
    assert!(query(&location(&none)).contains_key("code"));
    let again = browser
        .get(&authorize_path(&rp.id, &[("prompt", "consent")]))
        .await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "prompt=consent shows the page"
    );

    // prompt=login shows the login form though a session exists.
    let login = browser
        .get(&authorize_path(&rp.id, &[("prompt", "login")]))
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    assert!(login.text().await.unwrap().contains(r#"action="/login""#));

    // The admin API lists and withdraws the consent.
    let admin = app.admin_token().await;
    let listed: Value = app
        .admin(
            Method::GET,
            &format!("/admin/users/{alice}/consents"),
            &admin,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["client_id"], rp.id.as_str());
    assert_eq!(listed[0]["scopes"], json!(["email", "openid", "profile"]));
    let withdrawn = app
        .admin(
            Method::DELETE,
            &format!("/admin/users/{alice}/consents/{}", rp.id),
            &admin,
            None,
        )
        .await;
    assert_eq!(withdrawn.status(), StatusCode::NO_CONTENT);
    let none = browser
        .get(&authorize_path(&rp.id, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&location(&none))["error"], "consent_required");
}

#[tokio::test]
async fn native_apps_may_use_any_loopback_port() {
    let app = TestApp::spawn().await;
    app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({"first_party": true})).await;
    let mut browser = Browser::new(&app);
    let path = authorize_path(&rp.id, &[("redirect_uri", "http://127.0.0.1:53117/native")]);

    let page = browser.get(&path).await.text().await.unwrap();
    let back = browser.submit_login(&page, "alice", USER_PW).await;

    let target = location(&back);
    assert_eq!(target.port(), Some(53117));
    assert!(query(&target).contains_key("code"));
}

#[tokio::test]
async fn browser_sessions_are_listed_and_ended_through_the_admin_api() {
    let app = TestApp::spawn().await;
    let alice = app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({"first_party": true})).await;
    let mut browser = Browser::new(&app);
    let page = browser
        .get(&authorize_path(&rp.id, &[]))
        .await
        .text()
        .await
        .unwrap();
    browser.submit_login(&page, "alice", USER_PW).await;
    let admin = app.admin_token().await;

    let listed: Value = app
        .list_sessions(&admin, &format!("user_id={alice}"))
        .await
        .json()
        .await
        .unwrap();
    let session = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "browser")
        .expect("the browser session is listed")
        .clone();
    assert_eq!(session["username"], "alice");
    let ended = app
        .admin(
            Method::DELETE,
            &format!("/admin/sessions/{}", session["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);

    let next = browser
        .get(&authorize_path(&rp.id, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&location(&next))["error"], "login_required");
}

#[tokio::test]
async fn disabling_a_user_signs_their_browsers_out() {
    let app = TestApp::spawn().await;
    let alice = app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({"first_party": true})).await;
    let mut browser = Browser::new(&app);
    let page = browser
        .get(&authorize_path(&rp.id, &[]))
        .await
        .text()
        .await
        .unwrap();
    browser.submit_login(&page, "alice", USER_PW).await;
    let admin = app.admin_token().await;

    let response = app
        .update_user(&admin, &alice, json!({"disabled": true}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let next = browser
        .get(&authorize_path(&rp.id, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&location(&next))["error"], "login_required");
}

#[tokio::test]
async fn logout_with_the_apps_id_token_ends_the_session_and_returns_to_the_app() {
    let app = TestApp::spawn().await;
    app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({})).await;
    let mut browser = Browser::new(&app);
    let code = sign_in(&mut browser, &rp, &[]).await;
    let id_token = tokens(exchange(&app, &rp, &code).await)
        .await
        .id_token
        .unwrap();

    let path = format!(
        "/logout?{}",
        crate::helpers::form_body(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", BYE),
            ("state", "bye-1"),
        ])
    );
    let out = browser.get(&path).await;

    let target = location(&out);
    assert_eq!(target.as_str(), format!("{BYE}?state=bye-1"));
    assert!(!browser.jar.contains_key("__Host-rampart-session"));
    let next = browser
        .get(&authorize_path(&rp.id, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&location(&next))["error"], "login_required");
}

#[tokio::test]
async fn logout_without_a_trusted_hint_asks_first_and_never_redirects_elsewhere() {
    let app = TestApp::spawn().await;
    app.given_user("alice", &["user"]).await;
    let rp = web_app(&app, json!({})).await;
    let mut browser = Browser::new(&app);
    sign_in(&mut browser, &rp, &[]).await;

    // A forged hint: the confirmation page, the session intact.
    let forged = format!(
        "/logout?{}",
        crate::helpers::form_body(&[
            ("id_token_hint", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
            ("client_id", &rp.id),
            ("post_logout_redirect_uri", BYE),
        ])
    );
    let page = browser.get(&forged).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains(r#"action="/logout""#));
    let still = browser
        .get(&authorize_path(&rp.id, &[("prompt", "none")]))
        .await;
    assert!(
        query(&location(&still)).contains_key("code"),
        "still signed in"
    );

    // An unregistered post-logout URI: an error page, no redirect.
    let evil = format!(
        "/logout?client_id={}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        rp.id
    );
    let refused = browser.get(&evil).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.headers().get(header::LOCATION).is_none());

    // Confirming signs out and returns to the registered URI.
    let csrf = hidden(&page, "csrf");
    let request = hidden(&page, "request");
    let out = browser
        .post(
            "/logout",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", "logout"),
            ],
        )
        .await;
    assert_eq!(location(&out).as_str(), BYE);
    let next = browser
        .get(&authorize_path(&rp.id, &[("prompt", "none")]))
        .await;
    assert_eq!(query(&location(&next))["error"], "login_required");
}

#[tokio::test]
async fn discovery_documents_agree_and_advertise_the_code_flow() {
    let app = TestApp::spawn().await;
    let oidc: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    let oauth: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();

    for (name, value) in oauth.as_object().unwrap() {
        assert_eq!(&oidc[name], value, "{name} differs");
    }
    // OIDC Discovery §3 REQUIRED members.
    for name in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(!oidc[name].is_null(), "{name} is missing");
    }
    assert_eq!(oidc["response_types_supported"], json!(["code"]));
    assert_eq!(oidc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(oidc["authorization_response_iss_parameter_supported"], true);
    assert!(
        oauth["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("authorization_code"))
    );
    for scope in ["openid", "email", "offline_access", "profile"] {
        assert!(
            oidc["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(scope))
        );
    }
    let _ = ADMIN_PW;
}

#[tokio::test]
async fn logout_revokes_the_token_sessions_of_clients_that_ask_for_it() {
    let app = TestApp::spawn().await;
    app.given_user("alice", &["user"]).await;
    let strict = web_app(
        &app,
        json!({"first_party": true, "logout_revokes_tokens": true}),
    )
    .await;
    let lenient = web_app(&app, json!({"first_party": true})).await;
    let mut browser = Browser::new(&app);
    let scope = [("scope", "openid offline_access")];
    let code = sign_in_first_party(&mut browser, &strict, &scope).await;
    let strict_tokens = tokens(exchange(&app, &strict, &code).await).await;
    let again = browser.get(&authorize_path(&lenient.id, &scope)).await;
    let code = query(&location(&again))["code"].clone();
    let lenient_tokens = tokens(exchange(&app, &lenient, &code).await).await;

    let path = format!(
        "/logout?{}",
        crate::helpers::form_body(&[("id_token_hint", &strict_tokens.id_token.clone().unwrap())])
    );
    let out = browser.get(&path).await;
    assert_eq!(out.status(), StatusCode::OK, "the signed-out page");

    let refused = app
        .refresh(
            strict_tokens.refresh_token.as_ref().unwrap(),
            None,
            ClientAuth::Basic(&strict.id, &strict.secret),
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "revoked with the logout"
    );
    assert_eq!(
        app.me(&strict_tokens.access_token).await.status(),
        StatusCode::UNAUTHORIZED,
        "its access token too"
    );
    let kept = app
        .refresh(
            lenient_tokens.refresh_token.as_ref().unwrap(),
            None,
            ClientAuth::Basic(&lenient.id, &lenient.secret),
        )
        .await;
    assert_eq!(
        kept.status(),
        StatusCode::OK,
        "a client without the setting keeps its session"
    );
}

/// Signs alice in for a first-party client (no consent page); returns the code.
async fn sign_in_first_party(browser: &mut Browser<'_>, rp: &Rp, extra: &[(&str, &str)]) -> String {
    let page = browser
        .get(&authorize_path(&rp.id, extra))
        .await
        .text()
        .await
        .unwrap();
    let back = browser.submit_login(&page, "alice", USER_PW).await;
    query(&location(&back))["code"].clone()
}
