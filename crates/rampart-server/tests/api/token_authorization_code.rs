//! The authorization_code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636): codes
//! as the authorization endpoint stores them, redeemed once, by their client, with their
//! redirect URI and PKCE verifier.

use rampart_server::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, assert_oauth_error, jwt_parts, tokens};

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "https://app.example/callback";

struct App {
    id: String,
    secret: Option<String>,
}

impl App {
    fn auth(&self) -> ClientAuth<'_> {
        match &self.secret {
            Some(secret) => ClientAuth::Basic(&self.id, secret),
            None => ClientAuth::Public(&self.id),
        }
    }
}

async fn web_app(app: &TestApp, confidential: bool, grants: &[&str]) -> App {
    let admin = app.admin_token().await;
    let response = app
        .admin(
            Method::POST,
            "/admin/clients",
            &admin,
            Some(json!({
                "name": "web app", "confidential": confidential, "grants": grants,
                "scopes": ["profile"], "redirect_uris": [REDIRECT],
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    App {
        id: body["client_id"].as_str().unwrap().to_owned(),
        secret: body["client_secret"].as_str().map(str::to_owned),
    }
}

async fn redeem(
    app: &TestApp,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    auth: ClientAuth<'_>,
) -> reqwest::Response {
    let mut params = vec![("grant_type", "authorization_code"), ("code", code)];
    params.extend(redirect_uri.map(|r| ("redirect_uri", r)));
    params.extend(verifier.map(|v| ("code_verifier", v)));
    app.token(&params, auth).await
}

async fn spawn() -> TestApp {
    TestApp::spawn_with(|config| config.clock = Clock::manual(1_700_000_000)).await
}

#[tokio::test]
async fn a_code_with_its_redirect_uri_and_verifier_gets_tokens_whose_session_refreshes() {
    let app = spawn().await;
    let client = web_app(&app, true, &["authorization_code", "refresh_token"]).await;
    let code = app
        .given_code(&client.id, "admin", REDIRECT, CHALLENGE, "profile")
        .await;

    let issued =
        tokens(redeem(&app, &code, Some(REDIRECT), Some(VERIFIER), client.auth()).await).await;

    assert_eq!(issued.scope, "profile");
    let (_, claims) = jwt_parts(&issued.access_token);
    assert_eq!(claims["client_id"], client.id.as_str());
    assert!(claims["sid"].is_string(), "{claims}");
    assert_eq!(app.me(&issued.access_token).await.status(), StatusCode::OK);
    let refresh = issued.refresh_token.unwrap();
    let next = tokens(app.refresh(&refresh, None, client.auth()).await).await;
    let (_, next_claims) = jwt_parts(&next.access_token);
    assert_eq!(next_claims["sid"], claims["sid"], "the same session");
}

#[tokio::test]
async fn a_public_client_redeems_with_pkce_alone_and_without_the_refresh_grant_gets_no_refresh_token()
 {
    let app = spawn().await;
    let client = web_app(&app, false, &["authorization_code"]).await;
    let code = app
        .given_code(&client.id, "admin", REDIRECT, CHALLENGE, "profile")
        .await;

    let issued =
        tokens(redeem(&app, &code, Some(REDIRECT), Some(VERIFIER), client.auth()).await).await;

    assert!(issued.refresh_token.is_none());
    assert_eq!(app.me(&issued.access_token).await.status(), StatusCode::OK);
}

#[tokio::test]
#[allow(clippy::type_complexity)]
async fn every_bad_redemption_is_refused_and_leaves_the_code_to_its_client() {
    let app = spawn().await;
    let client = web_app(&app, true, &["authorization_code"]).await;
    let other = web_app(&app, true, &["authorization_code"]).await;
    let code = app
        .given_code(&client.id, "admin", REDIRECT, CHALLENGE, "profile")
        .await;
    let wrong_verifier = "B".repeat(43);

    let cases: [(&str, &str, Option<&str>, Option<&str>, ClientAuth<'_>, &str); 7] = [
        (
            "no code",
            "",
            Some(REDIRECT),
            Some(VERIFIER),
            client.auth(),
            "invalid_request",
        ),
        (
            "an unknown code",
            "not-a-code",
            Some(REDIRECT),
            Some(VERIFIER),
            client.auth(),
            "invalid_grant",
        ),
        (
            "another client",
            &code,
            Some(REDIRECT),
            Some(VERIFIER),
            other.auth(),
            "invalid_grant",
        ),
        (
            "no redirect_uri",
            &code,
            None,
            Some(VERIFIER),
            client.auth(),
            "invalid_grant",
        ),
        (
            "another redirect_uri",
            &code,
            Some("https://app.example/other"),
            Some(VERIFIER),
            client.auth(),
            "invalid_grant",
        ),
        (
            "no code_verifier",
            &code,
            Some(REDIRECT),
            None,
            client.auth(),
            "invalid_grant",
        ),
        (
            "the wrong code_verifier",
            &code,
            Some(REDIRECT),
            Some(&wrong_verifier),
            client.auth(),
            "invalid_grant",
        ),
    ];
    for (name, presented, redirect, verifier, auth, error) in cases {
        let response = redeem(&app, presented, redirect, verifier, auth).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{name}: {body}");
        assert!(
            !body.to_string().contains(&code),
            "{name}: never echoes the code"
        );
    }

    // None of them used the code up.
    let response = redeem(&app, &code, Some(REDIRECT), Some(VERIFIER), client.auth()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_code_expires_after_sixty_seconds() {
    let app = spawn().await;
    let client = web_app(&app, true, &["authorization_code"]).await;
    let code = app
        .given_code(&client.id, "admin", REDIRECT, CHALLENGE, "profile")
        .await;

    app.clock().advance(60);
    let response = redeem(&app, &code, Some(REDIRECT), Some(VERIFIER), client.auth()).await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_code_used_twice_is_refused_and_revokes_what_its_first_use_issued() {
    let app = spawn().await;
    let client = web_app(&app, true, &["authorization_code", "refresh_token"]).await;
    let code = app
        .given_code(&client.id, "admin", REDIRECT, CHALLENGE, "profile")
        .await;
    let first =
        tokens(redeem(&app, &code, Some(REDIRECT), Some(VERIFIER), client.auth()).await).await;
    assert_eq!(app.me(&first.access_token).await.status(), StatusCode::OK);

    let second = redeem(&app, &code, Some(REDIRECT), Some(VERIFIER), client.auth()).await;

    assert_oauth_error(second, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(
        app.me(&first.access_token).await.status(),
        StatusCode::UNAUTHORIZED,
        "the first use's access token is revoked"
    );
    let refresh = app
        .refresh(first.refresh_token.as_deref().unwrap(), None, client.auth())
        .await;
    assert_oauth_error(refresh, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_redemptions_of_one_code_at_most_one_succeeds_and_its_tokens_end() {
    let app = spawn().await;
    let client = web_app(&app, true, &["authorization_code", "refresh_token"]).await;
    let code = app
        .given_code(&client.id, "admin", REDIRECT, CHALLENGE, "profile")
        .await;

    let responses = futures_util::future::join_all(
        (0..8).map(|_| redeem(&app, &code, Some(REDIRECT), Some(VERIFIER), client.auth())),
    )
    .await;

    let mut issued = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::OK => issued.push(tokens(response).await),
            StatusCode::BAD_REQUEST => {
                assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(issued.len() <= 1, "{} redemptions succeeded", issued.len());
    // Every other presentation was a second use: the winner's session is over.
    for tokens in issued {
        assert_eq!(
            app.me(&tokens.access_token).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn a_client_without_the_grant_is_unauthorized_client_and_the_password_grant_is_per_client() {
    let app = spawn().await;
    let client = web_app(&app, true, &["authorization_code"]).await;
    let password_only = app
        .given_client(true, &["password"], &["profile"], None)
        .await;
    let code = app
        .given_code(&password_only.id, "admin", REDIRECT, CHALLENGE, "profile")
        .await;

    let response = redeem(
        &app,
        &code,
        Some(REDIRECT),
        Some(VERIFIER),
        password_only.auth(),
    )
    .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    let response = app
        .password_grant("admin", ADMIN_PW, None, client.auth())
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
}
