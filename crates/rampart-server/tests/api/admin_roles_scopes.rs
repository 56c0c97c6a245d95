//! `/admin/roles` and `/admin/scopes`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, USER_PW, scope_list, tokens};

#[tokio::test]
async fn a_scope_is_created_with_put_and_listed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let response = app.put_scope(&admin, "notes:read", false).await;

    assert_eq!(response.status(), StatusCode::OK);
    let scope: Value = response.json().await.unwrap();
    assert_eq!(scope["name"], "notes:read");
    assert_eq!(scope["default"], false);
    let list: Value = app
        .admin(Method::GET, "/admin/scopes", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "admin",
            "email",
            "notes:read",
            "offline_access",
            "openid",
            "profile"
        ],
        "the built-in scopes (profile, admin, OIDC's openid, email and offline_access) and the new one"
    );
}

#[tokio::test]
async fn putting_a_scope_twice_updates_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.put_scope(&admin, "notes:read", false).await;

    let response = app.put_scope(&admin, "notes:read", true).await;

    assert_eq!(response.status(), StatusCode::OK);
    let list: Value = app
        .admin(Method::GET, "/admin/scopes", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let notes = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "notes:read")
        .unwrap();
    assert_eq!(notes["default"], true);
}

#[tokio::test]
async fn a_scope_name_outside_the_rfc6749_grammar_is_400() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let response = app.put_scope(&admin, "bad%20scope", false).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn roles_are_created_listed_changed_and_deleted() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.given_scopes(&["notes:read", "notes:write"]).await;

    // Act + Assert: create.
    let created = app
        .create_role(&admin, "editor", &["notes:read", "profile"])
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let role: Value = created.json().await.unwrap();
    assert_eq!(role["name"], "editor");
    assert_eq!(role["scopes"], json!(["notes:read", "profile"]));

    // Duplicate.
    let duplicate = app.create_role(&admin, "editor", &[]).await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);

    // Replace its scopes.
    let changed = app
        .admin(
            Method::PUT,
            "/admin/roles/editor",
            &admin,
            Some(json!({"scopes": ["notes:read", "notes:write"]})),
        )
        .await;
    let status = changed.status();
    let role: Value = changed.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{role}");
    assert_eq!(role["scopes"], json!(["notes:read", "notes:write"]));

    // List.
    let list: Value = app
        .admin(Method::GET, "/admin/roles", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["admin", "editor", "user"]);

    // Delete.
    let deleted = app
        .admin(Method::DELETE, "/admin/roles/editor", &admin, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let again = app
        .admin(Method::DELETE, "/admin/roles/editor", &admin, None)
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_role_with_an_unknown_scope_is_400() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let created = app.create_role(&admin, "ghost", &["no-such-scope"]).await;
    let changed = app
        .admin(
            Method::PUT,
            "/admin/roles/user",
            &admin,
            Some(json!({"scopes": ["no-such-scope"]})),
        )
        .await;

    assert_eq!(created.status(), StatusCode::BAD_REQUEST);
    assert_eq!(changed.status(), StatusCode::BAD_REQUEST);
    let want = "unknown scope no-such-scope (create it first: PUT /admin/scopes/no-such-scope or rampart scope create no-such-scope)";
    for response in [created, changed] {
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error_description"], want);
    }
    let user = app
        .create_user(&admin, "lee", USER_PW, &["no-such-role"])
        .await;
    assert_eq!(user.status(), StatusCode::BAD_REQUEST);
    let body: Value = user.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "unknown role no-such-role (create it first: POST /admin/roles or rampart role create no-such-role)"
    );
}

#[tokio::test]
async fn changing_an_unknown_role_is_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let response = app
        .admin(
            Method::PUT,
            "/admin/roles/ghost",
            &admin,
            Some(json!({"scopes": ["profile"]})),
        )
        .await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn built_in_roles_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    for role in ["admin", "user"] {
        let response = app
            .admin(
                Method::DELETE,
                &format!("/admin/roles/{role}"),
                &admin,
                None,
            )
            .await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{role}");
    }
}

#[tokio::test]
async fn a_scope_added_to_a_role_is_grantable_to_its_users_at_the_next_login() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.given_scopes(&["notes:read"]).await;
    app.given_user("lena", &["user"]).await;
    let client = app
        .given_client(false, &["password"], &["profile", "notes:read"], None)
        .await;

    let response = app
        .admin(
            Method::PUT,
            "/admin/roles/user",
            &admin,
            Some(json!({"scopes": ["profile", "notes:read"]})),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let tokens = tokens(
        app.password_grant("lena", USER_PW, Some("profile notes:read"), client.auth())
            .await,
    )
    .await;
    assert_eq!(scope_list(&tokens.scope), vec!["notes:read", "profile"]);
}
