//! Client authentication (RFC 6749 §2.3): Basic with form-urlencoded credentials, post.

use reqwest::{StatusCode, header};

use crate::helpers::{ClientAuth, TestApp, assert_oauth_error, raw_basic, tokens};

const ID: &str = "reports:nightly";
const SECRET: &str = "s3cr+t:with spaces&=%";

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    // Arrange: an id with ':' and a secret with '+', ':', ' ', '&', '=' and '%'.
    let app = TestApp::spawn().await;
    app.given_client_with_secret(ID, SECRET, &["client_credentials"])
        .await;

    // Act: the helper encodes per §2.3.1.
    let response = app
        .client_credentials(None, ClientAuth::Basic(ID, SECRET))
        .await;

    // Assert
    let tokens = tokens(response).await;
    assert_eq!(tokens.token_type, "Bearer");
}

#[tokio::test]
async fn a_plus_in_basic_credentials_is_decoded_as_a_space() {
    // A client that skips the §2.3.1 encoding sends '+' raw; the server must decode it as
    // a space, so the secret no longer matches.
    let app = TestApp::spawn().await;
    app.given_client_with_secret("reports", "a+b", &["client_credentials"])
        .await;

    let raw = app
        .client()
        .post(app.url("/oauth/token"))
        .header(header::AUTHORIZATION, raw_basic("reports:a+b"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let encoded = app
        .client()
        .post(app.url("/oauth/token"))
        .header(header::AUTHORIZATION, raw_basic("reports:a%2Bb"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();

    assert_oauth_error(raw, StatusCode::UNAUTHORIZED, "invalid_client").await;
    assert_eq!(encoded.status(), StatusCode::OK);
}

#[tokio::test]
async fn client_secret_post_authenticates_a_confidential_client() {
    let app = TestApp::spawn().await;
    app.given_client_with_secret(ID, SECRET, &["client_credentials"])
        .await;
    app.given_secret_post(ID).await;

    let response = app
        .client_credentials(None, ClientAuth::Post(ID, SECRET))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_id_in_the_body_that_differs_from_basic_is_invalid_request() {
    let app = TestApp::spawn().await;
    app.given_client_with_secret(ID, SECRET, &["client_credentials"])
        .await;

    let response = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "someone-else"),
            ],
            ClientAuth::Basic(ID, SECRET),
        )
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_client_secret_without_client_id_is_invalid_request() {
    let app = TestApp::spawn().await;

    let response = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", SECRET),
            ],
            ClientAuth::FirstParty,
        )
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_public_client_may_identify_itself_with_basic_and_an_empty_secret() {
    // What requests-oauthlib and authlib send for a public client.
    let app = TestApp::spawn().await;
    let client = app
        .given_client(false, &["password"], &["profile"], None)
        .await;

    let response = app
        .password_grant(
            "admin",
            crate::helpers::ADMIN_PW,
            None,
            ClientAuth::Basic(&client.id, ""),
        )
        .await;

    let tokens = tokens(response).await;
    let (_, claims) = crate::helpers::jwt_parts(&tokens.access_token);
    assert_eq!(claims["client_id"], client.id.as_str());
}

#[tokio::test]
async fn a_confidential_client_with_an_empty_basic_secret_is_invalid_client() {
    let app = TestApp::spawn().await;
    app.given_client_with_secret(ID, SECRET, &["client_credentials"])
        .await;

    let response = app
        .client_credentials(None, ClientAuth::Basic(ID, ""))
        .await;

    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}
