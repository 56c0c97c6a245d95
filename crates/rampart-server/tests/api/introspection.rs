//! `POST /oauth/introspect` (RFC 7662).

use rampart_server::clock::Clock;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_PW, ClientAuth, TestApp, TestClient, assert_oauth_error, jwt_parts, tokens,
};

/// A confidential client allowed to introspect (any client with a secret is).
async fn resource_server_client(app: &TestApp) -> TestClient {
    app.given_client(true, &["client_credentials"], &["profile"], None)
        .await
}

#[tokio::test]
async fn an_active_access_token_is_described() {
    // Arrange
    let app = TestApp::spawn().await;
    let rs = resource_server_client(&app).await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;
    let (_, claims) = jwt_parts(&access);

    // Act
    let response = app.introspect(&access, rs.auth()).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "profile");
    assert_eq!(body["client_id"], "first-party");
    assert_eq!(body["sub"], claims["sub"]);
    assert_eq!(body["exp"], claims["exp"]);
    assert!(body["exp"].is_i64());
}

#[tokio::test]
async fn an_access_token_for_another_audience_is_still_described() {
    let app = TestApp::spawn().await;
    let rs = resource_server_client(&app).await;
    let machine = app
        .given_client(
            true,
            &["client_credentials"],
            &["profile"],
            Some("reports-api"),
        )
        .await;
    let access = tokens(app.client_credentials(None, machine.auth()).await)
        .await
        .access_token;

    let body: Value = app
        .introspect(&access, rs.auth())
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], machine.id.as_str());
}

#[tokio::test]
async fn an_expired_access_token_is_exactly_inactive() {
    let app = TestApp::spawn_with(|config| config.clock = Clock::manual(1_700_000_000)).await;
    let rs = resource_server_client(&app).await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;

    app.state.accounts.clock.advance(900 + 3600);
    let body: Value = app
        .introspect(&access, rs.auth())
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_revoked_access_token_is_exactly_inactive() {
    let app = TestApp::spawn().await;
    let rs = resource_server_client(&app).await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;
    app.revoke(&access, ClientAuth::FirstParty).await;

    let body: Value = app
        .introspect(&access, rs.auth())
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_garbage_token_is_exactly_inactive() {
    let app = TestApp::spawn().await;
    let rs = resource_server_client(&app).await;

    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let response = app.introspect(garbage, rs.auth()).await;

        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"active": false}), "{garbage}");
    }
}

#[tokio::test]
async fn a_refresh_token_is_described_only_to_its_own_client() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app
        .given_client(true, &["password", "refresh_token"], &["profile"], None)
        .await;
    let other = resource_server_client(&app).await;
    let refresh = tokens(
        app.password_grant("admin", ADMIN_PW, None, owner.auth())
            .await,
    )
    .await
    .refresh_token
    .unwrap();

    // Act
    let by_owner: Value = app
        .introspect(&refresh, owner.auth())
        .await
        .json()
        .await
        .unwrap();
    let by_other: Value = app
        .introspect(&refresh, other.auth())
        .await
        .json()
        .await
        .unwrap();

    // Assert
    assert_eq!(by_owner["active"], true);
    assert_eq!(by_owner["client_id"], owner.id.as_str());
    assert_eq!(by_other, json!({"active": false}));
}

#[tokio::test]
async fn a_public_client_may_not_introspect() {
    let app = TestApp::spawn().await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;
    let public = app
        .given_client(false, &["password"], &["profile"], None)
        .await;

    let named = app
        .introspect(&access, ClientAuth::Public(&public.id))
        .await;
    let first_party = app.introspect(&access, ClientAuth::FirstParty).await;

    assert_oauth_error(named, StatusCode::UNAUTHORIZED, "invalid_client").await;
    assert_oauth_error(first_party, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn introspection_with_a_wrong_secret_is_invalid_client_with_a_basic_challenge() {
    let app = TestApp::spawn().await;
    let rs = resource_server_client(&app).await;

    let response = app
        .introspect("anything", ClientAuth::Basic(&rs.id, "wrong"))
        .await;

    assert!(crate::helpers::challenge(&response).starts_with("Basic "));
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn a_rotated_refresh_token_is_exactly_inactive() {
    let app = TestApp::spawn().await;
    let owner = app
        .given_client(true, &["password", "refresh_token"], &["profile"], None)
        .await;
    let refresh = tokens(
        app.password_grant("admin", ADMIN_PW, None, owner.auth())
            .await,
    )
    .await
    .refresh_token
    .unwrap();
    tokens(app.refresh(&refresh, None, owner.auth()).await).await;

    let body: Value = app
        .introspect(&refresh, owner.auth())
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_confidential_client_introspects_with_client_secret_post() {
    // Arrange: the discovery document advertises client_secret_post here (RFC 8414 §2).
    let app = TestApp::spawn().await;
    let metadata: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        metadata["introspection_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&"client_secret_post".into()),
        "{metadata}"
    );
    let rs = resource_server_client(&app).await;
    app.given_secret_post(&rs.id).await;
    let secret = rs.secret.clone().unwrap();
    let access = app.login("admin", ADMIN_PW, None).await.access_token;

    // Act: RFC 6749 §2.3.1, the credentials in the form body.
    let response = app
        .introspect(&access, ClientAuth::Post(&rs.id, &secret))
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], "first-party");
}

#[tokio::test]
async fn introspection_with_client_secret_post_and_a_wrong_secret_is_invalid_client() {
    let app = TestApp::spawn().await;
    let rs = resource_server_client(&app).await;
    app.given_secret_post(&rs.id).await;

    let response = app
        .introspect("anything", ClientAuth::Post(&rs.id, "wrong"))
        .await;

    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}
