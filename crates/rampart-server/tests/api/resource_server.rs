//! End to end: the example notes API trusts this server's JWKS and accepts its tokens.

use reqwest::StatusCode;

use crate::helpers::{ISSUER, TestApp, USER_PW, challenge, tokens};

const AUDIENCE: &str = "notes-api";

/// The example resource server on port 0, fetching keys from the token server's JWKS.
async fn spawn_notes_api(app: &TestApp) -> String {
    // Parsed like the command line, so options added later keep their defaults.
    let jwks_url = app.url("/.well-known/jwks.json");
    let config = <resource_server::Config as clap::Parser>::try_parse_from([
        "resource-server",
        "--jwks-url",
        &jwks_url,
        "--issuer",
        ISSUER,
        "--audience",
        AUDIENCE,
        "--addr",
        "127.0.0.1:0",
    ])
    .unwrap();
    let api = resource_server::Application::build(&config)
        .await
        .expect("the notes API starts");
    let addr = api.local_addr().unwrap();
    tokio::spawn(api.run_until(std::future::pending()));
    format!("http://{addr}")
}

#[tokio::test]
async fn a_token_from_the_server_opens_the_notes_api_and_no_token_does_not() {
    // Arrange: scope notes:read, a role holding it, a user with that role, and a client
    // whose tokens are for the notes API.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let scope = app.put_scope(&admin, "notes:read", false).await;
    assert_eq!(scope.status(), StatusCode::OK);
    app.given_role("note-reader", &["profile", "notes:read"])
        .await;
    app.given_user("nora", &["note-reader"]).await;
    let client = app
        .given_client(
            false,
            &["password", "refresh_token"],
            &["profile", "notes:read"],
            Some(AUDIENCE),
        )
        .await;
    let access = tokens(
        app.password_grant("nora", USER_PW, Some("notes:read"), client.auth())
            .await,
    )
    .await
    .access_token;
    let notes_api = spawn_notes_api(&app).await;

    // Act
    let with_token = app
        .client()
        .get(format!("{notes_api}/notes"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    let without_token = app
        .client()
        .get(format!("{notes_api}/notes"))
        .send()
        .await
        .unwrap();

    // Assert
    let status = with_token.status();
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        with_token.text().await.unwrap()
    );
    assert_eq!(without_token.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&without_token).starts_with("Bearer "));
}

#[tokio::test]
async fn the_notes_api_refuses_a_token_for_the_token_servers_own_audience() {
    let app = TestApp::spawn().await;
    let access = app
        .login("admin", crate::helpers::ADMIN_PW, None)
        .await
        .access_token;
    let notes_api = spawn_notes_api(&app).await;

    let response = app
        .client()
        .get(format!("{notes_api}/whoami"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("invalid_token"));
}

#[tokio::test]
async fn the_notes_api_refuses_a_token_without_the_notes_scope() {
    let app = TestApp::spawn().await;
    app.given_user("otto", &["user"]).await;
    let client = app
        .given_client(false, &["password"], &["profile"], Some(AUDIENCE))
        .await;
    let access = tokens(
        app.password_grant("otto", USER_PW, None, client.auth())
            .await,
    )
    .await
    .access_token;
    let notes_api = spawn_notes_api(&app).await;

    let response = app
        .client()
        .get(format!("{notes_api}/notes"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&response).contains("insufficient_scope"));
}
