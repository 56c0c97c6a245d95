//! The client_credentials grant (RFC 6749 §4.4).

use reqwest::{StatusCode, header};

use crate::helpers::{ClientAuth, TestApp, assert_oauth_error, jwt_parts, scope_list, tokens};

#[tokio::test]
async fn a_confidential_client_gets_an_access_token_for_itself_without_refresh_token() {
    // Arrange
    let app = TestApp::spawn().await;
    app.given_scopes(&["reports:read"]).await;
    let client = app
        .given_client(
            true,
            &["client_credentials"],
            &["reports:read", "profile"],
            None,
        )
        .await;

    // Act
    let response = app
        .client_credentials(Some("reports:read"), client.auth())
        .await;

    // Assert
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(response.headers()[header::PRAGMA], "no-cache");
    let tokens = tokens(response).await;
    assert!(tokens.refresh_token.is_none(), "§4.4.3: no refresh token");
    assert_eq!(tokens.scope, "reports:read");
    let (_, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
}

#[tokio::test]
async fn client_secret_post_works_for_client_credentials() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    app.given_secret_post(&client.id).await;

    let response = app
        .client_credentials(
            None,
            ClientAuth::Post(&client.id, client.secret.as_deref().unwrap()),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_scope_a_client_gets_its_allowed_scopes_but_never_admin() {
    let app = TestApp::spawn().await;
    app.given_scopes(&["reports:read", "reports:write"]).await;
    let client = app
        .given_client(
            true,
            &["client_credentials"],
            &["reports:read", "reports:write", "admin"],
            None,
        )
        .await;

    let tokens = tokens(app.client_credentials(None, client.auth()).await).await;

    assert_eq!(
        scope_list(&tokens.scope),
        vec!["reports:read", "reports:write"]
    );
}

#[tokio::test]
async fn a_client_may_not_ask_for_a_scope_it_is_not_allowed() {
    let app = TestApp::spawn().await;
    app.given_scopes(&["reports:read", "reports:write"]).await;
    let client = app
        .given_client(true, &["client_credentials"], &["reports:read"], None)
        .await;

    let response = app
        .client_credentials(Some("reports:write"), client.auth())
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

#[tokio::test]
async fn a_client_credentials_token_carries_the_client_audience() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(
            true,
            &["client_credentials"],
            &["profile"],
            Some("reports-api"),
        )
        .await;

    let tokens = tokens(app.client_credentials(None, client.auth()).await).await;

    let (_, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(claims["aud"], "reports-api");
}
