//! Every admin route needs a token with scope `admin`: 401 without one, 403
//! `insufficient_scope` with a token that lacks it.

use reqwest::{Method, StatusCode};

use crate::helpers::{ADMIN_PW, TestApp, challenge};

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("GET", "/admin/users/00000000-0000-0000-0000-000000000000"),
    ("PATCH", "/admin/users/00000000-0000-0000-0000-000000000000"),
    (
        "DELETE",
        "/admin/users/00000000-0000-0000-0000-000000000000",
    ),
    ("GET", "/admin/roles"),
    ("POST", "/admin/roles"),
    ("PUT", "/admin/roles/user"),
    ("DELETE", "/admin/roles/user"),
    ("GET", "/admin/scopes"),
    ("PUT", "/admin/scopes/x"),
    ("GET", "/admin/clients"),
    ("POST", "/admin/clients"),
    ("GET", "/admin/clients/first-party"),
    ("PATCH", "/admin/clients/first-party"),
    ("DELETE", "/admin/clients/first-party"),
    ("GET", "/admin/sessions"),
    (
        "DELETE",
        "/admin/sessions/00000000-0000-0000-0000-000000000000",
    ),
];

#[tokio::test]
async fn admin_routes_answer_401_with_a_bearer_challenge_without_a_token() {
    let app = TestApp::spawn().await;

    for (method, path) in ROUTES {
        let response = app
            .client()
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(path),
            )
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();

        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        assert!(
            challenge(&response).starts_with("Bearer "),
            "{method} {path}: {}",
            challenge(&response)
        );
    }
}

#[tokio::test]
async fn admin_routes_answer_403_insufficient_scope_to_a_token_without_admin() {
    // Arrange: even the administrator, when the token lacks the scope.
    let app = TestApp::spawn().await;
    let profile_only = app
        .login("admin", ADMIN_PW, Some("profile"))
        .await
        .access_token;

    for (method, path) in ROUTES {
        // Act
        let response = app
            .admin(
                Method::from_bytes(method.as_bytes()).unwrap(),
                path,
                &profile_only,
                Some(serde_json::json!({})),
            )
            .await;

        // Assert
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let challenge = challenge(&response);
        assert!(
            challenge.contains("error=\"insufficient_scope\"") && challenge.contains("admin"),
            "{method} {path}: {challenge}"
        );
    }
}

#[tokio::test]
async fn a_regular_user_cannot_reach_the_admin_api() {
    let app = TestApp::spawn().await;
    app.given_user("mallory", &["user"]).await;
    let token = app
        .login("mallory", crate::helpers::USER_PW, None)
        .await
        .access_token;

    let response = app
        .create_user(&token, "mallory2", "password123", &["admin"])
        .await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
}

#[tokio::test]
async fn a_garbage_bearer_token_is_401_invalid_token() {
    let app = TestApp::spawn().await;

    let response = app
        .admin(Method::GET, "/admin/users", "not.a.jwt", None)
        .await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn users_me_without_a_token_is_401_and_a_malformed_header_is_400() {
    let app = TestApp::spawn().await;

    let missing = app.get("/users/me").await;
    let malformed = app
        .client()
        .get(app.url("/users/me"))
        .header(reqwest::header::AUTHORIZATION, "Bearer")
        .send()
        .await
        .unwrap();

    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&missing).starts_with("Bearer realm="));
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert!(challenge(&malformed).contains("error=\"invalid_request\""));
}
