//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3) with the OIDC scopes.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, tokens};

async fn token_for(app: &TestApp, scope: &str) -> String {
    tokens(
        app.password_grant("admin", ADMIN_PW, Some(scope), ClientAuth::FirstParty)
            .await,
    )
    .await
    .access_token
}

async fn userinfo(app: &TestApp, method: Method, token: &str) -> reqwest::Response {
    app.client()
        .request(method, app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn userinfo_releases_the_claims_of_the_tokens_scopes_on_get_and_post() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me: Value = app.me(&admin).await.json().await.unwrap();
    let id = me["id"].as_str().unwrap().to_owned();
    let response = app
        .admin(
            Method::PATCH,
            &format!("/admin/users/{id}"),
            &admin,
            Some(json!({"name": "Ada Admin", "email": "ada@example.com", "email_verified": true})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let cases = [
        ("openid", json!({"sub": id})),
        (
            "openid profile",
            json!({"sub": id, "name": "Ada Admin", "preferred_username": "admin"}),
        ),
        (
            "openid email",
            json!({"sub": id, "email": "ada@example.com", "email_verified": true}),
        ),
    ];
    for (scope, expected) in cases {
        let token = token_for(&app, scope).await;
        for method in [Method::GET, Method::POST] {
            let response = userinfo(&app, method.clone(), &token).await;
            assert_eq!(response.status(), StatusCode::OK, "{scope} {method}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body, expected, "{scope} {method}");
        }
    }
}

#[tokio::test]
async fn userinfo_without_openid_or_without_a_valid_token_is_an_rfc_6750_error() {
    let app = TestApp::spawn().await;
    let profile_only = token_for(&app, "profile").await;

    let response = userinfo(&app, Method::GET, &profile_only).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");

    let response = userinfo(&app, Method::GET, "not-a-token").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("invalid_token"), "{challenge}");

    // A revoked session's token is refused at once.
    let login = tokens(
        app.password_grant("admin", ADMIN_PW, Some("openid"), ClientAuth::FirstParty)
            .await,
    )
    .await;
    let revoked = app
        .revoke(
            login.refresh_token.as_deref().unwrap(),
            ClientAuth::FirstParty,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let response = userinfo(&app, Method::GET, &login.access_token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
