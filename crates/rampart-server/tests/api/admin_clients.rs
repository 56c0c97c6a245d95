//! `/admin/clients`: a confidential client's secret is shown once, at creation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, tokens};

#[tokio::test]
async fn creating_a_confidential_client_returns_its_secret_once() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    // Act
    let response = app
        .create_client(
            &admin,
            json!({
                "name": "billing worker",
                "confidential": true,
                "grants": ["client_credentials"],
                "scopes": ["profile"],
            }),
        )
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43, "256 bits of entropy");
    assert_eq!(created["confidential"], true);
    assert_eq!(created["grants"], json!(["client_credentials"]));

    let one: Value = app
        .admin(Method::GET, &format!("/admin/clients/{id}"), &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["client_id"], id);
    assert!(one.get("client_secret").is_none(), "{one}");
    let list = app
        .admin(Method::GET, "/admin/clients", &admin, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(id));
    assert!(!list.contains(secret), "the list never shows a secret");
    assert!(!list.contains("\"client_secret\""), "{list}");
    assert!(!list.contains("secret_hash"), "{list}");

    // And the secret works.
    let client_auth = crate::helpers::ClientAuth::Basic(id, secret);
    tokens(app.client_credentials(None, client_auth).await).await;
}

#[tokio::test]
async fn a_public_client_has_no_secret() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let response = app
        .create_client(
            &admin,
            json!({"name": "spa", "confidential": false, "grants": ["password", "refresh_token"]}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert!(created.get("client_secret").is_none());
    assert_eq!(created["confidential"], false);
}

#[tokio::test]
async fn invalid_client_definitions_are_400() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cases = [
        (
            "a public client with client_credentials",
            json!({"name": "x", "confidential": false, "grants": ["client_credentials"]}),
        ),
        (
            "an unsupported grant",
            json!({"name": "x", "confidential": true, "grants": ["implicit"]}),
        ),
        (
            "authorization_code without a redirect URI",
            json!({"name": "x", "confidential": true, "grants": ["authorization_code"]}),
        ),
        (
            "no grant",
            json!({"name": "x", "confidential": true, "grants": []}),
        ),
        (
            "an unknown scope",
            json!({"name": "x", "confidential": true, "grants": ["client_credentials"], "scopes": ["nope"]}),
        ),
        (
            "an empty name",
            json!({"name": " ", "confidential": true, "grants": ["client_credentials"]}),
        ),
        (
            "an audience with a space",
            json!({"name": "x", "confidential": true, "grants": ["client_credentials"], "audience": "a b"}),
        ),
    ];

    for (name, body) in cases {
        let response = app.create_client(&admin, body).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{name}");
    }
}

#[tokio::test]
async fn a_client_can_be_deleted_and_then_no_longer_authenticates() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;

    let response = app
        .admin(
            Method::DELETE,
            &format!("/admin/clients/{}", client.id),
            &admin,
            None,
        )
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = app.client_credentials(None, client.auth()).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let missing = app
        .admin(
            Method::GET,
            &format!("/admin/clients/{}", client.id),
            &admin,
            None,
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_client_in_use_is_refused_at_once_when_disabled_and_accepted_again_when_enabled() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    let path = format!("/admin/clients/{}", client.id);
    // Used first, so this instance holds the client in memory.
    let before = app.client_credentials(None, client.auth()).await;
    assert_eq!(before.status(), StatusCode::OK);

    for (disabled, expected) in [(true, StatusCode::UNAUTHORIZED), (false, StatusCode::OK)] {
        let response = app
            .admin(
                Method::PATCH,
                &path,
                &admin,
                Some(json!({ "disabled": disabled })),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "PATCH disabled={disabled}"
        );

        let after = app.client_credentials(None, client.auth()).await;
        assert_eq!(after.status(), expected, "disabled={disabled}");
    }
}
