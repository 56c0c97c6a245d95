//! Black-box tests: the notes API on port 0, built from a `Config` exactly as `run()` builds
//! it, trusting a real JWKS served over HTTP by a `TestIssuer`; a real reqwest client.

// clippy's `allow-unwrap-in-tests` covers `#[test]` functions only, not the helpers here.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::routing::get;
use rampart::Algorithm;
use rampart::testing::{TestIssuer, TokenBuilder};
use reqwest::{Response, StatusCode, header};
use resource_server::{Application, Config};
use serde_json::{Value, json};

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "notes-api";

/// The API under test plus the issuer whose tokens it trusts.
struct TestApp {
    base: String,
    client: reqwest::Client,
    issuer: TestIssuer,
}

impl TestApp {
    /// The API in JWKS mode, trusting an ES256 issuer whose JWKS is served on port 0.
    async fn spawn() -> Self {
        let issuer = TestIssuer::new(Algorithm::ES256)
            .with_issuer(ISSUER)
            .with_audience(AUDIENCE);
        let jwks = issuer.jwks();
        let jwks_addr =
            serve(axum::Router::new().route("/jwks.json", get(move || async move { Json(jwks) })))
                .await;
        let config = config(Some(format!("http://{jwks_addr}/jwks.json")), None);
        Self::start(&config, issuer).await
    }

