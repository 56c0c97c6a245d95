//! Access tokens are RFC 9068 JWTs, verifiable with the published JWKS; the RFC 8414
//! metadata names the same issuer.

use rampart::Validator;
use rampart_server::config::Config;
use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::helpers::{ADMIN_PW, ISSUER, TestApp, jwt_parts, scope_list};

/// A validator for this server's tokens built only from what it publishes.
async fn validator_from_jwks(app: &TestApp, audience: &str) -> Validator {
    Validator::builder()
        .issuer(ISSUER)
        .audience(audience)
        .jwks_document(&app.jwks().await)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_access_token_has_the_rfc9068_header_and_claims() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let tokens = app.login("admin", ADMIN_PW, Some("admin profile")).await;

    // Assert
    let (header, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256", "the default algorithm");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], ISSUER, "default audience: the public URL");
    let me: Value = app.me(&tokens.access_token).await.json().await.unwrap();
    assert_eq!(claims["sub"], me["id"], "sub is the user id");
    assert_eq!(claims["client_id"], "first-party");
    assert_eq!(
        scope_list(claims["scope"].as_str().unwrap()),
        vec!["admin", "profile"]
    );
    let iat = claims["iat"].as_i64().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert_eq!(exp - iat, 900, "15 minutes");
    assert_eq!(exp - iat, tokens.expires_in);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
}

#[tokio::test]
async fn every_access_token_has_its_own_jti() {
    let app = TestApp::spawn().await;

    let a = app.login("admin", ADMIN_PW, None).await.access_token;
    let b = app.login("admin", ADMIN_PW, None).await.access_token;

    assert_ne!(jwt_parts(&a).1["jti"], jwt_parts(&b).1["jti"]);
}

#[tokio::test]
async fn an_access_token_validates_with_the_published_jwks() {
    let app = TestApp::spawn().await;
    let tokens = app.login("admin", ADMIN_PW, Some("admin profile")).await;
    let validator = validator_from_jwks(&app, ISSUER).await;

    let claims = validator.validate(&tokens.access_token).await.unwrap();

    assert_eq!(claims.iss.as_deref(), Some(ISSUER));
    assert_eq!(claims.client_id.as_deref(), Some("first-party"));
    assert!(claims.has_scope("admin"));
    assert_eq!(claims.roles, vec!["admin".to_owned()]);
}

#[tokio::test]
async fn the_jwks_holds_public_keys_only() {
    let app = TestApp::spawn().await;

    let response = app.get("/.well-known/jwks.json").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("json")
    );
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    for key in keys {
        assert!(key.get("d").is_none(), "no private part: {key}");
        assert!(key["kid"].is_string());
    }
}

#[tokio::test]
async fn the_metadata_issuer_equals_the_token_iss() {
    let app = TestApp::spawn().await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;

    let response = app.get("/.well-known/oauth-authorization-server").await;

    assert_eq!(response.status(), StatusCode::OK);
    let metadata: Value = response.json().await.unwrap();
    let (_, claims) = jwt_parts(&access);
    assert_eq!(metadata["issuer"], claims["iss"]);
    assert_eq!(metadata["token_endpoint"], format!("{ISSUER}/oauth/token"));
    assert_eq!(
        metadata["jwks_uri"],
        format!("{ISSUER}/.well-known/jwks.json")
    );
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    for grant in ["password", "refresh_token", "client_credentials"] {
        assert!(grants.iter().any(|g| g == grant), "{grant}");
    }
}

#[tokio::test]
async fn a_configured_signing_algorithm_is_used_and_published() {
    for alg in [
        rampart::Algorithm::EdDSA,
        rampart::Algorithm::RS256,
        rampart::Algorithm::PS256,
    ] {
        let app = TestApp::spawn_with(|config: &mut Config| config.signing_alg = alg).await;

        let access = app.login("admin", ADMIN_PW, None).await.access_token;

        let (header, _) = jwt_parts(&access);
        assert_eq!(header["alg"], alg.as_str());
        let validator = validator_from_jwks(&app, ISSUER).await;
        validator.validate(&access).await.unwrap();
        assert_eq!(app.me(&access).await.status(), StatusCode::OK, "{alg:?}");
    }
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_by_the_servers_own_routes() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(false, &["password"], &["profile"], Some("notes-api"))
        .await;
    let tokens = crate::helpers::tokens(
        app.password_grant("admin", ADMIN_PW, None, client.auth())
            .await,
    )
    .await;

    let response = app.me(&tokens.access_token).await;

    assert_eq!(jwt_parts(&tokens.access_token).1["aud"], "notes-api");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_tampered_access_token_is_refused() {
    let app = TestApp::spawn().await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    let (_, mut claims) = jwt_parts(&access);
    claims["scope"] = Value::String("admin profile".into());
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&claims).unwrap(),
    );

    let response = app
        .admin(reqwest::Method::GET, "/admin/users", &parts.join("."), None)
        .await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_access_token_is_refused_with_invalid_token() {
    let app = TestApp::spawn_with(|config| {
        config.clock = rampart_server::clock::Clock::manual(1_700_000_000);
    })
    .await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;
    assert_eq!(app.me(&access).await.status(), StatusCode::OK);

    // Past the 15-minute lifetime and the validator's 30-second leeway.
    app.state.accounts.clock.advance(900 + 31);
    let response = app.me(&access).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(crate::helpers::challenge(&response).contains("error=\"invalid_token\""));
}
