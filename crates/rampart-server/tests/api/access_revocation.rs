//! Disabling, demoting, deleting, revoking and password changes end access at once
//! (issue 14 §1): every access token names its session (`sid`), and this server's own
//! routes and introspection refuse a token whose session was revoked, whose user is gone
//! or disabled, that predates the user's stamp, or that carries a scope the user's roles
//! no longer hold.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_PW, ClientAuth, TestApp, TestClient, USER_PW, challenge, jwt_parts, tokens,
};

/// Asserts a 401 `invalid_token` (RFC 6750 §3.1).
fn assert_invalid_token(response: &reqwest::Response, what: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    assert!(
        challenge(response).contains("error=\"invalid_token\""),
        "{what}: {}",
        challenge(response)
    );
}

/// A confidential client allowed to introspect.
async fn introspector(app: &TestApp) -> TestClient {
    app.given_client(true, &["client_credentials"], &["profile"], None)
        .await
}

async fn active(app: &TestApp, client: &TestClient, token: &str) -> bool {
    let response = app.introspect(token, client.auth()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["active"].as_bool().unwrap()
}

/// A second administrator, logged in with `admin profile`: its id and access token.
async fn second_admin(app: &TestApp) -> (String, String) {
    let id = app.given_user("mallory", &["admin"]).await;
    let token = app
        .login("mallory", USER_PW, Some("admin profile"))
        .await
        .access_token;
    assert_eq!(
        app.list_users(&token, "").await.status(),
        StatusCode::OK,
        "the second admin's token works before the change"
    );
    (id, token)
}

#[tokio::test]
async fn every_user_access_token_names_its_session_and_a_client_token_names_none() {
    let app = TestApp::spawn().await;
    let login = app.login("admin", ADMIN_PW, None).await;
    let sid = jwt_parts(&login.access_token).1["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let refreshed = tokens(
        app.refresh(
            login.refresh_token.as_deref().unwrap(),
            None,
            ClientAuth::FirstParty,
        )
        .await,
    )
    .await;
    let sessions: Value = app
        .list_sessions(&app.admin_token().await, "")
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(
        jwt_parts(&refreshed.access_token).1["sid"],
        json!(sid),
        "a refresh stays in the session"
    );
    assert!(
        sessions
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == json!(sid)),
        "the sid is the session's id in /admin/sessions: {sessions}"
    );
    let client = introspector(&app).await;
    let own = tokens(app.client_credentials(None, client.auth()).await).await;
    assert!(jwt_parts(&own.access_token).1.get("sid").is_none());
    assert!(active(&app, &client, &own.access_token).await);
}

