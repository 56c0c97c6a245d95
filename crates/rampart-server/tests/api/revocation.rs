//! `POST /oauth/revoke` (RFC 7009).

use reqwest::StatusCode;

use crate::helpers::{
    ADMIN_PW, ClientAuth, TestApp, USER_PW, assert_oauth_error, challenge, tokens,
};

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family() {
    // Arrange: r1 → r2; revoke r2.
    let app = TestApp::spawn().await;
    let r1 = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();
    let r2 = tokens(app.refresh(&r1, None, ClientAuth::FirstParty).await)
        .await
        .refresh_token
        .unwrap();

    // Act
    let response = app.revoke(&r2, ClientAuth::FirstParty).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let after = app.refresh(&r2, None, ClientAuth::FirstParty).await;
    assert_oauth_error(after, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn revoking_an_access_token_makes_users_me_answer_401_invalid_token() {
    // Arrange
    let app = TestApp::spawn().await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;
    assert_eq!(app.me(&access).await.status(), StatusCode::OK);

    // Act
    let response = app.revoke(&access, ClientAuth::FirstParty).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let me = app.me(&access).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert!(
        challenge(&me).contains("error=\"invalid_token\""),
        "{}",
        challenge(&me)
    );
}

#[tokio::test]
async fn revoking_an_access_token_leaves_other_tokens_of_the_user_valid() {
    let app = TestApp::spawn().await;
    let revoked = app.login("admin", ADMIN_PW, None).await.access_token;
    let other = app.login("admin", ADMIN_PW, None).await.access_token;

    app.revoke(&revoked, ClientAuth::FirstParty).await;

    assert_eq!(app.me(&other).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoking_an_unknown_token_answers_200() {
    let app = TestApp::spawn().await;

    let response = app
        .revoke("no-such-token-anywhere", ClientAuth::FirstParty)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_cannot_revoke_the_refresh_token_of_another_client() {
    // Arrange
    let app = TestApp::spawn().await;
    app.given_user("judy", &["user"]).await;
    let other = app
        .given_client(true, &["password", "refresh_token"], &["profile"], None)
        .await;
    let token = app
        .login("judy", USER_PW, None)
        .await
        .refresh_token
        .unwrap();

    // Act: §2.1 answers 200 but leaves the token alone.
    let response = app.revoke(&token, other.auth()).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let still = app.refresh(&token, None, ClientAuth::FirstParty).await;
    assert_eq!(still.status(), StatusCode::OK);
}

#[tokio::test]
async fn revocation_with_a_wrong_client_secret_is_invalid_client() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;

    let response = app
        .revoke("anything", ClientAuth::Basic(&client.id, "wrong"))
        .await;

    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn revocation_without_a_token_parameter_is_invalid_request() {
    let app = TestApp::spawn().await;

    let response = app
        .post_form("/oauth/revoke", &[], ClientAuth::FirstParty)
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_client_cannot_revoke_the_access_token_of_another_client() {
    let app = TestApp::spawn().await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;
    let other = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;

    let response = app.revoke(&access, other.auth()).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.me(&access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_confidential_client_revokes_its_refresh_token_with_client_secret_post() {
    // Arrange: the discovery document advertises client_secret_post here (RFC 8414 §2).
    let app = TestApp::spawn().await;
    let metadata: serde_json::Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        metadata["revocation_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&"client_secret_post".into()),
        "{metadata}"
    );
    let client = app
        .given_client(true, &["password", "refresh_token"], &["profile"], None)
        .await;
    app.given_secret_post(&client.id).await;
    let secret = client.secret.clone().unwrap();
    let refresh = tokens(
        app.password_grant(
            "admin",
            ADMIN_PW,
            None,
            ClientAuth::Post(&client.id, &secret),
        )
        .await,
    )
    .await
    .refresh_token
    .unwrap();

    // Act: RFC 6749 §2.3.1, the credentials in the form body.
    let response = app
        .revoke(&refresh, ClientAuth::Post(&client.id, &secret))
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let after = app
        .refresh(&refresh, None, ClientAuth::Post(&client.id, &secret))
        .await;
    assert_oauth_error(after, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn revocation_with_client_secret_post_and_a_wrong_secret_is_invalid_client() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    app.given_secret_post(&client.id).await;

    let response = app
        .revoke("anything", ClientAuth::Post(&client.id, "wrong"))
        .await;

    assert_eq!(
        challenge(&response),
        "",
        "no Basic challenge: Basic was not used"
    );
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}