    async fn start(config: &Config, issuer: TestIssuer) -> Self {
        let app = Application::build(config)
            .await
            .expect("the application starts");
        let addr = app.local_addr().unwrap();
        tokio::spawn(app.run_until(std::future::pending()));
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            issuer,
        }
    }

    /// A valid token for `alice` with these scopes; customise further before `sign()`.
    fn token(&self, scope: &str) -> TokenBuilder<'_> {
        self.issuer.token().sub("alice").scope(scope)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn post_note(&self, body: &str, token: &str) -> Response {
        self.client
            .post(format!("{}/notes", self.base))
            .bearer_auth(token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    async fn delete_note(&self, id: u64, token: &str) -> Response {
        self.client
            .delete(format!("{}/notes/{id}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

fn config(jwks_url: Option<String>, hs_secret_file: Option<PathBuf>) -> Config {
    Config {
        jwks_url,
        hs_secret_file,
        jwks_ca_file: None,
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        addr: "127.0.0.1:0".parse().unwrap(),
    }
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

fn challenge(response: &Response) -> String {
    response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_public_route_needs_no_token() {
    let app = TestApp::spawn().await;

    let response = app.get("/public", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.json::<Value>().await.unwrap().is_object());
}

#[tokio::test]
async fn whoami_without_a_token_is_anonymous() {
    let app = TestApp::spawn().await;

    let response = app.get("/whoami", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "sub": null })
    );
}

#[tokio::test]
async fn whoami_with_a_token_names_its_subject_scope_and_roles() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:read").roles(&["editor"]).sign();

    let response = app.get("/whoami", Some(&token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "sub": "alice", "scope": "notes:read", "roles": ["editor"] })
    );
}

#[tokio::test]
async fn whoami_with_a_bad_token_is_refused_not_anonymous() {
    let app = TestApp::spawn().await;

    let response = app.get("/whoami", Some("not-a-jwt")).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn listing_notes_without_a_token_asks_for_one() {
    let app = TestApp::spawn().await;

    let response = app.get("/notes", None).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&response),
        format!(r#"Bearer realm="{}""#, resource_server::REALM)
    );
}

#[tokio::test]
async fn listing_notes_without_the_read_scope_is_forbidden_and_names_the_scope() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:write").sign();

    let response = app.get("/notes", Some(&token)).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = challenge(&response);
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="notes:read""#), "{challenge}");
}

#[tokio::test]
async fn listing_notes_with_the_read_scope_succeeds() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:read").sign();

    let response = app.get("/notes", Some(&token)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!([]));
}

#[tokio::test]
async fn a_created_note_is_returned_with_its_author_and_then_listed() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:read notes:write").sign();

    let response = app.post_note(r#"{"text":"buy milk"}"#, &token).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let note: Value = response.json().await.unwrap();
    assert_eq!(note["text"], "buy milk");
    assert_eq!(note["author"], "alice");
    assert!(note["id"].is_u64());
    let listed: Value = app.get("/notes", Some(&token)).await.json().await.unwrap();
    assert_eq!(listed, json!([note]));
}

#[tokio::test]
async fn creating_a_note_needs_the_write_scope() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:read").sign();

    let response = app.post_note(r#"{"text":"buy milk"}"#, &token).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&response).contains(r#"scope="notes:write""#));
}

#[tokio::test]
async fn malformed_or_invalid_note_bodies_are_a_json_400() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:write").sign();
    let too_long = json!({ "text": "x".repeat(resource_server::MAX_NOTE_CHARS + 1) }).to_string();
    let cases = [
        ("broken JSON", r#"{"text":"#),
        ("not an object", "[]"),
        ("missing text", "{}"),
        ("text of the wrong type", r#"{"text":7}"#),
        ("empty text", r#"{"text":"  "}"#),
        ("unknown field", r#"{"text":"a","pinned":true}"#),
        ("text too long", too_long.as_str()),
    ];

    for (name, body) in cases {
        let response = app.post_note(body, &token).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["error"], "invalid_request", "{name}");
        assert!(problem["error_description"].is_string(), "{name}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_as_too_large() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:write").sign();
    let huge = json!({ "text": "x".repeat(64 * 1024) }).to_string();

    let response = app.post_note(&huge, &token).await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );
}

#[tokio::test]
async fn deleting_a_note_needs_the_admin_role() {
    let app = TestApp::spawn().await;
    let writer = app.token("notes:write").roles(&["editor"]).sign();
    let note: Value = app
        .post_note(r#"{"text":"keep me"}"#, &writer)
        .await
        .json()
        .await
        .unwrap();

    let response = app.delete_note(note["id"].as_u64().unwrap(), &writer).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&response).contains(r#"error="insufficient_scope""#));
}

#[tokio::test]
async fn an_admin_deletes_a_note_once_then_gets_404() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:read notes:write").roles(&["admin"]).sign();
    let note: Value = app
        .post_note(r#"{"text":"delete me"}"#, &token)
        .await
        .json()
        .await
        .unwrap();
    let id = note["id"].as_u64().unwrap();

    let first = app.delete_note(id, &token).await;
    let second = app.delete_note(id, &token).await;

    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(second.status(), StatusCode::NOT_FOUND);
    assert_eq!(second.json::<Value>().await.unwrap()["error"], "not_found");
    let listed: Value = app.get("/notes", Some(&token)).await.json().await.unwrap();
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn a_token_typed_jwt_instead_of_at_jwt_is_invalid() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:read").typ("JWT").sign();

    let response = app.get("/notes", Some(&token)).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn an_expired_token_is_invalid() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:read").expires_in(-120).sign();

    let response = app.get("/notes", Some(&token)).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn a_token_of_another_issuer_is_invalid() {
    let app = TestApp::spawn().await;
    let stranger = TestIssuer::new(Algorithm::ES256)
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE);
    let token = stranger.token().scope("notes:read").sign();

    let response = app.get("/notes", Some(&token)).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unreachable_jwks_still_starts_and_answers_503() {
    // A port that was free a moment ago: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let issuer = TestIssuer::new(Algorithm::ES256)
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE);
    let app = TestApp::start(
        &config(Some(format!("http://{closed}/jwks.json")), None),
        issuer,
    )
    .await;
    let token = app.token("notes:read").sign();

    let protected = app.get("/notes", Some(&token)).await;
    let public = app.get("/public", None).await;

    assert_eq!(protected.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(public.status(), StatusCode::OK);
}

#[tokio::test]
async fn protected_routes_recover_once_a_late_jwks_comes_up() {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let issuer = TestIssuer::new(Algorithm::ES256)
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE);
    let jwks = issuer.jwks();
    let app = TestApp::start(
        &config(Some(format!("http://{port}/jwks.json")), None),
        issuer,
    )
    .await;
    let token = app.token("notes:read").sign();
    assert_eq!(
        app.get("/notes", Some(&token)).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    let listener = tokio::net::TcpListener::bind(port).await.unwrap();
    let router = axum::Router::new().route("/jwks.json", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The JWKS client retries in the background with backoff (1 s, 2 s, …).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = app.get("/notes", Some(&token)).await.status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the keys never loaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_hs256_secret_file_mode_works_end_to_end() {
    let secret = "a-shared-secret-of-at-least-32-bytes!!";
    let path = std::env::temp_dir().join(format!(
        "resource-server-test-{}-{}.secret",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    // Only its signing key is used below; its JWKS (empty for HMAC) is not.
    let issuer = TestIssuer::new(Algorithm::HS256);
    let app = TestApp::start(&config(None, Some(path.clone())), issuer).await;
    std::fs::remove_file(&path).unwrap();
    let signer = rampart::signing::SigningKey::from_secret(
        Algorithm::HS256,
        secret.as_bytes().to_vec(),
        None,
    )
    .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Every claim RFC 9068 §2.2 requires of an access token, as a real issuer sends them.
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "bob", "client_id": "notes-app",
        "scope": "notes:read", "iat": now, "exp": now + 300, "jti": "hs-1",
    });
    // Shared-secret issuers usually send no `kid`, and the secret file configures a key
    // without one; `TestIssuer` tokens always carry a `kid`, so this one is signed raw.
    let token = signer
        .sign_raw(
            br#"{"alg":"HS256","typ":"at+jwt"}"#,
            claims.to_string().as_bytes(),
        )
        .unwrap();
    let wrong_secret = TestIssuer::new(Algorithm::HS256)
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE);

    let ok = app.get("/notes", Some(&token)).await;
    let whoami: Value = app.get("/whoami", Some(&token)).await.json().await.unwrap();
    let forged = app
        .get(
            "/notes",
            Some(&wrong_secret.token().scope("notes:read").sign()),
        )
        .await;

    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(whoami["sub"], "bob");
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_short_hs256_secret_refuses_to_start() {
    let path = std::env::temp_dir().join(format!(
        "resource-server-short-{}-{}.secret",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&path, "too-short\n").unwrap();

    let result = Application::build(&config(None, Some(path.clone()))).await;

    std::fs::remove_file(&path).unwrap();
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.contains("invalid token validation settings") && err.contains("32"),
        "{err}"
    );
}

#[tokio::test]
async fn a_note_body_that_is_not_json_is_refused_as_unsupported_media() {
    let app = TestApp::spawn().await;
    let token = app.token("notes:write").sign();

    let response = app
        .client
        .post(format!("{}/notes", app.base))
        .bearer_auth(&token)
        .header(header::CONTENT_TYPE, "text/plain")
        .body("buy milk")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unsupported_media_type"
    );
}
