//! Signing-key rotation: old tokens stay valid, new tokens carry the new `kid`, the JWKS
//! lists both. A rotation is started the way the CLI starts it (`Keys::rotate`).

use std::time::Duration;

use rampart::Validator;
use rampart_server::clock::Clock;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{ADMIN_PW, ISSUER, TestApp, jwt_parts};

fn kid(token: &str) -> String {
    jwt_parts(token).0["kid"].as_str().unwrap().to_owned()
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = serde_json::from_slice(&app.jwks().await).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn after_a_rotation_old_tokens_still_work_and_new_tokens_carry_the_new_kid() {
    // Arrange
    let app = TestApp::spawn_with(|config| config.key_rotation_delay = Duration::ZERO).await;
    let old_token = app.login("admin", ADMIN_PW, None).await.access_token;
    let old_kid = kid(&old_token);

    // Act
    let (new_kid, _) = app.state.keys.rotate().await.unwrap();

    // Assert
    assert_ne!(new_kid, old_kid);
    assert_eq!(app.me(&old_token).await.status(), StatusCode::OK);
    let new_token = app.login("admin", ADMIN_PW, None).await.access_token;
    assert_eq!(kid(&new_token), new_kid);
    assert_eq!(app.me(&new_token).await.status(), StatusCode::OK);
    let kids = published_kids(&app).await;
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
    let validator = Validator::builder()
        .issuer(ISSUER)
        .audience(ISSUER)
        .jwks_document(&app.jwks().await)
        .build()
        .unwrap();
    validator.validate(&old_token).await.unwrap();
    validator.validate(&new_token).await.unwrap();
}

#[tokio::test]
async fn a_new_key_is_published_before_it_signs() {
    // Arrange: the default one-hour rotation delay, on a manual clock.
    let app = TestApp::spawn_with(|config| config.clock = Clock::manual(1_700_000_000)).await;
    let old_kid = kid(&app.login("admin", ADMIN_PW, None).await.access_token);

    // Act
    let (new_kid, activates_at) = app.state.keys.rotate().await.unwrap();

    // Assert: published at once, still signing with the old key until activation.
    assert_eq!(activates_at, 1_700_000_000 + 3600);
    assert!(published_kids(&app).await.contains(&new_kid));
    let clock = &app.state.accounts.clock;
    clock.advance(3599);
    let last_of_old = app.login("admin", ADMIN_PW, None).await.access_token;
    assert_eq!(kid(&last_of_old), old_kid);

    // At activation the new key signs; the old key's last token still validates.
    clock.advance(1);
    let first_of_new = app.login("admin", ADMIN_PW, None).await.access_token;
    assert_eq!(kid(&first_of_new), new_kid);
    clock.advance(600);
    assert_eq!(app.me(&last_of_old).await.status(), StatusCode::OK);
    assert_eq!(app.me(&first_of_new).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_retired_key_leaves_the_jwks_once_its_tokens_have_expired() {
    let app = TestApp::spawn_with(|config| {
        config.clock = Clock::manual(1_700_000_000);
        config.key_rotation_delay = Duration::ZERO;
    })
    .await;
    let old_kid = kid(&app.login("admin", ADMIN_PW, None).await.access_token);
    app.state.keys.rotate().await.unwrap();

    // Past the access-token lifetime plus leeway; the periodic reload republishes.
    app.state.accounts.clock.advance(900 + 61);
    app.state.keys.reload().await.unwrap();

    let kids = published_kids(&app).await;
    assert!(!kids.contains(&old_kid), "{kids:?}");
    assert_eq!(kids.len(), 1);
}
