//! Granted scopes = requested ∩ scopes of the user's roles ∩ scopes of the client;
//! nothing requested → the default scopes, never `admin`.

use reqwest::StatusCode;

use crate::helpers::{
    ADMIN_PW, TestApp, USER_PW, assert_oauth_error, jwt_parts, scope_list, tokens,
};

/// Scopes `notes:read`, `notes:write`, `billing`; role `reader` = profile + notes:read;
/// user `kim` with that role.
async fn notes_world(app: &TestApp) {
    app.given_scopes(&["notes:read", "notes:write", "billing"])
        .await;
    app.given_role("reader", &["profile", "notes:read"]).await;
    app.given_user("kim", &["reader"]).await;
}

#[tokio::test]
async fn granted_scopes_are_the_requested_ones_the_user_holds_and_the_client_allows() {
    // Arrange: the client allows profile, notes:read, notes:write but not billing.
    let app = TestApp::spawn().await;
    notes_world(&app).await;
    let client = app
        .given_client(
            false,
            &["password"],
            &["profile", "notes:read", "notes:write"],
            None,
        )
        .await;

    // Act: ask for everything.
    let response = app
        .password_grant(
            "kim",
            USER_PW,
            Some("profile notes:read notes:write billing admin"),
            client.auth(),
        )
        .await;

    // Assert: notes:write (not held), billing (not held, not allowed), admin (not held)
    // are dropped.
    let tokens = tokens(response).await;
    assert_eq!(scope_list(&tokens.scope), vec!["notes:read", "profile"]);
    let (_, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(
        scope_list(claims["scope"].as_str().unwrap()),
        vec!["notes:read", "profile"]
    );
}

#[tokio::test]
async fn a_scope_the_user_holds_but_the_client_does_not_allow_is_dropped() {
    let app = TestApp::spawn().await;
    notes_world(&app).await;
    let client = app
        .given_client(false, &["password"], &["profile"], None)
        .await;

    let tokens = tokens(
        app.password_grant("kim", USER_PW, Some("profile notes:read"), client.auth())
            .await,
    )
    .await;

    assert_eq!(tokens.scope, "profile");
}

#[tokio::test]
async fn no_requested_scope_gives_the_default_scopes() {
    let app = TestApp::spawn().await;
    notes_world(&app).await;

    let tokens = app.login("kim", USER_PW, None).await;

    assert_eq!(tokens.scope, "profile");
}

#[tokio::test]
async fn an_administrator_gets_admin_only_when_asking_for_it() {
    let app = TestApp::spawn().await;

    let implicit = app.login("admin", ADMIN_PW, None).await;
    let explicit = app.login("admin", ADMIN_PW, Some("admin")).await;

    assert_eq!(implicit.scope, "profile");
    assert_eq!(explicit.scope, "admin");
}

#[tokio::test]
async fn a_scope_marked_default_is_granted_without_asking() {
    let app = TestApp::spawn().await;
    notes_world(&app).await;
    let admin = app.admin_token().await;
    let response = app.put_scope(&admin, "notes:read", true).await;
    assert_eq!(response.status(), StatusCode::OK);
    let client = app
        .given_client(false, &["password"], &["profile", "notes:read"], None)
        .await;

    let tokens = tokens(
        app.password_grant("kim", USER_PW, None, client.auth())
            .await,
    )
    .await;

    assert_eq!(scope_list(&tokens.scope), vec!["notes:read", "profile"]);
}

#[tokio::test]
async fn the_admin_scope_can_never_become_a_default_scope() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let response = app.put_scope(&admin, "admin", true).await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.login("admin", ADMIN_PW, None).await.scope, "profile");
}

#[tokio::test]
async fn requesting_only_scopes_the_user_does_not_hold_is_invalid_scope() {
    let app = TestApp::spawn().await;
    notes_world(&app).await;

    let response = app
        .password_grant(
            "kim",
            USER_PW,
            Some("billing"),
            crate::helpers::ClientAuth::FirstParty,
        )
        .await;

    let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
    assert_eq!(
        body["error_description"],
        "none of the requested scopes may be granted: the client first-party may not be granted billing (allow it with PATCH /admin/clients/first-party {\"scopes\": [...]})",
        "names the scope and how to allow it"
    );
}

#[tokio::test]
async fn an_invalid_scope_error_says_which_scope_the_user_lacks_and_which_the_client_refuses() {
    let app = TestApp::spawn().await;
    notes_world(&app).await;
    let admin = app.admin_token().await;
    let allowed = app
        .admin(
            reqwest::Method::PATCH,
            "/admin/clients/first-party",
            &admin,
            Some(serde_json::json!({"scopes": ["profile", "admin", "billing"]})),
        )
        .await;
    assert_eq!(allowed.status(), StatusCode::OK);
    let cases = [
        (
            "a scope the client allows but no role holds",
            "billing",
            "none of the requested scopes may be granted: no role of this user holds billing",
        ),
        (
            "a scope the client does not allow",
            "notes:write",
            "none of the requested scopes may be granted: the client first-party may not be granted notes:write (allow it with PATCH /admin/clients/first-party {\"scopes\": [...]})",
        ),
        (
            "a scope that does not exist",
            "nope",
            "unknown scope nope (an administrator creates it: PUT /admin/scopes/nope or rampart scope create nope)",
        ),
    ];
    for (name, scope, want) in cases {
        let response = app
            .password_grant(
                "kim",
                USER_PW,
                Some(scope),
                crate::helpers::ClientAuth::FirstParty,
            )
            .await;
        let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
        assert_eq!(body["error_description"], want, "{name}");
    }
}
