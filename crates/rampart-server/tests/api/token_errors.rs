//! Every RFC 6749 §5.2 error of the token endpoint, with its status.

use reqwest::{StatusCode, header};

use crate::helpers::{
    ADMIN_PW, ClientAuth, TestApp, USER_PW, assert_oauth_error, basic, challenge,
};

// --- invalid_request ---------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_grant_type_is_invalid_request() {
    let app = TestApp::spawn().await;

    let response = app
        .token(
            &[("username", "admin"), ("password", ADMIN_PW)],
            ClientAuth::FirstParty,
        )
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn an_empty_grant_type_counts_as_missing() {
    let app = TestApp::spawn().await;

    let response = app
        .token(
            &[
                ("grant_type", ""),
                ("username", "admin"),
                ("password", ADMIN_PW),
            ],
            ClientAuth::FirstParty,
        )
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_password_grant_without_username_or_password_is_invalid_request() {
    let app = TestApp::spawn().await;
    let cases: [&[(&str, &str)]; 4] = [
        &[("grant_type", "password"), ("password", ADMIN_PW)],
        &[("grant_type", "password"), ("username", "admin")],
        &[
            ("grant_type", "password"),
            ("username", ""),
            ("password", ADMIN_PW),
        ],
        &[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ""),
        ],
    ];

    for params in cases {
        let response = app.token(params, ClientAuth::FirstParty).await;

        let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert!(body["error_description"].is_string(), "{params:?}");
    }
}

