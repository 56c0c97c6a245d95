//! `/admin/sessions`: live refresh-token families.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{ClientAuth, TestApp, USER_PW, assert_oauth_error, tokens};

#[tokio::test]
async fn a_login_shows_up_as_one_session_even_after_refreshes() {
    // Arrange
    let app = TestApp::spawn().await;
    let id = app.given_user("mona", &["user"]).await;
    let first = app
        .login("mona", USER_PW, None)
        .await
        .refresh_token
        .unwrap();
    tokens(app.refresh(&first, None, ClientAuth::FirstParty).await).await;
    let admin = app.admin_token().await;

    // Act
    let response = app.list_sessions(&admin, &format!("user_id={id}")).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(!text.contains(&first), "no token values in the listing");
    let sessions: Value = serde_json::from_str(&text).unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["user_id"], id.as_str());
    assert_eq!(sessions[0]["username"], "mona");
    assert_eq!(sessions[0]["client_id"], "first-party");
    assert_eq!(sessions[0]["scope"], "profile");
}

#[tokio::test]
async fn the_session_list_without_a_filter_includes_every_user() {
    let app = TestApp::spawn().await;
    app.given_user("nina", &["user"]).await;
    app.login("nina", USER_PW, None).await;
    let admin = app.admin_token().await;

    let sessions: Value = app.list_sessions(&admin, "").await.json().await.unwrap();

    let users: Vec<&str> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    assert!(
        users.contains(&"nina") && users.contains(&"admin"),
        "{users:?}"
    );
}

#[tokio::test]
async fn deleting_a_session_revokes_its_refresh_token() {
    // Arrange
    let app = TestApp::spawn().await;
    let id = app.given_user("olga", &["user"]).await;
    let refresh = app
        .login("olga", USER_PW, None)
        .await
        .refresh_token
        .unwrap();
    let admin = app.admin_token().await;
    let sessions: Value = app
        .list_sessions(&admin, &format!("user_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    let session = sessions[0]["id"].as_str().unwrap().to_owned();

    // Act
    let response = app
        .admin(
            Method::DELETE,
            &format!("/admin/sessions/{session}"),
            &admin,
            None,
        )
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let refreshed = app.refresh(&refresh, None, ClientAuth::FirstParty).await;
    assert_oauth_error(refreshed, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let listed: Value = app
        .list_sessions(&admin, &format!("user_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0);
    let again = app
        .admin(
            Method::DELETE,
            &format!("/admin/sessions/{session}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_malformed_user_filter_is_400_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let response = app.list_sessions(&admin, "user_id=not-a-uuid").await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}
