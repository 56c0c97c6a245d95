//! The password grant (RFC 6749 §4.3) and the first-party client.

use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, USER_PW, assert_oauth_error, jwt_parts};

#[tokio::test]
async fn a_password_grant_returns_the_rfc6749_success_fields_and_no_cache_headers() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let response = app
        .password_grant("admin", ADMIN_PW, None, ClientAuth::FirstParty)
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(response.headers()[header::PRAGMA], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 43),
        "a refresh token of at least 256 bits: {body}"
    );
    assert_eq!(body["scope"], "profile");
}

#[tokio::test]
async fn a_password_grant_without_client_id_is_served_as_the_first_party_client() {
    let app = TestApp::spawn().await;

    let tokens = app.login("admin", ADMIN_PW, None).await;

    let (_, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(claims["client_id"], "first-party");
}

#[tokio::test]
async fn a_password_grant_naming_the_first_party_client_works_too() {
    let app = TestApp::spawn().await;

    let response = app
        .password_grant("admin", ADMIN_PW, None, ClientAuth::Public("first-party"))
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_access_token_of_a_password_grant_opens_users_me() {
    let app = TestApp::spawn().await;
    let tokens = app.login("admin", ADMIN_PW, None).await;

    let response = app.me(&tokens.access_token).await;

    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(me["roles"], serde_json::json!(["admin"]));
    assert!(me.get("password_hash").is_none());
}

#[tokio::test]
async fn usernames_are_matched_case_insensitively() {
    let app = TestApp::spawn().await;

    let response = app
        .password_grant("ADMIN", ADMIN_PW, None, ClientAuth::FirstParty)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_invalid_grant_body() {
    let app = TestApp::spawn().await;

    let wrong_password = app
        .password_grant("admin", "not-the-password", None, ClientAuth::FirstParty)
        .await;
    let unknown_user = app
        .password_grant("nobody", "not-the-password", None, ClientAuth::FirstParty)
        .await;

    let wrong_password =
        assert_oauth_error(wrong_password, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let unknown_user =
        assert_oauth_error(unknown_user, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(wrong_password, unknown_user, "no user enumeration");
}

#[tokio::test]
async fn an_sql_injection_looking_username_is_refused_as_no_username_and_changes_nothing() {
    let app = TestApp::spawn().await;

    for username in [
        "admin' OR '1'='1",
        "admin'--",
        "'; DROP TABLE users; --",
        "admin\" OR 1=1 --",
        "%",
    ] {
        let response = app
            .password_grant(username, "' OR '1'='1", None, ClientAuth::FirstParty)
            .await;
        // No account can have such a name: refused before any lookup or write.
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }

    // The users table is intact: the administrator still logs in.
    app.login("admin", ADMIN_PW, None).await;
}

#[tokio::test]
async fn a_disabled_first_party_client_refuses_password_grants_without_client_id() {
    let app = TestApp::spawn_with(|config| config.first_party_client = false).await;

    let response = app
        .password_grant("admin", ADMIN_PW, None, ClientAuth::FirstParty)
        .await;

    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let app = TestApp::spawn().await;

    let response = app
        .token(
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", ADMIN_PW),
                ("nonce", "whatever"),
                ("x-custom", "1"),
            ],
            ClientAuth::FirstParty,
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_empty_scope_parameter_counts_as_no_scope() {
    let app = TestApp::spawn().await;

    let response = app
        .password_grant("admin", ADMIN_PW, Some(""), ClientAuth::FirstParty)
        .await;

    let tokens = crate::helpers::tokens(response).await;
    assert_eq!(tokens.scope, "profile");
}

#[tokio::test]
async fn a_confidential_client_may_use_the_password_grant_with_its_secret() {
    let app = TestApp::spawn().await;
    app.given_user("carol", &["user"]).await;
    let client = app
        .given_client(true, &["password", "refresh_token"], &["profile"], None)
        .await;

    let response = app
        .password_grant("carol", USER_PW, None, client.auth())
        .await;

    let tokens = crate::helpers::tokens(response).await;
    let (_, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(claims["client_id"], client.id.as_str());
    assert!(tokens.refresh_token.is_some());
}

#[tokio::test]
async fn a_client_without_the_refresh_grant_gets_no_refresh_token() {
    let app = TestApp::spawn().await;
    app.given_user("dave", &["user"]).await;
    let client = app
        .given_client(false, &["password"], &["profile"], None)
        .await;

    let response = app
        .password_grant("dave", USER_PW, None, client.auth())
        .await;

    let tokens = crate::helpers::tokens(response).await;
    assert!(tokens.refresh_token.is_none());
}

#[tokio::test]
async fn a_form_content_type_with_a_charset_is_accepted() {
    let app = TestApp::spawn().await;

    let response = app
        .client()
        .post(app.url("/oauth/token"))
        .header(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(crate::helpers::form_body(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_PW),
        ]))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_password_with_form_special_characters_round_trips() {
    // Arrange: '+', '&', '=', '%', spaces and non-ASCII all mean something in a form.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let password = "p+ss&w=rd 100% sûr ✓";
    let created = app.create_user(&admin, "zoe", password, &["user"]).await;
    assert_eq!(created.status(), StatusCode::CREATED);

    // Act
    let response = app
        .password_grant("zoe", password, None, ClientAuth::FirstParty)
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let mangled = app
        .password_grant("zoe", "p ss&w=rd 100% sûr ✓", None, ClientAuth::FirstParty)
        .await;
    assert_eq!(mangled.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_profile_response_is_not_cached() {
    let app = TestApp::spawn().await;
    let tokens = app.login("admin", ADMIN_PW, None).await;

    let response = app.me(&tokens.access_token).await;

    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn users_me_refuses_a_token_without_the_profile_scope() {
    let app = TestApp::spawn().await;
    let admin_only = app.login("admin", ADMIN_PW, Some("admin")).await;

    let response = app.me(&admin_only.access_token).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(crate::helpers::challenge(&response).contains("insufficient_scope"));
}