#[tokio::test]
async fn a_repeated_parameter_is_invalid_request() {
    let app = TestApp::spawn().await;

    let response = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("username", "someone-else"),
                ("password", ADMIN_PW),
            ],
            ClientAuth::FirstParty,
        )
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_json_body_is_invalid_request() {
    let app = TestApp::spawn().await;

    let response = app
        .client()
        .post(app.url("/oauth/token"))
        .json(&serde_json::json!({
            "grant_type": "password",
            "username": "admin",
            "password": ADMIN_PW,
        }))
        .send()
        .await
        .unwrap();

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_form_body_without_content_type_is_invalid_request() {
    let app = TestApp::spawn().await;

    let response = app
        .client()
        .post(app.url("/oauth/token"))
        .body(format!(
            "grant_type=password&username=admin&password={ADMIN_PW}"
        ))
        .send()
        .await
        .unwrap();

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn two_client_authentication_methods_at_once_are_invalid_request() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    let secret = client.secret.as_deref().unwrap();

    let response = app
        .client()
        .post(app.url("/oauth/token"))
        .header(header::AUTHORIZATION, basic(&client.id, secret))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={secret}",
            client.id
        ))
        .send()
        .await
        .unwrap();

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_refresh_grant_without_refresh_token_is_invalid_request() {
    let app = TestApp::spawn().await;

    let response = app
        .token(&[("grant_type", "refresh_token")], ClientAuth::FirstParty)
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

// --- invalid_client ----------------------------------------------------------------------

#[tokio::test]
async fn a_wrong_secret_in_basic_is_401_invalid_client_with_a_basic_challenge() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;

    let response = app
        .client_credentials(None, ClientAuth::Basic(&client.id, "wrong-secret"))
        .await;

    assert!(
        challenge(&response).starts_with("Basic "),
        "{:?}",
        challenge(&response)
    );
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn a_wrong_secret_in_the_body_is_401_invalid_client() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    app.given_secret_post(&client.id).await;

    let response = app
        .client_credentials(None, ClientAuth::Post(&client.id, "wrong-secret"))
        .await;

    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn an_unknown_client_is_invalid_client() {
    let app = TestApp::spawn().await;

    let with_secret = app
        .client_credentials(None, ClientAuth::Basic("c_nobody", "secret"))
        .await;
    let public = app
        .password_grant("admin", ADMIN_PW, None, ClientAuth::Public("c_nobody"))
        .await;

    assert!(challenge(&with_secret).starts_with("Basic "));
    assert_oauth_error(with_secret, StatusCode::UNAUTHORIZED, "invalid_client").await;
    assert_oauth_error(public, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn a_confidential_client_without_its_secret_is_invalid_client() {
    let app = TestApp::spawn().await;
    app.given_user("erin", &["user"]).await;
    let client = app
        .given_client(true, &["password"], &["profile"], None)
        .await;

    let response = app
        .password_grant("erin", USER_PW, None, ClientAuth::Public(&client.id))
        .await;

    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn a_disabled_client_is_invalid_client() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    let admin = app.admin_token().await;
    let disabled = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/clients/{}", client.id),
            &admin,
            Some(serde_json::json!({"disabled": true})),
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::OK);

    let response = app.client_credentials(None, client.auth()).await;

    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn a_garbled_basic_header_is_invalid_client() {
    let app = TestApp::spawn().await;

    let response = app
        .client()
        .post(app.url("/oauth/token"))
        .header(header::AUTHORIZATION, "Basic !!!not-base64!!!")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();

    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

// --- invalid_grant -----------------------------------------------------------------------

#[tokio::test]
async fn a_garbage_refresh_token_is_invalid_grant() {
    let app = TestApp::spawn().await;

    let response = app
        .refresh("not-a-refresh-token", None, ClientAuth::FirstParty)
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn an_access_token_presented_as_refresh_token_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let tokens = app.login("admin", ADMIN_PW, None).await;

    let response = app
        .refresh(&tokens.access_token, None, ClientAuth::FirstParty)
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

// --- unauthorized_client -----------------------------------------------------------------

#[tokio::test]
async fn a_client_not_allowed_the_grant_is_unauthorized_client() {
    let app = TestApp::spawn().await;
    app.given_user("frank", &["user"]).await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;

    let response = app
        .password_grant("frank", USER_PW, None, client.auth())
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
}

#[tokio::test]
async fn a_public_client_trying_client_credentials_is_unauthorized_client() {
    let app = TestApp::spawn().await;
    let client = app
        .given_client(false, &["password", "refresh_token"], &["profile"], None)
        .await;

    let named = app
        .client_credentials(None, ClientAuth::Public(&client.id))
        .await;
    let first_party = app.client_credentials(None, ClientAuth::FirstParty).await;

    assert_oauth_error(named, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    assert_oauth_error(first_party, StatusCode::BAD_REQUEST, "unauthorized_client").await;
}

// --- unsupported_grant_type --------------------------------------------------------------

#[tokio::test]
async fn grants_rampart_does_not_implement_are_unsupported_grant_type() {
    let app = TestApp::spawn().await;

    // (`authorization_code` is implemented: see token_authorization_code.rs.)
    for grant in [
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "PASSWORD",
    ] {
        let response = app
            .token(
                &[
                    ("grant_type", grant),
                    ("code", "abc"),
                    ("username", "admin"),
                    ("password", ADMIN_PW),
                ],
                ClientAuth::FirstParty,
            )
            .await;

        assert_oauth_error(response, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
    }
}

// --- invalid_scope -----------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_scope_is_invalid_scope() {
    let app = TestApp::spawn().await;

    let response = app
        .password_grant(
            "admin",
            ADMIN_PW,
            Some("profile no-such-scope"),
            ClientAuth::FirstParty,
        )
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

#[tokio::test]
async fn a_malformed_scope_is_invalid_scope() {
    let app = TestApp::spawn().await;

    let response = app
        .password_grant(
            "admin",
            ADMIN_PW,
            Some("profile \"x\""),
            ClientAuth::FirstParty,
        )
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

#[tokio::test]
async fn a_scope_of_which_nothing_may_be_granted_is_invalid_scope() {
    let app = TestApp::spawn().await;
    app.given_user("grace", &["user"]).await;

    let response = app
        .password_grant("grace", USER_PW, Some("admin"), ClientAuth::FirstParty)
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

// --- no secrets in errors ----------------------------------------------------------------

#[tokio::test]
async fn error_descriptions_never_echo_the_presented_password() {
    let app = TestApp::spawn().await;
    let password = "very-secret-guess-123";

    let response = app
        .password_grant("admin", password, None, ClientAuth::FirstParty)
        .await;

    let text = response.text().await.unwrap();
    assert!(!text.contains(password), "{text}");
}
