//! Password change, and stored hashes: bcrypt import and argon2 parameter upgrades.
//!
//! The stored hash is not visible over HTTP; these tests read it from the store.

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Argon2, Params};
use rampart_server::accounts::Username;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{ClientAuth, TestApp, USER_PW, assert_oauth_error};

const NEW_PW: &str = "a brand new passphrase";

async fn stored_hash(app: &TestApp, username: &str) -> String {
    app.state
        .store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

#[tokio::test]
async fn changing_the_password_ends_sessions_and_retires_the_old_password() {
    // Arrange
    let app = TestApp::spawn().await;
    app.given_user("pat", &["user"]).await;
    let tokens = app.login("pat", USER_PW, None).await;
    let old_refresh = tokens.refresh_token.unwrap();

    // Act
    let response = app
        .change_password(&tokens.access_token, USER_PW, NEW_PW)
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let refreshed = app
        .refresh(&old_refresh, None, ClientAuth::FirstParty)
        .await;
    assert_oauth_error(refreshed, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let old = app
        .password_grant("pat", USER_PW, None, ClientAuth::FirstParty)
        .await;
    assert_oauth_error(old, StatusCode::BAD_REQUEST, "invalid_grant").await;
    app.login("pat", NEW_PW, None).await;
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = TestApp::spawn().await;
    app.given_user("quinn", &["user"]).await;
    let tokens = app.login("quinn", USER_PW, None).await;

    let response = app
        .change_password(&tokens.access_token, "not the password", NEW_PW)
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    app.login("quinn", USER_PW, None).await;
}

#[tokio::test]
async fn a_new_password_that_is_too_short_is_refused() {
    let app = TestApp::spawn().await;
    app.given_user("rita", &["user"]).await;
    let tokens = app.login("rita", USER_PW, None).await;

    let response = app
        .change_password(&tokens.access_token, USER_PW, "short")
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    app.login("rita", USER_PW, None).await;
}

#[tokio::test]
async fn changing_the_password_without_a_token_is_401() {
    let app = TestApp::spawn().await;

    let response = app
        .client()
        .put(app.url("/users/me/password"))
        .json(&serde_json::json!({"current_password": USER_PW, "new_password": NEW_PW}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_imported_bcrypt_hash_logs_in_and_is_upgraded_to_argon2id() {
    // Arrange: a user whose hash came from passlib/pwdlib (bcrypt `$2b$`).
    let app = TestApp::spawn().await;
    let bcrypt_hash = bcrypt::hash(USER_PW, 4).unwrap();
    assert!(bcrypt_hash.starts_with("$2b$"));
    app.state
        .accounts
        .create_user_with_hash(
            &Username::parse("legacy").unwrap(),
            bcrypt_hash,
            &["user".to_owned()],
        )
        .await
        .unwrap();

    // Act
    let response = app
        .password_grant("legacy", USER_PW, None, ClientAuth::FirstParty)
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let upgraded = stored_hash(&app, "legacy").await;
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    app.login("legacy", USER_PW, None).await;
}

#[tokio::test]
async fn a_wrong_password_does_not_upgrade_a_bcrypt_hash() {
    let app = TestApp::spawn().await;
    let bcrypt_hash = bcrypt::hash(USER_PW, 4).unwrap();
    app.state
        .accounts
        .create_user_with_hash(
            &Username::parse("legacy").unwrap(),
            bcrypt_hash.clone(),
            &[],
        )
        .await
        .unwrap();

    let response = app
        .password_grant("legacy", "wrong password", None, ClientAuth::FirstParty)
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(stored_hash(&app, "legacy").await, bcrypt_hash);
}

#[tokio::test]
async fn an_argon2_hash_with_old_parameters_is_rehashed_at_login() {
    // Arrange: a hash made with other parameters than the server's (m=1024, t=1, p=1).
    let app = TestApp::spawn().await;
    let old = Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        Params::new(2048, 2, 1, None).unwrap(),
    );
    let salt = SaltString::from_b64("c2FsdHNhbHRzYWx0c2FsdA").unwrap();
    let old_hash = old
        .hash_password(USER_PW.as_bytes(), &salt)
        .unwrap()
        .to_string();
    assert!(old_hash.contains("m=2048,t=2,p=1"));
    app.state
        .accounts
        .create_user_with_hash(&Username::parse("oldie").unwrap(), old_hash, &[])
        .await
        .unwrap();

    // Act
    app.login("oldie", USER_PW, None).await;

    // Assert
    let new_hash = stored_hash(&app, "oldie").await;
    assert!(
        new_hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
        "{new_hash}"
    );
    app.login("oldie", USER_PW, None).await;
}

#[tokio::test]
async fn a_hash_with_current_parameters_is_left_alone() {
    let app = TestApp::spawn().await;
    app.given_user("stable", &["user"]).await;
    let before = stored_hash(&app, "stable").await;

    app.login("stable", USER_PW, None).await;

    assert_eq!(stored_hash(&app, "stable").await, before);
}

#[tokio::test]
async fn a_rehash_at_login_does_not_end_sessions() {
    let app = TestApp::spawn().await;
    let bcrypt_hash = bcrypt::hash(USER_PW, 4).unwrap();
    app.state
        .accounts
        .create_user_with_hash(&Username::parse("legacy").unwrap(), bcrypt_hash, &[])
        .await
        .unwrap();
    let first = app
        .login("legacy", USER_PW, None)
        .await
        .refresh_token
        .unwrap();

    app.login("legacy", USER_PW, None).await;

    let refreshed = app.refresh(&first, None, ClientAuth::FirstParty).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
}