#[tokio::test]
async fn a_disabled_admin_loses_the_admin_api_at_once_and_cannot_re_enable_itself() {
    // Arrange
    let app = TestApp::spawn().await;
    let (id, token) = second_admin(&app).await;
    let client = introspector(&app).await;

    // Act
    let response = app
        .update_user(&app.admin_token().await, &id, json!({"disabled": true}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Assert: nothing the old token tries works.
    assert_invalid_token(&app.list_users(&token, "").await, "list users");
    let create = app
        .create_user(&token, "backdoor", USER_PW, &["admin"])
        .await;
    assert_invalid_token(&create, "create an admin");
    let enable = app
        .update_user(&token, &id, json!({"disabled": false}))
        .await;
    assert_invalid_token(&enable, "re-enable itself");
    assert_invalid_token(&app.me(&token).await, "/users/me");
    assert!(!active(&app, &client, &token).await, "introspection");
    let user: Value = app
        .get_user(&app.admin_token().await, &id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["disabled"], json!(true));
}

#[tokio::test]
async fn re_enabling_a_user_does_not_revive_the_tokens_they_held() {
    let app = TestApp::spawn().await;
    let (id, token) = second_admin(&app).await;
    let admin = app.admin_token().await;

    app.update_user(&admin, &id, json!({"disabled": true}))
        .await;
    app.update_user(&admin, &id, json!({"disabled": false}))
        .await;

    assert_invalid_token(&app.list_users(&token, "").await, "the old token");
    let fresh = app
        .login("mallory", USER_PW, Some("admin profile"))
        .await
        .access_token;
    assert_eq!(app.list_users(&fresh, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_demoted_admin_cannot_use_the_admin_scope_and_a_refresh_narrows_the_token() {
    // Arrange
    let app = TestApp::spawn().await;
    app.given_user("mallory", &["admin"]).await;
    let login = app.login("mallory", USER_PW, Some("admin profile")).await;
    let id = jwt_parts(&login.access_token).1["sub"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act
    let response = app
        .update_user(&app.admin_token().await, &id, json!({"roles": ["user"]}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Assert
    assert_invalid_token(&app.list_users(&login.access_token, "").await, "admin API");
    assert_invalid_token(
        &app.me(&login.access_token).await,
        "/users/me with a token that still says admin",
    );
    let refreshed = tokens(
        app.refresh(
            login.refresh_token.as_deref().unwrap(),
            None,
            ClientAuth::FirstParty,
        )
        .await,
    )
    .await;
    assert_eq!(refreshed.scope, "profile");
    assert_eq!(
        app.me(&refreshed.access_token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.list_users(&refreshed.access_token, "").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_role_that_loses_a_scope_voids_the_tokens_that_carry_it() {
    // Arrange: `notes:read` through the role `reader`, on a client that allows it.
    let app = TestApp::spawn().await;
    app.given_scopes(&["notes:read"]).await;
    app.given_role("reader", &["profile", "notes:read"]).await;
    app.given_user("rita", &["reader"]).await;
    let client = app
        .given_client(false, &["password"], &["profile", "notes:read"], None)
        .await;
    let token = tokens(
        app.password_grant("rita", USER_PW, Some("profile notes:read"), client.auth())
            .await,
    )
    .await
    .access_token;
    assert_eq!(app.me(&token).await.status(), StatusCode::OK);

    // Act
    let response = app
        .admin(
            Method::PUT,
            "/admin/roles/reader",
            &app.admin_token().await,
            Some(json!({"scopes": ["profile"]})),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());

    // Assert
    assert_invalid_token(&app.me(&token).await, "a token with a scope no role holds");
}

#[tokio::test]
async fn a_deleted_users_token_is_401_on_users_me_not_404() {
    let app = TestApp::spawn().await;
    let id = app.given_user("dora", &["user"]).await;
    let token = app.login("dora", USER_PW, None).await.access_token;
    assert_eq!(app.me(&token).await.status(), StatusCode::OK);

    let response = app.delete_user(&app.admin_token().await, &id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_invalid_token(&app.me(&token).await, "/users/me");
    let client = introspector(&app).await;
    assert!(!active(&app, &client, &token).await);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_every_access_token_of_its_grant() {
    // Arrange: one session with two access tokens (login, refresh), and another session.
    let app = TestApp::spawn().await;
    app.given_user("sam", &["user"]).await;
    let login = app.login("sam", USER_PW, None).await;
    let refreshed = tokens(
        app.refresh(
            login.refresh_token.as_deref().unwrap(),
            None,
            ClientAuth::FirstParty,
        )
        .await,
    )
    .await;
    let other = app.login("sam", USER_PW, None).await.access_token;
    let client = introspector(&app).await;

    // Act: RFC 7009 §2.1.
    let response = app
        .revoke(
            refreshed.refresh_token.as_deref().unwrap(),
            ClientAuth::FirstParty,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Assert
    for (what, token) in [
        ("the login's token", &login.access_token),
        ("the refreshed token", &refreshed.access_token),
    ] {
        assert_invalid_token(&app.me(token).await, what);
        assert!(!active(&app, &client, token).await, "{what}");
    }
    assert_eq!(
        app.me(&other).await.status(),
        StatusCode::OK,
        "another session goes on"
    );
    assert!(active(&app, &client, &other).await);
}

#[tokio::test]
async fn ending_a_session_through_the_admin_api_ends_its_access_tokens() {
    let app = TestApp::spawn().await;
    app.given_user("sam", &["user"]).await;
    let token = app.login("sam", USER_PW, None).await.access_token;
    let sid = jwt_parts(&token).1["sid"].as_str().unwrap().to_owned();

    let response = app
        .admin(
            Method::DELETE,
            &format!("/admin/sessions/{sid}"),
            &app.admin_token().await,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_invalid_token(&app.me(&token).await, "/users/me");
    let client = introspector(&app).await;
    assert!(!active(&app, &client, &token).await);
}

#[tokio::test]
async fn ending_all_sessions_of_a_user_voids_every_token_issued_so_far() {
    // Arrange: two sessions, and a token of the password grant without a refresh token
    // (a session with no refresh-token family).
    let app = TestApp::spawn().await;
    let id = app.given_user("sam", &["user"]).await;
    let one = app.login("sam", USER_PW, None).await.access_token;
    let two = app.login("sam", USER_PW, None).await.access_token;
    let client = app
        .given_client(false, &["password"], &["profile"], None)
        .await;
    let bare = tokens(
        app.password_grant("sam", USER_PW, None, client.auth())
            .await,
    )
    .await;
    assert!(bare.refresh_token.is_none());
    // The stamp voids tokens from earlier seconds.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    // Act
    let response = app
        .admin(
            Method::DELETE,
            &format!("/admin/users/{id}/sessions"),
            &app.admin_token().await,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // Assert
    for (what, token) in [
        ("session one", &one),
        ("session two", &two),
        ("no refresh token", &bare.access_token),
    ] {
        assert_invalid_token(&app.me(token).await, what);
    }
    let fresh = app.login("sam", USER_PW, None).await.access_token;
    assert_eq!(app.me(&fresh).await.status(), StatusCode::OK);
    let unknown = app
        .admin(
            Method::DELETE,
            &format!("/admin/users/{}/sessions", uuid::Uuid::new_v4()),
            &app.admin_token().await,
            None,
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn changing_the_password_ends_the_access_tokens_of_every_session() {
    // Arrange
    let app = TestApp::spawn().await;
    app.given_user("pat", &["user"]).await;
    let one = app.login("pat", USER_PW, None).await.access_token;
    let two = app.login("pat", USER_PW, None).await.access_token;
    let client = introspector(&app).await;

    // Act
    let new_password = "a brand new passphrase";
    let response = app.change_password(&one, USER_PW, new_password).await;
    assert!(response.status().is_success(), "{}", response.status());

    // Assert
    for (what, token) in [("the token used", &one), ("another session", &two)] {
        assert_invalid_token(&app.me(token).await, what);
        assert!(!active(&app, &client, token).await, "{what}");
    }
    let fresh = app.login("pat", new_password, None).await.access_token;
    assert_eq!(app.me(&fresh).await.status(), StatusCode::OK);
}
